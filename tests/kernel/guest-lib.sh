# Helper library for dm-era scenarios; POSIX sh, sourced by busybox sh in the
# QEMU guest:  . /guest-lib.sh
#
# Every action logs one line "ERA <WORD> ..." to the console.  The lines are
# the ground truth of a fixture (make-fixtures.sh keeps them, without the
# "ERA " prefix, in tests/fixtures/<name>.log):
#   CREATE <table>          device created (a resume: starts a new era)
#   WRITE <start> <count>   origin blocks [start, start+count) written and
#                           synced (acknowledged) in the era of the last STATUS
#   MSG <message>           target message sent (followed by STATUS)
#   STATUS <dmsetup status line>   e.g. "0 2097152 era 8 10/16384 2 -"
#   SUSPEND / RESUME / RELOAD <table> / REMOVE
#   CRASH                   about to crash (sysrq b, no clean suspend); a
#                           background writer may still log WRITEs after it:
#                           every logged WRITE was acknowledged before the crash
#   NOTE <text>             free text
#   WBEGIN <start> <count>  (era_write_bg) a write is about to start; its
#                           WRITE follows when acknowledged.  Writers running
#                           beside checkpoints log this so that the era the
#                           write may land in is bounded from below
#   WSTART <start> <count> (era_write_fg) a foreground write is about to
#                           start (crash scenarios: a write cut by the crash
#                           may still have reached the metadata)
#   CHECK <dev> <status>    exit status of era_check (our static binary) run
#                           in the guest on <dev>
#   INVALIDATE <since> <file>  era_invalidate output follows between
#                           "ERA OUT BEGIN" and "ERA OUT END" lines
# A block written in the era E reported by the latest STATUS before its
# WRITE line has era >= E afterwards (a later WRITE may raise it).

ERA_NAME=${ERA_NAME:-era0}
ERA_DEV=${ERA_DEV:-/dev/dm-0}          # no udev: /dev/mapper/* never appears
ERA_META=${ERA_META:-/dev/vda}
ERA_ORIGIN=${ERA_ORIGIN:-/dev/vdb}
ERA_BLOCK_SECTORS=${ERA_BLOCK_SECTORS:-128}
ERA_BS=$((ERA_BLOCK_SECTORS * 512))

era_log() { echo "ERA $*"; }
era_note() { era_log "NOTE $*"; }
era_fail() { era_log "FAIL $*"; exit 1; }

# Origin size in sectors / in era blocks.
era_origin_sectors() { cat "/sys/block/$(basename "$ERA_ORIGIN")/size"; }
era_origin_blocks() { echo $(( $(era_origin_sectors) / ERA_BLOCK_SECTORS )); }

era_table() {
    echo "0 ${1:-$(era_origin_sectors)} era $ERA_META $ERA_ORIGIN $ERA_BLOCK_SECTORS"
}

era_status() {
    s=$(dmsetup status "$ERA_NAME") || era_fail "dmsetup status"
    era_log "STATUS $s"
}

# era_create [SIZE_SECTORS]   (default: the whole origin)
era_create() {
    t=$(era_table "$@")
    dmsetup create "$ERA_NAME" --table "$t" || era_fail "dmsetup create $t"
    # The minor is 0 for the first device of a boot, but not always after a
    # remove/create or with several targets: ask dmsetup.
    _m=$(dmsetup info -c --noheadings -o minor "$ERA_NAME" 2>/dev/null | tr -d ' ')
    [ -n "$_m" ] && ERA_DEV=/dev/dm-$_m
    i=0
    while [ ! -b "$ERA_DEV" ]; do
        i=$((i + 1)); [ $i -gt 50 ] && era_fail "no $ERA_DEV"; sleep 0.1
    done
    era_log "CREATE $t"
    era_status
}

# era_write START_BLOCK COUNT: write COUNT era blocks from START_BLOCK, sync,
# then log WRITE.
era_write() {
    [ -b "$ERA_DEV" ] || era_fail "era_write: no block device $ERA_DEV"
    dd if=/dev/zero of="$ERA_DEV" bs="$ERA_BS" seek="$1" count="$2" \
        conv=notrunc 2>/dev/null || era_fail "dd seek=$1 count=$2"
    sync
    era_log "WRITE $1 $2"
}

# era_msg checkpoint|take_metadata_snap|drop_metadata_snap
era_msg() {
    dmsetup message "$ERA_NAME" 0 "$@" || era_fail "dmsetup message $*"
    era_log "MSG $*"
    era_status
}

