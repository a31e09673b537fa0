"""make install into a temporary DESTDIR puts every piece in its place;
make uninstall takes every file away again."""
import os
import subprocess

import pytest

from conftest import REPO, run

TOOLS = sorted(p.stem for p in (REPO / "tools").glob("era_*.c"))


def make(*args):
    env = dict(os.environ)
    for k in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL", "MAKEOVERRIDES"):
        env.pop(k, None)
    r = run(["make", "-s", "-C", REPO, *args], env=env, timeout=600)
    assert r.returncode == 0, r.stdout.decode() + r.stderr.decode()
    return r


def files(root):
    out = set()
    for d, _, names in os.walk(root):
        for n in names:
            out.add(os.path.relpath(os.path.join(d, n), root))
    return out


def version():
    for line in (REPO / "Makefile").read_text().splitlines():
        if line.startswith("VERSION :="):
            return line.split(":=")[1].strip()
    raise AssertionError("no VERSION in the Makefile")


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    dest = tmp_path_factory.mktemp("destdir")
    make("install", f"DESTDIR={dest}", "PREFIX=/usr")
    return dest


def expected_files():
    exp = {f"usr/sbin/{t}" for t in TOOLS} | {"usr/sbin/era_check.static"}
    exp |= {f"usr/share/man/man8/{p.name}" for p in (REPO / "man8").glob("*.8")}
    exp |= {"usr/lib/libpd.a", "usr/lib/libera.a", "usr/lib/pkgconfig/era-tools.pc"}
    for d in ("libpd", "format", "xml"):
        exp |= {f"usr/include/era-tools/{d}/{h.name}" for h in (REPO / d).glob("*.h")}
    exp |= {"usr/share/bash-completion/completions/era-tools"}
    exp |= {f"usr/share/bash-completion/completions/{t}" for t in TOOLS}
    exp |= {"usr/share/initramfs-tools/hooks/era-tools",
            "usr/share/initramfs-tools/scripts/local-top/era-check",
            "usr/lib/dracut/modules.d/90era-tools/module-setup.sh",
            "usr/lib/dracut/modules.d/90era-tools/era-check.sh",
            "lib/systemd/system/era-check@.service"}
    exp |= {f"usr/share/doc/era-tools/{n}" for n in
            ("README.md", "INSTALL", "api.md", "era-check.conf.example")}
    exp |= {f"usr/share/doc/era-tools/{p.name}" for g in ("*.c", "*.sh") for p in (REPO / "examples").glob(g)}
    return exp


def test_file_list(installed):
    assert files(installed) == expected_files()


def test_modes_and_links(installed):
    for t in TOOLS + ["era_check.static"]:
        assert os.access(installed / "usr/sbin" / t, os.X_OK)
    comp = installed / "usr/share/bash-completion/completions"
    for t in TOOLS:
        assert os.readlink(comp / t) == "era-tools"
    assert os.access(installed / "usr/share/initramfs-tools/hooks/era-tools", os.X_OK)
    assert os.access(installed / "usr/share/initramfs-tools/scripts/local-top/era-check", os.X_OK)
    hook = (installed / "usr/share/initramfs-tools/hooks/era-tools").read_text()
    assert "ERA_CHECK_STATIC=/usr/sbin/era_check.static" in hook and "@" not in hook
    unit = (installed / "lib/systemd/system/era-check@.service").read_text()
    assert "ExecStart=/usr/sbin/era_check %f" in unit and "@SBINDIR@" not in unit


def test_static_check_installed_stripped(installed):
    """era_check.static goes into every initramfs: installed without symbols
    (bin/ keeps them for debugging), and it still runs."""
    inst = installed / "usr/sbin/era_check.static"
    built = REPO / "bin/era_check.static"
    r = subprocess.run(["file", "-L", inst], capture_output=True, text=True)
    if r.returncode != 0:
        pytest.skip("file(1) not installed")
    assert "stripped" in r.stdout and "not stripped" not in r.stdout, r.stdout
    assert "not stripped" in subprocess.run(["file", "-L", built], capture_output=True, text=True).stdout
    assert inst.stat().st_size < built.stat().st_size
    r = run([inst, "--version"])
    assert r.returncode == 0 and version().encode() in r.stdout


