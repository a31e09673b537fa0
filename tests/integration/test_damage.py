"""Robustness (issue 7): every read tool on damaged kernel-made metadata.

Each case copies a fixture, damages it with build/era_damage (which finds
its target by following roots), then runs era_check, era_dump, era_dump
--repair, era_invalidate --written-since 0 and, when built, era_repair.
Every tool must end within a timeout without a crash, with its documented
exit status, name the block it complains about, never write its input, and
never present a damaged dump as complete.

`make check` runs one fixture per damage kind; ERA_TESTS_FULL=1 runs every
fixture x kind x tool with two seeds.
"""
import hashlib
import os
import re
import subprocess
from pathlib import Path

import pytest

from conftest import FIXTURE_NAMES, REPO, fixture_image, have_tool, sparse_copy, tool_path

TIMEOUT = 20
FULL = os.environ.get("ERA_TESTS_FULL") == "1"
DAMAGE = Path(os.environ.get("ERA_DAMAGE", REPO / "build" / "era_damage"))

# kind -> (every reader must fail, the exact damaged block must be named)
KINDS = {
    "sb-csum": (True, True),
    "sb-magic": (True, True),
    "sb-blocknr": (True, True),
    "sb-nr-blocks": (True, True),
    "sb-stale": (False, False),        # eras in use after current_era: check only
    "node-csum": (True, True),
    "node-blocknr": (True, True),
    "zero-block": (True, True),
    "cycle-self": (True, True),
    "cycle-ancestor": (True, False),   # the cycle is met at the ancestor
    "swap-keys": (True, True),
    "nr-entries-gt-max": (True, True),
    "value-size": (True, True),
    "era-future": (False, False),      # values are the check's business
    "nr-bits": (True, False),          # found at the bitset's blocks
    "nr-bits-huge": (True, False),
    "truncate": (True, False),
    "sm-leak": (False, True),          # space map kinds: only era_check reads it
    "sm-missing": (False, True),
    "sm-double-ref": (False, False),
    "huge-count": (False, True),
}
NONFATAL = {"sm-leak"}
TOOLS = ["check", "dump", "dump-repair", "invalidate", "repair"]


def _cases():
    names = FIXTURE_NAMES
    if FULL:
        return [(f, k, s) for f in names for k in KINDS for s in (0, 7)]
    out = []
    for i, k in enumerate(KINDS):
        f = "large" if k in ("cycle-ancestor", "cycle-self") and "large" in names else names[i % len(names)]
        out.append((f, k, 0))
    return out


def image_digest(path):
    """sha256 over the size and every data extent (with its offset): holes
    read as zeros, so equal digests mean equal bytes, at a fraction of the
    cost of hashing 64 MiB of mostly holes."""
    h = hashlib.sha256()
    size = os.path.getsize(path)
    h.update(str(size).encode())
    with open(path, "rb") as f:
        fd = f.fileno()
        off = 0
        while off < size:
            try:
                data = os.lseek(fd, off, os.SEEK_DATA)
            except OSError:
                break
            hole = os.lseek(fd, data, os.SEEK_HOLE)
            f.seek(data)
            h.update(b"@%d:" % data)
            left = hole - data
            while left:
                chunk = f.read(min(left, 1 << 20))
                if not chunk:
                    break
                h.update(chunk)
                left -= len(chunk)
            off = hole
    return h.hexdigest()


@pytest.fixture(scope="session")
def damage_tool():
    if not os.access(DAMAGE, os.X_OK):
        r = subprocess.run(["make", "-s", "-C", str(REPO), "build/era_damage"], capture_output=True)
        if r.returncode or not os.access(DAMAGE, os.X_OK):
            pytest.skip("build/era_damage could not be built: " + r.stderr.decode()[-300:])
    return str(DAMAGE)


_pristine = {}
_damaged = {}


