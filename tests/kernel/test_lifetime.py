"""What era_restore and era_repair write keeps its meaning for the whole
life of the metadata, with the real dm-era target as the judge (issue 13).

On every resume dm-era archives the current writeset and then digests the
archived writesets oldest first, writing each one's era into the era array
for every block it marks, whatever the era array held.  Metadata whose
logical eras that changes loses writes only later, once activated.  So
each output here is activated in the guest (scenarios/lifetime.sh) and kept
in use (writes, checkpoints, suspend/resume rounds) until the writeset tree,
read back in the guest from the suspended device, holds no writeset older
than the activation; afterwards, on the image the kernel left:

- no writeset of the input is left (the host's era_dump agrees with the guest);
- for every block, era_dump --logical >= the truth, and era_invalidate
  --written-since E holds every block the truth puts in era E or later, for
  every E.  The truth: the input's logical eras (computed by log_truth.py's
  own decoder from the kernel-made fixture, or by lifetime_inputs.py from
  the XML it generated), "at least" for a repaired damaged input (repair
  promises at least as new as the true era, capped at its current era),
  plus the writes the guest logged (kharness.Truth).

Faults (scenarios/faults.sh): kill -9 at random points of our static
era_restore / era_repair writing onto a guest disk that held other valid
metadata, then era_check: an interrupted output is refused, or it is the
complete output (or the old one untouched); the kernel given an interrupted
output formats fresh metadata at most, never takes it as valid; an I/O
error under the output (dm linear + error, dm-flakey
error_writes): the run fails naming the output, exit status nonzero, and the
output is left invalid (or, when not one write got through, unchanged).
"""
import lzma
import os
import random
import re
import shutil
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from kharness import (REPO, SCENARIOS, BLOCK_SECTORS, Truth, boot,  # noqa: E402
                      check_against_truth, disk_boots, era_check, fresh_dir, guest_bins, logical_eras, report,
                      run, sb, sections_of, tool)
import lifetime_inputs  # noqa: E402
import log_truth  # noqa: E402

pytestmark = pytest.mark.kernel
FAST = pytest.mark.kernel_fast

HERE = Path(__file__).resolve().parent
FIXTURES = REPO / "tests" / "fixtures"
DAMAGE = REPO / "build" / "era_damage"
FIXTURE_NAMES = ["fresh", "eras", "snap_held", "crash", "grown", "large"]
# the damage classes era_repair accepts (tests/integration/test_repair_salvage.py)
REPAIR_KINDS = ["node-csum", "node-blocknr", "zero-block", "cycle-self", "swap-keys",
                "nr-entries-gt-max", "value-size", "era-future", "nr-bits", "sb-stale"]
INF = 1 << 32


def lifetime_bins(*names):
    return guest_bins("era_check", *names)


def blank(path, nr_blocks):
    """A sparse output sized by era_metadata_size, at least 8 MiB: room for
    hundreds of writesets and for the ones the kernel adds."""
    size = 16 << 20
    r = run([tool("era_metadata_size"), "--nr-blocks", nr_blocks, "-u", "b"])
    if r.returncode == 0:
        size = max(int(r.stdout.split()[0]), 8 << 20)
    with open(path, "wb") as f:
        f.truncate(size)
    return path


def fixture(name, out):
    src = out / f"{name}.orig"
    if not src.exists():
        with lzma.open(FIXTURES / f"{name}.meta.xz") as f:
            data = f.read()
        with open(src, "wb") as g:
            g.truncate(len(data))
            for off in range(0, len(data), 1 << 16):   # sparse: most of it is zeros
                chunk = data[off:off + (1 << 16)]
                if chunk.count(0) != len(chunk):
                    g.seek(off)
                    g.write(chunk)
    return src


def kernel_truth(img):
    """Logical eras of kernel-made metadata by log_truth.py's decoder (max of
    era array, archived and current writesets), as a list."""
    facts = sb(img)
    eras = log_truth.logical_eras(Path(img).read_bytes())
    return [eras.get(b, 0) for b in range(facts["nr_blocks"])]