def test_installed_tools_run(installed):
    for t in TOOLS:
        r = run([installed / "usr/sbin" / t, "--version"])
        assert r.returncode == 0 and version().encode() in r.stdout


def test_pkg_config_file(installed):
    pc = (installed / "usr/lib/pkgconfig/era-tools.pc").read_text()
    assert f"Version: {version()}" in pc
    assert "includedir=/usr/include" in pc and "libdir=/usr/lib" in pc and "@" not in pc.split("URL")[0]
    env = dict(os.environ, PKG_CONFIG_PATH=str(installed / "usr/lib/pkgconfig"),
               PKG_CONFIG_SYSROOT_DIR=str(installed))
    r = subprocess.run(["pkg-config", "--cflags", "--libs", "era-tools"], capture_output=True,
                       text=True, env=env)
    if r.returncode == 127:
        pytest.skip("pkg-config not installed")
    assert r.returncode == 0, r.stderr
    assert f"-I{installed}/usr/include/era-tools" in r.stdout
    assert "-lera -lpd" in r.stdout


def test_example_builds_against_installed_copy(installed, tmp_path):
    exe = tmp_path / "changed_blocks"
    env = dict(os.environ, PKG_CONFIG_PATH=str(installed / "usr/lib/pkgconfig"),
               PKG_CONFIG_SYSROOT_DIR=str(installed))
    flags = subprocess.run(["pkg-config", "--cflags", "--libs", "--static", "era-tools"],
                           capture_output=True, text=True, env=env)
    if flags.returncode != 0:
        pytest.skip("pkg-config cannot resolve era-tools' dependencies: " + flags.stderr)
    r = run(["cc", "-o", exe, installed / "usr/share/doc/era-tools/changed_blocks.c",
             *flags.stdout.split()])
    assert r.returncode == 0, r.stderr.decode()
    r = run([exe])
    assert r.returncode == 1 and b"usage" in r.stderr


def test_man_pages_render(installed):
    env = dict(os.environ, MANPATH=str(installed / "usr/share/man"))
    r = subprocess.run(["man", "-w", "era_check"], capture_output=True, text=True, env=env)
    if r.returncode != 0 and "not found" not in r.stderr:
        pytest.skip("man not usable here")
    assert r.returncode == 0 and r.stdout.strip().endswith("era_check.8")


def test_prefix_and_dirs(tmp_path):
    dest = tmp_path / "d"
    make("install", f"DESTDIR={dest}", "PREFIX=/opt/era", "SBINDIR=/opt/era/bin",
         "MANDIR=/opt/era/man", "INCLUDEDIR=/opt/era/inc", "LIBDIR=/opt/era/lib64")
    got = files(dest)
    assert "opt/era/bin/era_check" in got and "opt/era/man/man8/era_dump.8" in got
    assert "opt/era/inc/era-tools/libpd/bm.h" in got and "opt/era/lib64/libera.a" in got
    assert "opt/era/lib64/pkgconfig/era-tools.pc" in got
    # not /usr: initramfs-tools pieces go where the administrator's live
    assert "etc/initramfs-tools/hooks/era-tools" in got
    assert "opt/era/lib/systemd/system/era-check@.service" in got
    hook = (dest / "etc/initramfs-tools/hooks/era-tools").read_text()
    assert "ERA_CHECK_STATIC=/opt/era/bin/era_check.static" in hook
    pc = (dest / "opt/era/lib64/pkgconfig/era-tools.pc").read_text()
    assert "includedir=/opt/era/inc" in pc
    make("uninstall", f"DESTDIR={dest}", "PREFIX=/opt/era", "SBINDIR=/opt/era/bin",
         "MANDIR=/opt/era/man", "INCLUDEDIR=/opt/era/inc", "LIBDIR=/opt/era/lib64")
    assert files(dest) == set()


def test_uninstall_leaves_nothing(installed):
    make("uninstall", f"DESTDIR={installed}", "PREFIX=/usr")
    assert files(installed) == set()
    # and again: uninstalling twice is harmless
    make("uninstall", f"DESTDIR={installed}", "PREFIX=/usr")
