#!/bin/bash
# era_restore: ours vs thin-provisioning-tools 1.1.0 and 0.9.0, same run.
# Usage: bench/restore_bench.sh [NR_BLOCKS] [WORKDIR]   (default 4194304, /tmp/era-bench)
set -euo pipefail
N=${1:-4194304}
W=${2:-/tmp/era-bench}
HERE=$(cd "$(dirname "$0")/.." && pwd)
REF=${ERA_REF_DIR:-$HOME/.cache/era-tools/ref}
mkdir -p "$W"
XML=$W/restore-$N.xml
[ -s "$XML" ] || /usr/bin/python3 "$HERE/bench/gen_xml.py" "$N" --writesets 2 -o "$XML"
cat "$XML" > /dev/null   # page cache
SIZE=$((256 << 20))
run() {
	local tag=$1; shift
	rm -f "$W/out-$tag"; truncate -s $SIZE "$W/out-$tag"
	/usr/bin/time -f "$tag: wall %e s, user %U s, sys %S s, max RSS %M KB" "$@" 2>&1 >/dev/null | tail -1
}
echo "XML: $XML ($(stat -L -c %s "$XML") bytes), load: $(cut -d' ' -f1-3 /proc/loadavg)"
for i in 1 2; do
	run ours "$HERE/bin/era_restore" -i "$XML" -o "$W/out-ours"
	[ -x "$REF/1.1.0/usr/sbin/pdata_tools" ] && run 1.1.0 "$REF/1.1.0/usr/sbin/pdata_tools" era_restore -i "$XML" -o "$W/out-1.1.0"
	[ "$i" = 1 ] && [ -x "$REF/0.9.0/usr/sbin/era_restore" ] && run 0.9.0 "$REF/0.9.0/usr/sbin/era_restore" -i "$XML" -o "$W/out-0.9.0"
done
rm -f "$W"/out-*
