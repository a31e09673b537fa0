# huge (kernel test, full suite only): 4,194,304 blocks (256 GiB sparse
# origin); spread writes, checkpoints in quick succession: the kernel is
# left with undigested archived writesets.
#@ test
#@ boot: --origin-size 256G --meta-size 64M --timeout 900
. /guest-lib.sh
era_create
n=$(era_origin_blocks)
e=0
while [ $e -lt 4 ]; do
    i=0
    while [ $i -lt 6 ]; do
        era_write $(( (i * n / 6 + e * 65537 + i * 977) % n )) $((e + 2))
        i=$((i + 1))
    done
    era_msg checkpoint
    e=$((e + 1))
done
era_quick_checkpoints 8 4242 524287
era_write 0 1
era_write $((n - 1)) 1
era_status
era_remove
