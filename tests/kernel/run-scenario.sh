#!/bin/sh
# Boot the real dm-era target under QEMU (TCG) and run one scenario script.
#
#   run-scenario.sh SCENARIO OUTDIR [options]
#     --meta-size SIZE      metadata image size (default 64M; K/M/G/T suffixes)
#     --origin-size SIZE    origin image size (default 64M = 1024 blocks of 64 KiB)
#     --meta-image FILE     start from a copy of this metadata image (continue
#                           an earlier run); FILE may be OUTDIR/meta.img itself
#     --origin-image FILE   likewise for the origin; grown to --origin-size if given
#     --drive FILE          one more virtio disk (repeatable: /dev/vdc, vdd, ...),
#                           used in place (not copied)
#     --extra-bin DIR|FILE  extra (static) binaries for the guest's /usr/sbin
#                           (repeatable; X.static is installed as X)
#     --overlay DIR         a tree copied into the guest's root (repeatable)
#     --env NAME=VALUE      variable for the scenario (repeatable); ERA_BOOT=1 default
#     --timeout SECONDS     bound on the QEMU run (default 300)
#     --kernel-dir DIR      extracted kernel (default: get-kernel.sh output)
#
# Leaves OUTDIR/meta.img, OUTDIR/origin.img (sparse) and OUTDIR/console.log.
# Exits 0 when the console shows "ERA END 0", or "ERA CRASH" for a scenario
# that crashes on purpose; nonzero otherwise.
set -eu

HERE=$(cd "$(dirname "$0")" && pwd)
die() { echo "run-scenario: $*" >&2; exit 2; }

to_bytes() {
    case "$1" in
    *[Kk]) echo $(( ${1%?} * 1024 )) ;;
    *[Mm]) echo $(( ${1%?} * 1024 * 1024 )) ;;
    *[Gg]) echo $(( ${1%?} * 1024 * 1024 * 1024 )) ;;
    *[Tt]) echo $(( ${1%?} * 1024 * 1024 * 1024 * 1024 )) ;;
    *[!0-9]*|"") die "bad size: $1" ;;
    *) echo "$1" ;;
    esac
}

[ $# -ge 2 ] || { sed -n '2,21p' "$0" >&2; exit 2; }
SCENARIO=$1
OUTDIR=$2
shift 2
META_SIZE=""
ORIGIN_SIZE=""
META_IMAGE=""
ORIGIN_IMAGE=""
EXTRA=""
TIMEOUT=300
KDIR=""
ENVS=""
DRIVES=""
nl='
'
while [ $# -gt 0 ]; do
    [ $# -ge 2 ] || die "option $1 needs a value"
    case "$1" in
    --meta-size) META_SIZE=$(to_bytes "$2") ;;
    --origin-size) ORIGIN_SIZE=$(to_bytes "$2") ;;
    --meta-image) META_IMAGE=$2 ;;
    --origin-image) ORIGIN_IMAGE=$2 ;;
    --extra-bin) EXTRA="$EXTRA$2$nl" ;;
    --overlay) [ -d "$2" ] || die "no such directory: $2"; EXTRA="$EXTRA@overlay:$(realpath "$2")$nl" ;;
    --drive) [ -f "$2" ] || die "no such image: $2"; DRIVES="$DRIVES$(realpath "$2")$nl" ;;
    --env) case "$2" in [A-Za-z_]*=*) ENVS="$ENVS$2$nl" ;; *) die "bad --env $2" ;; esac ;;
    --timeout) TIMEOUT=$2 ;;
    --kernel-dir) KDIR=$2 ;;
    *) die "unknown option $1" ;;
    esac
    shift 2
done
[ -f "$SCENARIO" ] || die "no such scenario: $SCENARIO"
SCENARIO=$(cd "$(dirname "$SCENARIO")" && pwd)/$(basename "$SCENARIO")
[ -n "$KDIR" ] || KDIR=$("$HERE/get-kernel.sh")
VMLINUZ=$(ls "$KDIR"/boot/vmlinuz-* | sort -V | tail -n 1)
[ -f "$VMLINUZ" ] || die "no vmlinuz in $KDIR/boot"
mkdir -p "$OUTDIR"
OUTDIR=$(cd "$OUTDIR" && pwd)

