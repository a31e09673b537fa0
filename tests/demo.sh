#!/bin/bash
# The era-tools demo (`make demo`): every tool on a metadata image that the
# real dm-era kernel target wrote (tests/fixtures/eras: 4096 blocks of
# 64 KiB, written in 8 eras). Each command is printed before its output.
set -u
export LC_ALL=C
repo=$(cd "$(dirname "$0")/.." && pwd)
bin=${ERA_TOOLS_BIN:-$repo/bin}
export PATH="$bin:$PATH"
work=$(mktemp -d "${TMPDIR:-/tmp}/era-demo.XXXXXX")
trap 'rm -rf "$work"' EXIT
cd "$work" || exit 1

failed=0
step() {
	printf '\n$ %s\n' "$1"
	eval "$1"
	local rc=$?
	# 141: era_dump stopped because `head` had read enough
	if [ "$rc" -ne 0 ] && [ "$rc" -ne 141 ]; then
		echo "(exit status $rc)"
		failed=1
	fi
}
note() {
	printf '\n# %s\n' "$*"
}

for t in era_check era_dump era_invalidate era_metadata_size; do
	if [ ! -x "$bin/$t" ]; then
		echo "demo: $bin/$t is missing: run 'make' first" >&2
		exit 1
	fi
done

note "Unpack the kernel-made image (a 64 MiB metadata device)."
step "xz -dc '$repo/tests/fixtures/eras.meta.xz' > eras.meta"

note "Is the metadata sound? Silence and exit status 0 mean yes."
step "era_check eras.meta && echo clean"
step "era_check --format json eras.meta"

note "The metadata as XML: superblock, the current writeset, then the era array."
step "era_dump eras.meta | head -n 8"
step "era_dump eras.meta | grep -c '<bit '"

note "Each block's era once the writesets are folded in (what era_invalidate uses)."
step "era_dump --logical eras.meta | sed -n '1,3p;515,518p'"

note "Which blocks changed since era 6? (a backup tool's question)"
step "era_invalidate --written-since 6 eras.meta"
step "era_invalidate --written-since 6 --format json eras.meta"

note "How big must a metadata device be for this origin (256 MiB, 64 KiB blocks)?"
step "era_metadata_size --device-size 256m --block-size 64k --unit k"
step "era_metadata_size --nr-blocks 4096 --unit b"
note "... and for a 1 TiB origin with 64 KiB blocks, in MiB:"
step "era_metadata_size --device-size 1t --block-size 64k --unit m"

size=$(era_metadata_size --nr-blocks 4096 --unit b)
if [ -x "$bin/era_restore" ]; then
	note "Back up the metadata as XML and restore it onto a new device (here a file)."
	step "era_dump -o eras.xml eras.meta"
	step "truncate -s $size restored.meta"
	step "era_restore -i eras.xml -o restored.meta && era_check restored.meta && echo clean"
	step "era_dump restored.meta | cmp - eras.xml && echo 'same XML'"
else
	note "era_restore is not built: skipping the restore steps."
fi

if [ -x "$bin/era_repair" ]; then
	note "Repair copies everything readable to a new device. Damage a copy first:"
	note "zero the block the superblock names as the era array's root (offset 208)."
	step "cp eras.meta damaged.meta"
	step "root=\$(od -An -tu8 -j208 -N8 eras.meta | tr -d ' ') && echo \$root"
	step "dd if=/dev/zero of=damaged.meta bs=4096 seek=\$root count=1 conv=notrunc status=none"
	step "era_check damaged.meta || echo 'damaged, as expected'"
	step "truncate -s $size repaired.meta"
	step "era_repair -i damaged.meta -o repaired.meta"
	step "era_check repaired.meta && echo clean"
	step "era_dump repaired.meta | head -n 3"
else
	note "era_repair is not built: skipping the repair steps."
fi

echo
if [ "$failed" -ne 0 ]; then
	echo "demo: some steps failed (see above)"
	[ -n "${DEMO_EXPECT_FAILURES:-}" ] || exit 1
fi
echo "demo: done"
