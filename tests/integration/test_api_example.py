"""examples/changed_blocks.c, the C API example of doc/api.md: built with
`make examples`, its answer equals era_invalidate's on every fixture."""
import os
import re

import pytest

from conftest import FIXTURE_NAMES, REPO, fixture_image, run, run_tool, superblock_facts

EXE = REPO / "build" / "examples" / "changed_blocks"


def clean_env():
    env = dict(os.environ)
    for k in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL", "MAKEOVERRIDES"):
        env.pop(k, None)
    return env


@pytest.fixture(scope="module")
def example():
    r = run(["make", "-s", "-C", REPO, "examples"], env=clean_env(), timeout=300)
    assert r.returncode == 0, r.stdout.decode() + r.stderr.decode()
    return EXE


def runs_from_xml(text):
    runs = []
    for m in re.finditer(r'<range begin="(\d+)" end\s*=\s*"(\d+)"/>|<block block="(\d+)"/>', text):
        if m.group(3) is not None:
            b = int(m.group(3))
            runs.append((b, b + 1))
        else:
            runs.append((int(m.group(1)), int(m.group(2))))
    return runs


def runs_from_example(text):
    lines = text.splitlines()
    assert lines[0].startswith("# nr_blocks ")
    return [tuple(int(x) for x in l.split()[:2]) for l in lines[1:]]


@pytest.mark.parametrize("name", FIXTURE_NAMES)
def test_matches_era_invalidate(example, name, tmp_path):
    img = fixture_image(name, tmp_path)
    cur = superblock_facts(img)["current_era"]
    for since in sorted({0, 1, 2, max(cur - 1, 0), cur, cur + 1}):
        ex = run([example, img, since])
        assert ex.returncode == 0, ex.stderr
        inv = run_tool("era_invalidate", "--written-since", since, img)
        assert inv.returncode == 0, inv.stderr
        assert runs_from_example(ex.stdout.decode()) == runs_from_xml(inv.stdout.decode()), since


def test_sectors_and_header(example, tmp_path):
    img = fixture_image("eras", tmp_path)
    out = run([example, img, 0]).stdout.decode().splitlines()
    assert out[0] == "# nr_blocks 4096 block_size 128 current_era 8 written_since 0"
    for line in out[1:]:
        b, e, word, sect = line.split()
        start, length = (int(x) for x in sect.split("+"))
        assert word == "sectors" and start == int(b) * 128 and length == (int(e) - int(b)) * 128


def test_snapshot(example, tmp_path):
    img = fixture_image("snap_held", tmp_path)
    ex = run([example, "--snapshot", img, 1])
    inv = run_tool("era_invalidate", "--metadata-snapshot", "--written-since", 1, img)
    assert ex.returncode == 0 and inv.returncode == 0, (ex.stderr, inv.stderr)
    assert runs_from_example(ex.stdout.decode()) == runs_from_xml(inv.stdout.decode())
    ex = run([example, "--snapshot", fixture_image("eras", tmp_path), 1])
    assert ex.returncode == 1 and b"no metadata snapshot" in ex.stderr


def test_errors(example, tmp_path):
    bad = tmp_path / "zero"
    bad.write_bytes(bytes(8192))
    r = run([example, bad, 1])
    assert r.returncode == 1 and r.stderr.startswith(b"changed_blocks: ")
    assert run([example, tmp_path / "missing", 1]).returncode == 1
    assert run([example, bad, "x"]).returncode == 1
    assert run([example]).returncode == 1


@pytest.mark.parametrize("name", FIXTURE_NAMES)
def test_histogram_matches_logical_dump(example, name, tmp_path):
    """examples/era_histogram.c (era_walk with a visitor) counts the same
    eras as era_dump --logical prints."""
    img = fixture_image(name, tmp_path)
    ex = run([REPO / "build" / "examples" / "era_histogram", img])
    assert ex.returncode == 0, ex.stderr
    dump = run_tool("era_dump", "--logical", img)
    assert dump.returncode == 0, dump.stderr
    counts = {}
    for m in re.finditer(rb'<era block="\d+" era="(\d+)"/>', dump.stdout):
        counts[int(m.group(1))] = counts.get(int(m.group(1)), 0) + 1
    got = {int(a): int(b) for a, b in (l.split() for l in ex.stdout.decode().splitlines())}
    assert got == counts
