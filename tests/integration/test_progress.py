"""Progress on stderr for long dumps and restores: only when stderr is a
terminal (emulated with script(1)), never in pipes or files, never with -q."""
import shutil

import pytest

from conftest import fixture_image, run, run_tool, tool_path

pytestmark = pytest.mark.skipif(not shutil.which("script"), reason="script(1) not installed")


def on_tty(cmd):
    return run(["script", "-qec", cmd, "/dev/null"])


def test_restore_progress_only_on_a_terminal(tmp_path):
    img = fixture_image("large", tmp_path)
    xml = tmp_path / "large.xml"
    xml.write_bytes(run_tool("era_dump", img).stdout)
    out = tmp_path / "out.meta"
    out.write_bytes(b"")
    with open(out, "r+b") as f:
        f.truncate(64 << 20)
    r = on_tty(f"{tool_path('era_restore')} -i {xml} -o {out}")
    assert r.returncode == 0, r.stdout
    assert b"era_restore: " in r.stdout and b"%" in r.stdout
    r = run_tool("era_restore", "-i", xml, "-o", out)
    assert r.returncode == 0 and r.stderr == b""
    r = on_tty(f"{tool_path('era_restore')} -q -i {xml} -o {out}")
    assert r.returncode == 0 and b"%" not in r.stdout
    assert run_tool("era_check", out).returncode == 0


def test_dump_progress_only_on_a_terminal(tmp_path):
    img = fixture_image("large", tmp_path)
    out = tmp_path / "d.xml"
    r = on_tty(f"{tool_path('era_dump')} -o {out} {img}")
    assert r.returncode == 0
    assert b"era_dump: " in r.stdout and b"%" in r.stdout
    assert out.read_bytes() == run_tool("era_dump", img).stdout
    r = run_tool("era_dump", "-o", out, img)
    assert r.returncode == 0 and r.stderr == b""
