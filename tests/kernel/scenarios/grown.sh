# grown: boot 1 creates the target on 2048 blocks and writes; boot 2 grows
# the origin image to 4096 blocks, creates with the old size, reloads the
# table with the whole origin, writes across the old end and checkpoints.
#@ boot: --origin-size 128M --meta-size 64M
#@ boot: --origin-size 256M
. /guest-lib.sh
OLD_BLOCKS=2048
if [ "$ERA_BOOT" = 1 ]; then
    era_create
    era_write 0 16
    era_write 2047 1
    era_msg checkpoint
    era_write 1000 8
    era_remove
else
    era_create $((OLD_BLOCKS * ERA_BLOCK_SECTORS))
    era_write 10 5
    era_resize
    era_write 2040 16
    era_write 3000 16
    era_msg checkpoint
    era_write 4095 1
    era_remove
fi
