"""Digest safety (issue 13, items 1-4): what the tools write keeps its meaning
after the kernel digests it, and the readers trust no invariant they have not
verified.

On every resume dm-era archives the current writeset and digests the archived
writesets oldest first, writing each one's era into the era array for every
block it marks, whatever the entry held (dm-era-target.c,
metadata_digest_transcribe_writeset). `digest()` below models that on the
host; `logical()` is what era_dump --logical / era_invalidate mean before it.
Metadata keeps its meaning iff the two agree for every block."""
import os
import re

import pytest

from conftest import blank, REPO, fixture_image, have_tool, run, run_tool, sparse_copy

DAMAGE = REPO / "build" / "era_damage"
MiB = 1 << 20

pytestmark = pytest.mark.skipif(
    not (have_tool("era_restore") and have_tool("era_repair") and DAMAGE.exists()),
    reason="bin/ tools or build/era_damage not built")


# ---- the XML dialect and the host-side digest model ----

def make_xml(nr_blocks, current_era, writesets, eras):
    """writesets: {era: iterable of marked blocks}; eras: list of nr_blocks eras."""
    out = [f'<superblock uuid="" block_size="128" nr_blocks="{nr_blocks}" current_era="{current_era}">']
    for era in sorted(writesets):
        out.append(f'  <writeset era="{era}" nr_bits="{nr_blocks}">')
        out += [f'    <bit block="{b}" value="true"/>' for b in sorted(writesets[era])]
        out.append('  </writeset>')
    out.append('  <era_array>')
    out += [f'    <era block="{b}" era="{e}"/>' for b, e in enumerate(eras)]
    out += ['  </era_array>', '</superblock>', '']
    return "\n".join(out)


def parse_dump(text):
    """(current_era, {era: set of marked blocks}, era array) of era_dump XML."""
    if isinstance(text, bytes):
        text = text.decode()
    cur = int(re.search(r'current_era="(\d+)"', text).group(1))
    nr = int(re.search(r'nr_blocks="(\d+)"', text).group(1))
    ws, eras, era = {}, [None] * nr, None
    for line in text.splitlines():
        m = re.match(r'\s*<writeset era="(\d+)" nr_bits="(\d+)">', line)
        if m:
            era = int(m.group(1))
            ws.setdefault(era, set())
            continue
        m = re.match(r'\s*<bit block="(\d+)" value="true"/>', line)
        if m:
            ws[era].add(int(m.group(1)))
            continue
        m = re.match(r'\s*<marked block_begin="(\d+)" len="(\d+)"/>', line)
        if m:
            ws[era].update(range(int(m.group(1)), int(m.group(1)) + int(m.group(2))))
            continue
        m = re.match(r'\s*<era block="(\d+)" era="(\d+)"/>', line)
        if m:
            eras[int(m.group(1))] = int(m.group(2))
    assert None not in eras, "era array incomplete"
    return cur, ws, eras


def logical(ws, eras):
    out = list(eras)
    for era, blocks in ws.items():
        for b in blocks:
            if b < len(out):
                out[b] = max(out[b], era)
    return out


def digest(ws, eras):
    """The kernel's digest: writesets oldest first, each era written unconditionally."""
    out = list(eras)
    for era in sorted(ws):
        for b in ws[era]:
            if b < len(out):
                out[b] = era
    return out


def dump(img, *extra):
    r = run_tool("era_dump", *extra, img)
    assert r.returncode == 0, r.stderr
    return r.stdout


def assert_digest_safe(img):
    """The digest keeps every block's logical era; returns it."""
    _, ws, eras = parse_dump(dump(img))
    before, after = logical(ws, eras), digest(ws, eras)
    lowered = [(b, x, y) for b, (x, y) in enumerate(zip(before, after)) if y < x]
    assert not lowered, f"the digest lowers {len(lowered)} blocks, first {lowered[:5]}"
    return after


def restore(xml_text, tmp_path, name="out.meta", env=None):
    xml = tmp_path / (name + ".xml")
    xml.write_text(xml_text)
    img = blank(tmp_path / name)
    return img, run_tool("era_restore", "-i", xml, "-o", img, env=env)


