"""Smoke test of the benchmark harness (bench/): the generator's layout for
a tiny device and one quick harness run. Needs no reference tools; takes a
few seconds. The benchmarks themselves are `make bench`, never `make check`."""
import csv
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REPO, tool_path

BUILD = REPO / "build" / "bench"


def helper(name, tmp_path):
    """build/bench/NAME (built by mk/bench.mk), else compiled here."""
    exe = BUILD / name
    src = REPO / "bench" / f"{name}.c"
    if exe.exists() and exe.stat().st_mtime >= src.stat().st_mtime:
        return exe
    exe = tmp_path / name
    subprocess.run(["cc", "-std=gnu11", "-D_GNU_SOURCE", "-O2", "-Wall", "-Wextra", "-Werror",
                    "-o", str(exe), str(src)], check=True)
    return exe


def test_gen_xml_layout(tmp_path):
    gen = helper("gen_xml", tmp_path)
    out = subprocess.run([str(gen), "-w", "3", "-s", "5", "1000"], capture_output=True,
                         check=True).stdout.decode()
    again = subprocess.run([str(gen), "-w", "3", "-s", "5", "1000"], capture_output=True,
                           check=True).stdout.decode()
    assert out == again, "not deterministic"
    lines = out.split("\n")
    assert lines[0] == '<superblock uuid="" block_size="128" nr_blocks="1000" current_era="11">'
    assert lines[-1] == "</superblock>" and not out.endswith("\n")
    assert [l for l in lines if "<writeset" in l] == [
        f'  <writeset era="{e}" nr_bits="1000">' for e in (9, 10, 11)]
    bits = [l for l in lines if l.startswith("    <bit ")]
    eras = [l for l in lines if l.startswith("    <era ")]
    assert len(bits) == 3000 and len(eras) == 1000
    for i, l in enumerate(bits):
        m = re.fullmatch(r'    <bit block="(\d+)" value="(true|false)"/>', l)
        assert m and int(m.group(1)) == i % 1000
    set_bits = sum(l.endswith('"true"/>') for l in bits)
    assert 30 < set_bits < 400, set_bits  # about 5%
    for i, l in enumerate(eras):
        m = re.fullmatch(r'    <era block="(\d+)" era="(\d+)"/>', l)
        assert m and int(m.group(1)) == i and int(m.group(2)) < 9
    assert lines[-2] == "  </era_array>"


def test_harness_quick_run(tmp_path):
    gen = helper("gen_xml", tmp_path)
    timeit = helper("timeit", tmp_path)
    base = [sys.executable, str(REPO / "bench" / "run.py"), "--gen", str(gen),
            "--timeit", str(timeit), "--sizes", "1000", "--reps", "1", "--no-kernel",
            "--no-plot", "--cache-dir", str(tmp_path / "cache"), "--out-dir",
            str(tmp_path / "out"), "--bin", str(Path(tool_path("era_check")).parent)]
    dry = subprocess.run(base + ["--dry-run"], capture_output=True, timeout=60)
    assert dry.returncode == 0, dry.stderr.decode()
    assert b"[dry]" in dry.stderr
    r = subprocess.run(base, capture_output=True, timeout=60)
    stderr = r.stderr.decode()
    if "no era_restore to build the image" in stderr:
        pytest.skip("neither 1.1.0 nor our era_restore to build the input image")
    assert r.returncode == 0, stderr
    rows = list(csv.DictReader(open(tmp_path / "out" / "latest.csv")))
    assert rows, "no results"
    assert {"operation", "tool", "median_s", "max_rss_mb", "ratio_110"} <= set(rows[0])
    ours = [x for x in rows if x["tool"] == "ours" and x["operation"] == "check"]
    if os.access(tool_path("era_check"), os.X_OK):
        assert ours and float(ours[0]["median_s"]) > 0 and float(ours[0]["max_rss_mb"]) > 0
    text = (tmp_path / "out" / "latest.txt").read_text()
    assert "median s" in text and "syn-1000" in text
