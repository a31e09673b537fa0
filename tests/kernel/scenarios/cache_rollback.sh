# cache_rollback: issue 16's vendor-rollback runbook on the real dm-cache.
# origin /dev/vdb <- dm-cache cache0 (writethrough, smq; metadata /dev/vdc,
# cache /dev/vdd) <- dm-era era0 (metadata /dev/vda) on top of the cache.
# Writes and reads (so that smq caches many blocks), checkpoint, note E,
# copy the origin aside (the vendor snapshot, /dev/vde); more writes and
# reads; then:
#   negative control: passthrough, roll the origin back, writethrough
#     again WITHOUT invalidating, read the era device to /dev/vdf (stale);
#   the runbook (man era_invalidate): passthrough, roll back,
#     take_metadata_snap, era_invalidate --cache-metadata --format cblocks,
#     invalidate_cblocks per line, drop_metadata_snap, writethrough; read
#     the era device to /dev/vdg (must equal /dev/vde).
# /dev/vdh and /dev/vdi get live copies of the cache and the era metadata
# taken while era_invalidate ran, era snapshot held (host test fixtures).  The host compares the images block by block.
# Env: EBS (era block sectors), CBS (cache block sectors), META2 (1: the
# metadata2 feature), SEED.
#@ test (tests/kernel/test_jobs.py; make-fixtures skips it)
#@ boot: --origin-size 32M --meta-size 8M
. /guest-lib.sh
EBS=${EBS:-128} CBS=${CBS:-128} SEED=${SEED:-1}
ERA_BLOCK_SECTORS=$EBS
ORIGIN=/dev/vdb CMETA=/dev/vdc CDATA=/dev/vdd SNAP=/dev/vde NEG=/dev/vdf FINAL=/dev/vdg CMCOPY=/dev/vdh
EMCOPY=/dev/vdi
for d in $CMETA $CDATA $SNAP $NEG $FINAL $CMCOPY $EMCOPY; do era_wait_dev $d; done
SZ=$(era_origin_sectors)
CDATA_SZ=$(cat /sys/block/vdd/size)
FEAT="writethrough" PFEAT="passthrough"
NF=1
[ "${META2:-0}" = 1 ] && { FEAT="writethrough metadata2"; PFEAT="passthrough metadata2"; NF=2; }
# a fresh cache metadata device must start zeroed
dd if=/dev/zero of=$CMETA bs=1M count=8 conv=fsync 2>/dev/null
cache_table() { echo "0 $SZ cache $CMETA $CDATA $ORIGIN $CBS $1 smq 0"; }
cache_mode() {
    dmsetup reload cache0 --table "$(cache_table "$1")" || era_fail "reload cache $1"
    dmsetup suspend cache0 || era_fail "suspend cache"
    dmsetup resume cache0 || era_fail "resume cache ($1)"
    era_log "NOTE cache mode $1: $(dmsetup status cache0)"
}
dmsetup create cache0 --table "$(cache_table "$NF $FEAT")" || era_fail "create cache"
CACHE_DEV=/dev/dm-$(dmsetup info -c --noheadings -o minor cache0 | tr -d ' ')
era_wait_dev $CACHE_DEV
ERA_ORIGIN=$CACHE_DEV
era_create
era_log "NOTE cache $(dmsetup table cache0)"

# random extents (sector offset, sectors), unaligned to both block sizes
rnd_extents() { # N MAXSECTORS SEED
    awk -v n="$1" -v max="$2" -v sz="$SZ" -v s="$3" 'BEGIN { srand(s);
        for (i = 0; i < n; i++) { c = 1 + int(rand() * max); o = int(rand() * (sz - c));
            print o, c } }'
}
write_extents() {
    while read -r o c; do
        dd if=/dev/urandom of="$ERA_DEV" bs=512 seek="$o" count="$c" conv=notrunc 2>/dev/null ||
            era_fail "write $o $c"
        era_log "SWRITE $o $c"
    done
    sync
}
# smq promotes blocks read again and again with time between the passes
read_hot() { # PASSES SEED
    rnd_extents 24 256 "$2" > /tmp/hot
    p=0
    while [ $p -lt "$1" ]; do
        while read -r o c; do
            dd if="$ERA_DEV" of=/dev/null bs=512 skip="$o" count="$c" iflag=direct 2>/dev/null
        done < /tmp/hot
        dd if="$ERA_DEV" of=/dev/null bs=1M iflag=direct 2>/dev/null
        sleep 1
        p=$((p + 1))
    done
}
used() { dmsetup status cache0 | awk '{ split($7, u, "/"); print u[1] }'; }

rnd_extents 80 300 "$SEED" | write_extents
read_hot 5 $((SEED + 100))
era_log "NOTE cached before the snapshot: $(used)"
era_msg checkpoint
E=$(dmsetup status era0 | awk '{ print $(NF - 1) }')
era_log "SINCE $E"
sync
echo 3 > /proc/sys/vm/drop_caches
dd if=$ORIGIN of=$SNAP bs=1M iflag=direct conv=fsync 2>/dev/null || era_fail "vendor snapshot"
era_log "NOTE vendor snapshot taken"
rnd_extents 40 300 $((SEED + 7)) | write_extents
read_hot 4 $((SEED + 200))
# rewrite part of what is hot, so cached blocks hold post-snapshot data
awk '{ print $1, ($2 > 64 ? 64 : $2) }' /tmp/hot | write_extents
read_hot 2 $((SEED + 200))
era_log "CACHED $(used)"
era_status

