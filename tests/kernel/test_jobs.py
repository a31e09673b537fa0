"""The two jobs dm-era exists for, end to end on the real kernel (issue 16).

- Vendor rollback (scenarios/cache_rollback.sh): dm-cache (writethrough,
  smq) on an origin, dm-era on the cache device; the runbook of
  era_invalidate(8) with our static era_invalidate in the guest.  After it
  the whole era device reads back as the vendor snapshot; a negative
  control (the same rollback without invalidate_cblocks) reads stale
  blocks.  Variants: era block = cache block, smaller, larger (with cache
  metadata version 2), straddling (cache block 1.5 era blocks).
- Incremental backup (scenarios/backup.sh): the runbook using only
  next_written_since from run to run, a background writer during every
  increment but a quiet last one: the backup equals the device, and each
  list holds every write the log shows acknowledged before its snapshot.

Each test prints a one-line report (blocks cached, written after the
snapshot, invalidated, stale without invalidation).  ERA_JOBS_FIXTURES=DIR
keeps the images a rollback run leaves (tests/fixtures/cache_*.xz come from
there).
"""
import json
import os
import re
import shutil
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from kharness import SCENARIOS, boot, fresh_dir, guest_bins, run, tool  # noqa: E402

pytestmark = pytest.mark.kernel
FAST = pytest.mark.kernel_fast
ORIGIN = 32 << 20


def static_bin():
    return guest_bins("era_invalidate")


def images(d, spec):
    out = []
    for name, size in spec:
        p = d / name
        p.unlink(missing_ok=True)
        with open(p, "wb") as f:
            f.truncate(size)
        out.append(str(p))
    return out


