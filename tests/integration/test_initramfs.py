"""The initramfs pieces under contrib/, run in a fake root (busybox-static
as /bin/sh, stubs for initramfs-tools' and dracut's functions) with a stub
era_check and with the real era_check.static on fixture images."""
import os
import shutil
import stat
import subprocess
from pathlib import Path

import pytest

from conftest import REPO, fixture_image, tool_path

CONTRIB = REPO / "contrib"
BUSYBOX = shutil.which("busybox") or "/bin/busybox"

FUNCTIONS = """\
# stub of initramfs-tools' /scripts/functions
log_begin_msg() { echo "BEGIN $*" >> /log; }
log_end_msg() { echo "END $1" >> /log; }
log_warning_msg() { echo "WARN $*" >> /log; }
log_failure_msg() { echo "FAIL $*" >> /log; }
wait_for_udev() { echo "UDEV $*" >> /log; }
panic() { echo "PANIC $*" >> /log; exit 77; }
"""

DRACUT_LIB = """\
# stub of dracut's /lib/dracut-lib.sh
info() { echo "INFO $*" >> /log; }
warn() { echo "WARN $*" >> /log; }
die() { echo "DIE $*" >> /log; exit 77; }
"""

STUB_CHECK = """\
#!/bin/sh
# stub era_check: the "device" file says what to answer, with era_check's
# exit statuses (tools/common.h): clean 0, nonfatal 4, damaged 1, usage 2
echo "CHECK $*" >> /log
read -r state < "$1"
case "$state" in
clean) exit 0 ;;
nonfatal) echo "era_check: $1: warning: stub leak" >&2; exit 4 ;;
usage) exit 2 ;;
*) exit 1 ;;
esac
"""


def is_static(path):
    try:
        out = subprocess.run(["file", "-L", path], capture_output=True, text=True).stdout
    except FileNotFoundError:
        return False
    return "statically linked" in out or "static-pie" in out


def chroot_cmd(root, *args):
    pre = ["chroot", str(root)] if os.geteuid() == 0 else ["unshare", "-r", "chroot", str(root)]
    return pre + list(args)


@pytest.fixture
def fakeroot(tmp_path):
    if not os.access(BUSYBOX, os.X_OK) or not is_static(BUSYBOX):
        pytest.skip("busybox-static not installed")
    root = tmp_path / "root"
    (root / "bin").mkdir(parents=True)
    for d in ("sbin", "scripts/local-top", "etc/era-tools", "lib", "dev", "usr/sbin", "tmp"):
        (root / d).mkdir(parents=True, exist_ok=True)
    shutil.copy(BUSYBOX, root / "bin" / "busybox")
    applets = subprocess.run([BUSYBOX, "--list"], capture_output=True, text=True).stdout.split()
    for a in applets:
        if not (root / "bin" / a).exists():
            os.symlink("busybox", root / "bin" / a)
    probe = subprocess.run(chroot_cmd(root, "/bin/sh", "-c", "true"), capture_output=True)
    if probe.returncode != 0:
        pytest.skip("cannot chroot here: " + probe.stderr.decode().strip())
    (root / "scripts" / "functions").write_text(FUNCTIONS)
    (root / "lib" / "dracut-lib.sh").write_text(DRACUT_LIB)
    (root / "log").write_text("")
    return root


def install_exec(src_text_or_path, dst):
    if isinstance(src_text_or_path, Path):
        shutil.copy(src_text_or_path, dst)
    else:
        dst.write_text(src_text_or_path)
    dst.chmod(dst.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)


def run_in(root, *args, env=None):
    e = {"PATH": "/sbin:/bin:/usr/sbin", "HOME": "/"}
    e.update(env or {})
    return subprocess.run(chroot_cmd(root, *args), capture_output=True, text=True, env=e, timeout=60)


def log(root):
    return (root / "log").read_text()


def setup_local_top(root, conf, devices, real=False):
    install_exec(CONTRIB / "initramfs-tools/scripts/local-top/era-check",
                 root / "scripts/local-top/era-check")
    if real:
        install_exec(Path(tool_path("era_check.static")), root / "sbin/era_check")
    else:
        install_exec(STUB_CHECK, root / "sbin/era_check")
    (root / "etc/era-tools/era-check.conf").write_text(conf)
    for name, content in devices.items():
        p = root / "dev" / name
        if isinstance(content, Path):
            shutil.copy(content, p)
        else:
            p.write_text(content + "\n")


CONF = "# dm-era targets\n\nera0 /dev/meta0\n  \nera1 /dev/meta1 \n"


def test_local_top_prereqs(fakeroot):
    setup_local_top(fakeroot, CONF, {})
    r = run_in(fakeroot, "/bin/sh", "/scripts/local-top/era-check", "prereqs")
    assert r.returncode == 0 and r.stdout.strip() == "" and log(fakeroot) == ""


