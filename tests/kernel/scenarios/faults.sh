# faults (kernel test, issue 13): our static era_restore / era_repair
# writing onto a guest disk, interrupted.
#   /dev/vdc  the output; /dev/vdd the repair input; /dev/vde a pristine
#   copy of other valid metadata, copied over /dev/vdc before each run (so
#   that a run which leaves the old superblock valid is seen); /dev/vdf the
#   repair input damaged (tool "repair_damaged");
#   /in/input.xml (overlay) the restore input, /in/small.xml a small one
#   (tool "restore_small": the output fails while the input is still read).
# ERA_FAULT=kill: ERA_TOOL=restore|repair|repair_damaged; one full run, timed (KILL_FULL
#   <centiseconds> <exit> <era_check exit> <md5 of the disk> <md5 of
#   era_dump>), then for each per-mille fraction F of ERA_KILL_FRACS: the
#   old metadata copied back, the tool started, kill -9 after F/1000 of the
#   full run's time, era_check on the output:
#   KILL <F> <delay us> <tool exit> <era_check exit> <md5 of the disk>;
#   then one more kill at ERA_KERNEL_FRAC (300) and dmsetup create on what
#   it left: KERNEL_AFTER_KILL <tool exit> <era_check exit> created <status>
#   | refused <error>
# ERA_FAULT=ioerr: for each of ERA_IOERR_CASES ("restore:linear restore:flakey
#   repair:linear ..."): the output under a dm table, "linear" = its first
#   4 metadata blocks then the error target, "flakey" = dm-flakey failing
#   every write; the tool run onto the dm device:
#   IOERR <tool> <table> <dm device> <tool exit> <era_check exit on /dev/vdc>
#       <md5 of /dev/vdc before> <md5 after>, its stderr as OUT lines.
#@ test
. /guest-lib.sh
OUT=/dev/vdc
IN=/dev/vdd
OLD=/dev/vde
IN_DMG=/dev/vdf
for d in $OUT $IN $OLD $IN_DMG; do era_wait_dev $d; done

reset_output() {
    dd if=$OLD of=$OUT bs=65536 conv=fsync 2>/dev/null || era_fail "dd $OLD"
    blockdev --flushbufs $OUT 2>/dev/null
}

# tool_cmd TOOL OUTPUT: the tool's command line
tool_cmd() {
    case $1 in
    restore) echo "era_restore -i /in/input.xml -o $2" ;;
    restore_small) echo "era_restore -i /in/small.xml -o $2" ;;
    repair) echo "era_repair -i $IN -o $2" ;;
    repair_damaged) echo "era_repair -i $IN_DMG -o $2" ;;
    *) era_fail "unknown tool $1" ;;
    esac
}

check_out() {
    blockdev --flushbufs $OUT 2>/dev/null
    era_check $OUT > /tmp/check.out 2>&1
    echo $?
}

dump_md5() {
    era_dump $OUT 2>/dev/null | md5sum | cut -d' ' -f1
}

disk_md5() {
    md5sum < $OUT | cut -d' ' -f1
}

uptime_cs() {
    read _u _rest < /proc/uptime
    echo $(( ${_u%.*} * 100 + 1${_u#*.} - 100 ))
}

case ${ERA_FAULT:-} in
kill)
    reset_output
    c=$(check_out)
    era_log "NOTE old metadata on $OUT: era_check $c"
    t0=$(uptime_cs)
    $(tool_cmd "$ERA_TOOL" $OUT) > /tmp/tool.out 2>&1
    rc=$?
    t1=$(uptime_cs)
    c=$(check_out)
    era_log "KILL_FULL $((t1 - t0)) $rc $c $(disk_md5) $(dump_md5)"
    full_us=$(( (t1 - t0) * 10000 ))
    [ $full_us -gt 0 ] || full_us=10000
    for f in $ERA_KILL_FRACS; do
        reset_output
        delay=$(( full_us * f / 1000 ))
        $(tool_cmd "$ERA_TOOL" $OUT) > /tmp/tool.out 2>&1 &
        pid=$!
        usleep $delay
        kill -9 $pid 2>/dev/null
        wait $pid
        rc=$?
        c=$(check_out)
        era_log "KILL $f $delay $rc $c $(disk_md5)"
    done
    # what the kernel makes of an interrupted output (era_check aside)
    reset_output
    $(tool_cmd "$ERA_TOOL" $OUT) > /tmp/tool.out 2>&1 &
    pid=$!
    usleep $(( full_us * ${ERA_KERNEL_FRAC:-300} / 1000 ))
    kill -9 $pid 2>/dev/null
    wait $pid
    rc=$?
    c=$(check_out)
    ERA_META=$OUT ERA_NAME=afterkill
    if dmsetup create afterkill --table "$(era_table)" 2>/tmp/create.err; then
        era_log "KERNEL_AFTER_KILL $rc $c created $(dmsetup status afterkill)"
        dmsetup remove afterkill || era_fail "dmsetup remove afterkill"
    else
        era_log "KERNEL_AFTER_KILL $rc $c refused $(head -n 1 /tmp/create.err)"
    fi
    ;;
ioerr)
    sz=$(cat /sys/block/vdc/size)
    for spec in $ERA_IOERR_CASES; do
        t=${spec%%:*} kind=${spec#*:}
        reset_output
        before=$(disk_md5)
        case $kind in
        linear) printf '0 32 linear %s 0\n32 %s error\n' $OUT $((sz - 32)) > /tmp/table ;;
        flakey) printf '0 %s flakey %s 0 0 1 1 error_writes\n' $sz $OUT > /tmp/table ;;
        *) era_fail "unknown table $kind" ;;
        esac
        dmsetup create badout < /tmp/table || era_fail "dmsetup create badout ($kind)"
        m=$(dmsetup info -c --noheadings -o minor badout | tr -d ' ')
        dev=/dev/dm-$m
        era_wait_dev $dev
        $(tool_cmd "$t" $dev) > /tmp/tool.out 2>&1
        rc=$?
        dmsetup remove badout || era_fail "dmsetup remove badout"
        c=$(check_out)
        after=$(disk_md5)
        era_log "IOERR $t $kind $dev $rc $c $before $after"
        era_log "OUT BEGIN"
        sed 's/^/ERA OUT /' /tmp/tool.out
        era_log "OUT END"
    done
    ;;
*)
    era_fail "ERA_FAULT=${ERA_FAULT:-} (kill or ioerr)"
    ;;
esac
