# activate (kernel test): metadata images prepared on the host (restored,
# repaired, crashed, damaged) on /dev/vdc, /dev/vdd, ... with the origin on
# /dev/vdb.  ERA_DISKS="vdc:NR_BLOCKS:MODE ...":
#   restore  era_check, create, writes, checkpoint, writes, remove
#   crash    era_check, create (reactivation after a crash), write, remove
#   damaged  era_check, try to create (expected to fail)
# Each disk's lines start with "ERA DISK <name> <mode>".
#@ test
. /guest-lib.sh
for spec in $ERA_DISKS; do
    d=${spec%%:*}; rest=${spec#*:}; nb=${rest%%:*}; mode=${rest#*:}
    ERA_META=/dev/$d
    ERA_NAME=era_$d
    era_wait_dev "$ERA_META"
    era_log "DISK $d $mode"
    era_check_dev "$ERA_META"
    t=$(era_table $((nb * ERA_BLOCK_SECTORS)))
    if ! dmsetup create "$ERA_NAME" --table "$t" 2>/tmp/create.err; then
        era_log "CREATE_FAILED $(head -n 1 /tmp/create.err)"
        continue
    fi
    _m=$(dmsetup info -c --noheadings -o minor "$ERA_NAME" | tr -d ' ')
    ERA_DEV=/dev/dm-$_m
    era_wait_dev "$ERA_DEV"
    era_log "CREATE $t"
    era_status
    case $mode in
    restore)
        era_write 1 2
        era_write $((nb - 1)) 1
        era_msg checkpoint
        era_write $((nb / 2)) 3
        era_status
        ;;
    crash)
        era_write 2 1
        ;;
    esac
    era_remove
done
