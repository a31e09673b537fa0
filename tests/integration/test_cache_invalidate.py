"""era_invalidate --cache-metadata (vendor rollback) and the backup fields of
--format json (issue 16), on the host.

Cache metadata comes from two sources: images the kernel's dm-cache wrote
in the QEMU guest (tests/fixtures/cache_*.cache.xz with the era metadata
beside them, see cache_*.scenario), and images built here block by block
(superblock, one btree leaf, dm_array blocks) so that every ratio of era
block to cache block size and every kind of damage can be set up exactly.
The expected cache blocks are computed here from the origin ranges, never
by our tools."""
import json
import lzma
import random
import re
import struct
from pathlib import Path

import pytest

from conftest import FIXTURES, block_csum, fixture_image, run_tool, superblock_facts, write_sparse

BLOCK = 4096


# ---------------------------------------------------------------- checksums

def seal(blk, xor):
    """Sets the checksum (CRC-32C of bytes 4.., init ~0, no final xor, ^ xor)."""
    struct.pack_into("<I", blk, 0, block_csum(bytes(blk), xor))


SB_XOR, NODE_XOR, ARRAY_XOR = 9031977, 121107, 595846735


# ---------------------------------------------------------------- images

def cache_image(path, cbs, nr_cblocks, mappings, version=1, flags=0, discard=None, dirty=(),
                invalid=(), nr_meta_blocks=64):
    """dm-cache metadata: mappings {cblock: oblock}; invalid: cblocks whose
    entry holds an oblock but no valid bit; discard: (block size, nr)."""
    img = bytearray(nr_meta_blocks * BLOCK)
    per = (BLOCK - 24) // 8                      # 509 entries per array block
    nr_ablocks = (nr_cblocks + per - 1) // per
    assert nr_ablocks <= 252                     # one leaf node holds them all
    leaf, first_ablock = 1, 2
    # the leaf: array block index -> array block
    n = bytearray(BLOCK)
    maxe = 3 * (((BLOCK - 32) // 16) // 3)
    struct.pack_into("<IIQIIII", n, 0, 0, 2, leaf, nr_ablocks, maxe, 8, 0)
    for i in range(nr_ablocks):
        struct.pack_into("<Q", n, 32 + 8 * i, i)
        struct.pack_into("<Q", n, 32 + 8 * maxe + 8 * i, first_ablock + i)
    seal(n, NODE_XOR)
    img[leaf * BLOCK:(leaf + 1) * BLOCK] = n
    for i in range(nr_ablocks):
        a = bytearray(BLOCK)
        cnt = min(per, nr_cblocks - i * per)
        struct.pack_into("<IIIIQ", a, 0, 0, per, cnt, 8, first_ablock + i)
        for j in range(cnt):
            c = i * per + j
            v = 0
            if c in mappings:
                v = mappings[c] << 16 | 1 | (2 if c in dirty and version == 1 else 0)
            elif c in invalid:
                v = invalid[c] << 16 if isinstance(invalid, dict) else (c + 1) << 16
            struct.pack_into("<Q", a, 24 + 8 * j, v)
        seal(a, ARRAY_XOR)
        img[(first_ablock + i) * BLOCK:(first_ablock + i + 1) * BLOCK] = a
    sb = bytearray(BLOCK)
    struct.pack_into("<IIQ", sb, 0, 0, flags, 0)
    struct.pack_into("<QI", sb, 32, 1623043, version)
    sb[44:47] = b"smq"
    struct.pack_into("<QQQQ", sb, 64, nr_meta_blocks, 3 + nr_ablocks, 0, 0)  # sm root (not read)
    dbs, dnr = discard or (0, 0)
    struct.pack_into("<QQQQQIII", sb, 192, leaf, 0, 0, dbs, dnr, cbs, 8, nr_cblocks)
    if version == 2:
        struct.pack_into("<Q", sb, 284, 0)
    seal(sb, SB_XOR)
    img[0:BLOCK] = sb
    Path(path).write_bytes(bytes(img))
    return path


def era_image(tmp_path, ebs, eras, nr_blocks, current_era=10, name="era.meta"):
    """dm-era metadata built by era_restore from a full era array."""
    xml = tmp_path / (name + ".xml")
    lines = [f'<superblock uuid="" block_size="{ebs}" nr_blocks="{nr_blocks}" current_era="{current_era}">',
             "  <era_array>"]
    lines += [f'    <era block="{b}" era="{eras.get(b, 0)}"/>' for b in range(nr_blocks)]
    lines += ["  </era_array>", "</superblock>"]
    xml.write_text("\n".join(lines) + "\n")
    out = tmp_path / name
    with open(out, "wb") as f:
        f.truncate(8 << 20)
    r = run_tool("era_restore", "-i", xml, "-o", out)
    assert r.returncode == 0, r.stderr
    return out


def expected_cblocks(mappings, era_written, ebs, cbs, era_nr_blocks):
    """Cache blocks whose origin sectors [o*cbs, (o+1)*cbs) meet a written era block."""
    out = set()
    for c, o in mappings.items():
        lo = o * cbs // ebs
        hi = min(((o + 1) * cbs - 1) // ebs, era_nr_blocks - 1)
        if any(b in era_written for b in range(lo, hi + 1)):
            out.add(c)
    return out


def parse_xml(out):
    s = set()
    for m in re.finditer(r'<block block="(\d+)"/>|<range begin="(\d+)" end="(\d+)"/>', out):
        if m.group(1) is not None:
            s.add(int(m.group(1)))
        else:
            s.update(range(int(m.group(2)), int(m.group(3))))
    return s


def parse_cblocks(out, nr):
    s, lines = set(), out.splitlines()
    for line in lines:
        assert line and len(line) <= 4000
        for a in line.split(" "):
            m = re.fullmatch(r"(\d+)(?:-(\d+))?", a)
            assert m, f"bad argument {a!r}"
            b = int(m.group(1))
            e = int(m.group(2)) if m.group(2) else b + 1
            assert b < e <= nr and (m.group(2) is None or e - b > 1)
            assert not s & set(range(b, e))
            s.update(range(b, e))
    return s, lines


def invalidate(*args):
    r = run_tool("era_invalidate", *[str(a) for a in args])
    return r.returncode, r.stdout.decode(), r.stderr.decode()


# ---------------------------------------------------------------- ratios

RATIOS = [(128, 128), (64, 192), (512, 192), (8, 64), (2048, 64), (100, 192), (192, 128)]


@pytest.mark.parametrize("ebs,cbs", RATIOS, ids=[f"era{e}-cache{c}" for e, c in RATIOS])
@pytest.mark.parametrize("version", [1, 2])
def test_ratio(ebs, cbs, version, tmp_path):
    rnd = random.Random(ebs * 1000 + cbs + version)
    origin = 8 << 20 >> 9                        # 8 MiB of sectors
    era_nr = (origin + ebs - 1) // ebs
    nr_oblocks = origin // cbs                   # a partial last cache block is never cached
    since = 5
    eras = {b: rnd.choice([1, 3, 5, 6, 9]) for b in rnd.sample(range(era_nr), era_nr // 5)}
    written = {b for b, e in eras.items() if e >= since}
    nr_cblocks = 700                             # two array blocks
    obl = rnd.sample(range(nr_oblocks), min(nr_oblocks, 400))
    cbl = rnd.sample(range(nr_cblocks), len(obl))
    mappings = dict(zip(cbl, obl))
    invalid = {c: rnd.randrange(nr_oblocks) for c in range(nr_cblocks) if c not in mappings and c % 3 == 0}
    dirty = set(list(mappings)[:20])
    era = era_image(tmp_path, ebs, eras, era_nr)
    cache = cache_image(tmp_path / "cache.meta", cbs, nr_cblocks, mappings, version=version,
                        invalid=invalid, dirty=dirty, discard=(cbs, (origin + cbs - 1) // cbs))
    want = expected_cblocks(mappings, written, ebs, cbs, era_nr)
    assert want and len(want) < len(mappings)    # the case tests something

    rc, out, err = invalidate("--written-since", since, "--cache-metadata", cache, era)
    assert rc == 0, err
    assert out.startswith("<blocks>\n") and out.endswith("</blocks>\n")
    assert parse_xml(out) == want

    rc, out, err = invalidate("--written-since", since, "--cache-metadata", cache, "--format", "json", era)
    assert rc == 0, err
    doc = json.loads(out)
    assert {b for r in doc["ranges"] for b in range(r["begin"], r["end"])} == want
    assert doc["nr_blocks"] == nr_cblocks and doc["block_size"] == cbs and doc["era_block_size"] == ebs
    assert doc["cache_metadata_version"] == version
    assert doc["mapped"] == len(mappings) and doc["invalidate"] == len(want)
    assert doc["written_since"] == since and doc["next_written_since"] == 10
    assert doc["reads"] == 1                     # nothing changed it: one consistent read

    rc, out, err = invalidate("--written-since", since, "--cache-metadata", cache, "--format", "cblocks", era)
    assert rc == 0, err
    got, lines = parse_cblocks(out, nr_cblocks)
    assert got == want and len(lines) == 1


def test_cblocks_lines_split_for_the_message_size(tmp_path):
    """Every other cache block: thousands of single-block arguments, over
    several messages of at most 4000 characters, none lost or repeated."""
    nr = 20000
    era = era_image(tmp_path, 128, {b: 7 for b in range(0, nr, 2)}, nr)
    mappings = {c: c for c in range(nr)}
    cache = cache_image(tmp_path / "cache.meta", 128, nr, mappings, nr_meta_blocks=128)
    rc, out, err = invalidate("--written-since", 7, "--cache-metadata", cache, "--format", "cblocks", era)
    assert rc == 0, err
    got, lines = parse_cblocks(out, nr)
    assert got == set(range(0, nr, 2))
    assert len(lines) >= len(out) // 4001 + 1 > 10
    assert all(len(x) > 3900 for x in lines[:-1])   # lines are filled, not one range each


def test_cblocks_needs_cache_metadata(tmp_path):
    era = era_image(tmp_path, 128, {}, 64)
    rc, out, err = invalidate("--written-since", 1, "--format", "cblocks", era)
    assert rc != 0 and out == "" and "--cache-metadata" in err


def test_nothing_written_gives_an_empty_list(tmp_path):
    era = era_image(tmp_path, 128, {3: 2}, 64)
    cache = cache_image(tmp_path / "cache.meta", 128, 16, {0: 3, 1: 4})
    for fmt, empty in (("xml", "<blocks>\n</blocks>\n"), ("cblocks", "")):
        rc, out, err = invalidate("--written-since", 5, "--cache-metadata", cache, "--format", fmt, era)
        assert (rc, out) == (0, empty), err


# ---------------------------------------------------------------- refusals

def base(tmp_path, **kw):
    era = era_image(tmp_path, 128, {b: 6 for b in range(10)}, 64)
    args = dict(cbs=128, nr_cblocks=16, mappings={0: 1, 1: 20, 5: 3}, discard=(128, 64))
    args.update(kw)
    return era, cache_image(tmp_path / "cache.meta", args.pop("cbs"), args.pop("nr_cblocks"),
                            args.pop("mappings"), **args)


def no_list(fmt, rc, out):
    """A refusal lists nothing: no output, or with --format json the one
    error object every failing run prints (no "ranges")."""
    if fmt != "json":
        return out == ""
    import json as _json
    obj = _json.loads(out)
    return set(obj) == {"error", "exit_status"} and obj["exit_status"] == rc and obj["error"]


def refused(era, cache, *words):
    for fmt in ("xml", "json", "cblocks"):
        rc, out, err = invalidate("--written-since", 1, "--cache-metadata", cache, "--format", fmt, era)
        assert rc == 1 and no_list(fmt, rc, out), (fmt, rc, out)
        assert str(cache) in err and err.count("\n") == 1, err
        for w in words:
            assert w in err, err
    return err


def test_clean_base_case_works(tmp_path):
    era, cache = base(tmp_path)
    rc, out, err = invalidate("--written-since", 1, "--cache-metadata", cache, "--format", "cblocks", era)
    assert (rc, out) == (0, "0 5\n"), err


def test_needs_check_flag_refused(tmp_path):
    era, cache = base(tmp_path, flags=2)
    refused(era, cache, "needs-check")


def test_unknown_version_refused(tmp_path):
    era, cache = base(tmp_path, version=3)
    refused(era, cache, "version 3")


def test_size_mismatch_refused(tmp_path):
    era, cache = base(tmp_path, discard=(128, 200))
    refused(era, cache, "size mismatch")


def test_mapping_beyond_the_era_device_refused(tmp_path):
    era, cache = base(tmp_path, mappings={0: 1, 3: 64}, discard=None)
    refused(era, cache, "cache block 3", "origin block 64")


def test_broken_array_block_refused(tmp_path):
    era, cache = base(tmp_path)
    img = bytearray(cache.read_bytes())
    img[2 * BLOCK + 100] ^= 1                    # the array block, checksum now wrong
    cache.write_bytes(bytes(img))
    refused(era, cache, "block 2", "checksum")


def test_missing_array_block_refused(tmp_path):
    """700 cache blocks need two array blocks; the leaf lists only one."""
    era = era_image(tmp_path, 128, {b: 6 for b in range(10)}, 2048)
    cache = cache_image(tmp_path / "cache.meta", 128, 700, {0: 1, 600: 5})
    img = bytearray(cache.read_bytes())
    struct.pack_into("<I", img, BLOCK + 16, 1)   # leaf nr_entries 2 -> 1
    leaf = bytearray(img[BLOCK:2 * BLOCK])
    seal(leaf, NODE_XOR)
    img[BLOCK:2 * BLOCK] = leaf
    cache.write_bytes(bytes(img))
    refused(era, cache, "missing")


def test_not_cache_metadata_refused(tmp_path):
    era, _ = base(tmp_path)
    refused(era, era, "not dm-cache metadata")


def test_superblock_checksum_refused(tmp_path):
    era, cache = base(tmp_path)
    img = bytearray(cache.read_bytes())
    img[240] ^= 1
    cache.write_bytes(bytes(img))
    refused(era, cache, "block 0", "checksum")


# ---------------------------------------------------------------- kernel-made cache metadata

KERNEL_CASES = sorted(p.name[:-len(".cache.xz")] for p in FIXTURES.glob("cache_*.cache.xz"))


def unxz(src, dst):
    with lzma.open(src) as f:
        write_sparse(iter(lambda: f.read(1 << 20), b""), dst)
    return dst


@pytest.mark.parametrize("name", KERNEL_CASES)
def test_kernel_cache_metadata(name, tmp_path):
    """The list our static binary gave in the guest, and that the kernel
    proved sufficient (the era device read back equal to the vendor
    snapshot), is what the host binary gives on the same images."""
    log = (FIXTURES / f"{name}.log").read_text().splitlines()
    since = int(next(x.split()[1] for x in log if x.startswith("SINCE ")))
    guest = set()
    for x in log:
        if x.startswith("CBLOCKS "):
            for a in x.split()[1:]:
                b, _, e = a.partition("-")
                guest.update(range(int(b), int(e) if e else int(b) + 1))
    assert guest
    era = unxz(FIXTURES / f"{name}.era.xz", tmp_path / "era.meta")
    cache = unxz(FIXTURES / f"{name}.cache.xz", tmp_path / "cache.meta")
    rc, out, err = invalidate("--metadata-snapshot", "--written-since", since, "--cache-metadata", cache,
                              "--format", "cblocks", era)
    assert rc == 0, err
    got, _ = parse_cblocks(out, 1 << 32)
    assert got == guest
    rc, out, err = invalidate("--metadata-snapshot", "--written-since", since, "--cache-metadata", cache,
                              "--format", "json", era)
    assert rc == 0, err
    doc = json.loads(out)
    with open(cache, "rb") as f:
        version, = struct.unpack_from("<I", f.read(BLOCK), 40)
    assert doc["cache_metadata_version"] == version == (2 if name.endswith("v2") else 1)
    assert doc["invalidate"] == len(guest) and doc["reads"] == 1
    # one bit flipped in the kernel's first mapping array block: refused
    img = bytearray(cache.read_bytes())
    node = struct.unpack_from("<Q", img, 192)[0]
    for _ in range(8):                            # down the mapping btree to its first leaf
        flags, = struct.unpack_from("<I", img, node * BLOCK + 4)
        maxe, = struct.unpack_from("<I", img, node * BLOCK + 20)
        child, = struct.unpack_from("<Q", img, node * BLOCK + 32 + 8 * maxe)
        if flags & 2:
            break
        node = child
    assert flags & 2
    broken = bytearray(img)
    broken[child * BLOCK + 24 + 8 * 3] ^= 0x10    # entry 3's origin block
    bad = tmp_path / "broken.cache"
    bad.write_bytes(bytes(broken))
    rc, out, err = invalidate("--metadata-snapshot", "--written-since", since, "--cache-metadata", bad,
                              "--format", "cblocks", era)
    assert rc == 1 and out == "" and f"block {child}" in err and "checksum" in err
    # needs-check set on the kernel's image: refused
    struct.pack_into("<I", img, 4, struct.unpack_from("<I", img, 4)[0] | 2)
    sb = bytearray(img[:BLOCK])
    seal(sb, SB_XOR)
    img[:BLOCK] = sb
    cache.write_bytes(bytes(img))
    rc, out, err = invalidate("--metadata-snapshot", "--written-since", since, "--cache-metadata", cache,
                              "--format", "cblocks", era)
    assert rc == 1 and out == "" and "needs-check" in err


# ---------------------------------------------------------------- backup fields

def test_json_block_size_and_next_written_since(tmp_path):
    img = fixture_image("eras", tmp_path)
    facts = superblock_facts(img)
    rc, out, err = invalidate("--written-since", 6, "--format", "json", img)
    assert rc == 0, err
    doc = json.loads(out)
    with open(img, "rb") as f:
        block_size = struct.unpack_from("<I", f.read(BLOCK), 172)[0]
    assert doc["block_size"] == block_size == 128
    # offline metadata: nothing in flight, the next writes land in current_era
    assert doc["next_written_since"] == facts["current_era"]


def test_next_written_since_on_a_snapshot(tmp_path):
    """take_metadata_snap rolls over first: the snapshot's current era is
    N + 1 and a write in flight then was marked in N, so the next run must
    start at N."""
    img = fixture_image("snap_held", tmp_path)
    snap = superblock_facts(img)["metadata_snap"]
    assert snap
    with open(img, "rb") as f:
        f.seek(snap * BLOCK)
        snap_era = struct.unpack_from("<I", f.read(BLOCK), 184)[0]
    rc, out, err = invalidate("--metadata-snapshot", "--written-since", 0, "--format", "json", img)
    assert rc == 0, err
    assert json.loads(out)["next_written_since"] == snap_era - 1


def test_xml_has_no_new_fields(tmp_path):
    img = fixture_image("eras", tmp_path)
    rc, out, _ = invalidate("--written-since", 6, img)
    assert rc == 0 and "block_size" not in out and "next_written" not in out


@pytest.mark.parametrize("fmt", ["xml", "json"])
def test_written_since_ahead_refused(fmt, tmp_path):
    img = fixture_image("eras", tmp_path)
    cur = superblock_facts(img)["current_era"]
    rc, out, err = invalidate("--written-since", cur + 1, "--format", fmt, img)
    assert rc == 0, err                           # the next era: nothing yet, not an error
    for since in (cur + 2, cur + 1000):
        rc, out, err = invalidate("--written-since", since, "--format", fmt, img)
        assert rc == 5 and no_list(fmt, rc, out), (rc, out)
        assert f"--written-since {since}" in err and f"current era is {cur}" in err
        assert err.count("\n") == 1


def test_written_since_ahead_refused_on_snapshot(tmp_path):
    img = fixture_image("snap_held", tmp_path)
    snap = superblock_facts(img)["metadata_snap"]
    with open(img, "rb") as f:
        f.seek(snap * BLOCK)
        snap_era = struct.unpack_from("<I", f.read(BLOCK), 184)[0]
    rc, _, _ = invalidate("--metadata-snapshot", "--written-since", snap_era + 1, img)
    assert rc == 0
    rc, out, err = invalidate("--metadata-snapshot", "--written-since", snap_era + 2, img)
    assert rc == 5 and out == "" and f"current era is {snap_era}" in err


# ---------------------------------------------------------------- era_check fullness

def test_era_check_reports_metadata_fullness(tmp_path):
    """used/total as the kernel's status line gave them (eras.log)."""
    img = fixture_image("eras", tmp_path)
    status = [x for x in (FIXTURES / "eras.log").read_text().splitlines() if x.startswith("STATUS ")][-1]
    used, total = map(int, status.split()[5].split("/"))
    r = run_tool("era_check", "--format", "json", img)
    assert r.returncode == 0
    assert json.loads(r.stdout)["metadata_blocks"] == {"used": used, "total": total}
    for opt in ("-v", "--verbose"):
        r = run_tool("era_check", opt, img)
        assert r.returncode == 0
        assert r.stdout.decode() == f"{img}: metadata blocks used {used} of {total} ({100 * used / total:.1f}%)\n"
    r = run_tool("era_check", img)
    assert r.stdout == b""


# ---------------------------------------------------------------- a cache metadata that changes

def test_superblock_changing_during_the_walk_is_read_again(tmp_path):
    """A writer flips the superblock between two versions (read counters
    differ, as after a commit) while era_invalidate runs: each answer is
    the right one and says how many reads it took; some took more than one,
    so the re-read really happens. (The guest test does this on a live
    dm-cache, tests/kernel/test_jobs.py.)"""
    import os
    import threading
    era = era_image(tmp_path, 128, {b: 6 for b in range(0, 60, 3)}, 64)
    mappings = {c: c for c in range(64)}
    # 100,000 cache blocks (197 array blocks): a walk long enough for the
    # writer to land inside it on a loaded machine, not only between runs.
    cache = cache_image(tmp_path / "cache.meta", 128, 100000, mappings, discard=(128, 64),
                        nr_meta_blocks=256)
    img = bytearray(cache.read_bytes())
    a = bytes(img[:BLOCK])
    sb = bytearray(a)
    struct.pack_into("<I", sb, 256, 12345)      # read_hits: another commit
    seal(sb, SB_XOR)
    b = bytes(sb)
    stop = threading.Event()

    def flip():
        fd = os.open(cache, os.O_WRONLY)
        try:
            while not stop.is_set():
                os.pwrite(fd, b, 0)
                os.pwrite(fd, a, 0)
        finally:
            os.close(fd)

    t = threading.Thread(target=flip)
    t.start()
    reads, busy = [], 0
    try:
        for i in range(200):
            if i >= 20 and reads and max(reads) > 1:
                break
            rc, out, err = invalidate("--written-since", 6, "--cache-metadata", cache, "--format", "json", era)
            if rc == 1 and "changed during each of 10 reads" in err:
                busy += 1
                assert no_list("json", rc, out) and "suspend" in err
                continue
            assert rc == 0, err
            doc = json.loads(out)
            assert {x for r in doc["ranges"] for x in range(r["begin"], r["end"])} == set(range(0, 60, 3))
            reads.append(doc["reads"])
    finally:
        stop.set()
        t.join()
    assert reads and max(reads) > 1, (reads, busy)
    print(f"reads per answer {sorted(reads)}, refused {busy}")
