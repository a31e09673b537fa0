"""Our initramfs boot scripts in a real (QEMU) boot, before the real dm-era
target (issue 9).  See README-initramfs.md.

initramfs-tools and dracut are not installed here, so the initramfs is the
harness's busybox one plus a tree built on the host the way the generators
would build it, from what `make install DESTDIR=... PREFIX=/usr` installs:

- initramfs-tools: the installed hook runs (chroot with busybox, as
  mkinitramfs runs hooks: DESTDIR set) and copies era_check.static and
  /etc/era-tools/era-check.conf into the tree; the installed local-top script
  goes to /scripts/local-top with the ORDER file mkinitramfs writes; the
  test's stand-in /scripts/functions provides log_*_msg, wait_for_udev and
  panic (logs "ERA PANIC ..." and powers off at once);
- dracut: the installed module-setup.sh runs (check, then install) with
  stand-ins for inst_simple / inst_hook / require_binaries that copy into
  the tree; the stand-in /lib/dracut-lib.sh provides info / warn / die.

The guest (scenarios/initramfs_boot.sh) then runs the scripts as /init
would and, if they let the boot go on, creates the era target on the
checked device.  Clean kernel-made metadata (tests/fixtures/eras.meta.xz)
must pass and be activated; the same image damaged by build/era_damage must
stop the boot: the panic marker, era_check's message naming the damaged
block and the DAMAGED banner on the console, and no `dmsetup create`.

make check-kernel-fast runs the clean + damaged pair of the initramfs-tools
script (2 boots); make check-kernel adds a boot with several targets (one
damaged, one missing) and one of the dracut hook (clean, then damaged).
Failing tests keep their consoles, trees and images in
build/kernel-artifacts/<test id>/.
"""
import filecmp
import lzma
import os
import re
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from kharness import REPO, RUN, SCENARIOS, WORK, extract_log, fresh_dir, run, sb  # noqa: E402

pytestmark = pytest.mark.kernel
FAST = pytest.mark.kernel_fast

FIXTURES = REPO / "tests" / "fixtures"
SCRIPT = SCENARIOS / "initramfs_boot.sh"
ERA_DAMAGE = REPO / "build" / "era_damage"
BUSYBOX = shutil.which("busybox") or "/bin/busybox"
BLOCK_BYTES = 64 * 1024
TIMEOUT = 120

# The end of both stand-ins' fatal calls (panic, die): a line for the test,
# then the guest powers off as the real ones leave the boot stopped.
HALT = r"""    echo "ERA PANIC $*"
    sync
    sleep 0.3
    poweroff -f
    sleep 10
    exit 1
}
"""

# Stand-in for initramfs-tools' /scripts/functions.  Same output as the real
# functions (log_end_msg takes no status and always says "done."), plus an
# "ERA ..." line for the test per call.
FUNCTIONS = r"""# test stand-in for initramfs-tools' /scripts/functions
_log_msg() { [ "${quiet:-n}" = y ] && return 0; printf "$@"; return 0; }
log_success_msg() { echo "ERA LOG_SUCCESS $*"; _log_msg "Success: %s\n" "$*"; }
log_failure_msg() { echo "ERA LOG_FAILURE $*"; _log_msg "Failure: %s\n" "$*"; }
log_warning_msg() { echo "ERA LOG_WARNING $*"; _log_msg "Warning: %s\n" "$*"; }
log_begin_msg() { echo "ERA LOG_BEGIN $*"; _log_msg "Begin: %s ... " "$*"; }
log_end_msg() { echo; echo "ERA LOG_END $*"; _log_msg "done.\n"; }
wait_for_udev() { echo "ERA UDEV_WAIT $*"; sleep 1; }
panic() {
    echo "$@"
""" + HALT

