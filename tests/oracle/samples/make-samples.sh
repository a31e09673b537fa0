#!/bin/sh
# Regenerate the oracle samples: restore hand-made XML with the reference
# era_restore and record what the reference tools print.  See README.md.
# Usage: tests/oracle/samples/make-samples.sh   (run from anywhere)
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
eval "$("$HERE/../get-reference-tools.sh")"
export LD_LIBRARY_PATH=${ERA_REF_LD_LIBRARY_PATH}
export LC_ALL=C
T110="$ERA_REF_110/usr/sbin/pdata_tools"
T090="$ERA_REF_090/usr/sbin"
W=$(mktemp -d); trap 'rm -rf "$W"' EXIT
cd "$W"
/usr/bin/python3 "$HERE/make-xml.py"
mkdir -p "$HERE/img" "$HERE/xml" "$HERE/out"
rm -f "$HERE"/img/* "$HERE"/xml/* "$HERE"/out/*

# run TAG CMD... : record stdout, stderr and exit status of one reference run
run() {
    tag=$1; shift
    set +e
    "$@" >"$W/o" 2>"$W/e"
    echo $? >"$HERE/out/$tag.rc"
    set -e
    if [ "$(wc -c <"$W/o")" -gt 65536 ]; then xz -9 -c "$W/o" >"$HERE/out/$tag.out.xz"
    else cp "$W/o" "$HERE/out/$tag.out"; fi
    cp "$W/e" "$HERE/out/$tag.err"
}

t110() { t=$1; shift; "$T110" "$t" "$@"; }
t090() { t=$1; shift; "$T090/$t" "$@"; }

for x in small three nows gap big; do
    if [ "$(wc -c <"$x.xml")" -gt 65536 ]; then xz -9 -c "$x.xml" >"$HERE/xml/$x.xml.xz"
    else cp "$x.xml" "$HERE/xml/$x.xml"; fi
    for v in 110 090; do
        img=$x.r$v.img
        rm -f "$img"; fallocate -l 4M "$img"
        run "$x.r$v.restore" t$v era_restore -i "$x.xml" -o "$img"
        xz -9 -c "$img" >"$HERE/img/$img.xz"
    done
    img=$x.r110.img     # all tool runs below read the 1.1.0-restored image
    cur=$(sed -n 's/.*current_era="\([0-9]*\)".*/\1/p' "$x.xml" | head -n1)
    for v in 110 090; do
        run "$x.$v.dump"          t$v era_dump "$img"
        run "$x.$v.dump-logical"  t$v era_dump --logical "$img"
        run "$x.$v.dump-repair"   t$v era_dump --repair "$img"
        run "$x.$v.check"         t$v era_check "$img"
        run "$x.$v.check-sbonly"  t$v era_check --super-block-only "$img"
        run "$x.$v.check-q"       t$v era_check -q "$img"
        n=0
        while [ $n -le $((cur + 1)) ]; do
            run "$x.$v.inval-$n"  t$v era_invalidate --written-since $n "$img"
            n=$((n + 1))
        done
    done
    rm -f rep.img; fallocate -l 4M rep.img
    run "$x.110.repair"          t110 era_repair -i "$img" -o rep.img
    run "$x.110.repair-dump"     t110 era_dump rep.img
    run "$x.r090-image.110.dump" t110 era_dump "$x.r090.img"
    run "$x.r090-image.090.dump" t090 era_dump "$x.r090.img"
done

# Error cases (stdout, stderr and exit status of each tool on bad input).
cp small.r110.img badsb.img
printf '\377' | dd of=badsb.img bs=1 seek=100 conv=notrunc 2>/dev/null
truncate -s 4M zero.img
truncate -s 1000 tiny.img
printf '<superblock uuid="" block_size="128" nr_blocks="4" current_era="1">\n<era_array>\n<era block="0" era="0"/>\n' >trunc.xml
printf '<superblock uuid="" block_size="128" nr_blocks="4" current_era="1" foo="1">\n</superblock>\n' >badattr.xml
printf '<superblock uuid="" block_size="128" current_era="1">\n</superblock>\n' >missing.xml
printf '<superblock uuid="" block_size="128" nr_blocks="4" current_era="1">\n<era_array>\n<era block="0" era="0"/>\n</era_array>\n</superblock>\n' >short.xml
printf 'garbage' >garbage.xml
for v in 110 090; do
    for i in zero tiny badsb nonexistent; do
        run "err.$i.$v.check" t$v era_check $i.img
        run "err.$i.$v.dump"  t$v era_dump $i.img
        run "err.$i.$v.inval" t$v era_invalidate --written-since 1 $i.img
    done
    # 1.1.0's --metadata-snapshot takes a value; 0.9.0's is a plain flag
    if [ $v = 110 ]; then snap="--metadata-snapshot 1"; else snap=--metadata-snapshot; fi
    run "err.nosnap.$v.inval" t$v era_invalidate --written-since 1 $snap small.r110.img
    run "err.noarg.$v.dump"   t$v era_dump
    run "err.nosince.$v.inval" t$v era_invalidate small.r110.img
    for x in trunc badattr missing short garbage; do
        rm -f o.img; truncate -s 4M o.img
        run "err.xml-$x.$v.restore" t$v era_restore -i $x.xml -o o.img
        [ $x = short ] && run "err.xml-$x.$v.dump" t$v era_dump o.img
    done
done
for x in trunc badattr missing short garbage; do cp $x.xml "$HERE/xml/err-$x.xml"; done
echo "samples written to $HERE"