def test_local_top_clean_continues(fakeroot):
    setup_local_top(fakeroot, CONF, {"meta0": "clean", "meta1": "clean"})
    r = run_in(fakeroot, "/bin/sh", "/scripts/local-top/era-check")
    assert r.returncode == 0, (r.stdout, r.stderr, log(fakeroot))
    text = log(fakeroot)
    assert "CHECK /dev/meta0" in text and "CHECK /dev/meta1" in text
    assert "PANIC" not in text and text.count("END 0") == 2


def test_local_top_damaged_panics(fakeroot):
    setup_local_top(fakeroot, CONF, {"meta0": "clean", "meta1": "damaged"})
    r = run_in(fakeroot, "/bin/sh", "/scripts/local-top/era-check")
    assert r.returncode == 77
    text = log(fakeroot)
    assert "CHECK /dev/meta0" in text and "CHECK /dev/meta1" in text
    assert "PANIC era-check: dm-era metadata check failed for: era1(/dev/meta1)" in text
    assert "DAMAGED dm-era METADATA" in r.stdout


def test_local_top_missing_device_stops(fakeroot):
    """By default a listed device that does not appear stops the boot,
    naming it: a check that cannot run must not pass silently."""
    setup_local_top(fakeroot, "era0 /dev/meta0\nera1 /dev/meta1 timeout=1\n", {"meta0": "clean"})
    r = run_in(fakeroot, "/bin/sh", "/scripts/local-top/era-check")
    assert r.returncode == 77
    text = log(fakeroot)
    assert "UDEV" in text and "CHECK /dev/meta0" in text
    assert "FAIL era-check: era1: metadata device /dev/meta1 not found after 1 s" in text
    assert "PANIC era-check: dm-era metadata check failed for: era1(/dev/meta1 not found)" in text
    assert "DAMAGED" not in r.stdout


def test_local_top_missing_optional_device_warns(fakeroot):
    setup_local_top(fakeroot, "era0 /dev/meta0\nera1 /dev/meta1 optional timeout=0\n", {"meta0": "clean"})
    r = run_in(fakeroot, "/bin/sh", "/scripts/local-top/era-check")
    assert r.returncode == 0, log(fakeroot)
    text = log(fakeroot)
    assert "WARN era-check: era1: metadata device /dev/meta1 not found after 0 s; not checked (optional)" in text
    assert "PANIC" not in text


def test_local_top_waits_for_late_device(fakeroot):
    """A device that appears within the timeout is checked."""
    setup_local_top(fakeroot, "era0 /dev/late timeout=10\n", {})
    (fakeroot / "dev/null").touch()   # the shell points a background job's stdin there
    r = run_in(fakeroot, "/bin/sh", "-c",
               "(sleep 2; echo clean > /dev/late) & /bin/sh /scripts/local-top/era-check; rc=$?; wait; exit $rc")
    assert r.returncode == 0, log(fakeroot)
    assert "CHECK /dev/late" in log(fakeroot) and "END 0" in log(fakeroot)


def test_local_top_nonfatal_warns_and_goes_on(fakeroot):
    setup_local_top(fakeroot, CONF, {"meta0": "nonfatal", "meta1": "clean"})
    r = run_in(fakeroot, "/bin/sh", "/scripts/local-top/era-check")
    assert r.returncode == 0, log(fakeroot)
    text = log(fakeroot)
    assert "WARN era-check: era0: non-fatal findings on /dev/meta0 (see above); boot continues" in text
    assert "CHECK /dev/meta1" in text and "PANIC" not in text
    assert "stub leak" in r.stderr   # era_check's own lines reach the console


def test_local_top_nonfatal_strict_stops(fakeroot):
    setup_local_top(fakeroot, "era0 /dev/meta0 strict\nera1 /dev/meta1\n",
                    {"meta0": "nonfatal", "meta1": "nonfatal"})
    r = run_in(fakeroot, "/bin/sh", "/scripts/local-top/era-check")
    assert r.returncode == 77
    text = log(fakeroot)
    assert "FAIL era-check: era0: non-fatal findings on /dev/meta0 (strict)" in text
    assert "WARN era-check: era1: non-fatal findings on /dev/meta1 (see above); boot continues" in text
    assert "PANIC era-check: dm-era metadata check failed for: era0(/dev/meta0)" in text


def test_local_top_other_status_stops(fakeroot):
    """Exit statuses other than 0, 4 and 1 (usage, I/O) mean no check ran."""
    setup_local_top(fakeroot, "era0 /dev/meta0\n", {"meta0": "usage"})
    r = run_in(fakeroot, "/bin/sh", "/scripts/local-top/era-check")
    assert r.returncode == 77
    text = log(fakeroot)
    assert "FAIL era-check: era0: era_check could not check /dev/meta0 (exit status 2)" in text
    assert "PANIC era-check: dm-era metadata check failed for: era0(/dev/meta0)" in text