class Case:
    """One output to activate: IMG, its nr_blocks, and per block the bounds
    (lo, hi) of its era before activation."""

    def __init__(self, tag, img, bounds):
        self.tag, self.img, self.bounds = tag, Path(img), bounds
        self.nr_blocks = sb(img)["nr_blocks"]


def exact(eras):
    return [(e, e) for e in eras]


def at_least(eras, current):
    """A repaired damaged input: nothing lost, i.e. >= the true era (up to
    the repaired current era, the newest it can give), any era above."""
    return [(min(e, current), INF) for e in eras]


def restore_case(tag, xml, out, nr_blocks, truth, probs):
    img = blank(out / f"{tag}.img", nr_blocks)
    r = run([tool("era_restore"), "-i", xml, "-o", img])
    if r.returncode != 0:
        probs.append(f"{tag}: era_restore exit {r.returncode}: {r.stderr.decode(errors='replace')}")
        return None
    return Case(tag, img, exact(truth))


def repair_case(tag, src, out, truth, probs, damaged=False):
    img = blank(out / f"{tag}.img", sb(src)["nr_blocks"])
    r = run([tool("era_repair"), "-i", src, "-o", img])
    if r.returncode != 0:
        probs.append(f"{tag}: era_repair exit {r.returncode}: {r.stderr.decode(errors='replace')}")
        return None
    cur = sb(img)["current_era"]
    return Case(tag, img, at_least(truth, cur) if damaged else exact(truth))


def live_lifetime(cases, out, chunk=10, rounds=40):
    """Boots of lifetime.sh, CHUNK disks each.  Returns {case.tag: section}."""
    result = {}
    for part, d, names in disk_boots(cases, out, chunk):
        nb_max = max(c.nr_blocks for c in part)
        log = boot(SCENARIOS / "lifetime.sh", d,
                   ["--origin-size", str(nb_max * BLOCK_SECTORS * 512), "--meta-size", "4M",
                    "--timeout", str(120 + 60 * len(part))],
                   env={"ERA_DISKS": " ".join(f"{n}:{c.nr_blocks}" for n, c in zip(names, part)),
                        "ERA_DIGEST_ROUNDS": rounds},
                   extra_bins=lifetime_bins(), drives=[str(c.img) for c in part])
        sec = sections_of(log, names)
        for n, c in zip(names, part):
            result[c.tag] = sec[n]
    return result


def archived_eras(img):
    r = run([tool("era_dump"), img])
    if r.returncode != 0:
        return None
    return [int(x) for x in re.findall(rb'<writeset era="(\d+)"', r.stdout)]


def check_case(case, sec):
    """The lifetime assertions on one activated output; a list of problems."""
    tag = case.tag
    checks = [x for x in sec if x.startswith("CHECK ")]
    if not checks or checks[0].split()[2] != "0":
        return [f"{tag}: guest era_check before activation: {checks or 'not run'}"]
    failed = [x for x in sec if x.startswith("CREATE_FAILED")]
    if failed:
        return [f"{tag}: the kernel refused our metadata: {failed}"]
    st = [x for x in sec if x.startswith("STATUS ")]
    first = int(st[0].split()[6])
    probs = []
    rounds = [x.split()[1] for x in sec if x.startswith("OLDEST_ARCHIVED ")]
    if not rounds or not (rounds[-1] == "none" or rounds[-1].isdigit() and int(rounds[-1]) >= first):
        probs.append(f"{tag}: the digest did not complete in the guest: oldest archived "
                     f"writeset after each round {rounds[-5:]}, activation era {first}")
    left = archived_eras(case.img)
    if left is None:
        probs.append(f"{tag}: era_dump failed on the image after the boot")
    elif [e for e in left if e < first]:
        probs.append(f"{tag}: writesets of the input still archived after the boot: "
                     f"{[e for e in left if e < first][:10]} (activation era {first})")
    t = Truth(sec)
    new = dict(t.last)
    for b, (lo, hi) in enumerate(case.bounds):
        if b not in new and (lo or hi):
            t.last[b] = (lo, hi)
    ex = all(lo == hi for lo, hi in case.bounds)
    probs += [f"{tag} after the digest: {x}" for x in check_against_truth(case.img, t, exact=ex)]
    return probs