@pytest.fixture(scope="session")
def damaged(tmp_path_factory, damage_tool):
    """(fixture, kind, seed) -> (path, digest, damaged block, era_damage's line)."""
    def get(fixture, kind, seed):
        key = (fixture, kind, seed)
        if key in _damaged:
            return _damaged[key]
        if fixture not in _pristine:
            _pristine[fixture] = fixture_image(fixture, tmp_path_factory.mktemp("pristine"))
        d = tmp_path_factory.mktemp("dmg")
        img = d / f"{fixture}.{kind}.{seed}.meta"
        sparse_copy(_pristine[fixture], img)
        r = subprocess.run([damage_tool, str(img), kind, "--seed", str(seed)], capture_output=True,
                           timeout=TIMEOUT)
        if r.returncode == 2:
            _damaged[key] = None
        else:
            assert r.returncode == 0, r.stderr.decode()
            line = r.stdout.decode().strip()
            m = re.match(r"\S+: block (\d+):", line)
            assert m, line
            _damaged[key] = (img, image_digest(img), int(m.group(1)), line)
        return _damaged[key]
    return get


def run(args, timeout=TIMEOUT):
    try:
        return subprocess.run([str(a) for a in args], capture_output=True, timeout=timeout,
                              env=dict(os.environ, LC_ALL="C"))
    except subprocess.TimeoutExpired:
        pytest.fail(f"timed out after {timeout}s: {' '.join(map(str, args))}")


def assert_no_crash(r, what):
    rc = r.returncode
    assert rc >= 0 and (rc < 128 or rc == 141), \
        f"{what} crashed (status {rc}): {r.stderr.decode()[-1500:]}"


def assert_failure_named(r, what, named, must_fail):
    """A reader's exit 1 says why, naming the block where the damage must
    make it fail."""
    assert r.stderr, f"{what}: failed silently"
    assert named.search(r.stderr) or not must_fail, \
        f"{what}: block not named: {r.stderr.decode()[-800:]}"


def ends_complete(out, closing):
    return out.rstrip(b"\n").endswith(closing)


@pytest.mark.parametrize("tool", TOOLS)
@pytest.mark.parametrize("fixture,kind,seed", _cases())
def test_damage(damaged, tmp_path, fixture, kind, seed, tool):
    dm = damaged(fixture, kind, seed)
    if dm is None:
        pytest.skip(f"{kind} does not apply to fixture {fixture}")
    img, digest, block, line = dm
    must_fail, exact = KINDS[kind]
    named = re.compile(rb"block %d\b" % block) if exact else re.compile(rb"block \d+")
    what = f"{tool} on {fixture}/{kind} ({line})"

    if tool == "check":
        if not have_tool("era_check"):
            pytest.skip("era_check not built")
        r = run([tool_path("era_check"), img])
        assert_no_crash(r, what)
        status = 4 if kind in NONFATAL else 1  # non-fatal findings only: 4
        assert r.returncode == status, f"{what}: exit {r.returncode}, stderr: {r.stderr.decode()[-800:]}"
        assert named.search(r.stderr), f"{what}: block not named: {r.stderr.decode()[-800:]}"
        assert r.stdout == b""
        r2 = run([tool_path("era_check"), "--ignore-non-fatal-errors", img])
        assert_no_crash(r2, what)
        assert r2.returncode == (0 if kind in NONFATAL else 1), \
            f"{what} --ignore-non-fatal-errors: exit {r2.returncode}: {r2.stderr.decode()[-800:]}"
        r3 = run([tool_path("era_check"), "-q", img])
        assert r3.returncode == status and r3.stdout == b"" and r3.stderr == b""

    elif tool in ("dump", "dump-repair"):
        if not have_tool("era_dump"):
            pytest.skip("era_dump not built")
        args = [tool_path("era_dump")] + (["--repair"] if tool == "dump-repair" else []) + [img]
        r = run(args)
        assert_no_crash(r, what)
        assert r.returncode in (0, 1), what
        if r.returncode == 1:
            assert_failure_named(r, what, named, must_fail)
            assert not ends_complete(r.stdout, b"</superblock>"), \
                f"{what}: failed dump ends with </superblock>"
        else:
            assert ends_complete(r.stdout, b"</superblock>"), f"{what}: exit 0 but dump incomplete"
            if tool == "dump":
                assert not must_fail, f"{what}: damage not noticed (exit 0)"

    elif tool == "invalidate":
        if not have_tool("era_invalidate"):
            pytest.skip("era_invalidate not built")
        r = run([tool_path("era_invalidate"), "--written-since", "0", img])
        assert_no_crash(r, what)
        assert r.returncode in (0, 1), what
        if r.returncode == 1:
            assert_failure_named(r, what, named, must_fail)
            assert b"</blocks>" not in r.stdout, f"{what}: failed but printed a complete list"
        else:
            assert ends_complete(r.stdout, b"</blocks>"), f"{what}: exit 0 but list incomplete"
            assert not must_fail, f"{what}: damage not noticed (exit 0)"

    elif tool == "repair":
        if not have_tool("era_repair"):
            pytest.skip("era_repair not built yet")
        out = tmp_path / "repaired.meta"
        with open(out, "wb") as f:
            f.truncate(os.path.getsize(img) if os.path.getsize(img) >= (4 << 20) else (64 << 20))
        r = run([tool_path("era_repair"), "-i", img, "-o", out])
        assert_no_crash(r, what)
        assert r.returncode in (0, 1), f"{what}: exit {r.returncode}: {r.stderr.decode()[-800:]}"
        if r.returncode == 0:
            c = run([tool_path("era_check"), out])
            assert c.returncode == 0, \
                f"{what}: repaired output fails era_check: {c.stderr.decode()[-800:]}"
        else:
            assert r.stderr, f"{what}: failed silently"

    assert image_digest(img) == digest, f"{what}: the input was modified"


