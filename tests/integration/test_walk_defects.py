"""Walk and check defects of issue 14, each on an image crafted here: every
error that stops a walk is reported (one line: file, block, what); the space
map's ref count tree is compared entry by entry; the btree walker treats a
node the space map cannot describe as damage; repair's merge of the current
writeset stays inside its buffer."""
import json
import re
import struct
import subprocess

import pytest

from conftest import REPO, SAMPLES, run_tool

DAMAGE = REPO / "build" / "era_damage"


@pytest.fixture(scope="module", autouse=True)
def era_damage():
    if not DAMAGE.exists():
        r = subprocess.run(["make", "-s", "-C", str(REPO), "build/era_damage"], capture_output=True)
        if r.returncode:
            pytest.skip("build/era_damage could not be built")


def restored(tmp_path, size, xml=SAMPLES / "xml" / "small.xml", name="m.meta"):
    img = tmp_path / name
    with open(img, "wb") as f:
        f.truncate(size)
    r = run_tool("era_restore", "-i", xml, "-o", img)
    assert r.returncode == 0, r.stderr
    return img


def fix_csums(img):
    subprocess.run([str(DAMAGE), str(img), "fix-csums"], check=True, capture_output=True)


def sb_u64(img, off):
    with open(img, "rb") as f:
        f.seek(off)
        return struct.unpack("<Q", f.read(8))[0]


def write_leaf(img, block, entries):
    """Rewrites btree leaf `block` with (key, le32 value) entries."""
    with open(img, "r+b") as f:
        f.seek(block * 4096)
        n = bytearray(f.read(4096))
        maxe = struct.unpack_from("<I", n, 20)[0]
        assert len(entries) <= maxe
        struct.pack_into("<I", n, 16, len(entries))
        for i, (k, v) in enumerate(entries):
            struct.pack_into("<Q", n, 32 + 8 * i, k)
            struct.pack_into("<I", n, 32 + 8 * maxe + 4 * i, v)
        f.seek(block * 4096)
        f.write(n)
    fix_csums(img)


def test_refcount_leaf_overflow_is_reported(tmp_path):
    """A ref count leaf of 300 entries on a space map of 256 blocks stops
    the space-map walk: it is said, once, with its block (it used to exit 1
    with no message and "problems": [] beside "errors": 1)."""
    img = restored(tmp_path, 1 << 20)
    rc_root = sb_u64(img, 68)
    write_leaf(img, rc_root, [(i, 3) for i in range(300)])
    r = run_tool("era_check", img)
    assert r.returncode == 1
    assert r.stderr.startswith((f"era_check: {img}: error: block {rc_root}: "
                                "ref count tree: more entries than the space map has blocks [space map]\n"
                                f"era_check: {img}: damaged metadata: ").encode()), r.stderr
    assert r.stderr.count(b"\n") == 2
    doc = json.loads(run_tool("era_check", "--format", "json", img).stdout)
    assert doc["errors"] == len(doc["problems"]) == 1
    assert doc["problems"][0]["block"] == rc_root and doc["problems"][0]["id"] == "space_map"


def test_refcount_entries_of_small_counts_are_reported(tmp_path):
    """Entries for blocks whose bitmap count is 1 (the superblock) or 0 (a
    free block): the tree must never hold them."""
    img = restored(tmp_path, 4 << 20)
    rc_root = sb_u64(img, 68)
    write_leaf(img, rc_root, [(0, 5), (500, 4)])
    r = run_tool("era_check", img)
    assert r.returncode == 1
    err = r.stderr.decode()
    assert f"error: block 0: space map: ref count tree holds block 0 (count 5), but its bitmap count is 1\n" in err
    assert f"error: block 500: space map: ref count tree holds block 500 (count 4), but its bitmap count is 0\n" in err
    assert err.count("\n") == 3 and "era_repair -i" in err, err


