# fresh: the kernel formats empty metadata; no writes; clean removal.
#@ boot: --origin-size 64M --meta-size 64M
. /guest-lib.sh
era_create
era_remove