def test_damage_tool_refuses_inapplicable(damaged):
    """cycle-ancestor needs a two-level tree: the small fixtures have none."""
    if "fresh" not in FIXTURE_NAMES:
        pytest.skip("no fresh fixture")
    assert damaged("fresh", "cycle-ancestor", 0) is None


HUGE_NR_BLOCKS_TOOLS = [
    ["era_check"],
    ["era_dump"],
    ["era_dump", "--logical"],
    ["era_dump", "--repair"],
    ["era_invalidate", "--written-since", "0"],
]


@pytest.mark.parametrize("args", HUGE_NR_BLOCKS_TOOLS, ids=lambda a: "_".join(a).replace("-", ""))
@pytest.mark.parametrize("size_mib", [1, 64])
def test_huge_nr_blocks_bounded(damage_tool, tmp_path, args, size_mib):
    """nr_blocks = 0xffffffff (checksum fixed) on a small device: the readers
    must refuse it from the device size, not allocate 512 MiB bitsets or
    print 4 billion lines. Run under a 200 MB address-space limit."""
    if not have_tool(args[0]):
        pytest.skip(f"{args[0]} not built")
    if os.environ.get("ERA_TOOLS_BIN", "").rstrip("/").endswith("asan/bin"):
        pytest.skip("AddressSanitizer reserves terabytes of address space: ulimit -v does not apply")
    img = fixture_image("fresh", tmp_path)
    r = subprocess.run([damage_tool, str(img), "sb-nr-blocks"], capture_output=True)
    assert r.returncode == 0, r.stderr
    if size_mib == 1:
        # the fresh fixture uses blocks below 19: a 1 MiB device still holds them
        os.truncate(img, 1 << 20)
    digest = image_digest(img)
    cmd = " ".join([f"'{tool_path(args[0])}'"] + args[1:] + [f"'{img}'"])
    r = subprocess.run(["bash", "-c", f"ulimit -v 200000; {cmd} > {tmp_path}/out 2> {tmp_path}/err; echo $?"],
                       capture_output=True, timeout=TIMEOUT, env=dict(os.environ, LC_ALL="C"))
    rc = int(r.stdout.decode().strip())
    err = (tmp_path / "err").read_bytes()
    assert rc == 1, f"exit {rc}: {err[-500:]}"
    assert (tmp_path / "out").stat().st_size < 4096, "output produced for a lying superblock"
    assert b"out of memory" not in err, err
    assert re.search(rb"block 0\b.*nr_blocks", err), err
    assert image_digest(img) == digest
