#!/bin/sh
# Build the initramfs for the dm-era QEMU harness.
#
#   mkinitramfs.sh [--kernel-dir DIR]
#       Build (or reuse) the cached static part and print its path: busybox
#       (static) with applet links, dmsetup and its shared libraries, the
#       kernel modules, and a generic /init.
#
#   mkinitramfs.sh [--kernel-dir DIR] --out FILE --scenario SCRIPT
#                  [--env FILE] [--extra-bin DIR|FILE]... [--overlay DIR]...
#       Write FILE = cached static part + a small per-run cpio archive
#       (Linux accepts concatenated archives) holding /scenario.sh,
#       /guest-lib.sh, /scenario.env and, in /usr/sbin, the extra binaries
#       (every file of DIR, or FILE; statically linked, e.g. era_check; a
#       name ending in ".static" loses that suffix: era_check.static ->
#       /usr/sbin/era_check).  --overlay DIR adds the tree DIR as it is
#       (paths relative to DIR, modes kept), after everything else: e.g. an
#       initramfs built by hooks under test.
#
# /init mounts proc, sysfs and devtmpfs, insmods the modules in order,
# sources /scenario.env, runs "sh /scenario.sh", prints "ERA END <status>"
# and powers off.
set -eu

HERE=$(cd "$(dirname "$0")" && pwd)
CACHE_ROOT=${ERA_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/era-tools}
KDIR=""
OUT=""
SCENARIO=""
ENVFILE=""
EXTRA=""
OVERLAYS=""
nl='
'

die() { echo "mkinitramfs: $*" >&2; exit 1; }

while [ $# -gt 0 ]; do
    case "$1" in
    --kernel-dir) KDIR=$2; shift 2 ;;
    --out) OUT=$2; shift 2 ;;
    --scenario) SCENARIO=$2; shift 2 ;;
    --env) ENVFILE=$2; shift 2 ;;
    --extra-bin) EXTRA="$EXTRA$2$nl"; shift 2 ;;
    --overlay) [ -d "$2" ] || die "--overlay: no such directory: $2"; OVERLAYS="$OVERLAYS$2$nl"; shift 2 ;;
    -h|--help) sed -n '2,22p' "$0"; exit 0 ;;
    *) die "unknown argument: $1" ;;
    esac
done

[ -n "$KDIR" ] || KDIR=$("$HERE/get-kernel.sh")
[ -d "$KDIR/lib/modules" ] || die "no lib/modules in $KDIR"
KVER=$(ls "$KDIR/lib/modules" | sort -V | tail -n 1)
MODDIR="$KDIR/lib/modules/$KVER/kernel"

# dm-flakey: test_lifetime.py puts failing writes under a tool's output
# (the error target is built into dm-mod)
MODULES="crypto/crc32c_generic lib/libcrc32c drivers/md/dm-mod drivers/md/dm-bufio
drivers/md/persistent-data/dm-persistent-data drivers/md/dm-era drivers/md/dm-flakey
drivers/md/dm-bio-prison drivers/md/dm-cache drivers/md/dm-cache-smq
drivers/virtio/virtio_ring drivers/virtio/virtio drivers/virtio/virtio_pci_modern_dev
drivers/virtio/virtio_pci_legacy_dev drivers/virtio/virtio_pci drivers/block/virtio_blk"

BUSYBOX=/bin/busybox
DMSETUP=/usr/sbin/dmsetup
[ -x "$BUSYBOX" ] || die "$BUSYBOX missing (apt-get install busybox-static)"
[ -x "$DMSETUP" ] || die "$DMSETUP missing (apt-get install dmsetup)"

# Cache key: this script, the kernel, busybox and dmsetup.
key=$( { cat "$0"; echo "$KDIR $KVER"; sha256sum "$BUSYBOX" "$DMSETUP"; } |
       sha256sum | cut -c1-16)
BASE="$CACHE_ROOT/initramfs/base-$KVER-$key.cpio.gz"

