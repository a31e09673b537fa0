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
    era_disk_create "$d" "$nb" "$mode" || continue
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