def chunks_differ(a, b, size):
    """Indexes of the size-byte chunks where files a and b differ."""
    x, y = Path(a).read_bytes(), Path(b).read_bytes()
    assert len(x) == len(y)
    return [i // size for i in range(0, len(x), size) if x[i:i + size] != y[i:i + size]]


def tagged(log, tag):
    return [x[len(tag) + 1:] for x in log if x.startswith(tag + " ")]


def json_ranges(doc):
    return {b for r in doc["ranges"] for b in range(r["begin"], r["end"])}


# ---------------------------------------------------------------- rollback

# era-straddling: cache blocks of 192 sectors, so cache and era block
# boundaries cross.  (Once, on 2026-12-01 under heavy host load, the guest's
# writes hung for good after the checkpoint with era 64 / cache 192; three
# later runs of 64/192 and 128/192 passed.  Not investigated.)
ROLLBACK = [
    pytest.param(dict(EBS=128, CBS=128), marks=FAST, id="era=cache"),
    pytest.param(dict(EBS=64, CBS=256), id="era-smaller"),
    pytest.param(dict(EBS=512, CBS=128, META2=1), id="era-larger-v2"),
    pytest.param(dict(EBS=128, CBS=192), id="era-straddling"),
]


@pytest.mark.parametrize("env", ROLLBACK)
def test_rollback(env, kdirs, request):
    d = fresh_dir("rollback-" + request.node.callspec.id, kdirs)
    cmeta, cdata, snap, neg, final, cmcopy, emcopy = images(d, [
        ("cmeta.img", 8 << 20), ("cdata.img", 8 << 20), ("snap.img", ORIGIN),
        ("neg.img", ORIGIN), ("final.img", ORIGIN), ("cmcopy.img", 8 << 20), ("emcopy.img", 8 << 20)])
    log = boot(SCENARIOS / "cache_rollback.sh", d, ["--origin-size", "32M", "--meta-size", "8M"],
               env={"SEED": 1, **env}, extra_bins=static_bin(),
               drives=[cmeta, cdata, snap, neg, final, cmcopy, emcopy], timeout=400)
    (d / "era.log").write_text("\n".join(log) + "\n")
    ebs, cbs = env["EBS"] * 512, env["CBS"] * 512
    since = int(tagged(log, "SINCE")[0])
    doc = json.loads("\n".join(tagged(log, "JSON")))
    era_doc = json.loads("\n".join(tagged(log, "EJSON")))
    lines = tagged(log, "CBLOCKS")

    # the runbook worked: the era device reads back as the vendor snapshot
    assert chunks_differ(snap, final, ebs) == [], "era device differs from the vendor snapshot after the runbook"
    # the negative control must fail: without invalidation, stale blocks
    stale = chunks_differ(snap, neg, cbs)
    assert stale, "negative control: no stale block without invalidation (nothing tested)"

    # the guest's three outputs agree with each other
    assert doc["written_since"] == since and era_doc["written_since"] == since
    assert doc["block_size"] == env["CBS"] and doc["era_block_size"] == env["EBS"]
    assert era_doc["block_size"] == env["EBS"]
    assert doc["cache_metadata_version"] == (2 if env.get("META2") else 1)
    inval = json_ranges(doc)
    assert len(inval) == doc["invalidate"] > 0
    from_lines = set()
    for line in lines:
        assert len(line) <= 4000
        for a in line.split():
            m = re.fullmatch(r"(\d+)(?:-(\d+))?", a)
            assert m, a
            b, e = int(m.group(1)), int(m.group(2) or int(m.group(1)) + 1)
            assert b < e <= doc["nr_blocks"]
            from_lines.update(range(b, e))
    assert from_lines == inval

    # stale cache blocks are a subset of the invalidated ones: every stale
    # origin chunk is held by some invalidated cache block (the final read
    # proves it); and what was written after the snapshot covers them
    written = json_ranges(era_doc)
    for c in stale:
        lo, hi = c * cbs // ebs, ((c + 1) * cbs - 1) // ebs
        assert any(b in written for b in range(lo, hi + 1)), f"stale origin chunk {c} not written since {since}"

    # our host binary on the live copies of both metadata devices gives the same list
    r = run([tool("era_invalidate"), "--metadata-snapshot", "--written-since", since,
             "--cache-metadata", cmcopy, "--format", "json", emcopy])
    assert r.returncode == 0, r.stderr
    assert json_ranges(json.loads(r.stdout)) == inval

    # live reads under a writer, one era snapshot held: each consistent
    # answer is within the one before (passthrough only drops mappings),
    # the suspended answer within all; a refusal says to suspend
    def cbl(words):
        out = set()
        for a in words:
            b, _, e = a.partition("-")
            out.update(range(int(b), int(e) if e else int(b) + 1))
        return out
    prev, live_ok, live_busy, first, reads = None, 0, 0, None, []
    for x in tagged(log, "LIVE"):
        w = x.split()
        if w[1] != "0":
            assert "changed during each" in x and "suspend" in x, x
            live_busy += 1
            continue
        assert w[2].startswith("reads="), x
        reads.append(int(w[2][6:]))
        got = cbl(w[3:])
        assert prev is None or got <= prev, f"live read listed blocks the one before did not: {sorted(got - prev)}"
        prev, live_ok = got, live_ok + 1
        first = len(got) if first is None else first
    assert live_ok + live_busy == 6 and live_ok >= 1
    w = tagged(log, "SUSPENDED")[0].split()
    assert w[0] == "0"
    suspended = cbl(w[1:])
    assert suspended <= prev

    cached = int(tagged(log, "CACHED")[0])
    sys.stderr.write(f"\nrollback {request.node.callspec.id}: cached {cached} of "
                     f"{doc['nr_blocks']} cache blocks, {len(written)} era blocks written after the "
                     f"snapshot, {len(inval)} cache blocks invalidated ({len(lines)} messages), "
                     f"{len(stale)} stale without invalidation; live reads under a writer: {live_ok} "
                     f"consistent ({first} -> {len(prev)} cache blocks; reads each took {reads}), {live_busy} refused, "
                     f"{len(suspended)} once suspended\n")
    keep = os.environ.get("ERA_JOBS_FIXTURES")
    if keep:
        k = Path(keep) / request.node.callspec.id
        k.mkdir(parents=True, exist_ok=True)
        for f in ("emcopy.img", "cmcopy.img", "era.log"):
            shutil.copy(d / f, k / f)


# ---------------------------------------------------------------- backup

def era_blocks(o, c, bs=128):
    return set(range(o // bs, (o + c - 1) // bs + 1))


BACKUP = [
    pytest.param(dict(ROUNDS=3, SEED=1), marks=FAST, id="rounds=3"),
    pytest.param(dict(ROUNDS=6, SEED=2), id="rounds=6"),
]


@pytest.mark.parametrize("env", BACKUP)
def test_backup(env, kdirs, request):
    d = fresh_dir("backup-" + request.node.callspec.id, kdirs)
    backup, = images(d, [("backup.img", ORIGIN)])
    log = boot(SCENARIOS / "backup.sh", d, ["--origin-size", "32M", "--meta-size", "8M"],
               env=env, extra_bins=static_bin(), drives=[backup], timeout=600)
    (d / "era.log").write_text("\n".join(log) + "\n")
    assert chunks_differ(d / "origin.img", backup, 65536) == [], "backup differs from the device"

    # each write: the line of its BEGIN and ACK; each round: SNAPBEGIN/SNAP lines, its list
    begun, writes, snapbegin, snapdone, lists, rounds = {}, [], {}, {}, {}, {}
    for i, x in enumerate(log):
        w = x.split()
        if w[:2] == ["BW", "BEGIN"]:
            begun[tuple(w[2:])] = i
        elif w[:2] == ["BW", "ACK"]:
            writes.append((begun.pop(tuple(w[2:])), i, int(w[2]), int(w[3])))
        elif w[0] == "SNAPBEGIN":
            snapbegin[int(w[1])] = i
        elif w[0] == "SNAP":
            snapdone[int(w[1])] = i
        elif w[0] == "LIST":
            lists.setdefault(int(w[1]), set()).update(range(int(w[2]), int(w[3])))
        elif w[0] == "ROUND":
            rounds[int(w[1])] = (int(w[3]), int(w[5]))
    n = env["ROUNDS"] + 1
    assert sorted(rounds) == list(range(1, n + 1))
    # only next_written_since carries over: each round starts where the last said
    for k in range(2, n + 1):
        assert rounds[k][0] == rounds[k - 1][1]
    assert len(writes) > 10 * env["ROUNDS"], "the background writer hardly wrote"
    checked = 0
    for b, a, o, c in writes:
        later = [k for k in range(1, n + 1) if snapbegin[k] > a]
        assert later, "a write acknowledged after the quiet round's snapshot"
        j = later[0]
        # a write that began after snapshot j-2 completed is in era >= the
        # one list j starts from (see era_invalidate(8), next_written_since)
        if j <= 2 or b > snapdone[j - 2]:
            missing = era_blocks(o, c) - lists.get(j, set())
            assert not missing, (f"write {o}+{c} (log lines {b}..{a}) acknowledged before snapshot {j} "
                                 f"missing from list {j}: blocks {sorted(missing)}")
            checked += 1
    sizes = [len(lists.get(k, ())) for k in range(1, n + 1)]
    sys.stderr.write(f"\nbackup {request.node.callspec.id}: {len(writes)} acknowledged background "
                     f"writes ({checked} checked against their list), blocks per increment {sizes}\n")
