#!/bin/bash
# dracut module (era-tools): checks dm-era metadata before device-mapper
# targets are activated, as listed in /etc/era-tools/era-check.conf
# (lines of `NAME METADATA_DEVICE [OPTION...]`). See era_check(8).

# Included wherever a configuration exists, so that a missing era_check
# fails the build in install() instead of leaving the module out silently.
check() {
    [[ -r /etc/era-tools/era-check.conf ]] || return 255
    return 0
}

depends() {
    return 0
}

install() {
    local bin
    bin=$(command -v era_check.static 2>/dev/null) || bin=$(command -v era_check 2>/dev/null)
    if [[ -z $bin ]]; then
        # dracut ignores install()'s status: stop the build ourselves
        dfatal "era-tools: /etc/era-tools/era-check.conf lists dm-era targets but era_check.static is not installed; install it or remove the file"
        exit 1
    fi
    inst_simple "$bin" /sbin/era_check
    inst_simple /etc/era-tools/era-check.conf
    # pre-mount: udev has settled, so storage drivers are loaded and the
    # /dev/disk/by-* names in the configuration exist; the root file system
    # (and anything an era target is made from after switch-root) is not
    # in use yet. At pre-udev the devices would usually not exist.
    inst_hook pre-mount 20 "$moddir/era-check.sh"
}
