"""The Debian package `make deb` built (issue 15), run by `make check-deb`
(a CHECK_EXTRA of `make check`, after `make deb`): its contents and control
files (dpkg-deb -c / -I, no root needed), its maintainer scripts run against
a stand-in dpkg-divert, lintian's verdict, and, as root with
thin-provisioning-tools' .deb at hand (apt-get download), a real install /
remove / purge beside it in a throwaway dpkg root (dpkg --root with the
maintainer scripts run chroot-free: the host's package database is never
touched)."""
import os
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

DEB_DIR = REPO / "build" / "deb"
TOOLS = sorted(p.stem for p in (REPO / "tools").glob("era_*.c"))
# thin-provisioning-tools' names (0.9.0: the first four; 1.x: era_repair too)
THEIRS = ["era_check", "era_dump", "era_invalidate", "era_restore", "era_repair"]
SUFFIX = "thin-provisioning-tools"


def version():
    for line in (REPO / "Makefile").read_text().splitlines():
        if line.startswith("VERSION :="):
            return line.split(":=")[1].strip()
    raise AssertionError("no VERSION in the Makefile")


def need(prog):
    if shutil.which(prog) is None:
        pytest.skip(f"{prog} not installed (make deps-deb installs the package tools)")


@pytest.fixture(scope="module")
def deb():
    need("dpkg-deb")
    found = sorted(DEB_DIR.glob(f"era-tools_{version()}_*.deb"))
    if not found:
        pytest.skip(f"no era-tools_{version()}_*.deb in {DEB_DIR}: run `make deb` first")
    return found[0]


def sh(*args, **kw):
    r = subprocess.run([str(a) for a in args], capture_output=True, text=True, timeout=120, **kw)
    return r


def contents(deb):
    r = sh("dpkg-deb", "-c", deb)
    assert r.returncode == 0, r.stderr
    out = {}
    for line in r.stdout.splitlines():
        f = line.split(None, 5)
        name = f[5].split(" -> ")[0]
        out[name.lstrip(".")] = f[0]
    return out


def test_contents(deb):
    c = contents(deb)
    want = [f"/usr/sbin/{t}" for t in TOOLS] + ["/usr/sbin/era_check.static"]
    want += [f"/usr/share/man/man8/{p.name}.gz" for p in (REPO / "man8").glob("*.8")]
    want += ["/usr/lib/libpd.a", "/usr/lib/libera.a", "/usr/lib/pkgconfig/era-tools.pc",
             "/usr/share/bash-completion/completions/era-tools",
             "/usr/share/initramfs-tools/hooks/era-tools",
             "/usr/share/initramfs-tools/scripts/local-top/era-check",
             "/usr/lib/dracut/modules.d/90era-tools/module-setup.sh",
             "/usr/lib/dracut/modules.d/90era-tools/era-check.sh",
             "/lib/systemd/system/era-check@.service",
             "/usr/share/doc/era-tools/copyright", "/usr/share/doc/era-tools/era-check.conf.example"]
    for d in ("libpd", "format", "xml"):
        want += [f"/usr/include/era-tools/{d}/{h.name}" for h in (REPO / d).glob("*.h")]
    want += [f"/usr/share/bash-completion/completions/{t}" for t in TOOLS]
    missing = [w for w in want if w not in c]
    assert not missing, f"not in the package: {missing}"
    for t in TOOLS + ["era_check.static"]:
        assert c[f"/usr/sbin/{t}"].startswith("-rwxr-xr-x"), (t, c[f"/usr/sbin/{t}"])
    assert c["/usr/share/initramfs-tools/hooks/era-tools"].startswith("-rwxr-xr-x")
    # nothing of the build tree or of an install under /usr/local
    assert not [n for n in c if n.startswith(("/usr/local", "/build", "/bin/", "/etc/"))]


def test_unpacked_files(deb, tmp_path):
    """The shipped static era_check is stripped and static, the paths filled in
    by `make install` point at /usr/sbin, and the tools run."""
    need("file")
    r = sh("dpkg-deb", "-x", deb, tmp_path)
    assert r.returncode == 0, r.stderr
    info = sh("file", "-L", tmp_path / "usr/sbin/era_check.static").stdout
    assert "statically linked" in info and ", stripped" in info, info
    hook = (tmp_path / "usr/share/initramfs-tools/hooks/era-tools").read_text()
    assert "ERA_CHECK_STATIC=/usr/sbin/era_check.static" in hook
    unit = (tmp_path / "lib/systemd/system/era-check@.service").read_text()
    assert "ExecStart=/usr/sbin/era_check %f" in unit
    pc = (tmp_path / "usr/lib/pkgconfig/era-tools.pc").read_text()
    assert f"Version: {version()}" in pc and "libdir=/usr/lib" in pc
    for t in TOOLS + ["era_check.static"]:
        r = sh(tmp_path / "usr/sbin" / t, "--version")
        assert r.returncode == 0 and version() in r.stdout, (t, r.stdout, r.stderr)


