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
# stub era_check: the "device" file says clean or damaged
echo "CHECK $*" >> /log
read -r state < "$1"
[ "$state" = clean ]
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


def test_local_top_missing_device_warns(fakeroot):
    setup_local_top(fakeroot, CONF, {"meta0": "clean"})
    r = run_in(fakeroot, "/bin/sh", "/scripts/local-top/era-check")
    assert r.returncode == 0
    text = log(fakeroot)
    assert "UDEV" in text and "WARN era-check: era1: metadata device /dev/meta1 not found" in text


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


def test_hook_without_binary_warns(fakeroot):
    install_exec(CONTRIB / "initramfs-tools/hooks/era-tools", fakeroot / "hook")
    (fakeroot / "etc/era-tools/era-check.conf").write_text(CONF)
    r = run_in(fakeroot, "/bin/sh", "/hook", env={"DESTDIR": "/initrd"})
    assert r.returncode == 0 and "era_check.static not found" in r.stderr
    assert not (fakeroot / "initrd/sbin/era_check").exists()


def setup_dracut(root, conf, devices):
    shutil.copy(CONTRIB / "dracut/90era-tools/era-check.sh", root / "era-check.sh")
    install_exec(STUB_CHECK, root / "sbin/era_check")
    (root / "etc/era-tools/era-check.conf").write_text(conf)
    for name, content in devices.items():
        (root / "dev" / name).write_text(content + "\n")


def test_dracut_hook_clean(fakeroot):
    setup_dracut(fakeroot, CONF, {"meta0": "clean", "meta1": "clean"})
    r = run_in(fakeroot, "/bin/sh", "-c", ". /era-check.sh; echo continued")
    assert r.returncode == 0 and "continued" in r.stdout, (r.stderr, log(fakeroot))
    assert log(fakeroot).count("CHECK ") == 2 and "DIE" not in log(fakeroot)


def test_dracut_hook_damaged_dies(fakeroot):
    setup_dracut(fakeroot, CONF, {"meta0": "damaged", "meta1": "clean"})
    r = run_in(fakeroot, "/bin/sh", "-c", ". /era-check.sh; echo continued")
    assert r.returncode == 77 and "continued" not in r.stdout
    assert "DIE era-check: dm-era metadata check failed for: era0(/dev/meta0)" in log(fakeroot)


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