def run_cases(cases, out, probs, what, **kw):
    report(probs, f"{what}: before the boot")
    secs = live_lifetime(cases, out, **kw)
    for c in cases:
        probs += check_case(c, secs[c.tag])
    report(probs, f"{what} ({out})")


# ------------------------------------------------------------ restore and repair outputs

def test_lifetime_fixtures(kdirs):
    """Every fixture dumped and era_restored, and era_repaired (clean), to
    fresh images: activated, digested to completion, logical eras kept."""
    out = fresh_dir("lifetime-fixtures", kdirs)
    cases, probs = [], []
    for name in FIXTURE_NAMES:
        src = fixture(name, out)
        truth = kernel_truth(src)
        xml = out / f"{name}.xml"
        r = run([tool("era_dump"), "-o", xml, src])
        assert r.returncode == 0, r.stderr
        cases += [c for c in (restore_case(f"{name}.restore", xml, out, len(truth), truth, probs),
                              repair_case(f"{name}.repair", src, out, truth, probs)) if c]
    run_cases(cases, out, probs, "restored and repaired fixtures")


def test_lifetime_damaged_repairs(kdirs):
    """era_repair of every damage class it accepts (build/era_damage on a
    copy of the eras and crash fixtures): activated, digested to
    completion, no write lost."""
    if not DAMAGE.exists():
        pytest.fail(f"{DAMAGE} missing: run `make kernel-prereqs`")
    out = fresh_dir("lifetime-damaged", kdirs)
    cases, probs = [], []
    for name in ("eras", "crash"):
        src = fixture(name, out)
        truth = kernel_truth(src)
        for kind in REPAIR_KINDS:
            dmg = out / f"{name}.{kind}.dmg"
            run(["cp", "--sparse=always", src, dmg])
            d = run([DAMAGE, dmg, kind])
            if d.returncode == 2:
                continue
            assert d.returncode == 0, d.stderr
            c = repair_case(f"{name}.{kind}.repair", dmg, out, truth, probs, damaged=True)
            if c:
                cases.append(c)
    assert len(cases) >= len(REPAIR_KINDS), f"only {len(cases)} damage cases apply"
    run_cases(cases, out, probs, "repaired damaged fixtures")


def many_writesets_input(out, unsafe=None, extra_marks=None):
    xml_text, truth, cur = lifetime_inputs.many_writesets(unsafe=unsafe, extra_marks=extra_marks)
    xml = out / ("unsafe.xml" if unsafe else "many.xml")
    xml.write_text(xml_text)
    return xml, truth, cur


def test_lifetime_many_writesets_restore(kdirs):
    """era_restore of XML with 300 archived writesets (a two-level writeset
    tree) on a 1024-block device: the kernel digests all 300 and every
    block keeps the era of its newest writeset."""
    out = fresh_dir("lifetime-many-restore", kdirs)
    probs = []
    xml, truth, _cur = many_writesets_input(out)
    c = restore_case("many.restore", xml, out, len(truth), truth, probs)
    if c and len(lifetime_inputs.writeset_leaves(c.img.read_bytes())) < 2:
        probs.append("many.restore: the writeset tree has one leaf; the test needs two")
    run_cases([c] if c else [], out, probs, "300 writesets restored")


