"""The real dm-era target as the judge (issue 6).

Every test boots scenarios under QEMU (tests/kernel/run-scenario.sh, one
QEMU at a time), derives the truth from the guest's "ERA ..." log alone
(kharness.Truth) and checks our tools on the images the kernel left:

- era_check passes; era_dump --logical gives every written block the era of
  its last logged write (and 0 to every block never written); era_invalidate
  --written-since E reports every block written in era E or later, for every
  E from 0 to current_era + 1; era_dump equals 1.1.0's + "\\n" (when the
  reference tools are cached);
- crashes at random points: the same, the crashed metadata reactivates, and no
  acknowledged write is lost;
- our era_check and era_invalidate run inside the guest (static binaries);
- our era_restore / era_repair outputs are activated by the kernel, which
  keeps writing on them.

make check-kernel-fast runs the tests marked kernel_fast; make check-kernel
all.  Random scenarios are replayed with ERA_KERNEL_SEEDS=S1,S2 (clean) and
ERA_KERNEL_CRASH_SEEDS=S1,S2 (crash); the seed is in the test id.
"""
import lzma
import os
import re
import shutil
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from kharness import (REPO, SCENARIOS, WORK, BLOCK_SECTORS, Truth, boot, check_against_truth,  # noqa: E402
                      compare_with_110, cut_at, disk_boots, era_check, guest_bins, invalidate, logical_eras,
                      fresh_dir, parse_blocks, report, run, run_scenario, sb, sections_of, tool)

pytestmark = pytest.mark.kernel

HERE = Path(__file__).resolve().parent
FIXTURES = REPO / "tests" / "fixtures"
FAST = pytest.mark.kernel_fast


def _seeds(var, default):
    v = os.environ.get(var)
    if v:
        return [pytest.param(int(s), marks=FAST, id=f"seed={s}") for s in re.split(r"[ ,]+", v) if s]
    return [pytest.param(s, marks=FAST if fast else (), id=f"seed={s}") for s, fast in default]


CLEAN_SEEDS = _seeds("ERA_KERNEL_SEEDS", [(1, True)] + [(s, False) for s in range(2, 9)])
CRASH_SEEDS = _seeds("ERA_KERNEL_CRASH_SEEDS",
                     [(101, True), (102, True)] + [(s, False) for s in range(103, 125)])


def extra_bins():
    return guest_bins("era_check", "era_invalidate")


def check_110(img, probs):
    p = compare_with_110(img)
    if p is None:
        return "1.1.0 reference tools not cached: era_dump not compared"
    for x in p:
        if x.startswith("1.1.0 era_dump") and "failed" in x:
            warnings.warn(f"{img}: {x}")
        else:
            probs.append(x)
    return None


def check_run(out, log, exact=True):
    """The ground-truth checks on OUT/meta.img (and its held snapshot)."""
    img = out / "meta.img"
    probs = check_against_truth(img, Truth(log), exact=exact)
    check_110(img, probs)
    facts = sb(img)
    if facts["metadata_snap"]:
        snap_log = cut_at(log, lambda x: x == "MSG take_metadata_snap")
        p = check_against_truth(img, Truth(snap_log), exact=exact, check=False,
                                invalidate_extra=["--metadata-snapshot"],
                                dump_extra=["--metadata-snap"])
        probs += ["held snapshot: " + x for x in p]
    return probs


# ------------------------------------------------------------ scenarios

SCENARIO_NAMES = ["combo", "eras", "fresh", "snap_held", "grown", "large",
                  "checkpoints", "resume", "resize", "huge"]


@pytest.mark.parametrize("name", [pytest.param(n, marks=FAST) if n == "combo" else n
                                  for n in SCENARIO_NAMES])
def test_scenario(name, kdirs):
    """A named scenario: our tools against the log's truth."""
    out = fresh_dir(f"scenario-{name}", kdirs)
    log = run_scenario(SCENARIOS / f"{name}.sh", out, extra_bins=extra_bins())
    probs = check_run(out, log)
    if name == "combo":
        probs += check_guest_invalidate(log, sb(out / "meta.img")["nr_blocks"])
    report(probs, f"scenario {name} ({out})")