def test_control(deb):
    r = sh("dpkg-deb", "-f", deb, "Package", "Version", "Depends", "Architecture")
    assert r.returncode == 0, r.stderr
    f = dict(line.split(": ", 1) for line in r.stdout.splitlines())
    assert f["Package"] == "era-tools" and f["Version"] == version()
    dep = f["Depends"]
    assert "libxml2" in dep and "libblkid1" in dep
    # nothing links expat; and we must not need the package we divert
    assert "expat" not in dep and "thin-provisioning-tools" not in dep, dep
    r = sh("dpkg-deb", "-I", deb)
    assert "preinst" in r.stdout and "postrm" in r.stdout, r.stdout


FAKE_DIVERT = """#!/bin/sh
echo "$*" >> "$DIVERT_LOG"
"""


def maint_script(deb, tmp_path, name, *args):
    """Run the package's NAME script with ARGS against a dpkg-divert that
    only logs its arguments; return the logged calls."""
    ctl = tmp_path / "control"
    if not ctl.exists():
        r = sh("dpkg-deb", "-e", deb, ctl)
        assert r.returncode == 0, r.stderr
    bindir = tmp_path / "fakebin"
    bindir.mkdir(exist_ok=True)
    (bindir / "dpkg-divert").write_text(FAKE_DIVERT)
    (bindir / "dpkg-divert").chmod(0o755)
    logf = tmp_path / f"{name}-{'-'.join(args)}.log"
    logf.write_text("")
    env = dict(os.environ, PATH=f"{bindir}:{os.environ['PATH']}", DIVERT_LOG=str(logf))
    r = sh("sh", "-e", ctl / name, *args, env=env)
    assert r.returncode == 0, (name, args, r.stderr)
    return logf.read_text().splitlines()


def diversions(verb):
    out = []
    for t in THEIRS:
        out.append(f"--package era-tools --{verb} --rename --divert /usr/sbin/{t}.{SUFFIX} /usr/sbin/{t}")
        out.append(f"--package era-tools --{verb} --rename --divert "
                   f"/usr/share/man/man8/{t}.{SUFFIX}.8.gz /usr/share/man/man8/{t}.8.gz")
    return out


def test_preinst_diverts(deb, tmp_path):
    assert maint_script(deb, tmp_path, "preinst", "install") == diversions("add")
    assert maint_script(deb, tmp_path, "preinst", "upgrade", "0.0.9") == diversions("add")


def test_postrm_undiverts(deb, tmp_path):
    for how in ("remove", "purge", "abort-install"):
        assert maint_script(deb, tmp_path, "postrm", how) == diversions("remove"), how
    # an upgrade keeps the diversions (the new version's preinst re-adds them)
    assert maint_script(deb, tmp_path, "postrm", "upgrade", "0.1.0") == []


def test_lintian_no_errors(deb):
    log = DEB_DIR / "lintian.log"
    if not log.exists():
        pytest.skip("lintian did not run (make deb runs it)")
    errors = [x for x in log.read_text().splitlines() if x.startswith("E:")]
    assert not errors, errors


# ---------------------------------------------------------------- beside thin-provisioning-tools

TPT_CACHE = Path(os.environ.get("ERA_DEB_CACHE", Path.home() / ".cache/era-tools/deb"))


@pytest.fixture(scope="module")
def tpt_deb():
    if os.geteuid() != 0:
        pytest.skip("installing into a dpkg root needs root")
    need("dpkg")
    found = sorted(TPT_CACHE.glob("thin-provisioning-tools_*.deb"))
    if not found:
        TPT_CACHE.mkdir(parents=True, exist_ok=True)
        r = sh("apt-get", "download", "-q", "thin-provisioning-tools", cwd=TPT_CACHE)
        found = sorted(TPT_CACHE.glob("thin-provisioning-tools_*.deb"))
        if not found:
            pytest.skip("cannot get thin-provisioning-tools' .deb: " + (r.stderr.strip() or r.stdout))
    return found[-1]


