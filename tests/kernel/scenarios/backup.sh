# backup: issue 16's incremental-backup runbook (man era_invalidate) on the
# real dm-era target, with a background writer running during every
# increment but the last.  /dev/vdc is the backup copy of the era device.
# Each round: take_metadata_snap, era_invalidate --metadata-snapshot
# --written-since N --format json, copy the listed ranges at
# block_size * 512 bytes a block, drop_metadata_snap, N = next_written_since
# (the first round: N = 0, a full copy).  Nothing else carries over between
# rounds.
# Log: "BW BEGIN|ACK <sector> <count> <how>" from the writer (ACK once the
# write is durable: O_DIRECT, fsync or dd+sync), "SNAPBEGIN k" / "SNAP k"
# around take_metadata_snap, "LIST k <begin> <end>" for each listed range.
# Env: ROUNDS (with the writer; one quiet round follows), SEED.
#@ test (tests/kernel/test_jobs.py; make-fixtures skips it)
#@ boot: --origin-size 32M --meta-size 8M
. /guest-lib.sh
ROUNDS=${ROUNDS:-3} SEED=${SEED:-1}
BACKUP=/dev/vdc
era_wait_dev $BACKUP
era_create
SZ=$(era_origin_sectors)

writer() {
    awk -v sz="$SZ" -v s="$SEED" 'BEGIN { srand(s);
        for (i = 0; i < 100000; i++) { c = 1 + int(rand() * 200); o = int(rand() * (sz - c));
            h = int(rand() * 3); print o, c, h } }' |
    while read -r o c h; do
        [ -e /tmp/stop ] && break
        era_log "BW BEGIN $o $c $h"
        case $h in
        0) dd if=/dev/urandom of="$ERA_DEV" bs=512 seek="$o" count="$c" conv=notrunc oflag=direct 2>/dev/null ;;
        1) dd if=/dev/urandom of="$ERA_DEV" bs=512 seek="$o" count="$c" conv=notrunc,fsync 2>/dev/null ;;
        *) dd if=/dev/urandom of="$ERA_DEV" bs=512 seek="$o" count="$c" conv=notrunc 2>/dev/null && sync ;;
        esac || era_fail "writer dd $o $c"
        era_log "BW ACK $o $c $h"
    done
    era_log "NOTE writer stopped"
}

# some history first
dd if=/dev/urandom of="$ERA_DEV" bs=64K count=100 seek=50 conv=fsync 2>/dev/null
era_msg checkpoint

N=0
k=1
total=$((ROUNDS + 1))
while [ $k -le $total ]; do
    if [ $k -eq 1 ]; then writer & WPID=$!; sleep 1; fi
    if [ $k -eq $total ]; then
        touch /tmp/stop; wait $WPID; sync
        era_log "NOTE quiet round"
    fi
    era_log "SNAPBEGIN $k"
    dmsetup message "$ERA_NAME" 0 take_metadata_snap || era_fail "take_metadata_snap"
    era_log "SNAP $k"
    era_invalidate --metadata-snapshot --written-since "$N" --format json "$ERA_META" > /tmp/inc.json ||
        era_fail "era_invalidate round $k"
    BS=$(sed -n 's/^ *"block_size": \([0-9]*\),$/\1/p' /tmp/inc.json)
    NEXT=$(sed -n 's/^ *"next_written_since": \([0-9]*\),$/\1/p' /tmp/inc.json)
    [ -n "$BS" ] && [ -n "$NEXT" ] || era_fail "no block_size / next_written_since"
    sed -n 's/^ *{"begin": \([0-9]*\), "end": \([0-9]*\)}.*$/\1 \2/p' /tmp/inc.json > /tmp/ranges
    while read -r b e; do
        era_log "LIST $k $b $e"
        dd if="$ERA_DEV" of=$BACKUP bs=$((BS * 512)) skip="$b" seek="$b" count=$((e - b)) \
            iflag=direct conv=notrunc 2>/dev/null || era_fail "copy $b $e"
    done < /tmp/ranges
    sync
    dmsetup message "$ERA_NAME" 0 drop_metadata_snap || era_fail "drop_metadata_snap"
    era_log "ROUND $k since $N next $NEXT ranges $(wc -l < /tmp/ranges)"
    era_status
    N=$NEXT
    k=$((k + 1))
done
era_remove
