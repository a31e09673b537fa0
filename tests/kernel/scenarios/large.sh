# large: 1,048,576 blocks (64 GiB sparse origin); writes spread over the
# device, then checkpoints in quick succession, removed at once so that the
# writeset tree still holds undigested archived writesets.
#@ boot: --origin-size 64G --meta-size 64M
. /guest-lib.sh
era_create
n=$(era_origin_blocks)
e=0
while [ $e -lt 6 ]; do
    i=0
    while [ $i -lt 8 ]; do
        era_write $(( (i * n / 8 + e * 4099 + i * 13) % n )) $((e + 1))
        i=$((i + 1))
    done
    era_msg checkpoint
    e=$((e + 1))
done
# quick succession: one write per era, faster than the kernel digests
era_quick_checkpoints 10 4242 131071
era_write 0 1
era_write $((n - 1)) 1
era_remove