# Stand-in for dracut's /lib/dracut-lib.sh.
DRACUT_LIB = r"""# test stand-in for dracut's /lib/dracut-lib.sh
info() { echo "ERA DRACUT_INFO $*"; }
warn() { echo "ERA DRACUT_WARN $*"; echo "dracut Warning: $*" >&2; }
getarg() { return 1; }
die() {
    echo "dracut: FATAL: $*" >&2
""" + HALT

# What dracut provides to module-setup.sh, copying into $initdir.
DRACUT_INSTALL = r"""
require_binaries() { for _b in "$@"; do command -v "$_b" >/dev/null || return 1; done; }
inst_simple() {
    _dst=${2:-$1}
    mkdir -p "$initdir$(dirname "$_dst")" && cp "$1" "$initdir$_dst"
}
inst_hook() { inst_simple "$3" "/lib/dracut/hooks/$1/$2-${3##*/}"; }
moddir=/usr/lib/dracut/modules.d/90era-tools
. "$moddir/module-setup.sh"
check; rc=$?
echo "check=$rc"
[ $rc = 0 ] || exit $rc
install
"""


def is_static(path):
    r = subprocess.run(["file", "-L", str(path)], capture_output=True, text=True)
    return "statically linked" in r.stdout or "static-pie" in r.stdout


def chroot_cmd(root, *args):
    pre = ["chroot", str(root)] if os.geteuid() == 0 else ["unshare", "-r", "chroot", str(root)]
    return pre + [str(a) for a in args]


def run_in(root, *args, env=None):
    e = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "HOME": "/"}
    e.update(env or {})
    r = subprocess.run(chroot_cmd(root, *args), capture_output=True, text=True, env=e, timeout=60)
    return r


@pytest.fixture(scope="module")
def stage():
    """make install DESTDIR=STAGE PREFIX=/usr (the hook's @SBINDIR@ is
    /usr/sbin), and a busybox root with STAGE's files to run the generators'
    side in."""
    if not os.access(BUSYBOX, os.X_OK) or not is_static(BUSYBOX):
        pytest.skip("busybox-static not installed")
    d = WORK / "initramfs-stage"
    shutil.rmtree(d, ignore_errors=True)
    d.mkdir(parents=True)
    r = run(["make", "-s", "-C", REPO, "install", f"DESTDIR={d}", "PREFIX=/usr"])
    assert r.returncode == 0, f"make install: {r.stderr.decode(errors='replace')}"
    static = d / "usr/sbin/era_check.static"
    assert static.exists() and is_static(static), f"{static} missing or not static"
    return d


def gen_root(stage, where, conf):
    """A busybox root holding the installed files of STAGE and, if CONF is
    not None, /etc/era-tools/era-check.conf = CONF."""
    root = where / "genroot"
    shutil.rmtree(root, ignore_errors=True)
    (root / "bin").mkdir(parents=True)
    shutil.copy(BUSYBOX, root / "bin/busybox")
    for a in subprocess.run([BUSYBOX, "--list"], capture_output=True, text=True).stdout.split():
        if not (root / "bin" / a).exists():
            os.symlink("busybox", root / "bin" / a)
    shutil.copytree(stage / "usr", root / "usr", symlinks=True)
    (root / "tmp").mkdir()
    (root / "dev").mkdir()
    (root / "dev/null").touch()   # a plain file does for ">/dev/null" here
    if conf is not None:
        (root / "etc/era-tools").mkdir(parents=True)
        (root / "etc/era-tools/era-check.conf").write_text(conf)
    probe = run_in(root, "/bin/sh", "-c", "true")
    if probe.returncode != 0:
        pytest.skip("cannot chroot here: " + probe.stderr.strip())
    return root


def write_exec(path, text):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)