# prepare IMAGE SOURCE SIZE DEFAULT
prepare() {
    img=$1 src=$2 size=$3 def=$4
    if [ -n "$src" ]; then
        [ -f "$src" ] || die "no such image: $src"
        if [ "$(realpath "$src")" != "$(realpath "$img")" ]; then
            cp --sparse=always "$src" "$img.tmp" && mv "$img.tmp" "$img"
        fi
        if [ -n "$size" ]; then
            cur=$(stat -c %s "$img")
            [ "$size" -ge "$cur" ] || die "$img: will not shrink $cur to $size bytes"
            truncate -s "$size" "$img"
        fi
    else
        rm -f "$img"
        truncate -s "${size:-$def}" "$img"
    fi
}
prepare "$OUTDIR/meta.img" "$META_IMAGE" "$META_SIZE" $((64 * 1024 * 1024))
prepare "$OUTDIR/origin.img" "$ORIGIN_IMAGE" "$ORIGIN_SIZE" $((64 * 1024 * 1024))

work=$(mktemp -d "${TMPDIR:-/tmp}/era-run.XXXXXX")
trap 'rm -rf "$work"' EXIT INT TERM
case "$ENVS" in *ERA_BOOT=*) ;; *) ENVS="ERA_BOOT=1$nl$ENVS" ;; esac
printf '%s' "$ENVS" | sed 's/^\([^=]*\)=\(.*\)$/\1='"'"'\2'"'"'; export \1/' > "$work/env"
set -- --kernel-dir "$KDIR" --out "$work/initrd.gz" --scenario "$SCENARIO" --env "$work/env"
while IFS= read -r x; do
    case "$x" in
    "") ;;
    @overlay:*) set -- "$@" --overlay "${x#@overlay:}" ;;
    *) set -- "$@" --extra-bin "$x" ;;
    esac
done <<EOT
$EXTRA
EOT
"$HERE/mkinitramfs.sh" "$@"

set --
while IFS= read -r x; do
    [ -n "$x" ] && set -- "$@" -drive "file=$x,format=raw,if=virtio,cache=writethrough"
done <<EOT
$DRIVES
EOT

CONSOLE="$OUTDIR/console.log"
rm -f "$CONSOLE"
# One QEMU at a time on this machine: hold the lock for the whole run (shared
# with every other user of the harness), and give a QEMU started without it
# up to ERA_QEMU_WAIT seconds to finish first.
LOCKDIR=${ERA_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/era-tools}
mkdir -p "$LOCKDIR"
exec 9>"$LOCKDIR/qemu.lock"
flock 9
waited=0
while pgrep -x qemu-system-x86_64 >/dev/null 2>&1 && [ $waited -lt "${ERA_QEMU_WAIT:-600}" ]; do
    [ $waited = 0 ] && echo "run-scenario: waiting for another QEMU to finish" >&2
    sleep 2
    waited=$((waited + 2))
done
start=$(date +%s)
rc=0
timeout --kill-after=10 "$TIMEOUT" qemu-system-x86_64 \
    -machine q35,accel=tcg -cpu max -smp 1 -m 1024 \
    -display none -vga none -nic none -monitor none \
    -serial "file:$CONSOLE" -no-reboot \
    -kernel "$VMLINUZ" -initrd "$work/initrd.gz" \
    -append "console=ttyS0 quiet panic=-1 oops=panic" \
    -drive "file=$OUTDIR/meta.img,format=raw,if=virtio,cache=writethrough" \
    -drive "file=$OUTDIR/origin.img,format=raw,if=virtio,cache=writeback,discard=unmap,detect-zeroes=unmap" \
    "$@" </dev/null >"$OUTDIR/qemu.stderr" 2>&1 || rc=$?
end=$(date +%s)
exec 9>&-
[ -s "$OUTDIR/qemu.stderr" ] || rm -f "$OUTDIR/qemu.stderr"
echo "run-scenario: $(basename "$SCENARIO") took $((end - start)) s (qemu status $rc)" >&2

[ $rc -eq 124 ] || [ $rc -eq 137 ] && { echo "run-scenario: timed out after $TIMEOUT s" >&2; exit 1; }
if grep -a -q 'ERA END 0' "$CONSOLE"; then
    exit 0
fi
if grep -a -q 'ERA CRASH' "$CONSOLE" && ! grep -a -q 'ERA FAIL' "$CONSOLE"; then
    exit 0
fi
echo "run-scenario: scenario did not finish cleanly; see $CONSOLE" >&2
grep -a -E 'ERA (FAIL|INIT_ERROR|END)' "$CONSOLE" >&2 || true
exit 1
