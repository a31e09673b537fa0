# resume (kernel test): writes before and after suspend/resume, a write
# issued while suspended (lands after the resume), resume without writes.
#@ test
#@ boot: --origin-size 128M --meta-size 64M --timeout 300
. /guest-lib.sh
era_create
era_write 0 4
era_write 2047 1
era_suspend
era_resume
era_write 2 4
era_suspend
era_resume
era_suspend
era_resume
era_write 100 8
era_msg checkpoint
era_suspend
( era_write_bg 500 4 ) &
sleep 1
era_resume
wait
era_write 501 1
era_suspend
era_resume
era_status
era_remove
