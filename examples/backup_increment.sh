#!/bin/sh
# One incremental backup of a live dm-era device with dd: the runbook of
# era_invalidate(8), "INCREMENTAL BACKUP".
#
#   backup_increment.sh ERA_NAME ERA_DEVICE ERA_METADATA BACKUP STATE
#
# ERA_NAME      the dm-era target (dmsetup name), e.g. era0
# ERA_DEVICE    its block device, e.g. /dev/mapper/era0 (read, never written)
# ERA_METADATA  its metadata device (read through a metadata snapshot)
# BACKUP        the backup copy: a device or file as large as ERA_DEVICE
# STATE         file holding the era to pass next time (absent: 0, a full copy)
#
# Writes may go on while this runs: what they change is copied next time,
# because only next_written_since carries over from run to run.
# DMSETUP and ERA_INVALIDATE name the commands (default: from $PATH).
set -eu
[ $# -eq 5 ] || { sed -n '2,16p' "$0" >&2; exit 2; }
NAME=$1 DEV=$2 META=$3 BACKUP=$4 STATE=$5
DMSETUP=${DMSETUP:-dmsetup}
ERA_INVALIDATE=${ERA_INVALIDATE:-era_invalidate}
since=0
[ -s "$STATE" ] && since=$(cat "$STATE")
tmp=$(mktemp)
trap 'rm -f "$tmp" "$tmp.ranges"' EXIT

$DMSETUP message "$NAME" 0 take_metadata_snap
# Drop the snapshot whatever happens next: while held it doubles the
# kernel's metadata writes.
drop() { $DMSETUP message "$NAME" 0 drop_metadata_snap; }
if ! $ERA_INVALIDATE --metadata-snapshot --written-since "$since" --format json "$META" > "$tmp"; then
    drop
    exit 1
fi
bs=$(sed -n 's/^ *"block_size": \([0-9]*\),$/\1/p' "$tmp")
next=$(sed -n 's/^ *"next_written_since": \([0-9]*\),$/\1/p' "$tmp")
[ -n "$bs" ] && [ -n "$next" ] || { drop; echo "$0: no block_size/next_written_since" >&2; exit 1; }
sed -n 's/^ *{"begin": \([0-9]*\), "end": \([0-9]*\)}.*$/\1 \2/p' "$tmp" > "$tmp.ranges"
# Ranges are in blocks of block_size sectors, end exclusive.
while read -r b e; do
    dd if="$DEV" of="$BACKUP" bs=$((bs * 512)) skip="$b" seek="$b" count=$((e - b)) \
        conv=notrunc status=none || { drop; exit 1; }
done < "$tmp.ranges"
sync
drop
# Only now, with every listed block copied, may the next run start later.
echo "$next" > "$STATE.tmp" && mv "$STATE.tmp" "$STATE"
echo "$0: copied the blocks written since era $since; next run: --written-since $next" >&2
