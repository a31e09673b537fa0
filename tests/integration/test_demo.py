"""tests/demo.sh (make demo) runs to the end and shows each tool."""
from conftest import REPO, have_tool, run


def test_demo_runs():
    r = run(["bash", REPO / "tests" / "demo.sh"], timeout=300)
    out = r.stdout.decode()
    assert r.returncode == 0, out + r.stderr.decode()
    for cmd in ("$ era_check eras.meta", "$ era_dump eras.meta | head", "$ era_dump --logical",
                "$ era_invalidate --written-since 6 eras.meta", "$ era_metadata_size"):
        assert cmd in out
    assert "<range begin=\"512\" end=\"768\"/>" in out
    if have_tool("era_restore"):
        assert "same XML" in out
    else:
        assert "era_restore is not built" in out
    if have_tool("era_repair"):
        assert "$ era_repair -i damaged.meta -o repaired.meta" in out
    assert out.rstrip().endswith("demo: done")