def check_guest_invalidate(log, nr_blocks):
    """era_invalidate --metadata-snapshot run in the guest on the LIVE
    metadata device (background writer and a checkpoint running): its
    answer must be exactly the blocks logged before take_metadata_snap."""
    probs, seen, i = [], 0, 0
    while i < len(log):
        m = re.match(r"INVALIDATE (\d+) (\d+)$", log[i])
        if not m:
            i += 1
            continue
        since, rc = int(m.group(1)), int(m.group(2))
        j = log.index("OUT END", i)
        text = "\n".join(x[4:] for x in log[i + 2:j] if x.startswith("OUT "))
        truth = Truth(cut_at(log[:i], lambda x: x == "MSG take_metadata_snap"))
        want = set(range(nr_blocks)) if since == 0 else truth.written_since(since)
        got = parse_blocks(text)
        # (truth stops before take_metadata_snap: the snapshot's era is truth.era + 1)
        if rc == 5 and since > truth.era + 2 and "is ahead of the metadata" in text:
            pass  # past the snapshot's era + 1: refused, as it must be (issue 16)
        elif rc != 0:
            probs.append(f"guest era_invalidate --written-since {since} exit {rc}: {text[:300]}")
        elif got != want:
            probs.append(f"guest era_invalidate --written-since {since} on the live snapshot: "
                         f"missing {sorted(want - got)[:8]}, extra {sorted(got - want)[:8]}")
        seen += 1
        i = j + 1
    if not seen:
        probs.append("no INVALIDATE output in the log")
    return probs


@pytest.mark.parametrize("seed", CLEAN_SEEDS)
def test_random(seed, kdirs):
    """A random scenario from SEED (gen_scenario.py clean SEED)."""
    out = fresh_dir(f"random-{seed}", kdirs)
    script = out / "scenario.sh"
    run([sys.executable, HERE / "gen_scenario.py", "clean", seed, script])
    log = run_scenario(script, out, extra_bins=extra_bins())
    report(check_run(out, log), f"random scenario seed {seed} (replay: ERA_KERNEL_SEEDS={seed} "
                                f"make check-kernel; script {script})")


# ------------------------------------------------------------ crashes

CRASHED = {}   # seed -> (dir, log)


def crash_truth(log):
    """Writes logged after CRASH were acknowledged before the reboot too."""
    return Truth(log)


def _crash_run(name, script, kdirs):
    out = fresh_dir(name, kdirs)
    log = run_scenario(script, out, extra_bins=extra_bins(), crash_ok=True)
    assert "CRASH" in log
    img = out / "meta.img"
    shutil.copy(img, out / "crashed.img")
    t = crash_truth(log)
    probs = check_against_truth(img, t, exact=False)
    check_110(img, probs)
    return out, log, probs


@pytest.mark.parametrize("seed", CRASH_SEEDS)
def test_crash(seed, kdirs):
    """Crash (sysrq b) at a random point of writes and checkpoints: the
    metadata as the crash left it passes era_check, and every acknowledged
    write is there with an era between the log's bounds.  The image is
    reactivated by test_crash_reactivation."""
    out = WORK / f"crash-{seed}"
    script_dir = fresh_dir(f"crash-{seed}-script", kdirs)
    script = script_dir / "scenario.sh"
    run([sys.executable, HERE / "gen_scenario.py", "crash", seed, script])
    out, log, probs = _crash_run(f"crash-{seed}", script, kdirs)
    CRASHED[seed] = (out, log)
    report(probs, f"crash seed {seed} (replay: ERA_KERNEL_CRASH_SEEDS={seed} make check-kernel; "
                  f"script {script})")


def test_crash_fixture_scenario(kdirs):
    """The committed crash scenario (crash.sh), run afresh."""
    out, log, probs = _crash_run("crash-scenario", SCENARIOS / "crash.sh", kdirs)
    CRASHED["crash.sh"] = (out, log)
    report(probs, "crash.sh")


