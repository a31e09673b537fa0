#!/bin/sh
# get-reference-tools.sh - fetch the reference dm-era tools (oracles for tests
# and benchmarks only) into a cache directory, without touching the machine's
# apt configuration or installing anything.
#
#   0.9.0 (C++)  Debian bookworm thin-provisioning-tools  -> $REF/0.9.0
#   1.1.0 (Rust) Debian trixie   thin-provisioning-tools  -> $REF/1.1.0
#
# Usage: tests/oracle/get-reference-tools.sh [--print-env]
#   REF defaults to ${XDG_CACHE_HOME:-$HOME/.cache}/era-tools/ref (override
#   with ERA_REF_DIR).  Idempotent: does nothing when both trees are present.
#   Prints shell assignments on stdout (eval-able):
#     ERA_REF_DIR=...  ERA_REF_090=...  ERA_REF_110=...  ERA_REF_LD_LIBRARY_PATH=...
#
# Invocation conventions (used by tests):
#   0.9.0: $ERA_REF_090/usr/sbin/era_dump ARGS...        (one binary per tool,
#          all hard links/symlinks to one multi-call binary chosen by argv[0])
#   1.1.0: $ERA_REF_110/usr/sbin/pdata_tools era_dump ARGS...   (subcommand form;
#          era_check/dump/invalidate/restore symlinks in usr/sbin also work via
#          argv[0]; there is NO era_repair symlink: use "pdata_tools era_repair")
#   Run either with LD_LIBRARY_PATH=$ERA_REF_LD_LIBRARY_PATH if that is non-empty.
# Exit status: 0 ok, 1 could not obtain or run the tools (message on stderr).
set -eu

REF=${ERA_REF_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/era-tools/ref}
V090=$REF/0.9.0
V110=$REF/1.1.0
LIBDIR=$REF/lib

die() { echo "get-reference-tools: $*" >&2; exit 1; }

# Mirror named by the machine's sources (first Debian URI with a bookworm suite).
find_mirror() {
    for f in /etc/apt/sources.list.d/*.sources; do
        [ -r "$f" ] || continue
        awk '
            /^[ \t]*$/ { if (uri != "" && suites ~ /(^| )bookworm( |$)/) { print uri; exit } uri=""; suites=""; next }
            /^URIs:/   { uri=$2 }
            /^Suites:/ { $1=""; suites=$0 " " }
            END        { if (uri != "" && suites ~ /(^| )bookworm( |$)/) print uri }
        ' "$f"
    done | head -n1
    for f in /etc/apt/sources.list.d/*.list /etc/apt/sources.list; do
        [ -r "$f" ] || continue
        awk '$1=="deb" { for (i=2;i<=NF;i++) if ($i !~ /^\[/ && $i ~ /:\/\//) { if ($(i+1) == "bookworm") print $i; break } }' "$f"
    done | head -n1
}

# fetch_deb SUITE DESTDIR: private apt state under $REF/apt-SUITE, download
# thin-provisioning-tools from SUITE and extract it into DESTDIR.
fetch_deb() {
    suite=$1 dest=$2
    mirror=$(find_mirror | head -n1)
    [ -n "$mirror" ] || die "no Debian bookworm mirror found in /etc/apt/sources.list.d"
    st=$REF/apt-$suite
    mkdir -p "$st/lists/partial" "$st/cache/archives/partial" "$st/dl"
    printf 'deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] %s %s main\n' \
        "$mirror" "$suite" > "$st/sources.list"
    set -- -o Dir::Etc::SourceList="$st/sources.list" -o Dir::Etc::SourceParts=/dev/null \
           -o Dir::State::Lists="$st/lists" -o Dir::Cache="$st/cache" \
           -o Dir::State::status=/dev/null -o APT::Get::List-Cleanup=0 -q
    apt-get "$@" update >"$st/update.log" 2>&1 ||
        die "apt-get update for $suite from $mirror failed (see $st/update.log)"
    ( cd "$st/dl" && rm -f ./*.deb && apt-get "$@" download thin-provisioning-tools ) \
        >"$st/download.log" 2>&1 ||
        die "apt-get download thin-provisioning-tools ($suite) failed (see $st/download.log)"
    deb=$(ls "$st"/dl/thin-provisioning-tools_*.deb 2>/dev/null | head -n1)
    [ -n "$deb" ] || die "no .deb downloaded for $suite"
    rm -rf "$dest.tmp" && mkdir -p "$dest.tmp"
    dpkg-deb -x "$deb" "$dest.tmp" || die "dpkg-deb -x $deb failed"
    basename "$deb" > "$dest.tmp/.deb-name"
    rm -rf "$dest" && mv "$dest.tmp" "$dest"
}

mkdir -p "$REF" || die "cannot create $REF"
[ -x "$V090/usr/sbin/era_dump" ]    || fetch_deb bookworm "$V090"
[ -x "$V110/usr/sbin/pdata_tools" ] || fetch_deb trixie   "$V110"
[ -x "$V090/usr/sbin/era_dump" ]    || die "$V090/usr/sbin/era_dump missing after extraction"
[ -x "$V110/usr/sbin/pdata_tools" ] || die "$V110/usr/sbin/pdata_tools missing after extraction"

# Shared libraries: anything ldd cannot resolve is extracted from the trixie
# package that ships it into $LIBDIR (none needed on bookworm as of 2025).
LDP=
for bin in "$V090/usr/sbin/pdata_tools" "$V110/usr/sbin/pdata_tools"; do
    missing=$(ldd "$bin" 2>/dev/null | awk '/not found/ { print $1 }')
    for lib in $missing; do
        [ -e "$LIBDIR/$lib" ] && continue
        die "$bin needs $lib, which this machine lacks; extract the Debian package that ships it into $LIBDIR"
    done
    [ -n "$missing" ] && LDP=$LIBDIR
done

"$V090/usr/sbin/era_dump" -V >/dev/null 2>&1 || die "0.9.0 era_dump -V does not run"
LD_LIBRARY_PATH=$LDP "$V110/usr/sbin/pdata_tools" era_dump -V >/dev/null 2>&1 ||
    die "1.1.0 pdata_tools era_dump -V does not run"

echo "ERA_REF_DIR=$REF"
echo "ERA_REF_090=$V090"
echo "ERA_REF_110=$V110"
echo "ERA_REF_LD_LIBRARY_PATH=$LDP"