def initramfs_tools_tree(stage, where, conf):
    """The part of an initramfs-tools initramfs that is ours: the hook run
    as mkinitramfs runs it (DESTDIR=tree), the local-top script and its
    ORDER file, plus the stand-in /scripts/functions."""
    root = gen_root(stage, where, conf)
    share = "usr/share/initramfs-tools"
    r = run_in(root, f"/{share}/hooks/era-tools", "prereqs")
    assert r.returncode == 0 and r.stdout.strip() == "", f"hook prereqs: {r.stdout!r} {r.stderr!r}"
    r = run_in(root, f"/{share}/hooks/era-tools", env={"DESTDIR": "/initramfs", "verbose": "n"})
    assert r.returncode == 0, f"hook failed ({r.returncode}): {r.stderr}"
    assert r.stderr == "", f"hook complained: {r.stderr}"
    tree = root / "initramfs"
    assert (tree / "sbin/era_check").read_bytes() == (stage / "usr/sbin/era_check.static").read_bytes(), \
        "the hook did not install the installed era_check.static as /sbin/era_check"
    assert os.access(tree / "sbin/era_check", os.X_OK)
    assert (tree / "etc/era-tools/era-check.conf").read_text() == conf
    # mkinitramfs copies the scripts and writes ORDER from each one's prereqs
    top = tree / "scripts/local-top"
    top.mkdir(parents=True)
    shutil.copy2(root / share / "scripts/local-top/era-check", top / "era-check")
    r = run_in(root, f"/{share}/scripts/local-top/era-check", "prereqs")
    assert r.returncode == 0 and r.stdout.strip() == "", f"local-top prereqs: {r.stdout!r}"
    (top / "ORDER").write_text('/scripts/local-top/era-check "$@"\n'
                               '[ -e /conf/param.conf ] && . /conf/param.conf\n')
    (tree / "scripts/functions").write_text(FUNCTIONS)
    final = where / "tree"
    shutil.rmtree(final, ignore_errors=True)
    shutil.move(str(tree), final)
    return final


def dracut_tree(stage, where, conf):
    """The part of a dracut initramfs that is ours: module-setup.sh's check
    and install run with inst_* copying into the tree, plus the stand-in
    /lib/dracut-lib.sh."""
    root = gen_root(stage, where, conf)
    write_exec(root / "gen.sh", DRACUT_INSTALL)
    r = run_in(root, "/bin/sh", "/gen.sh", env={"initdir": "/initramfs"})
    assert r.returncode == 0 and "check=0" in r.stdout, \
        f"module-setup.sh: {r.returncode} {r.stdout} {r.stderr}"
    tree = root / "initramfs"
    assert (tree / "sbin/era_check").read_bytes() == (stage / "usr/sbin/era_check.static").read_bytes()
    hook = tree / "lib/dracut/hooks/pre-mount/20-era-check.sh"
    assert hook.exists(), f"no pre-mount hook 20-era-check.sh in {sorted(tree.rglob('*'))}"
    assert (tree / "etc/era-tools/era-check.conf").read_text() == conf
    (tree / "lib/dracut-lib.sh").write_text(DRACUT_LIB)
    final = where / "tree"
    shutil.rmtree(final, ignore_errors=True)
    shutil.move(str(tree), final)
    return final


@pytest.fixture(scope="module")
def images(tmp_path_factory):
    """eras.meta.xz decompressed, and damaged copies: {kind: (path, damage
    report line, damaged block)}."""
    d = tmp_path_factory.mktemp("irfs-images")
    clean = d / "eras.img"
    with lzma.open(FIXTURES / "eras.meta.xz") as f:
        clean.write_bytes(f.read())
    out = {"clean": (clean, "", None)}
    if not ERA_DAMAGE.exists():
        pytest.fail(f"{ERA_DAMAGE} missing (make -j2 builds it)")
    for kind in ("node-csum", "sb-csum", "sm-leak"):
        img = d / f"eras.{kind}.img"
        shutil.copy(clean, img)
        r = run([ERA_DAMAGE, img, kind])
        msg = r.stdout.decode(errors="replace").strip()
        assert r.returncode == 0, f"era_damage {kind}: {r.stderr.decode(errors='replace')}"
        m = re.search(r"block (\d+)", msg)
        assert m, f"era_damage {kind} said {msg!r}"
        out[kind] = (img, msg, int(m.group(1)))
    return out


