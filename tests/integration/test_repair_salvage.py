"""era_repair on each damage class: nothing written is lost (every block's
logical era in the repaired metadata is at least what it was before the
damage, up to the repaired current era), the input is untouched, and the
salvage is compared with thin-provisioning-tools 1.1.0's era_repair on the
same damage where it is available."""
import os
import re
import shutil

import pytest

from conftest import sparse_copy, REPO, fixture_image, have_tool, ref110, run, run_tool, sha256

DAMAGE = REPO / "build" / "era_damage"
FULL = os.environ.get("ERA_TESTS_FULL") == "1"
KINDS = ["node-csum", "node-blocknr", "zero-block", "cycle-self", "swap-keys",
         "nr-entries-gt-max", "value-size", "era-future", "nr-bits", "sb-stale"]
FIXTURES = ["eras", "snap_held", "crash"] + (["large", "grown"] if FULL else [])

pytestmark = pytest.mark.skipif(not (have_tool("era_repair") and DAMAGE.exists()),
                                reason="bin/era_repair or build/era_damage not built")


def logical(img, dump_cmd=None):
    r = run(dump_cmd or [run_tool.__globals__["tool_path"]("era_dump"), "--logical", img])
    assert r.returncode == 0, r.stderr
    head = r.stdout[:200]
    cur = int(re.search(rb'current_era="(\d+)"', head).group(1))
    return cur, [int(x) for x in re.findall(rb'<era block="\d+" era="(\d+)"/>', r.stdout)]


def lost_blocks(before, after, current):
    """Blocks whose write a "written since E" query (E <= current) would miss."""
    return sum(1 for a, b in zip(after, before) if a < min(b, current))


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("name", FIXTURES)
def test_repair_loses_no_write(name, kind, tmp_path):
    orig = fixture_image(name, tmp_path)
    _, eras0 = logical(orig)
    dmg = tmp_path / "damaged.meta"
    sparse_copy(orig, dmg)
    d = run([DAMAGE, dmg, kind])
    if d.returncode == 2:
        pytest.skip(f"{kind} does not apply to {name}")
    assert d.returncode == 0, d.stderr
    before = sha256(dmg)
    out = tmp_path / "ours.meta"
    with open(out, "wb") as f:
        f.truncate(orig.stat().st_size)
    r = run_tool("era_repair", "-i", dmg, "-o", out)
    assert r.returncode == 0, r.stderr
    assert sha256(dmg) == before
    assert run_tool("era_check", out).returncode == 0
    cur1, eras1 = logical(out)
    assert len(eras1) == len(eras0)
    ours_lost = lost_blocks(eras0, eras1, cur1)
    assert ours_lost == 0, f"{ours_lost} written blocks lost by our repair"
    # repair is idempotent on its own output
    out2 = tmp_path / "ours2.meta"
    with open(out2, "wb") as f:
        f.truncate(orig.stat().st_size)
    assert run_tool("era_repair", "-i", out, "-o", out2).returncode == 0
    assert logical(out2) == (cur1, eras1)

    ref = ref110()
    if not ref:
        return
    theirs = tmp_path / "theirs.meta"
    with open(theirs, "wb") as f:
        f.truncate(orig.stat().st_size)
    t = run([ref, "era_repair", "-i", dmg, "-o", theirs])
    if t.returncode != 0 or run_tool("era_check", theirs).returncode != 0:
        print(f"1.1.0 era_repair gave no usable output for {name}/{kind} (rc {t.returncode})")
        return
    cur2, eras2 = logical(theirs)
    if len(eras2) != len(eras0):
        print(f"1.1.0 era_repair changed nr_blocks for {name}/{kind}")
        return
    theirs_lost = lost_blocks(eras0, eras2, cur2)
    print(f"{name}/{kind}: blocks lost: ours 0, 1.1.0 {theirs_lost}")
    assert ours_lost <= theirs_lost
