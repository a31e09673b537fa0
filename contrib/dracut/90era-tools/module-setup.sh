#!/bin/bash
# dracut module (era-tools): checks dm-era metadata before device-mapper
# targets are activated, as listed in /etc/era-tools/era-check.conf
# (lines of `NAME METADATA_DEVICE`). See era_check(8).

# Included only where a configuration exists.
check() {
    [[ -r /etc/era-tools/era-check.conf ]] || return 255
    require_binaries era_check.static || require_binaries era_check || return 1
    return 0
}

depends() {
    return 0
}

install() {
    local bin
    bin=$(command -v era_check.static 2>/dev/null) || bin=$(command -v era_check)
    inst_simple "$bin" /sbin/era_check
    inst_simple /etc/era-tools/era-check.conf
    # pre-udev: before udev rules (and so LVM and dm) activate anything
    inst_hook pre-udev 20 "$moddir/era-check.sh"
}