class Boot:
    def __init__(self, out, rc, stderr):
        self.out = out
        self.rc = rc
        self.stderr = stderr
        self.console = (out / "console.log").read_bytes().decode("utf-8", "replace").replace("\r", "")
        self.log = extract_log(out / "console.log")
        m = re.search(r"took (\d+) s", stderr)
        self.seconds = int(m.group(1)) if m else None

    def lines(self, word):
        return [x for x in self.log if x.split(" ", 1)[0] == word]

    def describe(self):
        tail = "\n".join(self.console.strip().split("\n")[-25:])
        return f"run-scenario status {self.rc}, {self.out}\n{self.stderr[-800:]}\nconsole tail:\n{tail}"


def irfs_boot(name, kdirs, tree, meta, env, drives=()):
    """One QEMU boot of initramfs_boot.sh with TREE as overlay, META (a copy)
    on /dev/vda, the origin on /dev/vdb sized to META's nr_blocks, DRIVES on
    /dev/vdc...  The run may end in a panic (no "ERA END 0"): the caller
    judges the log."""
    out = WORK / name
    out.mkdir(parents=True, exist_ok=True)
    kdirs.append(out)
    nb = sb(meta)["nr_blocks"]
    args = [RUN, SCRIPT, out, "--meta-image", meta, "--origin-size", str(nb * BLOCK_BYTES),
            "--overlay", tree, "--timeout", TIMEOUT]
    for k, v in env.items():
        args += ["--env", f"{k}={v}"]
    for dv in drives:
        args += ["--drive", dv]
    r = run(args, timeout=TIMEOUT + 120 + int(os.environ.get("ERA_QEMU_WAIT", "600")))
    b = Boot(out, r.returncode, r.stderr.decode(errors="replace"))
    sys.stderr.write(f"\n{name}: boot took {b.seconds} s\n")
    assert "timed out" not in b.stderr, f"{name}: the guest hung\n{b.describe()}"
    assert not b.lines("INIT_ERROR"), f"{name}: harness init failed\n{b.describe()}"
    # the static binary runs with no shared libraries in the initramfs
    bad = re.search(r"era_check: (not found|can't execute|Permission denied)|"
                    r"error while loading shared libraries", b.console)
    assert not bad, f"{name}: era_check did not run in the initramfs: {bad.group(0)}\n{b.describe()}"
    return b


def assert_continued(b, name, dev, current_era):
    """The check passed and the boot went on to activate the target."""
    d = b.describe()
    assert not b.lines("PANIC"), f"clean metadata stopped the boot\n{d}"
    assert "DAMAGED" not in b.console, d
    assert f"UNCHANGED {dev}" in b.log, f"the check changed {dev}?\n{d}"
    assert f"ACTIVATE {dev}" in b.log, f"the boot did not continue to the activation\n{d}"
    creates = b.lines("CREATE")
    assert creates and f" era {dev} /dev/vdb " in creates[-1], f"no dmsetup create on {dev}\n{d}"
    st = b.lines("STATUS")
    assert st and int(st[-1].split()[6]) == current_era + 1, \
        f"status {st} (want era {current_era + 1} on the fixture with current_era {current_era})\n{d}"


def assert_stopped(b, what, dev, block, reason, damaged=None):
    """The check failed loudly and nothing activated the damaged target.
    WHAT: the panic's list; DAMAGED: the banner's (default WHAT)."""
    d = b.describe()
    assert b.rc != 0 and "END 0" not in b.log and not b.lines("END"), \
        f"the boot went on after the panic\n{d}"
    panics = b.lines("PANIC")
    assert panics == [f"PANIC era-check: dm-era metadata check failed for: {what}"], \
        f"panic marker {panics}\n{d}"
    want = f"era_check: {dev}: error: block {block}: {reason}"
    assert want in b.console, f"no {want!r} on the console\n{d}"
    assert f"era-check: DAMAGED dm-era METADATA: {damaged or what}" in b.console, f"no banner\n{d}"
    after = b.log[b.log.index(panics[0]):]
    assert not [x for x in after if x.startswith(("ACTIVATE", "CREATE", "STATUS"))], \
        f"activation after the panic\n{d}"


