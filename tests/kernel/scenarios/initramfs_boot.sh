# initramfs_boot (kernel test, test_initramfs_boot.py): plays the part of the
# initramfs's /init around OUR boot scripts, which the test put into the
# initramfs (--overlay) the way the hook / dracut module installs them:
#   ERA_IRFS=local-top  source /scripts/functions (the test's stand-in for
#       initramfs-tools'), then run_scripts /scripts/local-top as
#       initramfs-tools does (. ORDER; each script a child process);
#   ERA_IRFS=dracut     source /lib/dracut-lib.sh (stand-in), then source
#       every /lib/dracut/hooks/pre-mount/*.sh as dracut's init does; with
#       ERA_IRFS_CONF2="NAME DEV" a second round on a new configuration.
# When the scripts let the boot continue, it goes on to what they guard: the
# era target is created on the checked metadata device (ACTIVATE, CREATE,
# STATUS), then removed.  panic/die (stand-ins) log "ERA PANIC ..." and power
# off at once, so nothing after them runs.
# ERA_IRFS_WAIT: devices to wait for first (extra disks probe late).
# The boot line below is the shape of a run; IRFS_TREE is the tree the test
# builds (test_initramfs_boot.py passes the options itself).
#@ test
#@ boot: --origin-size 256M --overlay IRFS_TREE --env ERA_IRFS=local-top
. /guest-lib.sh
for d in $ERA_IRFS_WAIT; do era_wait_dev "$d"; done

activate() {
    era_log "ACTIVATE $ERA_META"
    era_create
    era_remove
}

# Write requests completed on DEV so far (the kernel's count, field 5 of
# /sys/block/DEV/stat): cheaper than hashing the device under TCG.
writes() { awk '{print $5}' "/sys/block/${1#/dev/}/stat"; }

unchanged() {   # unchanged DEV COUNT: the check did not write to DEV
    _w=$(writes "$1")
    [ "$_w" = "$2" ] || era_fail "$1: $(($_w - $2)) writes during the check"
    era_log "UNCHANGED $1"
}

case $ERA_IRFS in
local-top)
    . /scripts/functions
    run_scripts() {
        initdir=$1
        [ -d "$initdir" ] || return
        shift
        . "$initdir/ORDER"
    }
    w0=$(writes "$ERA_META")
    era_log "STAGE local-top"
    run_scripts /scripts/local-top
    era_log "STAGE local-top done"
    unchanged "$ERA_META" "$w0"
    activate
    ;;
dracut)
    . /lib/dracut-lib.sh
    source_hook() {
        for _f in /lib/dracut/hooks/"$1"/*.sh; do
            [ -e "$_f" ] && . "$_f"
        done
    }
    w0=$(writes "$ERA_META")
    era_log "STAGE pre-mount"
    source_hook pre-mount
    era_log "STAGE pre-mount done"
    unchanged "$ERA_META" "$w0"
    activate
    if [ -n "${ERA_IRFS_CONF2:-}" ]; then
        echo "$ERA_IRFS_CONF2" > /etc/era-tools/era-check.conf
        ERA_META=${ERA_IRFS_CONF2#* }
        ERA_NAME=${ERA_IRFS_CONF2%% *}
        era_log "STAGE pre-mount round 2: $ERA_IRFS_CONF2"
        source_hook pre-mount
        era_log "STAGE pre-mount done"
        activate
    fi
    ;;
*)
    era_fail "ERA_IRFS=$ERA_IRFS?"
    ;;
esac
