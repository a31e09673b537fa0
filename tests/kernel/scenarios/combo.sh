# combo (kernel test, fast subset): checkpoints, suspend/resume, a metadata
# snapshot read LIVE by our static era_invalidate in the guest while a
# background writer runs and a checkpoint passes, dropped; a second snapshot
# still held at removal (read on the host with --metadata-snapshot).
#@ test
#@ boot: --origin-size 256M --meta-size 64M --timeout 300
. /guest-lib.sh
era_create
era_write 0 16
era_write 4095 1
era_msg checkpoint
era_write 8 16
era_write 1000 32
era_msg checkpoint
era_suspend
era_resume
era_write 2048 64
era_write 0 1
era_msg checkpoint
era_write 3000 10
era_write 1000 1
era_msg take_metadata_snap
rm -f /tmp/stop
(
    b=3500
    while [ ! -f /tmp/stop ]; do
        era_write_bg "$b" 2
        b=$((b + 3)); [ $b -ge 4000 ] && b=3500
    done
) &
bg=$!
sleep 0.5
for e in 0 1 2 3 4 5 6 7 8; do era_invalidate_dev $e "$ERA_META" --metadata-snapshot; done
era_msg checkpoint
era_write 20 4
era_invalidate_dev 4 "$ERA_META" --metadata-snapshot
era_invalidate_dev 6 "$ERA_META" --metadata-snapshot
touch /tmp/stop
wait $bg
era_msg drop_metadata_snap
era_write 100 4
era_msg take_metadata_snap
era_write 200 4
era_write 3000 1
era_msg checkpoint
era_write 300 1
era_remove
