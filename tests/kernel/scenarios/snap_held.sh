# snap_held: writes, take_metadata_snap, more writes; the snapshot is still
# held at the clean shutdown.
#@ boot: --origin-size 128M --meta-size 64M
. /guest-lib.sh
era_create
era_write 0 32
era_write 500 8
era_msg checkpoint
era_write 16 32
era_msg take_metadata_snap
era_write 1000 16
era_write 0 4
era_msg checkpoint
era_write 2047 1
era_remove
