# bigbench (benchmarks only, not committed): 16,777,216 blocks (1 TiB sparse
# origin), writes spread over the device, ~12 undigested archived writesets.
# Generate with: make bench-fixtures  (or make-fixtures.sh --out DIR bigbench)
#@ bench
#@ boot: --origin-size 1T --meta-size 256M --timeout 900
. /guest-lib.sh
era_create
n=$(era_origin_blocks)
e=0
while [ $e -lt 3 ]; do
    i=0
    while [ $i -lt 16 ]; do
        era_write $(( (i * n / 16 + e * 65537 + i * 977) % n )) 4
        i=$((i + 1))
    done
    era_msg checkpoint
    e=$((e + 1))
done
era_quick_checkpoints 8 12345 1677721
era_write 0 1
era_write $((n - 1)) 1
era_remove