build_base() {
    mkdir -p "$CACHE_ROOT/initramfs"
    stage=$(mktemp -d "$CACHE_ROOT/initramfs/stage.XXXXXX")
    trap 'rm -rf "$stage"' EXIT INT TERM
    cd "$stage"
    mkdir -p bin sbin usr/bin usr/sbin proc sys dev tmp run etc lib/modules mnt root
    cp "$BUSYBOX" bin/busybox
    for a in $(bin/busybox --list-full); do
        [ -e "$a" ] || [ -L "$a" ] || ln -s /bin/busybox "$a"
    done
    [ -e bin/sh ] || ln -s busybox bin/sh
    cp "$DMSETUP" usr/sbin/dmsetup
    # Shared libraries (and the dynamic loader) at the paths ldd reports.
    ldd "$DMSETUP" | awk '/=>/ {print $3} /^[ \t]*\// {print $1}' |
    while read -r lib; do
        [ -n "$lib" ] && [ -e "$lib" ] || continue
        mkdir -p ".$(dirname "$lib")"
        cp -L "$lib" ".$lib"
    done
    : > modules.list
    for m in $MODULES; do
        f=""
        for ext in .ko .ko.xz .ko.zst .ko.gz; do
            [ -f "$MODDIR/$m$ext" ] && { f="$MODDIR/$m$ext"; break; }
        done
        [ -n "$f" ] || die "module $m not found in $MODDIR"
        b=$(basename "$m")
        case "$f" in
        *.ko.xz) xz -dc "$f" > "lib/modules/$b.ko" ;;
        *.ko.zst) zstd -qdc "$f" > "lib/modules/$b.ko" ;;
        *.ko.gz) gzip -dc "$f" > "lib/modules/$b.ko" ;;
        *) cp "$f" "lib/modules/$b.ko" ;;
        esac
        echo "$b" >> modules.list
    done
    cat > init <<'INIT'
#!/bin/sh
PATH=/usr/sbin:/usr/bin:/sbin:/bin
export PATH
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/mapper
for m in $(cat /modules.list); do
    insmod "/lib/modules/$m.ko" || echo "ERA INIT_ERROR insmod $m"
done
i=0
while [ ! -b /dev/vda ] || [ ! -b /dev/vdb ]; do
    i=$((i + 1))
    [ $i -gt 100 ] && { echo "ERA INIT_ERROR no /dev/vda or /dev/vdb"; break; }
    sleep 0.1
done
[ -f /scenario.env ] && . /scenario.env
echo "ERA BEGIN $(uname -r)"
if [ -f /scenario.sh ]; then
    sh /scenario.sh
    rc=$?
else
    echo "ERA INIT_ERROR no /scenario.sh"
    rc=127
fi
sync
echo "ERA END $rc"
sleep 0.2
poweroff -f
INIT
    chmod 755 init
    find . | LC_ALL=C sort | cpio -o -H newc --quiet -R 0:0 | gzip -6 > "$BASE.tmp"
    mv "$BASE.tmp" "$BASE"
    cd /
    rm -rf "$stage"
    trap - EXIT INT TERM
}

[ -f "$BASE" ] || (build_base)

if [ -z "$OUT" ]; then
    echo "$BASE"
    exit 0
fi

[ -n "$SCENARIO" ] || die "--out needs --scenario"
[ -f "$SCENARIO" ] || die "no such scenario: $SCENARIO"
ov=$(mktemp -d "${TMPDIR:-/tmp}/era-overlay.XXXXXX")
trap 'rm -rf "$ov"' EXIT INT TERM
mkdir -p "$ov/usr/sbin"
cp "$SCENARIO" "$ov/scenario.sh"
cp "$HERE/guest-lib.sh" "$ov/guest-lib.sh"
if [ -n "$ENVFILE" ]; then cp "$ENVFILE" "$ov/scenario.env"; else : > "$ov/scenario.env"; fi
add_bin() {
    [ -f "$1" ] || return 0
    b=$(basename "$1" .static)
    cp -L "$1" "$ov/usr/sbin/$b"
    chmod 755 "$ov/usr/sbin/$b"
}
printf '%s' "$EXTRA" | while IFS= read -r x; do
    if [ -d "$x" ]; then
        for f in "$x"/*; do add_bin "$f"; done
    elif [ -f "$x" ]; then
        add_bin "$x"
    else
        die "--extra-bin: no such file or directory: $x"
    fi
done
while IFS= read -r x; do
    [ -z "$x" ] || cp -a "$x/." "$ov/" || die "--overlay: cannot copy $x"
done <<EOT
$OVERLAYS
EOT
{
    cat "$BASE"
    (cd "$ov" && find . | LC_ALL=C sort | cpio -o -H newc --quiet -R 0:0 | gzip -1)
} > "$OUT.tmp"
mv "$OUT.tmp" "$OUT"