# era_quick_checkpoints COUNT START STRIDE: COUNT times, write one block
# (START, START+STRIDE, ... modulo the origin) and checkpoint, as fast as
# possible (no STATUS after each MSG; one STATUS at the end).  Each
# checkpoint adds exactly 1 to the era.  Leaves undigested writesets.
era_quick_checkpoints() {
    [ -b "$ERA_DEV" ] || era_fail "era_quick_checkpoints: no block device $ERA_DEV"
    _n=$(era_origin_blocks) _b=$2 _i=0
    while [ "$_i" -lt "$1" ]; do
        dd if=/dev/zero of="$ERA_DEV" bs="$ERA_BS" seek="$_b" count=1 \
            conv=notrunc,fsync 2>/dev/null || era_fail "dd seek=$_b"
        era_log "WRITE $_b 1"
        dmsetup message "$ERA_NAME" 0 checkpoint || era_fail "checkpoint"
        era_log "MSG checkpoint"
        _b=$(( (_b + $3) % _n )) _i=$((_i + 1))
    done
    era_status
}

era_suspend() {
    dmsetup suspend "$ERA_NAME" || era_fail "dmsetup suspend"
    era_log "SUSPEND"
}

era_resume() {
    dmsetup resume "$ERA_NAME" || era_fail "dmsetup resume"
    era_log "RESUME"
    era_status
}

# era_reload [SIZE_SECTORS]: load a new table (activate with suspend+resume)
era_reload() {
    t=$(era_table "$@")
    dmsetup reload "$ERA_NAME" --table "$t" || era_fail "dmsetup reload $t"
    era_log "RELOAD $t"
}

# era_resize [SIZE_SECTORS]: reload + suspend + resume
era_resize() {
    era_reload "$@"
    era_suspend
    era_resume
}

era_remove() {
    dmsetup remove "$ERA_NAME" || era_fail "dmsetup remove"
    era_log "REMOVE"
}

# Crash now: no suspend, no sync of anything still in flight.
era_crash() {
    era_log "CRASH"
    sleep 0.5        # let the console line reach the serial port
    echo b > /proc/sysrq-trigger
    sleep 10
    era_fail "still alive after sysrq b"
}

# era_write_bg START COUNT: as era_write, for writers that run beside
# checkpoints: logs WBEGIN before the write starts.
era_write_bg() {
    era_log "WBEGIN $1 $2"
    dd if=/dev/zero of="$ERA_DEV" bs="$ERA_BS" seek="$1" count="$2" \
        conv=notrunc 2>/dev/null || era_fail "dd seek=$1 count=$2"
    sync
    era_log "WRITE $1 $2"
}

# era_write_fg START COUNT: as era_write, logging WSTART first (crash
# scenarios: marks the write in flight if the crash cuts it).
era_write_fg() {
    era_log "WSTART $1 $2"
    era_write "$@"
}

# era_check_dev DEV: run our era_check (installed in the guest with
# --extra-bin bin/era_check.static) on DEV and log its exit status.
era_check_dev() {
    command -v era_check >/dev/null 2>&1 || era_fail "no era_check in the guest"
    era_check "$1" > /tmp/era_check.out 2>&1
    _rc=$?
    sed 's/^/ERA NOTE era_check: /' /tmp/era_check.out
    era_log "CHECK $1 $_rc"
    return 0
}

# era_invalidate_dev SINCE DEV [ARGS...]: run era_invalidate in the guest and
# print its output between OUT BEGIN / OUT END lines.
era_invalidate_dev() {
    _since=$1 _dev=$2
    shift 2
    era_invalidate --written-since "$_since" "$@" "$_dev" > /tmp/era_inv.out 2>&1
    _rc=$?
    era_log "INVALIDATE $_since $_rc"
    era_log "OUT BEGIN"
    sed 's/^/ERA OUT /' /tmp/era_inv.out
    echo
    era_log "OUT END"
}

# era_wait_dev DEV: wait for a block device node (extra disks probe late).
era_wait_dev() {
    _i=0
    while [ ! -b "$1" ]; do
        _i=$((_i + 1)); [ $_i -gt 100 ] && era_fail "no $1"; sleep 0.1
    done
}

# era_disk_create DISK NR_BLOCKS MODE: dm-era over NR_BLOCKS blocks with the
# extra disk /dev/DISK as metadata, after era_check on it; logs DISK, CHECK
# and CREATE, or CREATE_FAILED and returns 1 when dmsetup create fails (a
# refusal some scenarios expect).
era_disk_create() {
    ERA_META=/dev/$1
    ERA_NAME=era_$1
    era_wait_dev "$ERA_META"
    era_log "DISK $1 $3"
    era_check_dev "$ERA_META"
    t=$(era_table $(($2 * ERA_BLOCK_SECTORS)))
    if ! dmsetup create "$ERA_NAME" --table "$t" 2>/tmp/create.err; then
        era_log "CREATE_FAILED $(head -n 1 /tmp/create.err)"
        return 1
    fi
    _m=$(dmsetup info -c --noheadings -o minor "$ERA_NAME" | tr -d ' ')
    ERA_DEV=/dev/dm-$_m
    era_wait_dev "$ERA_DEV"
    era_log "CREATE $t"
    era_status
}