@FAST
def test_lifetime_lost_writeset_leaf_repair(kdirs):
    """Issue 13 finding 1: metadata with 300 archived writesets (restored
    from generated XML) whose newest writeset-tree leaf is damaged, then
    era_repair.  Repair may give blocks a newer era than they had, never an
    older one, and the kernel's digest of whatever writesets repair kept
    must not lower any: after the digest, era_invalidate --written-since E
    still holds every block written in era E or later (eras 151-300 lived
    in the lost leaf)."""
    out = fresh_dir("lifetime-lost-leaf", kdirs)
    probs = []
    xml, truth, _cur = many_writesets_input(out)
    src = blank(out / "many.img", len(truth))
    r = run([tool("era_restore"), "-i", xml, "-o", src])
    assert r.returncode == 0, r.stderr
    assert logical_eras(src) == truth, "era_restore of the generated XML is not its truth"
    dmg = out / "many.lost-leaf.dmg"
    shutil.copy(src, dmg)
    blk, keys = lifetime_inputs.break_newest_writeset_leaf(dmg)
    assert keys[-1] == 300 and keys[0] > 1, (blk, keys[:3])
    c = repair_case("many.lost-leaf.repair", dmg, out, truth, probs, damaged=True)
    run_cases([c] if c else [], out, probs, f"repair of a lost writeset leaf (block {blk}, "
                                           f"eras {keys[0]}-{keys[-1]})")


def test_lifetime_digest_unsafe_restore(kdirs):
    """Issue 13 finding 2: XML whose era array holds, for some blocks, an
    era newer than an archived writeset marking the same block.  era_restore
    either refuses it (exit nonzero, naming the block) or writes metadata
    whose logical eras the kernel's digest keeps."""
    out = fresh_dir("lifetime-unsafe-restore", kdirs)
    # blocks 5 and 6 are marked by writesets 10 and 100 alone (see
    # many_writesets): the digest would write 10 and 100 over 250 and 280
    unsafe, marks = {5: 250, 6: 280}, {10: [5], 100: [6]}
    xml, truth, _cur = many_writesets_input(out, unsafe=unsafe, extra_marks=marks)
    assert truth[5] == 250 and truth[6] == 280
    img = blank(out / "unsafe.img", len(truth))
    r = run([tool("era_restore"), "-i", xml, "-o", img])
    if r.returncode != 0:
        msg = r.stderr.decode(errors="replace")
        assert re.search(r"block [56]\b", msg), f"refusal does not name the block: {msg}"
        assert era_check(img)[0] != 0, "refused restore left valid metadata"
        return
    run_cases([Case("unsafe.restore", img, exact(truth))], out, [], "digest-unsafe XML restored")


# ------------------------------------------------------------ faults

# ERA_KILL_SEEDS=S1,S2 replays (or adds) kill -9 runs; the seed is in the test id
KILL_SEEDS_FAST = [1]
KILL_SEEDS = [int(x) for x in re.split(r"[ ,]+", os.environ.get("ERA_KILL_SEEDS", "2,3")) if x]


def faults_boot(out, env, tools, drives, overlay=None, timeout=300):
    opts = ["--meta-size", "4M", "--timeout", str(timeout)]
    if overlay:
        opts += ["--overlay", str(overlay)]
    return boot(SCENARIOS / "faults.sh", out, opts, env=env,
                extra_bins=lifetime_bins("era_dump", *tools), drives=[str(d) for d in drives])


