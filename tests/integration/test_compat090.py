"""Metadata written by thin-provisioning-tools 0.9.0 (Debian bookworm's
era_restore): its space-map index counts, in a partial last bitmap, only
the entries inside the device as free, where the kernel and 1.1.0 count the
whole bitmap. The kernel and both reference tools accept either; so must
era_check, and nothing else may pass (tests/fixtures/tpt-0.9.0/)."""
import hashlib
import lzma
import re
import subprocess
from pathlib import Path

import pytest

from conftest import FIXTURES, REPO, SAMPLES, check_clean, have_tool, ref090, run, run_tool, write_sparse

HERE = FIXTURES / "tpt-0.9.0"
NAMES = sorted(p.name[:-len(".meta.xz")] for p in HERE.glob("*.meta.xz"))
DAMAGE = REPO / "build" / "era_damage"
ENTRIES = 16320  # space map entries per bitmap block


def image(name, tmp_path):
    dst = Path(tmp_path) / f"{name}.meta"
    with lzma.open(HERE / f"{name}.meta.xz") as f:
        write_sparse(iter(lambda: f.read(1 << 20), b""), dst)
    return dst


def scenario(name):
    text = (HERE / f"{name}.scenario").read_text()
    sample = re.search(r"samples/xml/(\S+\.xml)", text).group(1)
    return {"sample": SAMPLES / "xml" / sample,
            "dump_sha": re.search(r"^#@ dump-sha256: ([0-9a-f]{64})$", text, re.M).group(1)}


def index_entries(path):
    """(index block, [(offset of entry, nr_free, entries n, used)]) decoded here."""
    data = Path(path).read_bytes()
    le = lambda b, o, n: int.from_bytes(b[o:o + n], "little")
    nr_blocks, root = le(data, 44, 8), le(data, 60, 8)
    idx = data[root * 4096:(root + 1) * 4096]
    out = []
    for i in range((nr_blocks + ENTRIES - 1) // ENTRIES):
        where, nr_free = le(idx, 16 + 16 * i, 8), le(idx, 24 + 16 * i, 4)
        bm = data[where * 4096 + 16:(where + 1) * 4096]
        n = min(ENTRIES, nr_blocks - i * ENTRIES)
        used = sum(1 for j in range(n) if (bm[j // 4] >> (2 * (j % 4))) & 3)
        out.append((24 + 16 * i, nr_free, n, used))
    return root, out


def test_fixtures_present():
    assert "small-4m" in NAMES and len(NAMES) >= 2


@pytest.mark.parametrize("name", NAMES)
def test_fixture_uses_090_convention(name, tmp_path):
    """The fixture really is the case: a partial last bitmap whose nr_free
    counts only the entries inside the device."""
    img = image(name, tmp_path)
    _, entries = index_entries(img)
    _, nr_free, n, used = entries[-1]
    assert n < ENTRIES
    assert nr_free == n - used != ENTRIES - used


@pytest.mark.parametrize("name", NAMES)
def test_check_accepts_090_restore(name, tmp_path):
    check_clean(image(name, tmp_path))


@pytest.mark.parametrize("name", NAMES)
def test_dump_equals_090(name, tmp_path):
    img = image(name, tmp_path)
    sc = scenario(name)
    r = run_tool("era_dump", img)
    assert r.returncode == 0, r.stderr
    assert hashlib.sha256(r.stdout).hexdigest() == sc["dump_sha"]
    assert r.stdout == sc["sample"].read_bytes()
    ref = ref090("era_dump")
    if ref:
        assert run([ref, img]).stdout == r.stdout


@pytest.mark.parametrize("name", NAMES)
def test_repair_and_restore_roundtrip(name, tmp_path):
    img = image(name, tmp_path)
    dump = run_tool("era_dump", img).stdout
    size = img.stat().st_size
    for tool, src in (("era_repair", img), ("era_restore", tmp_path / "d.xml")):
        (tmp_path / "d.xml").write_bytes(dump)
        out = tmp_path / f"{tool}.meta"
        with open(out, "wb") as f:
            f.truncate(size)
        r = run_tool(tool, "-i", src, "-o", out)
        assert r.returncode == 0, r.stderr
        assert run_tool("era_check", out).returncode == 0
        assert run_tool("era_dump", out).stdout == dump
        ref = ref090("era_check")
        if ref:
            assert run([ref, out]).returncode == 0


def damaged_nr_free(tmp_path, name, delta):
    if not DAMAGE.exists():
        r = subprocess.run(["make", "-s", "-C", str(REPO), "build/era_damage"], capture_output=True)
        if r.returncode:
            pytest.skip("build/era_damage could not be built")
    img = image(name, tmp_path)
    root, entries = index_entries(img)
    off, nr_free, n, used = entries[-1]
    with open(img, "r+b") as f:
        f.seek(root * 4096 + off)
        f.write((nr_free + delta).to_bytes(4, "little"))
    subprocess.run([str(DAMAGE), str(img), "fix-csums"], check=True, capture_output=True)
    return img, root


@pytest.mark.parametrize("delta", [1, -1, ENTRIES - 1024 + 1])
def test_other_nr_free_still_reported(delta, tmp_path):
    """Neither convention (one off either, or the kernel's count plus one): still a finding."""
    img, root = damaged_nr_free(tmp_path, "small-4m", delta)
    r = run_tool("era_check", img)
    assert r.returncode == 4  # a non-fatal finding only
    assert re.search(rb"non-fatal error: block \d+: space map: bitmap for blocks 0\.\. has 16309 free entries, "
                     rb"index says \d+\n", r.stderr), r.stderr
    assert r.stderr.count(b"\n") == 2 and b"non-fatal findings only" in r.stderr
    assert run_tool("era_check", "--ignore-non-fatal-errors", img).returncode == 0


def test_kernel_convention_on_partial_bitmap_accepted(tmp_path):
    """The same image with the kernel's count (whole bitmap) is clean too."""
    img0 = image("small-4m", tmp_path)
    _, entries = index_entries(img0)
    _, nr_free, n, used = entries[-1]
    img, _ = damaged_nr_free(tmp_path, "small-4m", ENTRIES - n)
    r = run_tool("era_check", img)
    assert (r.returncode, r.stderr) == (0, b"")