class Root:
    """A throwaway dpkg root: an empty package database, dpkg --root, the
    maintainer scripts run chroot-free (they see DPKG_ROOT, which
    dpkg-divert honours). Dependencies are not installed there."""

    def __init__(self, path):
        self.path = path
        for d in ("updates", "info", "triggers"):
            (path / "var/lib/dpkg" / d).mkdir(parents=True)
        for f in ("status", "available"):
            (path / "var/lib/dpkg" / f).touch()

    def dpkg(self, *args):
        r = sh("dpkg", f"--root={self.path}", "--force-script-chrootless", "--force-depends", *args)
        assert r.returncode == 0, (args, r.stdout, r.stderr)
        return r

    def diversions(self):
        r = sh("dpkg-divert", f"--root={self.path}", "--list")
        assert r.returncode == 0, r.stderr
        return sorted(r.stdout.splitlines())

    def status(self, pkg):
        r = sh("dpkg-query", f"--admindir={self.path}/var/lib/dpkg", "-W", "-f=${db:Status-Status}", pkg)
        return r.stdout if r.returncode == 0 else "unknown"


def listed(calls):
    """dpkg-divert --list's lines for our preinst's --add calls."""
    return [f"diversion of {d.split()[-1]} to {d.split()[-2]} by era-tools" for d in calls]


def assert_theirs(root, tpt_files):
    for t in tpt_files:
        p = root.path / "usr/sbin" / t
        assert p.is_symlink() and os.readlink(p) == "pdata_tools", f"{p} is not theirs"
        assert (root.path / f"usr/share/man/man8/{t}.8.gz").exists()
        assert not (root.path / f"usr/sbin/{t}.{SUFFIX}").exists()


def assert_ours(root, tpt_files):
    for t in TOOLS:
        p = root.path / "usr/sbin" / t
        assert not p.is_symlink(), f"{p} is still theirs"
        r = sh(p, "--version")
        assert r.returncode == 0 and f"(era-tools) {version()}" in r.stdout, (t, r.stdout)
    for t in tpt_files:
        moved = root.path / f"usr/sbin/{t}.{SUFFIX}"
        assert moved.is_symlink() and os.readlink(moved) == "pdata_tools", f"{moved} missing"
        assert (root.path / f"usr/share/man/man8/{t}.{SUFFIX}.8.gz").exists()


def tpt_era_tools(tpt_deb):
    c = contents(tpt_deb)
    return sorted(n.rsplit("/", 1)[1] for n in c if n.startswith("/usr/sbin/era_"))


def test_install_beside_remove_purge(deb, tpt_deb, tmp_path):
    theirs = tpt_era_tools(tpt_deb)
    assert theirs, "thin-provisioning-tools ships no era tools?"
    root = Root(tmp_path / "root")
    root.dpkg("-i", tpt_deb)
    assert_theirs(root, theirs)
    root.dpkg("-i", deb)
    assert root.status("era-tools") == "installed"
    assert root.diversions() == sorted(listed(diversions("add")))
    assert_ours(root, theirs)
    # reinstalling (an upgrade to the same version) keeps everything in place
    root.dpkg("-i", deb)
    assert root.diversions() == sorted(listed(diversions("add")))
    assert_ours(root, theirs)
    root.dpkg("-r", "era-tools")
    assert root.diversions() == []
    assert_theirs(root, theirs)
    assert not (root.path / "usr/sbin/era_metadata_size").exists()
    root.dpkg("--purge", "era-tools")
    # purged: dpkg has forgotten the package
    assert root.diversions() == [] and root.status("era-tools") in ("not-installed", "unknown")
    assert_theirs(root, theirs)
    assert root.status("thin-provisioning-tools") == "installed"


def test_install_before_them(deb, tpt_deb, tmp_path):
    """era-tools first: thin-provisioning-tools' era files, unpacked later,
    land on the diverted names; purging era-tools moves them back."""
    theirs = tpt_era_tools(tpt_deb)
    root = Root(tmp_path / "root")
    root.dpkg("-i", deb)
    root.dpkg("-i", tpt_deb)
    assert_ours(root, theirs)
    root.dpkg("--purge", "era-tools")
    assert root.diversions() == []
    assert_theirs(root, theirs)