def fault_inputs(out):
    """The restore input (lifetime_inputs.big_era_array, 262144 blocks, in
    an overlay), the repair input (that XML restored on the host), the old
    metadata the output holds before each run (the grown fixture restored,
    on an image the size of the output), and each tool's complete output's
    era_dump md5 (made on the host)."""
    import hashlib
    ov = out / "overlay"
    (ov / "in").mkdir(parents=True, exist_ok=True)
    xml = ov / "in" / "input.xml"
    xml.write_text(lifetime_inputs.big_era_array())
    r = run([tool("era_dump"), "-o", ov / "in" / "small.xml", fixture("eras", out)])
    assert r.returncode == 0, r.stderr
    nb = 262144
    src = blank(out / "input.img", nb)
    r = run([tool("era_restore"), "-i", xml, "-o", src])
    assert r.returncode == 0, r.stderr
    old = blank(out / "old.img", nb)
    r = run([tool("era_dump"), "-o", out / "grown.xml", fixture("grown", out)])
    assert r.returncode == 0, r.stderr
    r = run([tool("era_restore"), "-i", out / "grown.xml", "-o", old])
    assert r.returncode == 0, r.stderr
    # the repair input damaged too (era_repair's salvage path writes the output)
    if not DAMAGE.exists():
        pytest.fail(f"{DAMAGE} missing: run `make kernel-prereqs`")
    dmg = out / "input.dmg"
    shutil.copy(src, dmg)
    d = run([DAMAGE, dmg, "node-csum"])
    assert d.returncode == 0, d.stderr
    expect = {}
    for t, args in (("restore", ["era_restore", "-i", xml]), ("repair", ["era_repair", "-i", src]),
                    ("repair_damaged", ["era_repair", "-i", dmg])):
        img = blank(out / f"expect.{t}.img", nb)
        r = run([tool(args[0]), *args[1:], "-o", img])
        assert r.returncode == 0, r.stderr
        expect[t] = hashlib.md5(run([tool("era_dump"), img]).stdout).hexdigest()
    return ov, [src, old, dmg], expect, hashlib.md5(old.read_bytes()).hexdigest()


TOOL = {"restore": "era_restore", "repair": "era_repair", "repair_damaged": "era_repair"}


def kill_case(t, seed, kdirs, n):
    out = fresh_dir(f"kill-{t}-{seed}", kdirs)
    ov, disks, expect, old_md5 = fault_inputs(out)
    outimg = out / "out.img"
    shutil.copy(disks[1], outimg)
    rng = random.Random(seed)
    # kill points over the whole run, a few just past its end
    fracs = sorted(rng.randrange(0, 1100) for _ in range(n))
    log = faults_boot(out, {"ERA_FAULT": "kill", "ERA_TOOL": t,
                            "ERA_KILL_FRACS": " ".join(map(str, fracs))},
                      [TOOL[t]], [outimg, *disks], overlay=ov, timeout=180 + 10 * n)
    probs = []
    full = [x.split() for x in log if x.startswith("KILL_FULL ")]
    if not full or full[0][2:4] != ["0", "0"] or full[0][5] != expect[t]:
        probs.append(f"uninterrupted era_{t} in the guest: {full} (want exit 0, era_check 0, "
                     f"era_dump md5 {expect[t]})")
        report(probs, f"kill -9 of era_{t} ({out})")
    complete = full[0][4]
    kills = [x.split() for x in log if x.startswith("KILL ")]
    if len(kills) != n:
        probs.append(f"{len(kills)} kill rounds logged, {n} asked")
    seen = {"refused": 0, "untouched": 0, "complete": 0}
    for _k, f, delay, rc, chk, md5 in kills:
        at = f"kill at {f}/1000 ({delay} us, exit {rc})"
        if rc not in ("0", "137"):
            probs.append(f"{at}: era_{t} failed")
        if rc == "0" and (chk != "0" or md5 != complete):
            probs.append(f"{at}: era_{t} finished but era_check exit {chk}, disk md5 {md5}")
        if chk != "0":
            seen["refused"] += 1
        elif md5 == complete:
            seen["complete"] += 1
        elif md5 == old_md5:
            seen["untouched"] += 1      # killed before its first write
        else:
            probs.append(f"{at}: era_check accepts an output that is neither the complete one "
                         f"nor the untouched old metadata (disk md5 {md5})")
    if not seen["refused"]:
        probs.append(f"no kill interrupted a write (outcomes {seen}): the kill points miss it")
    # the kernel on an interrupted output: the superblock is zeroed first, so
    # it may format fresh metadata (era 1), never take the half-written
    # output (era 54: restored current_era 53 + 1) as valid
    kern = [x.split() for x in log if x.startswith("KERNEL_AFTER_KILL ")]
    if not kern:
        probs.append("no KERNEL_AFTER_KILL line")
    else:
        k = kern[0]
        era = k[9] if k[3] == "created" and len(k) > 9 else None
        if k[2] != "0" and era is not None and era != "1":
            probs.append(f"the kernel activated an interrupted output era_check refuses: "
                         f"{' '.join(k)}")
        seen["kernel"] = f"tool exit {k[1]}, era_check {k[2]}, " + \
            (f"kernel created era {era}" if era else " ".join(k[3:]))
    report(probs, f"kill -9 of era_{t} (seed {seed}, fractions {fracs}, outcomes {seen}, {out})")
    print(f"kill -9 of era_{t}, seed {seed}: {seen}")
    return seen


