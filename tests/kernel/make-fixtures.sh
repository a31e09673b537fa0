#!/bin/sh
# Regenerate the kernel-made dm-era metadata fixtures.
#
#   make-fixtures.sh [--out DIR] [--extra-bin DIR|FILE] [--keep DIR] [NAME...]
#
# For each scenario tests/kernel/scenarios/NAME.sh (default: every scenario
# not tagged "#@ bench" or "#@ test") boot QEMU once per "#@ boot: OPTIONS" line of the
# script (boot k runs with ERA_BOOT=k and continues from the images of boot
# k-1; OPTIONS are run-scenario.sh options), then write
#   DIR/NAME.meta.xz    xz -9 of the metadata image
#   DIR/NAME.scenario   the scenario script
#   DIR/NAME.log        the "ERA ..." lines of the console(s), prefix removed,
#                       each boot introduced by "BOOT k"
# DIR defaults to tests/fixtures.  --keep DIR keeps the raw images and
# consoles in DIR/NAME/.  QEMU runs one at a time.
set -eu

HERE=$(cd "$(dirname "$0")" && pwd)
TOP=$(cd "$HERE/../.." && pwd)
OUT="$TOP/tests/fixtures"
EXTRA=""
KEEP=""
die() { echo "make-fixtures: $*" >&2; exit 2; }

while [ $# -gt 0 ]; do
    case "$1" in
    --out) OUT=$2; shift 2 ;;
    --extra-bin) EXTRA=$2; shift 2 ;;
    --keep) KEEP=$2; shift 2 ;;
    -h|--help) sed -n '2,17p' "$0"; exit 0 ;;
    -*) die "unknown option $1" ;;
    *) break ;;
    esac
done

if [ $# -eq 0 ]; then
    for f in "$HERE"/scenarios/*.sh; do
        grep -q -E '^#@ (bench|test)' "$f" || set -- "$@" "$(basename "$f" .sh)"
    done
fi
count=$#
mkdir -p "$OUT"
KDIR=$("$HERE/get-kernel.sh")
"$HERE/mkinitramfs.sh" --kernel-dir "$KDIR" >/dev/null

# Console -> log lines: strip CRs and anything (escape codes) before "ERA ".
extract_log() {
    tr -d '\r' < "$1" | grep -a -o 'ERA [A-Z_][A-Z_]*.*$' | sed 's/^ERA //' || true
}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/era-fixtures.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM
failed=""
for name in "$@"; do
    scen="$HERE/scenarios/$name.sh"
    [ -f "$scen" ] || die "no scenario $scen"
    work="$tmp/$name"
    [ -n "$KEEP" ] && work="$KEEP/$name"
    rm -rf "$work"
    mkdir -p "$work"
    : > "$work/log"
    boot=0
    ok=1
    grep '^#@ boot:' "$scen" | sed 's/^#@ boot://' > "$work/boots"
    [ -s "$work/boots" ] || echo "" > "$work/boots"
    while read -r opts; do
        boot=$((boot + 1))
        echo "make-fixtures: $name boot $boot" >&2
        set -- --kernel-dir "$KDIR" --env "ERA_BOOT=$boot"
        [ -n "$EXTRA" ] && set -- "$@" --extra-bin "$EXTRA"
        [ $boot -gt 1 ] && set -- "$@" --meta-image "$work/meta.img" --origin-image "$work/origin.img"
        # shellcheck disable=SC2086
        if ! "$HERE/run-scenario.sh" "$scen" "$work" "$@" $opts </dev/null; then
            ok=0
        fi
        cp "$work/console.log" "$work/console.boot$boot.log"
        echo "BOOT $boot" >> "$work/log"
        extract_log "$work/console.log" >> "$work/log"
        [ $ok = 1 ] || break
    done < "$work/boots"
    if [ $ok = 0 ]; then
        echo "make-fixtures: $name FAILED (console in $work)" >&2
        failed="$failed $name"
        [ -n "$KEEP" ] || cp -r "$work" "${TMPDIR:-/tmp}/era-failed-$name"
        continue
    fi
    # Build everything beside the images, then move into place: no partial
    # file ever appears in $OUT.
    xz -9 -T1 -c "$work/meta.img" > "$work/meta.xz"
    cp "$scen" "$work/scenario"
    mv -f "$work/meta.xz" "$OUT/$name.meta.xz"
    mv -f "$work/scenario" "$OUT/$name.scenario"
    cp "$work/log" "$OUT/$name.log.new"
    mv -f "$OUT/$name.log.new" "$OUT/$name.log"
    if [ -x /usr/bin/python3 ]; then
        /usr/bin/python3 "$HERE/peek_sb.py" "$OUT/$name.meta.xz" |
            grep -E '^(csum_ok|nr_blocks|current_era|metadata_snap|archived_eras)=' |
            tr '\n' ' ' | sed "s/^/make-fixtures: $name: /; s/ \$/\n/" >&2
    fi
    [ -n "$KEEP" ] || rm -rf "$work"
done
[ -z "$failed" ] || die "failed:$failed"
echo "make-fixtures: wrote $count fixture(s) to $OUT" >&2