def damaged_copy(src, dst):
    """src with the superblock checksum broken (8 bytes 0xff at offset 200)."""
    shutil.copy(src, dst)
    with open(dst, "r+b") as f:
        f.seek(200)
        f.write(b"\xff" * 8)
    return dst


def activate(disks, out, origin_blocks, kdirs, chunk=20):
    """One or more boots of activate.sh, disks = [(image, nr_blocks, mode)].
    Returns {image: log lines of its section}."""
    sections = {}
    for part, d, names in disk_boots(disks, out, chunk):
        spec = " ".join(f"{n}:{nb}:{mode}" for n, (_img, nb, mode) in zip(names, part))
        log = boot(SCENARIOS / "activate.sh", d,
                   ["--origin-size", str(origin_blocks * BLOCK_SECTORS * 512),
                    "--meta-size", "4M", "--timeout", str(120 + 15 * len(part))],
                   env={"ERA_DISKS": spec}, extra_bins=extra_bins(),
                   drives=[str(img) for img, _nb, _m in part])
        sec = sections_of(log, names)
        for n, (img, _nb, _m) in zip(names, part):
            sections[str(img)] = sec[n]
    return sections


def guest_check_status(section):
    m = [x for x in section if x.startswith("CHECK ")]
    return int(m[0].split()[2]) if m else None


def status_era(section):
    st = [x for x in section if x.startswith("STATUS ")]
    return int(st[0].split()[6]) if st else None


@FAST
def test_crash_reactivation(kdirs):
    """A second boot activates every crashed image (left by the crash tests
    of this session) and a copy of a fixture with a broken superblock.  The
    guest runs our static era_check before `dmsetup create`: 0 on the
    crashed images (as on the host), 1 on the damaged one, which the kernel
    refuses too.  The crashed images reactivate; afterwards no acknowledged
    write is missing and era_check passes."""
    if not CRASHED:
        pytest.skip("no crash test ran in this session")
    out = fresh_dir("crash-reactivation", kdirs)
    disks, expect = [], {}
    for seed, (d, log) in sorted(CRASHED.items(), key=lambda x: str(x[0])):
        kdirs.append(d)
        img = out / f"crash-{seed}.img"
        shutil.copy(d / "crashed.img", img)
        disks.append((img, sb(img)["nr_blocks"], "crash"))
        expect[str(img)] = (seed, log, sb(img))
    dam = out / "damaged.img"
    with lzma.open(FIXTURES / "eras.meta.xz") as f:
        (out / "eras.img").write_bytes(f.read())
    damaged_copy(out / "eras.img", dam)
    disks.append((dam, 4096, "damaged"))
    nb_max = max(nb for _i, nb, _m in disks)
    sections = activate(disks, out, nb_max, kdirs)
    probs = []
    sec = sections[str(dam)]
    host_rc, _ = era_check(dam)
    if guest_check_status(sec) != 1 or host_rc != 1:
        probs.append(f"damaged: era_check exit {guest_check_status(sec)} in the guest, "
                     f"{host_rc} on the host (want 1)")
    if not any(x.startswith("CREATE_FAILED") for x in sec):
        probs.append("damaged: the kernel activated metadata with a broken superblock checksum?")
    for img, (seed, log, before) in expect.items():
        sec = sections[img]
        tag = f"crash seed {seed}"
        g = guest_check_status(sec)
        if g != 0:
            probs.append(f"{tag}: guest era_check exit {g} before reactivation")
        if any(x.startswith("CREATE_FAILED") for x in sec):
            probs.append(f"{tag}: reactivation failed: {[x for x in sec if 'CREATE_FAILED' in x]}")
            continue
        era = status_era(sec)
        # what the kernel shows on reactivating crashed metadata
        if era != before["current_era"] + 1:
            probs.append(f"{tag}: status era {era} after reactivation; crashed superblock "
                         f"current_era {before['current_era']}")
        t = Truth(log + ["BOOT 2"] + sec)
        p = check_against_truth(img, t, exact=False)
        probs += [f"{tag} after reactivation: {x}" for x in p]
        check_110(img, probs)
    report(probs, f"crash reactivation ({out})")