rollback() {
    dd if=$SNAP of=$ORIGIN bs=1M iflag=direct oflag=direct conv=fsync 2>/dev/null || era_fail "rollback"
    era_log "NOTE origin rolled back"
}
read_era_to() {
    echo 3 > /proc/sys/vm/drop_caches
    dd if="$ERA_DEV" of="$1" bs=1M iflag=direct conv=fsync 2>/dev/null || era_fail "read $ERA_DEV"
}

# negative control: the same rollback without invalidation
cache_mode "$NF $PFEAT"
rollback
cache_mode "$NF $FEAT"
read_era_to $NEG
era_log "NOTE negative control read"

# the runbook, as era_invalidate(8) gives it
cache_mode "$NF $PFEAT"
rollback
era_msg take_metadata_snap
era_invalidate --metadata-snapshot --written-since "$E" --cache-metadata $CMETA --format json $ERA_META \
    > /tmp/inv.json 2>&1 || { cat /tmp/inv.json; era_fail "era_invalidate json"; }
sed 's/^/ERA JSON /' /tmp/inv.json
era_invalidate --metadata-snapshot --written-since "$E" --format json $ERA_META > /tmp/era.json 2>&1
sed 's/^/ERA EJSON /' /tmp/era.json
era_invalidate --metadata-snapshot --written-since "$E" --cache-metadata $CMETA --format cblocks $ERA_META \
    > /tmp/cblocks 2>/tmp/inv.err || { cat /tmp/inv.err; era_fail "era_invalidate cblocks"; }
dd if=$CMETA of=$CMCOPY bs=1M iflag=direct conv=fsync 2>/dev/null
dd if=$ERA_META of=$EMCOPY bs=1M iflag=direct conv=fsync 2>/dev/null
n=0
while read -r a; do
    era_log "CBLOCKS $a"
    dmsetup message cache0 0 invalidate_cblocks $a || era_fail "invalidate_cblocks $a"
    n=$((n + 1))
done < /tmp/cblocks
era_log "NOTE $n invalidate_cblocks messages"
era_msg drop_metadata_snap
cache_mode "$NF $FEAT"
read_era_to $FINAL
era_log "NOTE after: $(dmsetup status cache0)"

# Live reads: passthrough again and a writer hitting cached blocks, so the
# kernel invalidates and commits while era_invalidate reads.  One era
# snapshot held throughout: the listed set can only shrink from run to run
# (passthrough only removes mappings); a torn read would show a block the
# run before did not list.
cache_mode "$NF $PFEAT"
era_msg take_metadata_snap
# the writer sweeps the cache blocks in random order: every cached one is a
# write hit (invalidated, then committed by the kernel)
awk -v n=$((SZ / CBS)) -v s="$SEED" 'BEGIN { srand(s); for (i = 0; i < n; i++) p[i] = i;
    for (i = n - 1; i > 0; i--) { j = int(rand() * (i + 1)); t = p[i]; p[i] = p[j]; p[j] = t }
    for (i = 0; i < n; i++) print p[i] }' > /tmp/sweep
(i=0; while read -r k; do
    [ -e /tmp/stop ] && break
    dd if=/dev/urandom of="$ERA_DEV" bs=512 seek=$((k * CBS)) count=8 conv=notrunc oflag=direct 2>/dev/null
    i=$((i + 1))
done < /tmp/sweep; era_log "NOTE live writer: $i writes") &
LW=$!
r=0
while [ $r -lt 6 ]; do
    sleep 0.7
    era_invalidate --metadata-snapshot --written-since 0 --cache-metadata $CMETA --format json $ERA_META \
        > /tmp/live 2>/tmp/live.err
    rc=$?
    # one line: reads it took, then the ranges as B-E
    era_log "LIVE $r $rc $(sed -n 's/^ *"reads": \([0-9]*\),$/reads=\1/p; s/^ *{"begin": \([0-9]*\), "end": \([0-9]*\)}.*$/\1-\2/p' /tmp/live | tr '\n' ' ') $(cat /tmp/live.err)"
    r=$((r + 1))
done
touch /tmp/stop
wait $LW
dmsetup suspend cache0
era_invalidate --metadata-snapshot --written-since 0 --cache-metadata $CMETA --format cblocks $ERA_META \
    > /tmp/live 2>/tmp/live.err
era_log "SUSPENDED $? $(tr '\n' ' ' < /tmp/live) $(cat /tmp/live.err)"
era_log "NOTE suspended: $(dmsetup status cache0)"
dmsetup resume cache0
era_msg drop_metadata_snap
era_remove
dmsetup remove cache0 || era_fail "remove cache"