def test_local_top_missing_era_check_panics(fakeroot):
    setup_local_top(fakeroot, CONF, {"meta0": "clean"})
    (fakeroot / "sbin/era_check").unlink()
    r = run_in(fakeroot, "/bin/sh", "/scripts/local-top/era-check")
    assert r.returncode == 77
    assert "PANIC era-check: /etc/era-tools/era-check.conf lists targets but /sbin/era_check is missing" \
        in log(fakeroot)


def test_local_top_without_conf_does_nothing(fakeroot):
    setup_local_top(fakeroot, CONF, {})
    (fakeroot / "etc/era-tools/era-check.conf").unlink()
    r = run_in(fakeroot, "/bin/sh", "/scripts/local-top/era-check")
    assert r.returncode == 0 and log(fakeroot) == ""


def test_local_top_real_era_check(fakeroot, tmp_path):
    static = Path(tool_path("era_check.static"))
    if not static.exists():
        static = REPO / "bin" / "era_check.static"
    if not static.exists():
        pytest.skip("bin/era_check.static not built")
    img = fixture_image("eras", tmp_path)
    damaged = tmp_path / "damaged.meta"
    shutil.copy(img, damaged)
    with open(damaged, "r+b") as f:   # break the superblock's checksum
        f.seek(200)
        f.write(b"\xff" * 8)
    setup_local_top(fakeroot, "era0 /dev/meta0\n", {"meta0": img})
    shutil.copy(static, fakeroot / "sbin/era_check")
    r = run_in(fakeroot, "/bin/sh", "/scripts/local-top/era-check")
    assert r.returncode == 0, (r.stdout, r.stderr, log(fakeroot))
    shutil.copy(damaged, fakeroot / "dev/meta0")
    r = run_in(fakeroot, "/bin/sh", "/scripts/local-top/era-check")
    assert r.returncode == 77 and "PANIC" in log(fakeroot)
    assert "era_check: /dev/meta0:" in r.stderr


def test_hook_copies_static_check_and_conf(fakeroot):
    install_exec(CONTRIB / "initramfs-tools/hooks/era-tools", fakeroot / "hook")
    install_exec(STUB_CHECK, fakeroot / "usr/sbin/era_check.static")
    r = run_in(fakeroot, "/bin/sh", "/hook", "prereqs")
    assert r.returncode == 0 and r.stdout.strip() == ""
    # no configuration: nothing goes into the initramfs
    r = run_in(fakeroot, "/bin/sh", "/hook", env={"DESTDIR": "/initrd"})
    assert r.returncode == 0 and not (fakeroot / "initrd").exists()
    (fakeroot / "etc/era-tools/era-check.conf").write_text(CONF)
    r = run_in(fakeroot, "/bin/sh", "/hook", env={"DESTDIR": "/initrd"})
    assert r.returncode == 0, r.stderr
    out = fakeroot / "initrd"
    assert (out / "sbin/era_check").read_bytes() == (fakeroot / "usr/sbin/era_check.static").read_bytes()
    assert os.access(out / "sbin/era_check", os.X_OK)
    assert (out / "etc/era-tools/era-check.conf").read_text() == CONF


def test_hook_uses_install_sbindir(fakeroot):
    text = (CONTRIB / "initramfs-tools/hooks/era-tools").read_text().replace("@SBINDIR@", "/opt/era/sbin")
    install_exec(text, fakeroot / "hook")
    (fakeroot / "opt/era/sbin").mkdir(parents=True)
    install_exec("#!/bin/sh\nexit 0\n# opt copy\n", fakeroot / "opt/era/sbin/era_check.static")
    install_exec(STUB_CHECK, fakeroot / "usr/sbin/era_check.static")
    (fakeroot / "etc/era-tools/era-check.conf").write_text(CONF)
    r = run_in(fakeroot, "/bin/sh", "/hook", env={"DESTDIR": "/initrd"})
    assert r.returncode == 0, r.stderr
    assert "# opt copy" in (fakeroot / "initrd/sbin/era_check").read_text()


def test_hook_without_binary_fails_build(fakeroot):
    """A configuration without era_check.static fails the hook, and so
    mkinitramfs, loudly."""
    install_exec(CONTRIB / "initramfs-tools/hooks/era-tools", fakeroot / "hook")
    (fakeroot / "etc/era-tools/era-check.conf").write_text(CONF)
    r = run_in(fakeroot, "/bin/sh", "/hook", env={"DESTDIR": "/initrd"})
    assert r.returncode == 1, r.stderr
    assert r.stderr.startswith("E: era-tools: /etc/era-tools/era-check.conf lists dm-era targets "
                               "but era_check.static is not installed"), r.stderr
    assert not (fakeroot / "initrd/sbin/era_check").exists()