# ------------------------------------------------------------ our writes, kernel reads

RESTORE_FIXTURES = ["fresh", "eras", "snap_held", "crash", "grown", "large"]


def _metadata_size(nr_blocks):
    if Path(tool("era_metadata_size")).exists():
        r = run([tool("era_metadata_size"), "--nr-blocks", nr_blocks, "-u", "b"])
        if r.returncode == 0:
            return max(int(r.stdout.split()[0]), 1 << 20)
    return 16 << 20


@FAST
def test_our_metadata_activates(kdirs):
    """For every fixture: our era_dump XML restored by our era_restore, and
    the fixture repaired by our era_repair, each to a fresh image; one boot
    activates them all: the kernel accepts each, shows the next era, takes
    new writes and a checkpoint; afterwards our era_dump shows the old
    history and the new writes."""
    hows = [h for h, t in (("restore", "era_restore"), ("repair", "era_repair"))
            if Path(tool(t)).exists()]
    if not hows:
        pytest.skip("bin/era_restore and bin/era_repair not built yet")
    out = fresh_dir("activate", kdirs)
    disks, orig = [], {}
    probs = []
    for how in hows:
        tool_name = "era_restore" if how == "restore" else "era_repair"
        for name in RESTORE_FIXTURES:
            src = out / f"{name}.orig"
            if not src.exists():
                with lzma.open(FIXTURES / f"{name}.meta.xz") as f:
                    src.write_bytes(f.read())
            facts = sb(src)
            nb = facts["nr_blocks"]
            img = out / f"{name}.{how}.img"
            with open(img, "wb") as f:
                f.truncate(_metadata_size(nb))
            if how == "restore":
                xml = out / f"{name}.xml"
                r = run([tool("era_dump"), "-o", xml, src])
                assert r.returncode == 0, r.stderr
                r = run([tool("era_restore"), "-i", xml, "-o", img])
            else:
                r = run([tool("era_repair"), "-i", src, "-o", img])
            if r.returncode != 0:
                probs.append(f"{name}: {tool_name} exit {r.returncode}: "
                             f"{r.stderr.decode(errors='replace')}")
                continue
            rc, msg = era_check(img)
            if rc != 0:
                probs.append(f"{name}: era_check on the {how}d image: {msg.strip()[:300]}")
            eras = logical_eras(src)
            if logical_eras(img) != eras:
                probs.append(f"{name}: logical eras of the {how}d image differ from the original")
            orig[str(img)] = (f"{name} ({how})", eras, sb(img))
            disks.append((img, nb, "restore"))
    report(probs, "before the boot")
    nb_max = max(nb for _i, nb, _m in disks)
    sections = activate(disks, out, nb_max, kdirs)
    for img, (tag, eras, before) in orig.items():
        sec = sections[img]
        g = guest_check_status(sec)
        if g != 0:
            probs.append(f"{tag}: guest era_check exit {g} on clean metadata")
        if any(x.startswith("CREATE_FAILED") for x in sec):
            probs.append(f"{tag}: the kernel refused our metadata: "
                         f"{[x for x in sec if 'CREATE_FAILED' in x]}")
            continue
        era = status_era(sec)
        if era != before["current_era"] + 1:
            probs.append(f"{tag}: status era {era} after activation, restored current_era "
                         f"{before['current_era']} (want current_era + 1)")
        t = Truth(sec)
        new = dict(t.last)
        # the old history: every block keeps its logical era unless rewritten
        for b, e in enumerate(eras):
            if e and b not in new:
                t.last[b] = (e, e)
        p = check_against_truth(img, t, exact=True)
        probs += [f"{tag} after the boot: {x}" for x in p]
        check_110(img, probs)
    report(probs, f"kernel activation of our metadata ({out})")
