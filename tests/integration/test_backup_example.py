"""examples/backup_increment.sh, the backup runbook of era_invalidate(8) as
a script: run on the snap_held fixture (a held metadata snapshot) with a
stand-in dmsetup, it copies exactly the listed blocks and stores
next_written_since for the next run."""
import json
import os
import struct
from pathlib import Path

from conftest import REPO, fixture_image, run, run_tool, superblock_facts

SCRIPT = REPO / "examples" / "backup_increment.sh"


def test_one_increment_then_the_next(tmp_path):
    meta = fixture_image("snap_held", tmp_path)
    facts = superblock_facts(meta)
    bs = 128 * 512
    dev, backup, state = tmp_path / "dev.img", tmp_path / "backup.img", tmp_path / "state"
    with open(dev, "wb") as f:
        f.truncate(facts["nr_blocks"] * bs)
        for b in range(facts["nr_blocks"]):
            f.seek(b * bs + 100)
            f.write(struct.pack("<Q", b + 1))
    with open(backup, "wb") as f:
        f.truncate(facts["nr_blocks"] * bs)
    fake = tmp_path / "dmsetup"
    fake.write_text('#!/bin/sh\necho "$*" >> "%s"\n' % (tmp_path / "dmsetup.log"))
    fake.chmod(0o755)
    env = dict(os.environ, DMSETUP=str(fake), ERA_INVALIDATE=str(REPO / "bin" / "era_invalidate"))

    for since in (0, None):
        if since is None:
            since = int(state.read_text())
            state_before = since
        r = run(["sh", SCRIPT, "era0", dev, meta, backup, state], env=env)
        assert r.returncode == 0, r.stderr
        want = json.loads(run_tool("era_invalidate", "--metadata-snapshot", "--written-since", since,
                                   "--format", "json", meta).stdout)
        listed = {b for x in want["ranges"] for b in range(x["begin"], x["end"])}
        assert int(state.read_text()) == want["next_written_since"]
        d, k = dev.read_bytes(), backup.read_bytes()
        for b in range(facts["nr_blocks"]):
            chunk = k[b * bs:(b + 1) * bs]
            if b in listed:
                assert chunk == d[b * bs:(b + 1) * bs], f"block {b} not copied"
            elif since == 0:
                assert chunk.count(0) == bs, f"block {b} copied but not listed"
    assert state_before == want["next_written_since"]
    assert (tmp_path / "dmsetup.log").read_text() == (
        "message era0 0 take_metadata_snap\nmessage era0 0 drop_metadata_snap\n" * 2)


def test_failed_list_drops_the_snapshot_and_keeps_the_state(tmp_path):
    meta = tmp_path / "zero.meta"
    meta.write_bytes(bytes(1 << 20))
    state = tmp_path / "state"
    state.write_text("7\n")
    fake = tmp_path / "dmsetup"
    fake.write_text('#!/bin/sh\necho "$*" >> "%s"\n' % (tmp_path / "dmsetup.log"))
    fake.chmod(0o755)
    env = dict(os.environ, DMSETUP=str(fake), ERA_INVALIDATE=str(REPO / "bin" / "era_invalidate"))
    r = run(["sh", SCRIPT, "era0", meta, meta, tmp_path / "b", state], env=env)
    assert r.returncode == 1
    assert state.read_text() == "7\n"
    assert (tmp_path / "dmsetup.log").read_text().endswith("drop_metadata_snap\n")
