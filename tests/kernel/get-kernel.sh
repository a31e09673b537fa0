#!/bin/sh
# Ensure the host tools for the dm-era QEMU harness are installed and that a
# Debian bookworm kernel (linux-image-6.1.0-N-amd64) is downloaded and
# extracted (never installed) into a cache directory.  Prints the kernel
# directory (the dpkg-deb -x root: boot/vmlinuz-*, lib/modules/*) on stdout.
# A no-op when already cached.
#
# Environment:
#   ERA_KERNEL_CACHE  cache dir (default ${XDG_CACHE_HOME:-$HOME/.cache}/era-tools/kernel)
#   ERA_KERNEL_PKG    exact package name to use instead of the newest one
set -eu

CACHE=${ERA_KERNEL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/era-tools/kernel}
PKGS="qemu-system-x86 busybox-static cpio dmsetup xz-utils"

log() { echo "get-kernel: $*" >&2; }

updated=0
apt_update() {
    if [ "$updated" = 0 ]; then
        log "apt-get update"
        apt-get update >&2
        updated=1
    fi
}

missing=""
for p in $PKGS; do
    st=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
    [ "$st" = installed ] || missing="$missing $p"
done
if [ -n "$missing" ]; then
    apt_update
    log "installing:$missing"
    # shellcheck disable=SC2086
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $missing >&2
fi

# Already extracted?  Use the newest complete extraction in the cache.
find_cached() {
    for d in $(ls -d "$CACHE"/linux-image-* 2>/dev/null | sort -V -r); do
        if [ -f "$d/.complete" ]; then
            echo "$d"
            return 0
        fi
    done
    return 1
}

if [ -z "${ERA_KERNEL_PKG:-}" ] && d=$(find_cached); then
    echo "$d"
    exit 0
fi
if [ -n "${ERA_KERNEL_PKG:-}" ] && [ -f "$CACHE/$ERA_KERNEL_PKG/.complete" ]; then
    echo "$CACHE/$ERA_KERNEL_PKG"
    exit 0
fi

newest() {
    apt-cache search --names-only '^linux-image-6\.1\.0-[0-9]+-amd64$' 2>/dev/null |
        awk '{print $1}' | sort -V | tail -n 1
}

pkg=${ERA_KERNEL_PKG:-}
if [ -z "$pkg" ]; then
    pkg=$(newest)
    if [ -z "$pkg" ]; then
        apt_update
        pkg=$(newest)
    fi
fi
[ -n "$pkg" ] || { log "no linux-image-6.1.0-N-amd64 package found"; exit 1; }

mkdir -p "$CACHE"
dest="$CACHE/$pkg"
tmp="$CACHE/.dl.$$"
rm -rf "$tmp"
mkdir -p "$tmp"
trap 'rm -rf "$tmp"' EXIT INT TERM
# As root, apt drops to user _apt, who cannot write below /root: stay root.
aptopt=""
[ "$(id -u)" = 0 ] && aptopt="-o APT::Sandbox::User=root"
log "downloading $pkg"
# shellcheck disable=SC2086
if ! (cd "$tmp" && apt-get $aptopt download "$pkg" >&2); then
    apt_update
    # shellcheck disable=SC2086
    (cd "$tmp" && apt-get $aptopt download "$pkg" >&2)
fi
deb=$(ls "$tmp"/*.deb | head -n 1)
rm -rf "$dest"
mkdir -p "$dest"
log "extracting $(basename "$deb")"
dpkg-deb -x "$deb" "$dest"
ls "$dest"/boot/vmlinuz-* >/dev/null
ls -d "$dest"/lib/modules/* >/dev/null
touch "$dest/.complete"
echo "$dest"
