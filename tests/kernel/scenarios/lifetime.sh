# lifetime (kernel test, issue 13): metadata written by our era_restore /
# era_repair on /dev/vdc, /dev/vdd, ... (origin /dev/vdb), activated and
# kept in use until the kernel has digested every writeset it found there.
# ERA_DISKS="vdc:NR_BLOCKS ...".  For each disk:
#   era_check, create, writes, checkpoint, writes; then rounds of
#   suspend (the kernel commits) / read back the oldest archived writeset
#   ("OLDEST_ARCHIVED <era>|none round <k>") / resume / a write and a
#   checkpoint, until no writeset older than the activation's first era is
#   left or ERA_DIGEST_ROUNDS rounds passed; a last write and checkpoint;
#   remove.
# Each disk's lines start with "ERA DISK <name> lifetime".
#@ test
. /guest-lib.sh
ROUNDS=${ERA_DIGEST_ROUNDS:-40}

# Reads back from the suspended device (page cache dropped first: the
# kernel writes through dm-bufio) the lowest key of the writeset tree, i.e.
# the oldest archived writeset not yet digested: "none" when the tree is
# empty.  era_dump would do, but it prints every bit of every writeset,
# minutes under TCG for 1M-block writesets; the host's era_dump checks the
# same on the image after the boot.
rd() { od -An -t"u$1" -j "$3" -N "$1" "$2" | tr -d ' '; }
oldest_archived() {
    blockdev --flushbufs "$ERA_META" 2>/dev/null
    _b=$(rd 8 "$ERA_META" 200) _i=0
    while [ $_i -lt 8 ]; do
        _o=$((_b * 4096))
        _flags=$(rd 4 "$ERA_META" $((_o + 4)))
        _nr=$(rd 4 "$ERA_META" $((_o + 16)))
        if [ "$_nr" = 0 ]; then echo none; return; fi
        if [ $((_flags & 1)) = 0 ]; then rd 8 "$ERA_META" $((_o + 32)); return; fi
        _max=$(rd 4 "$ERA_META" $((_o + 20)))
        _b=$(rd 8 "$ERA_META" $((_o + 32 + 8 * _max)))
        _i=$((_i + 1))
    done
    echo "deep"
}

for spec in $ERA_DISKS; do
    d=${spec%%:*}; nb=${spec#*:}
    era_disk_create "$d" "$nb" lifetime || continue
    first=$(dmsetup status "$ERA_NAME" | awk '{print $6}')
    era_write 1 2
    era_write $((nb - 1)) 1
    era_msg checkpoint
    era_write $((nb / 2)) 3
    k=0
    while :; do
        era_suspend
        old=$(oldest_archived)
        era_resume
        era_log "OLDEST_ARCHIVED $old round $k"
        case $old in
        none) break ;;
        *[!0-9]*|"") ;;
        *) [ "$old" -ge "$first" ] && break ;;
        esac
        k=$((k + 1))
        if [ $k -ge "$ROUNDS" ]; then
            era_note "digest not complete after $k rounds"
            break
        fi
        era_write $(( (k * 37) % nb )) 1
        era_msg checkpoint
        sleep 1
    done
    era_write $((nb / 3)) 2
    era_msg checkpoint
    era_write 0 1
    era_status
    era_remove
done