def invalidate(img, since):
    r = run_tool("era_invalidate", "--written-since", str(since), img)
    assert r.returncode == 0, r.stderr
    blocks = set()
    for m in re.finditer(rb'<block block="(\d+)"/>|<range begin="(\d+)" end="(\d+)"/>', r.stdout):
        if m.group(1) is not None:
            blocks.add(int(m.group(1)))
        else:
            blocks.update(range(int(m.group(2)), int(m.group(3))))
    return blocks


def le(b, off, n):
    return int.from_bytes(b[off:off + n], "little")


def patch(img, offset, data):
    """Writes data at offset and gives every block its checksum back."""
    with open(img, "r+b") as f:
        f.seek(offset)
        f.write(data)
    r = run([DAMAGE, img, "fix-csums"])
    assert r.returncode == 0, r.stderr


def era_array_offset(block):
    """The builder puts array block i at metadata block 1 + i (24-byte header)."""
    return 4096 * (1 + block // 1018) + 24 + 4 * (block % 1018)


# ---- 1. era_repair, lost newest writesets of a two-level writeset tree ----

NR, CUR = 64, 301
MANY_WS = {e: {e % NR} for e in range(1, 301)}    # 300 archived writesets
TRUTH = logical(MANY_WS, [0] * NR)                   # block b last written in max e = b mod 64


def many_writesets_damaged(tmp_path):
    img, r = restore(make_xml(NR, CUR, MANY_WS, [0] * NR), tmp_path, "many.meta")
    assert r.returncode == 0, r.stderr
    assert run_tool("era_check", img).returncode == 0
    with open(img, "rb") as f:
        sb = f.read(4096)
        root = le(sb, 200, 8)
        f.seek(root * 4096)
        node = f.read(4096)
    flags, nr, mx = le(node, 4, 4), le(node, 16, 4), le(node, 20, 4)
    assert flags & 1 and nr >= 2, "the writeset tree should have two levels"
    newest_leaf = le(node, 32 + 8 * mx + 8 * (nr - 1), 8)
    dmg = tmp_path / "damaged.meta"
    sparse_copy(img, dmg)
    with open(dmg, "r+b") as f:
        f.seek(newest_leaf * 4096)
        f.write(bytes(4096))
    assert run_tool("era_check", dmg).returncode == 1
    return dmg


def test_repair_lost_writesets_keeps_meaning_after_digest(tmp_path):
    dmg = many_writesets_damaged(tmp_path)
    out = blank(tmp_path / "repaired.meta")
    rep = run_tool("era_repair", "-i", dmg, "-o", out)
    assert rep.returncode == 0, rep.stderr
    assert run_tool("era_check", out).returncode == 0
    after = assert_digest_safe(out)
    # no write lost: every block at least as new as its last write
    assert all(a >= t for a, t in zip(after, TRUTH)), list(zip(after, TRUTH))
    written = {b for b, t in enumerate(TRUTH) if t >= 290}
    assert written == set(range(34, 45))
    assert written <= {b for b, a in enumerate(after) if a >= 290}
    assert written <= invalidate(out, 290)
    # what era_invalidate says once the kernel has digested it
    _, _, eras = parse_dump(dump(out))
    dig, r = restore(make_xml(NR, CUR, {}, digest(parse_dump(dump(out))[1], eras)), tmp_path, "digested.meta")
    assert r.returncode == 0, r.stderr
    assert written <= invalidate(dig, 290)
    err = rep.stderr.decode()
    assert "writesets lost" in err, err
    assert re.search(r"archived writesets of eras up to \d+ folded into the era array", err), err


def test_dump_repair_rescue_route_same_as_repair(tmp_path):
    dmg = many_writesets_damaged(tmp_path)
    xml = tmp_path / "rescue.xml"
    r = run_tool("era_dump", "--repair", "-o", xml, dmg)
    assert r.returncode == 0, r.stderr
    new = blank(tmp_path / "new.meta")
    r = run_tool("era_restore", "-i", xml, "-o", new)
    assert r.returncode == 0, r.stderr
    assert run_tool("era_check", new).returncode == 0
    after = assert_digest_safe(new)
    assert all(a >= t for a, t in zip(after, TRUTH))
    repaired = blank(tmp_path / "repaired.meta")
    assert run_tool("era_repair", "-i", dmg, "-o", repaired).returncode == 0
    assert dump(new) == dump(repaired)


# ---- 2. era_restore and the builder refuse digest-unsafe metadata; era_check reports it ----

UNSAFE_WS = {5: {2, 6}}
UNSAFE_ERAS = [0, 0, 7, 0, 0, 0, 5, 0]     # block 2: era 7, newest marking writeset 5


def test_restore_refuses_digest_unsafe_xml(tmp_path):
    img, r = restore(make_xml(8, 8, UNSAFE_WS, UNSAFE_ERAS), tmp_path)
    err = r.stderr.decode()
    assert r.returncode == 1, err
    assert re.search(r"block 2: era array says 7 but the newest writeset marking it is era 5; "
                     r"the kernel would lower it", err), err
    assert err.count("\n") == 1, err
    with open(img, "rb") as f:
        assert f.read(4096) == bytes(4096)
    assert run_tool("era_check", img).returncode != 0


def test_restore_two_threads_refuses_digest_unsafe_xml(tmp_path):
    """The unsafe entry in the part the second thread builds."""
    n = 20000
    eras = [0] * n
    eras[n - 3] = 7
    env = dict(os.environ, ERA_RESTORE_PARALLEL_MIN="1", ERA_RESTORE_DEBUG="1")
    img, r = restore(make_xml(n, 8, {5: {2, 6, n - 3}}, eras), tmp_path, env=env)
    err = r.stderr.decode()
    assert r.returncode == 1, err
    assert "era_restore: parallel, cut at byte" in err, err
    assert re.search(r"block %d: era array says 7 but the newest writeset marking it is era 5" % (n - 3), err), err
    with open(img, "rb") as f:
        assert f.read(4096) == bytes(4096)


def test_restore_accepts_digest_safe_xml(tmp_path):
    # a newer writeset marking block 2 too, or block 2 unmarked: nothing is lowered
    for ws in ({5: {2, 6}, 7: {2}}, {5: {6}}):
        img, r = restore(make_xml(8, 8, ws, UNSAFE_ERAS), tmp_path)
        assert r.returncode == 0, r.stderr
        assert run_tool("era_check", img).returncode == 0
        assert_digest_safe(img)


def unsafe_image(tmp_path):
    """Safe metadata restored, then block 2's era raised in place to 7."""
    eras = list(UNSAFE_ERAS)
    eras[2] = 5
    img, r = restore(make_xml(8, 8, UNSAFE_WS, eras), tmp_path, "unsafe.meta")
    assert r.returncode == 0, r.stderr
    patch(img, era_array_offset(2), (7).to_bytes(4, "little"))
    assert parse_dump(dump(img))[2] == UNSAFE_ERAS
    return img


def test_check_reports_digest_unsafe(tmp_path):
    img = unsafe_image(tmp_path)
    r = run_tool("era_check", img)
    err = r.stderr.decode()
    assert r.returncode == 1, err
    assert re.search(r"error: era array: block 2 has era 7 but the newest writeset marking it is era 5: "
                     r"the kernel will lower it to 5", err), err
    assert "block 6" not in err
    j = run_tool("era_check", "--format", "json", img)
    assert j.returncode == 1 and b'"digest_unsafe"' in j.stdout, j.stdout


def test_repair_folds_unsafe_writesets(tmp_path):
    img = unsafe_image(tmp_path)
    before = logical(*parse_dump(dump(img))[1:])
    out = blank(tmp_path / "repaired.meta")
    r = run_tool("era_repair", "-i", img, "-o", out)
    assert r.returncode == 0, r.stderr
    assert b"1 archived writesets of eras up to 5 folded" in r.stderr, r.stderr
    assert run_tool("era_check", out).returncode == 0
    _, ws, eras = parse_dump(dump(out))
    assert 5 not in ws
    assert assert_digest_safe(out) == before  # the same logical eras, exactly


# ---- 3. era_invalidate reads the era array whatever the flags say ----

def test_invalidate_flags0_newer_era_array(tmp_path):
    ws, eras = {3: {6}}, [0, 0, 6, 6, 6, 0, 0, 0]
    img, r = restore(make_xml(8, 7, ws, eras), tmp_path)
    assert r.returncode == 0, r.stderr
    patch(img, 4, (0).to_bytes(4, "little"))         # flags 0: as the kernel writes
    with open(img, "rb") as f:
        assert le(f.read(8), 4, 4) == 0
    assert invalidate(img, 5) == {2, 3, 4}
    assert invalidate(img, 3) == {2, 3, 4, 6}
    c = run_tool("era_check", img)                    # digest-safe: a note, not an error
    assert c.returncode == 0, c.stderr
    assert b"note: era array: origin block 2 has era 6, newer than the oldest archived writeset (era 3)" in c.stderr


# ---- 4. the rescue route: era_dump --repair output always restores ----

def test_rescue_route_unreadable_era_array(tmp_path):
    orig = fixture_image("eras", tmp_path)
    truth = logical(*parse_dump(dump(orig))[1:])
    dmg = tmp_path / "damaged.meta"
    sparse_copy(orig, dmg)
    with open(dmg, "r+b") as f:
        root = le(f.read(4096), 208, 8)
        f.seek(root * 4096)
        f.write(bytes(4096))
    xml = tmp_path / "r.xml"
    r = run_tool("era_dump", "--repair", "-o", xml, dmg)
    assert r.returncode == 0, r.stderr
    assert b"unreadable era array entries dumped as the current era" in r.stderr, r.stderr
    new = blank(tmp_path / "new.meta", 64 * MiB)
    r = run_tool("era_restore", "-i", xml, "-o", new)
    assert r.returncode == 0, r.stderr
    assert run_tool("era_check", new).returncode == 0
    after = assert_digest_safe(new)
    cur = parse_dump(dump(new))[0]
    assert all(a >= min(t, cur) for a, t in zip(after, truth))
    repaired = blank(tmp_path / "repaired.meta", 64 * MiB)
    assert run_tool("era_repair", "-i", dmg, "-o", repaired).returncode == 0
    assert dump(new) == dump(repaired)


def test_rescue_route_era_after_current(tmp_path):
    img, r = restore(make_xml(8, 8, {6: {1}}, [0, 0, 3, 0, 0, 0, 0, 0]), tmp_path)
    assert r.returncode == 0, r.stderr
    patch(img, era_array_offset(3), (12).to_bytes(4, "little"))
    xml = tmp_path / "r.xml"
    r = run_tool("era_dump", "--repair", "-o", xml, img)
    assert r.returncode == 0, r.stderr
    assert b'<era block="3" era="8"/>' in xml.read_bytes()
    new = blank(tmp_path / "new.meta")
    r = run_tool("era_restore", "-i", xml, "-o", new)
    assert r.returncode == 0, r.stderr
    assert run_tool("era_check", new).returncode == 0
    assert assert_digest_safe(new)[3] == 8


@pytest.mark.parametrize("name", ["eras", "crash", "snap_held", "grown", "fresh"])
def test_dump_repair_of_clean_fixture_is_plain_dump(name, tmp_path):
    img = fixture_image(name, tmp_path)
    assert dump(img, "--repair") == dump(img)
    assert_digest_safe(img)


def test_restore_missing_era_entry_refused(tmp_path):
    """era_restore(8): an era array without an entry for every block is refused."""
    text = make_xml(4, 3, {}, [0, 1, 2, 3]).replace('    <era block="3" era="3"/>\n', '')
    img, r = restore(text, tmp_path)
    assert r.returncode == 1
    assert b"no entry for block 3" in r.stderr, r.stderr


def test_readers_agree_on_digest_unsafe_metadata(tmp_path):
    """era_dump --logical and era_invalidate both give block 2 the newer era 7
    (the era array's), not the writeset's 5: no reader loses that write."""
    img = unsafe_image(tmp_path)
    text = dump(img, "--logical").decode()
    assert '<era block="2" era="7"/>' in text, text
    assert '<era block="6" era="5"/>' in text, text
    assert invalidate(img, 7) == {2}
    assert invalidate(img, 5) == {2, 6}