# ------------------------------------------------------------ initramfs-tools

@FAST
def test_local_top_clean_boot(stage, images, kdirs):
    """Boot 1: clean kernel-made metadata on /dev/vda: era-check passes
    (without writing to the device), the boot continues and the kernel
    activates the target on the checked device."""
    where = fresh_dir("irfs-local-top-clean", kdirs)
    tree = initramfs_tools_tree(stage, where, "era0 /dev/vda\n")
    img = images["clean"][0]
    b = irfs_boot("irfs-local-top-clean/run", kdirs, tree, img, {"ERA_IRFS": "local-top"})
    assert b.rc == 0 and "END 0" in b.log, b.describe()
    assert "LOG_BEGIN Checking dm-era metadata of era0 (/dev/vda)" in b.log, b.describe()
    assert b.lines("LOG_END"), b.describe()
    assert not b.lines("LOG_WARNING") and not b.lines("LOG_FAILURE"), b.describe()
    assert_continued(b, "era0", "/dev/vda", sb(img)["current_era"])


@FAST
def test_local_top_damaged_boot(stage, images, kdirs):
    """Boot 2: the same image with a B-tree node's checksum broken (a
    damage the kernel does not see at activation): era-check fails, panic
    stops the boot, era_check names the block, nothing is activated, and
    the image is untouched."""
    where = fresh_dir("irfs-local-top-damaged", kdirs)
    tree = initramfs_tools_tree(stage, where, "era0 /dev/vda\n")
    img, _msg, block = images["node-csum"]
    b = irfs_boot("irfs-local-top-damaged/run", kdirs, tree, img, {"ERA_IRFS": "local-top"})
    assert "LOG_BEGIN Checking dm-era metadata of era0 (/dev/vda)" in b.log, b.describe()
    assert_stopped(b, "era0(/dev/vda)", "/dev/vda", block, "btree node: checksum mismatch")
    assert b.lines("LOG_FAILURE"), f"no failure message after 'done.'\n{b.describe()}"
    assert filecmp.cmp(b.out / "meta.img", img, shallow=False), "the damaged image changed"


def test_local_top_several_targets(stage, images, kdirs):
    """Four targets: clean on /dev/vda, superblock damaged on /dev/vdc,
    missing /dev/vdy marked optional, missing /dev/vdz: both missing ones are
    waited for (their timeouts), the optional one is skipped with a warning,
    the other fails; both present ones are checked; the panic names the
    damaged and the missing one, the banner only the damaged one.  The
    configuration's last line has no newline: it counts."""
    where = fresh_dir("irfs-local-top-several", kdirs)
    conf = ("# dm-era targets\n\nera0 /dev/vda\nera1 /dev/vdc\nera3 /dev/vdy optional timeout=1\n"
            "era2 /dev/vdz timeout=2")   # no final newline
    tree = initramfs_tools_tree(stage, where, conf)
    dam = where / "vdc.img"
    shutil.copy(images["sb-csum"][0], dam)
    b = irfs_boot("irfs-local-top-several/run", kdirs, tree, images["clean"][0],
                  {"ERA_IRFS": "local-top", "ERA_IRFS_WAIT": "/dev/vdc"}, drives=[dam])
    d = b.describe()
    assert "LOG_BEGIN Checking dm-era metadata of era0 (/dev/vda)" in b.log, d
    assert "LOG_BEGIN Checking dm-era metadata of era1 (/dev/vdc)" in b.log, d
    assert b.lines("UDEV_WAIT"), d
    assert ("LOG_WARNING era-check: era3: metadata device /dev/vdy not found after 1 s; "
            "not checked (optional)") in b.log, d
    assert "LOG_FAILURE era-check: era2: metadata device /dev/vdz not found after 2 s" in b.log, d
    assert "era_check: /dev/vda:" not in b.console, d
    assert_stopped(b, "era1(/dev/vdc) era2(/dev/vdz not found)", "/dev/vdc", images["sb-csum"][2],
                   "superblock: checksum mismatch", damaged="era1(/dev/vdc)")


