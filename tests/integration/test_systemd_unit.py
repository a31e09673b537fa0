"""contrib/systemd/era-check@.service.in (issue 15): the template for era
targets set up after boot. systemd-analyze verify accepts an instance of
it, and its ExecStart, with the instance's %f filled in as systemd does,
checks the device: 0 on clean metadata, 1 (a unit failure) on damage; 4
(non-fatal findings only) is listed as success."""
import shutil
import subprocess

import pytest

from conftest import REPO, fixture_image, tool_path

UNIT_IN = REPO / "contrib/systemd/era-check@.service.in"


def unit_text(sbindir):
    return UNIT_IN.read_text().replace("@SBINDIR@", str(sbindir))


def field(text, key):
    return [line.split("=", 1)[1] for line in text.splitlines() if line.startswith(key + "=")]


def test_unit_shape():
    text = unit_text("/usr/sbin")
    assert field(text, "ExecStart") == ["/usr/sbin/era_check %f"]
    assert field(text, "SuccessExitStatus") == ["4"]
    assert field(text, "Type") == ["oneshot"] and field(text, "RemainAfterExit") == ["yes"]
    # waits for the instance's device, and fails with it (device timeout)
    assert field(text, "BindsTo") == ["%i.device"] and "%i.device" in field(text, "After")[0]
    assert field(text, "Before") and field(text, "DefaultDependencies") == ["no"]
    assert "@" not in text.split("[Unit]", 1)[1].replace("era-check@", "")


def test_systemd_analyze_verify(tmp_path):
    if shutil.which("systemd-analyze") is None:
        pytest.skip("systemd-analyze not installed")
    (tmp_path / "era-check@.service").write_text(unit_text(REPO / "bin"))
    r = subprocess.run(["systemd-analyze", "verify", "--man=no", "./era-check@dev-vdb.service"],
                       cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and r.stderr.strip() == "", r.stderr
    # and it can fail: a bad key is reported
    (tmp_path / "era-check@.service").write_text(unit_text(REPO / "bin") + "NoSuchKey=1\n")
    r = subprocess.run(["systemd-analyze", "verify", "--man=no", "./era-check@dev-vdb.service"],
                       cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert "NoSuchKey" in r.stderr


def exec_start(path):
    """ExecStart for the instance of PATH, %f expanded as systemd does
    (the unescaped instance name with a leading /)."""
    esc = shutil.which("systemd-escape")
    if esc is None:
        pytest.skip("systemd-escape not installed")
    inst = subprocess.run([esc, "--path", str(path)], capture_output=True, text=True).stdout.strip()
    f = subprocess.run([esc, "--unescape", "--path", inst], capture_output=True, text=True).stdout.strip()
    assert f == str(path)
    cmd = field(unit_text(tool_path("").rstrip("/")), "ExecStart")[0]
    # systemd splits the command line into words first, then expands
    # specifiers in each: a path with a space stays one argument
    return [w.replace("%f", f) for w in cmd.split()]


def test_exec_start_checks_the_device(tmp_path):
    img = fixture_image("eras", tmp_path)
    r = subprocess.run(exec_start(img), capture_output=True, text=True)
    assert r.returncode == 0 and r.stdout == "" and r.stderr == "", r.stderr
    damaged = tmp_path / "damaged meta"     # a name systemd must escape
    shutil.copy(img, damaged)
    with open(damaged, "r+b") as fh:   # break the superblock's checksum
        fh.seek(200)
        fh.write(b"\xff" * 8)
    success = {0} | {int(x) for x in field(unit_text("/usr/sbin"), "SuccessExitStatus")[0].split()}
    r = subprocess.run(exec_start(damaged), capture_output=True, text=True)
    assert r.returncode == 1 and r.returncode not in success
    assert f"era_check: {damaged}:" in r.stderr
