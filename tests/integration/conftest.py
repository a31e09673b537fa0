"""Shared helpers for the integration tests: where the tools are, the
kernel-made fixtures, and the reference tools (oracles, optional)."""
import hashlib
import importlib.util
import json
import lzma
import os
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "tests" / "fixtures"
SAMPLES = REPO / "tests" / "oracle" / "samples"
REF_DIR = Path(os.environ.get("ERA_REF_DIR",
                              Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
                              / "era-tools" / "ref"))
FIXTURE_NAMES = sorted(p.name[:-len(".meta.xz")] for p in FIXTURES.glob("*.meta.xz"))

os.environ["LC_ALL"] = "C"


def _peek_sb():
    # tests/kernel/peek_sb.py (a standalone script, not on sys.path here) holds
    # the one Python model of the block checksum both suites use.
    spec = importlib.util.spec_from_file_location("peek_sb", REPO / "tests" / "kernel" / "peek_sb.py")
    m = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(m)
    return m


# block_csum(data, xor): CRC-32C of data[4:] (init ~0, no final xor) ^ xor
block_csum = _peek_sb().block_csum


def tool_path(name):
    return str(Path(os.environ.get("ERA_TOOLS_BIN", REPO / "bin")) / name)


def have_tool(name):
    return os.access(tool_path(name), os.X_OK)


def run(args, timeout=120, **kw):
    """Runs a command; returns CompletedProcess with bytes stdout/stderr."""
    return subprocess.run([str(a) for a in args], capture_output=True, timeout=timeout, **kw)


def run_tool(name, *args, **kw):
    return run([tool_path(name), *args], **kw)


_image_cache = {}


def sparse_copy(src, dst):
    """Copies a (mostly zero) metadata image without writing its zero blocks:
    the fixtures are 64 MiB images of which a few hundred KiB are used, and
    hundreds of tests copy them."""
    subprocess.run(["cp", "--sparse=always", str(src), str(dst)], check=True)


MiB = 1 << 20


def blank(path, size=4 * MiB):
    """An empty (sparse) output file of size bytes."""
    with open(path, "wb") as f:
        f.truncate(size)
    return path


def write_sparse(chunks, out_path):
    """Writes an iterable of byte chunks, seeking over all-zero 4 KiB blocks."""
    size = 0
    with open(out_path, "wb") as out:
        for chunk in chunks:
            for off in range(0, len(chunk), 4096):
                blk = chunk[off:off + 4096]
                if blk.count(0) == len(blk):
                    out.seek(len(blk), 1)
                else:
                    out.write(blk)
            size += len(chunk)
        out.truncate(size)


def fixture_image(name, tmp_path):
    """Decompresses tests/fixtures/NAME.meta.xz into tmp_path; returns the path."""
    src = _image_cache.get(name)
    if src is None:
        cache_dir = REPO / "build" / "fixtures"
        cache_dir.mkdir(parents=True, exist_ok=True)
        src = cache_dir / f"{name}.meta"
        xz = FIXTURES / f"{name}.meta.xz"
        if not src.exists() or src.stat().st_mtime < xz.stat().st_mtime:
            tmp = src.with_suffix(".tmp")
            with lzma.open(xz) as f:
                write_sparse(iter(lambda: f.read(1 << 20), b""), tmp)
            tmp.rename(src)
        _image_cache[name] = src
    dst = Path(tmp_path) / f"{name}.meta"
    sparse_copy(src, dst)
    return dst


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def check_clean(img):
    """era_check on img: silent and clean as text, clean as JSON, img left
    as it was. Returns the JSON document."""
    before = sha256(img)
    r = run_tool("era_check", img)
    assert (r.returncode, r.stdout, r.stderr) == (0, b"", b""), r.stderr
    r = run_tool("era_check", "--format", "json", img)
    assert r.returncode == 0, r.stderr
    assert b'"problems": [  ]' in r.stdout, r.stdout
    doc = json.loads(r.stdout)
    assert doc["clean"] is True and doc["errors"] == 0 and doc["problems"] == []
    assert sha256(img) == before
    return doc


def ref110():
    p = REF_DIR / "1.1.0" / "usr" / "sbin" / "pdata_tools"
    return str(p) if os.access(p, os.X_OK) else None


def ref090(tool):
    p = REF_DIR / "0.9.0" / "usr" / "sbin" / tool
    return str(p) if os.access(p, os.X_OK) else None


@pytest.fixture
def need_ref110():
    p = ref110()
    if not p:
        pytest.skip("thin-provisioning-tools 1.1.0 not available "
                    "(run tests/oracle/get-reference-tools.sh)")
    return p


def superblock_facts(path):
    """nr_blocks, current_era, metadata_snap from block 0 (independent decoder)."""
    with open(path, "rb") as f:
        b = f.read(4096)
    le = lambda o, n: int.from_bytes(b[o:o + n], "little")
    return {"magic": le(32, 8), "nr_blocks": le(180, 4), "current_era": le(184, 4),
            "cws_root": le(192, 8), "metadata_snap": le(216, 8)}