@pytest.mark.parametrize("t,seed", [pytest.param(t, s, marks=FAST if (t, s) == ("restore", 1) else (),
                                                 id=f"{t}-seed={s}")
                                    for t in ("restore", "repair", "repair_damaged")
                                    for s in KILL_SEEDS_FAST + KILL_SEEDS])
def test_kill9_output_refused(t, seed, kdirs):
    """kill -9 at random points of our static era_restore / era_repair (of
    a clean and of a damaged input) writing onto a guest disk that held
    other valid metadata: era_check
    (which runs before activation) refuses every interrupted output, unless
    it is byte for byte the complete one, or the old metadata untouched (the
    kill came before the first write); never a mix."""
    kill_case(t, seed, kdirs, 10 if seed in KILL_SEEDS_FAST else 30)


IOERR_CASES = ["restore:linear", "repair:linear", "restore:flakey", "repair:flakey"]


def test_output_io_error(kdirs):
    """An I/O error under the output: a dm table whose first 4 metadata
    blocks are the output disk and the rest the error target, or dm-flakey
    failing every write.  era_restore and era_repair fail with exit status
    nonzero and a message naming the output; the output disk is left
    invalid (era_check refuses it), or, when no write got through
    (dm-flakey), exactly as it was."""
    io_error_cases(IOERR_CASES, "ioerr", kdirs)


def test_output_io_error_early(kdirs):
    """The same with a small restore input: the output's first write fails
    while the input is still being read.  The message must name the output
    device, not a position in the input."""
    io_error_cases(["restore_small:flakey", "restore_small:linear"], "ioerr-early", kdirs)


def io_error_cases(cases, name, kdirs):
    out = fresh_dir(name, kdirs)
    ov, disks, _expect, _old_md5 = fault_inputs(out)
    outimg = out / "out.img"
    shutil.copy(disks[1], outimg)
    log = faults_boot(out, {"ERA_FAULT": "ioerr", "ERA_IOERR_CASES": " ".join(cases)},
                      ["era_restore", "era_repair"], [outimg, *disks], overlay=ov)
    probs, seen = [], 0
    for i, line in enumerate(log):
        if not line.startswith("IOERR "):
            continue
        seen += 1
        _w, t, kind, dev, rc, chk, before, after = line.split()
        j = log.index("OUT END", i)
        msg = "\n".join(x[4:] for x in log[i + 2:j] if x.startswith("OUT "))
        tag = f"era_{t} onto {kind} ({dev})"
        if rc == "0":
            probs.append(f"{tag}: exit 0 although writes failed")
        if dev not in msg:
            probs.append(f"{tag}: the message does not name the output: {msg!r}")
        elif not re.search(r"Input/output error|I/O error", msg):
            probs.append(f"{tag}: the message does not say an I/O error happened: {msg!r}")
        if kind == "flakey":
            if before != after:
                probs.append(f"{tag}: no write could succeed, yet the output changed")
        elif chk == "0":
            probs.append(f"{tag}: the output is left valid after a failed run (era_check 0)")
    if seen != len(cases):
        probs.append(f"{seen} I/O error cases logged, {len(cases)} asked")
    report(probs, f"I/O errors under the output ({out})")
