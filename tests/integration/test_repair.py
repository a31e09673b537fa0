"""era_repair: clean inputs give clean outputs with the same dump; repair is
idempotent; damage is skipped and reported; the input is never written."""
import lzma
import sys
from pathlib import Path

import pytest

from conftest import blank, FIXTURE_NAMES, SAMPLES, fixture_image, have_tool, ref110, run, run_tool, sha256

sys.path.insert(0, str(Path(__file__).parent))
import imgnorm  # noqa: E402

MiB = 1 << 20
pytestmark = pytest.mark.skipif(not (have_tool("era_repair") and have_tool("era_dump")),
                                reason="bin/era_repair or bin/era_dump not built")


def sample_image(name, tmp_path):
    out = Path(tmp_path) / f"{name}.img"
    with lzma.open(SAMPLES / "img" / f"{name}.r110.img.xz") as f:
        out.write_bytes(f.read())
    return out


def dump(img):
    r = run_tool("era_dump", img)
    assert r.returncode == 0, r.stderr
    return r.stdout


def repair(src, dst, *extra):
    return run_tool("era_repair", "-i", src, "-o", dst, *extra)


def inputs():
    return [("sample", n) for n in ["small", "three", "nows", "gap", "big"]] + \
           [("fixture", n) for n in FIXTURE_NAMES]


def get_input(kind, name, tmp_path):
    return sample_image(name, tmp_path) if kind == "sample" else fixture_image(name, tmp_path)


@pytest.mark.parametrize("kind,name", inputs())
def test_repair_clean(kind, name, tmp_path):
    src = get_input(kind, name, tmp_path)
    before = sha256(src)
    out = blank(tmp_path / "out.img", src.stat().st_size)
    r = repair(src, out)
    assert r.returncode == 0, r.stderr
    assert r.stderr == b"", r.stderr
    assert sha256(src) == before
    c = run_tool("era_check", out)
    assert c.returncode == 0, c.stderr
    assert dump(out) == dump(src)
    p = ref110()
    if p:
        assert run([p, "era_check", out]).returncode == 0
    # idempotent: repairing the repaired image gives the same image
    out2 = blank(tmp_path / "out2.img", src.stat().st_size)
    assert repair(out, out2).returncode == 0
    assert imgnorm.normalise(out2) == imgnorm.normalise(out)


def test_repair_damaged_era_array(tmp_path):
    src = sample_image("big", tmp_path)
    good = dump(src)
    # find an era array block (value_size 4) and break its checksum
    data = bytearray(src.read_bytes())
    victim = None
    for b in range(1, len(data) // 4096):
        blk = data[b * 4096:(b + 1) * 4096]
        if int.from_bytes(blk[12:16], "little") == 4 and int.from_bytes(blk[16:24], "little") == b:
            victim = b
            break
    assert victim
    data[victim * 4096 + 100] ^= 0xff
    src.write_bytes(bytes(data))
    before = sha256(src)
    out = blank(tmp_path / "out.img", 4 * MiB)
    r = repair(src, out)
    assert r.returncode == 0, r.stderr
    assert b"block %d" % victim in r.stderr and b"current era" in r.stderr, r.stderr
    assert sha256(src) == before
    assert run_tool("era_check", out).returncode == 0
    fixed = dump(out)
    assert fixed != good
    # the lost entries now carry the current era: nothing is missed by a
    # "written since" query
    assert b'current_era="7"' in fixed.split(b"\n")[0]
    assert fixed.count(b'era="7"/>') >= 1018


def test_repair_refuses_same_file(tmp_path):
    src = sample_image("small", tmp_path)
    before = sha256(src)
    r = repair(src, src)
    assert r.returncode == 3  # EXIT_IO: the output is refused
    assert b"same file" in r.stderr
    assert sha256(src) == before


def test_repair_bad_superblock(tmp_path):
    src = blank(tmp_path / "zero.img", 4 * MiB)
    out = blank(tmp_path / "out.img", 4 * MiB)
    r = repair(src, out)
    assert r.returncode == 1
    assert r.stderr.count(b"\n") >= 1


def test_repair_output_too_small(tmp_path):
    src = sample_image("big", tmp_path)
    out = blank(tmp_path / "out.img", 16 * 4096)
    r = repair(src, out)
    assert r.returncode == 3
    assert b"needs" in r.stderr
