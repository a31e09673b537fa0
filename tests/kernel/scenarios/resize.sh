# resize (kernel test): boot 1 on 2048 blocks; boot 2 grows the origin to
# 4096 blocks (table reload, writes across the old end), then shrinks the
# table to 3000 blocks (reload + resume) and writes again; boot 3 creates
# the target again at 3000 blocks, then grows it back to 4096.
#@ test
#@ boot: --origin-size 128M --meta-size 64M
#@ boot: --origin-size 256M
#@ boot:
. /guest-lib.sh
if [ "$ERA_BOOT" = 1 ]; then
    era_create
    era_write 0 16
    era_write 2047 1
    era_msg checkpoint
    era_write 1000 8
    era_remove
elif [ "$ERA_BOOT" = 2 ]; then
    era_create $((2048 * ERA_BLOCK_SECTORS))
    era_write 10 5
    era_resize
    era_write 2040 16
    era_write 3500 16
    era_write 2990 20
    era_msg checkpoint
    era_write 4095 1
    era_write 2999 1
    era_resize $((3000 * ERA_BLOCK_SECTORS))
    era_write 2995 5
    era_write 20 1
    era_msg checkpoint
    era_write 21 1
    era_remove
else
    era_create $((3000 * ERA_BLOCK_SECTORS))
    era_write 22 1
    era_resize
    era_write 3998 2
    era_remove
fi
