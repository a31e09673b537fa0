# checkpoints (kernel test): 60 eras, rewrites of the same blocks across eras,
# bursts faster than the kernel digests and pauses that let it digest.
#@ test
#@ boot: --origin-size 256M --meta-size 64M --timeout 400
. /guest-lib.sh
era_create
i=0
while [ $i -lt 30 ]; do
    era_write $(( (i * 131) % 4096 )) $(( 1 + i % 7 ))
    era_write $(( i % 5 )) 1
    era_msg checkpoint
    [ $((i % 10)) = 9 ] && sleep 1
    i=$((i + 1))
done
era_quick_checkpoints 30 7 613
era_write 4095 1
era_write 0 2
era_status
era_remove
