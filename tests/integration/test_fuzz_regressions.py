"""Inputs that once crashed a fuzz target (tests/fuzz/regressions/), replayed
through the real tools, so they stay fixed without clang. Walk inputs are
images whose checksums the fuzz target fixed before reading: the replay
fixes them the same way (era_damage fix-csums) when the size is a whole
number of blocks. `make fuzz-regress` replays them through the targets."""
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import REPO, have_tool, tool_path

REG = REPO / "tests" / "fuzz" / "regressions"
DAMAGE = Path(os.environ.get("ERA_DAMAGE", REPO / "build" / "era_damage"))
WALK = sorted((REG / "walk").glob("*")) if (REG / "walk").is_dir() else []
XML = sorted((REG / "xml").glob("*")) if (REG / "xml").is_dir() else []


def no_crash(r, what):
    assert 0 <= r.returncode < 128, f"{what}: status {r.returncode}: {r.stderr.decode()[-1500:]}"


def write_without_crash(tool, inp, tmp_path):
    """TOOL -i INP -o a blank 4 MiB output: whatever its status, no crash."""
    out = tmp_path / "out"
    with open(out, "wb") as f:
        f.truncate(4 << 20)
    r = subprocess.run([tool_path(tool), "-i", str(inp), "-o", str(out)], capture_output=True, timeout=30)
    no_crash(r, tool)


@pytest.mark.parametrize("src", WALK, ids=[p.name for p in WALK])
def test_walk_regression(src, tmp_path):
    img = tmp_path / "img"
    data = src.read_bytes()
    img.write_bytes(data + bytes(-len(data) % 4096))
    if len(data) % 4096 == 0:
        if not os.access(DAMAGE, os.X_OK):
            subprocess.run(["make", "-s", "-C", str(REPO), "build/era_damage"], capture_output=True)
        if not os.access(DAMAGE, os.X_OK):
            pytest.skip("build/era_damage missing")
        subprocess.run([str(DAMAGE), str(img), "fix-csums"], check=True, capture_output=True)
    before = img.read_bytes()
    for args in (["era_check"], ["era_dump"], ["era_dump", "--logical"], ["era_dump", "--repair"],
                 ["era_invalidate", "--written-since", "0"]):
        if not have_tool(args[0]):
            continue
        r = subprocess.run([tool_path(args[0]), *args[1:], str(img)], capture_output=True, timeout=30,
                           env=dict(os.environ, LC_ALL="C"))
        no_crash(r, " ".join(args))
        assert r.returncode in (0, 1)
    if have_tool("era_repair"):
        write_without_crash("era_repair", img, tmp_path)
    assert img.read_bytes() == before


@pytest.mark.parametrize("src", XML, ids=[p.name for p in XML])
def test_xml_regression(src, tmp_path):
    if not have_tool("era_restore"):
        pytest.skip("era_restore not built")
    write_without_crash("era_restore", src, tmp_path)
