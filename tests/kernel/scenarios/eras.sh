# eras: 4096 blocks, writes in 8 eras (checkpoints and one suspend/resume),
# overlapping rewrites, first and last block; time to digest at the end.
#@ boot: --origin-size 256M --meta-size 64M
. /guest-lib.sh
era_create
era_write 0 16
era_write 100 4
era_msg checkpoint
era_write 8 16
era_write 1000 32
era_msg checkpoint
era_write 4095 1
era_write 2048 64
era_msg checkpoint
era_suspend
era_resume
era_write 0 1
era_write 3000 100
era_msg checkpoint
era_write 1024 10
era_write 101 1
era_msg checkpoint
era_write 512 256
era_msg checkpoint
era_write 2 2
era_write 4000 8
sleep 2
era_status
era_remove