def setup_dracut(root, conf, devices):
    shutil.copy(CONTRIB / "dracut/90era-tools/era-check.sh", root / "era-check.sh")
    install_exec(STUB_CHECK, root / "sbin/era_check")
    (root / "etc/era-tools/era-check.conf").write_text(conf)
    for name, content in devices.items():
        (root / "dev" / name).write_text(content + "\n")


def dracut_hook(root):
    """The hook sourced as dracut does; "continued" on stdout when it let the boot go on."""
    return run_in(root, "/bin/sh", "-c", ". /era-check.sh; echo continued")


def assert_dracut_dies(root, failed):
    """The hook stops the boot (dracut's die, status 77), naming what failed."""
    r = dracut_hook(root)
    assert r.returncode == 77 and "continued" not in r.stdout
    assert "DIE era-check: dm-era metadata check failed for: " + failed in log(root)


def test_dracut_hook_clean(fakeroot):
    setup_dracut(fakeroot, CONF, {"meta0": "clean", "meta1": "clean"})
    r = dracut_hook(fakeroot)
    assert r.returncode == 0 and "continued" in r.stdout, (r.stderr, log(fakeroot))
    assert log(fakeroot).count("CHECK ") == 2 and "DIE" not in log(fakeroot)


def test_dracut_hook_damaged_dies(fakeroot):
    setup_dracut(fakeroot, CONF, {"meta0": "damaged", "meta1": "clean"})
    assert_dracut_dies(fakeroot, "era0(/dev/meta0)")


def test_dracut_hook_nonfatal_and_strict(fakeroot):
    setup_dracut(fakeroot, "era0 /dev/meta0\nera1 /dev/meta1 strict\n",
                 {"meta0": "nonfatal", "meta1": "clean"})
    r = dracut_hook(fakeroot)
    assert r.returncode == 0 and "continued" in r.stdout, log(fakeroot)
    assert "WARN era-check: era0: non-fatal findings on /dev/meta0 (see above); boot continues" in log(fakeroot)
    (fakeroot / "dev/meta1").write_text("nonfatal\n")
    assert_dracut_dies(fakeroot, "era1(/dev/meta1)")


def test_dracut_hook_missing_device(fakeroot):
    setup_dracut(fakeroot, "era0 /dev/meta0 optional timeout=0\n", {})
    r = dracut_hook(fakeroot)
    assert r.returncode == 0 and "continued" in r.stdout
    assert "not found after 0 s; not checked (optional)" in log(fakeroot)
    (fakeroot / "etc/era-tools/era-check.conf").write_text("era0 /dev/meta0 timeout=1\n")
    assert_dracut_dies(fakeroot, "era0(/dev/meta0 not found)")


def test_dracut_module_without_binary_fails_build(fakeroot):
    shutil.copy(CONTRIB / "dracut/90era-tools/module-setup.sh", fakeroot / "module-setup.sh")
    (fakeroot / "etc/era-tools/era-check.conf").write_text(CONF)
    script = """
dfatal() { echo "FATAL $*" >> /log; }
inst_simple() { echo "INST $*" >> /log; }
inst_hook() { echo "HOOK $*" >> /log; }
moddir=/mod
. /module-setup.sh
check; echo "check=$?"
install; echo "install returned"
"""
    r = run_in(fakeroot, "/bin/sh", "-c", script)
    assert "check=0" in r.stdout and r.returncode == 1 and "install returned" not in r.stdout
    text = log(fakeroot)
    assert "FATAL era-tools: /etc/era-tools/era-check.conf lists dm-era targets but era_check.static" in text
    assert "INST" not in text and "HOOK" not in text


def test_dracut_module_setup(fakeroot):
    shutil.copy(CONTRIB / "dracut/90era-tools/module-setup.sh", fakeroot / "module-setup.sh")
    install_exec(STUB_CHECK, fakeroot / "usr/sbin/era_check.static")
    script = """
require_binaries() { command -v "$1" >/dev/null; }
inst_simple() { echo "INST $*" >> /log; }
inst_hook() { echo "HOOK $*" >> /log; }
moddir=/mod
. /module-setup.sh
check; echo "check=$?"
"""
    r = run_in(fakeroot, "/bin/sh", "-c", script)
    assert "check=255" in r.stdout
    (fakeroot / "etc/era-tools/era-check.conf").write_text(CONF)
    r = run_in(fakeroot, "/bin/sh", "-c", script + "install\n")
    assert "check=0" in r.stdout, r.stderr
    text = log(fakeroot)
    assert "INST /usr/sbin/era_check.static /sbin/era_check" in text
    assert "INST /etc/era-tools/era-check.conf" in text
    assert "HOOK pre-mount 20 /mod/era-check.sh" in text