def test_local_top_nonfatal_boot(stage, images, kdirs):
    """Leaked space-map blocks only (a non-fatal finding, era_check exit 4):
    the script warns, the boot goes on and the target is activated."""
    img = images["sm-leak"][0]
    r = run([REPO / "bin/era_check", img])
    if r.returncode != 4:
        pytest.skip(f"era_check exits {r.returncode}, not 4, on non-fatal findings only "
                    "(tools not yet on tools/common.h's exit table)")
    where = fresh_dir("irfs-local-top-nonfatal", kdirs)
    tree = initramfs_tools_tree(stage, where, "era0 /dev/vda\n")
    b = irfs_boot("irfs-local-top-nonfatal/run", kdirs, tree, img, {"ERA_IRFS": "local-top"})
    d = b.describe()
    assert b.rc == 0 and "END 0" in b.log, d
    assert "era_check: /dev/vda: non-fatal error: block" in b.console, d
    assert ("LOG_WARNING era-check: era0: non-fatal findings on /dev/vda (see above); "
            "boot continues") in b.log, d
    assert not b.lines("LOG_FAILURE"), d
    assert_continued(b, "era0", "/dev/vda", sb(img)["current_era"])


# ------------------------------------------------------------ dracut

def test_dracut_pre_udev_boot(stage, images, kdirs):
    """dracut's pre-mount hook, sourced as dracut's init does: round 1 with
    clean metadata on /dev/vda passes and the target is activated; round 2,
    the configuration naming the node-damaged copy on /dev/vdc, dies; no
    activation follows."""
    where = fresh_dir("irfs-dracut", kdirs)
    tree = dracut_tree(stage, where, "era0 /dev/vda\n")
    img, _msg, block = images["node-csum"]
    dam = where / "vdc.img"
    shutil.copy(img, dam)
    clean = images["clean"][0]
    b = irfs_boot("irfs-dracut/run", kdirs, tree, clean,
                  {"ERA_IRFS": "dracut", "ERA_IRFS_WAIT": "/dev/vdc",
                   "ERA_IRFS_CONF2": "era1 /dev/vdc"}, drives=[dam])
    d = b.describe()
    r2 = b.log.index("STAGE pre-mount round 2: era1 /dev/vdc") if \
        "STAGE pre-mount round 2: era1 /dev/vdc" in b.log else None
    assert r2 is not None, f"round 1 did not complete\n{d}"
    first = Boot.__new__(Boot)
    first.__dict__.update(b.__dict__)
    first.log = b.log[:r2]
    first.console = b.console.split("STAGE pre-mount round 2")[0]
    assert "DRACUT_INFO era-check: checking dm-era metadata of era0 (/dev/vda)" in first.log, d
    assert_continued(first, "era0", "/dev/vda", sb(clean)["current_era"])
    assert "DRACUT_INFO era-check: checking dm-era metadata of era1 (/dev/vdc)" in b.log, d
    second = Boot.__new__(Boot)
    second.__dict__.update(b.__dict__)
    second.log = b.log[r2:]
    assert_stopped(second, "era1(/dev/vdc)", "/dev/vdc", block, "btree node: checksum mismatch")
    assert "DRACUT_WARN era-check: DAMAGED dm-era METADATA: era1(/dev/vdc)" in b.log, d
    assert filecmp.cmp(dam, img, shallow=False), "the damaged image changed"
