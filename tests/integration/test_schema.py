"""xml/era.rng accepts what era_dump (1.1.0) prints and the sample inputs,
and rejects malformed documents."""
import lzma
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import REPO, SAMPLES

RNG = REPO / "xml" / "era.rng"
pytestmark = pytest.mark.skipif(not shutil.which("xmllint"), reason="xmllint not installed (libxml2-utils)")

# (1.1.0 refuses to dump `gap`: those outputs are empty)
DUMPS = sorted(p for p in (SAMPLES / "out").glob("*.110.dump*.out*")
               if not p.name.startswith("err.") and p.stat().st_size > 0)


def validate(path):
    return subprocess.run(["xmllint", "--noout", "--relaxng", str(RNG), str(path)],
                          capture_output=True)


@pytest.mark.parametrize("path", DUMPS + sorted((SAMPLES / "xml").glob("[!e]*.xml*")), ids=lambda p: p.name)
def test_dumps_validate(path, tmp_path):
    if path.suffix == ".xz":
        out = tmp_path / path.stem
        with lzma.open(path) as f:
            out.write_bytes(f.read())
        path = out
    r = validate(path)
    assert r.returncode == 0, r.stderr.decode()


@pytest.mark.parametrize("name", ["err-badattr.xml", "err-missing.xml", "err-trunc.xml", "err-garbage.xml"])
def test_bad_inputs_fail(name):
    assert validate(SAMPLES / "xml" / name).returncode != 0