def test_refcount_entry_past_the_space_map_is_reported(tmp_path):
    img = restored(tmp_path, 4 << 20)
    rc_root = sb_u64(img, 68)
    write_leaf(img, rc_root, [(5000, 3)])
    r = run_tool("era_check", img)
    assert r.returncode == 1
    assert b"block 5000: space map: ref count tree holds block 5000 (count 3), which no bitmap describes\n" \
        in r.stderr


def test_btree_node_beyond_the_space_map_is_damage(tmp_path):
    """The writeset tree's root moved past the space map's last block (the
    file is larger than the space map): the walker must say so, as it does
    for array blocks, instead of walking it unreported."""
    img = restored(tmp_path, 4 << 20)
    with open(img, "r+b") as f:
        f.truncate(8 << 20)
        root = sb_u64(img, 200)
        f.seek(root * 4096)
        node = bytearray(f.read(4096))
        struct.pack_into("<Q", node, 8, 1500)          # the node's own location
        f.seek(1500 * 4096)
        f.write(node)
        f.seek(200)
        f.write(struct.pack("<Q", 1500))               # writeset_tree_root
    fix_csums(img)
    r = run_tool("era_check", img)
    assert r.returncode == 1
    assert re.search(rb"error: block 1500: btree node pointer beyond the end of the space map \[writeset tree\]\n",
                     r.stderr), r.stderr


def test_repair_merge_of_a_smaller_damaged_current_writeset(tmp_path):
    """The writeset tree holds the current era (5) with 2^20 bits; the
    current writeset (50 bits, nr_blocks 100) is damaged. Repair merges them
    within the 100 bits it read (it used to copy 2^20 bits' worth of words
    from a 2-word buffer: heap bits in the output, or a crash)."""
    nr, big = 100, 1 << 20
    xml = tmp_path / "in.xml"
    xml.write_text("\n".join(
        [f'<superblock uuid="" block_size="128" nr_blocks="{nr}" current_era="5">',
         f'  <writeset era="4" nr_bits="{nr}">', '    <marked block_begin="1" len="3"/>', '  </writeset>',
         f'  <writeset era="5" nr_bits="{big}">', '    <marked block_begin="2" len="1"/>', '  </writeset>',
         '  <era_array>'] + [f'    <era block="{i}" era="1"/>' for i in range(nr)]
        + ['  </era_array>', '</superblock>']) + "\n")
    img = restored(tmp_path, 4 << 20, xml)
    with open(img, "rb") as f:
        f.seek(sb_u64(img, 200) * 4096)
        leaf = f.read(4096)
    n, maxe = struct.unpack_from("<II", leaf, 16)
    roots = {struct.unpack_from("<Q", leaf, 32 + 8 * i)[0]:
             struct.unpack_from("<IQ", leaf, 32 + 8 * maxe + 12 * i)[1] for i in range(n)}
    with open(img, "r+b") as f:
        f.seek(188)
        f.write(struct.pack("<IQ", 50, roots[4]))      # current writeset: era 4's bitset, 50 bits
    fix_csums(img)
    with open(img, "r+b") as f:                        # then damage that bitset's root
        f.seek(roots[4] * 4096 + 100)
        b = f.read(1)
        f.seek(roots[4] * 4096 + 100)
        f.write(bytes([b[0] ^ 0x5A]))
    out = tmp_path / "out.meta"
    with open(out, "wb") as f:
        f.truncate(8 << 20)
    r = run_tool("era_repair", "-q", "-i", img, "-o", out)
    assert r.returncode == 0, r
    dump = run_tool("era_dump", out).stdout.decode()
    ws5 = re.search(r'<writeset era="5" nr_bits="(\d+)">\n(.*?)</writeset>', dump, re.S)
    assert ws5 and int(ws5.group(1)) == big
    marked = [int(b) for b in re.findall(r'<bit block="(\d+)" value="true"/>', ws5.group(2))]
    # the damaged current writeset may have held any of the device's blocks
    assert marked == list(range(nr))
