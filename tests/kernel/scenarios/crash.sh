# crash: writes and checkpoints, then a sysrq reboot while a background
# writer is busy (no suspend, no clean shutdown).  Every WRITE logged before
# CRASH was acknowledged and must be found in the metadata.
#@ boot: --origin-size 256M --meta-size 64M
. /guest-lib.sh
era_create
era_write 0 8
era_write 200 16
era_msg checkpoint
era_write 4 8
era_write 3000 32
era_msg checkpoint
era_write 4095 1
(
    b=1000
    while :; do
        era_write "$b" 3
        b=$(( (b + 37) % 4090 ))
    done
) &
sleep 3
era_crash
