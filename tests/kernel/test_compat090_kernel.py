"""Metadata written by thin-provisioning-tools 0.9.0's era_restore
(tests/fixtures/tpt-0.9.0/, whose space-map index counts free entries the
0.9.0 way): the kernel activates it and keeps writing on it, and our tools
still read it right afterwards (the kernel keeps 0.9.0's count as it
allocates and frees)."""
import lzma
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from kharness import Truth, check_against_truth, era_check, logical_eras, sb  # noqa: E402
from test_kernel import FIXTURES, activate, fresh_dir, guest_check_status, report, status_era  # noqa: E402

pytestmark = pytest.mark.kernel

TPT090 = FIXTURES / "tpt-0.9.0"
ENTRIES = 16320


def last_bitmap(img):
    """(nr_free recorded, entries inside the device, entries in use) of the
    space map's last bitmap, decoded here."""
    data = Path(img).read_bytes()
    le = lambda b, o, n: int.from_bytes(b[o:o + n], "little")
    nr_blocks, root = le(data, 44, 8), le(data, 60, 8)
    i = (nr_blocks - 1) // ENTRIES
    where, nr_free = le(data, root * 4096 + 16 + 16 * i, 8), le(data, root * 4096 + 24 + 16 * i, 4)
    bm = data[where * 4096 + 16:(where + 1) * 4096]
    n = nr_blocks - i * ENTRIES
    return nr_free, n, sum(1 for j in range(n) if (bm[j // 4] >> (2 * (j % 4))) & 3)


def test_090_restored_metadata_activates(kdirs):
    out = fresh_dir("tpt090-activate", kdirs)
    disks, orig, probs = [], {}, []
    for xz in sorted(TPT090.glob("*.meta.xz")):
        img = out / xz.name[:-len(".meta.xz")]
        with lzma.open(xz) as f:
            img.write_bytes(f.read())
        rc, msg = era_check(img)
        if rc != 0:
            probs.append(f"{img.name}: era_check before the boot: {msg.strip()[:300]}")
        facts = sb(img)
        orig[str(img)] = (img.name, logical_eras(img), facts)
        disks.append((img, facts["nr_blocks"], "restore"))
    assert disks, f"no fixtures in {TPT090}"
    report(probs, "before the boot")
    sections = activate(disks, out, max(nb for _i, nb, _m in disks), kdirs)
    for img, (tag, eras, before) in orig.items():
        sec = sections[img]
        if guest_check_status(sec) != 0:
            probs.append(f"{tag}: guest era_check exit {guest_check_status(sec)}")
        if any(x.startswith("CREATE_FAILED") for x in sec):
            probs.append(f"{tag}: the kernel refused 0.9.0's metadata: {sec}")
            continue
        if status_era(sec) != before["current_era"] + 1:
            probs.append(f"{tag}: status era {status_era(sec)}, want {before['current_era'] + 1}")
        t = Truth(sec)
        new = dict(t.last)
        for b, e in enumerate(eras):
            if e and b not in new:
                t.last[b] = (e, e)
        probs += [f"{tag} after the boot: {x}" for x in check_against_truth(img, t, exact=True)]
        nr_free, n, used = last_bitmap(img)
        if nr_free != n - used:
            probs.append(f"{tag}: after the boot the last bitmap's nr_free is {nr_free}, "
                         f"0.9.0's count would be {n - used} (kernel's {ENTRIES - used})")
    report(probs, f"kernel activation of 0.9.0's metadata ({out})")
