"""The build itself (issue 15): a second `make` after a fresh build (what
`make demo` leaves) has nothing to do, and no build file names libexpat,
which nothing links."""
import os
import re
import subprocess

from conftest import REPO, run


def clean_env():
    env = dict(os.environ)
    for k in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL", "MAKEOVERRIDES"):
        env.pop(k, None)
    return env


def test_second_make_does_not_relink(tmp_path):
    files = subprocess.run(["git", "-C", REPO, "ls-files", "-z"], capture_output=True).stdout
    if not files:
        import pytest
        pytest.skip("not a git checkout")
    tree = tmp_path / "tree"
    tree.mkdir()
    names = [n for n in files.decode().split("\0") if n and (REPO / n).is_file()]
    subprocess.run(["tar", "-C", REPO, "-c", "--null", "-T", "-", "-f", tmp_path / "t.tar"],
                   input="\0".join(names).encode(), check=True)
    subprocess.run(["tar", "-C", tree, "-x", "-f", tmp_path / "t.tar"], check=True)
    r = run(["make", "-s", "-j2", "-C", tree, "all"], env=clean_env(), timeout=600)
    assert r.returncode == 0, r.stderr.decode()
    r = run(["make", "-C", tree, "all"], env=clean_env())
    assert r.returncode == 0
    out = r.stdout.decode()
    assert "Nothing to be done for 'all'" in out and " -o bin/" not in out, out
    r = run(["make", "-q", "-C", tree, "all"], env=clean_env())
    assert r.returncode == 0, "make -q: something would be rebuilt"


def test_nothing_links_expat():
    """libexpat was listed as a dependency though no code uses it."""
    for path in ["Makefile", "INSTALL", "DEVELOPERS.md", "README.md", "debian/control",
                 "contrib/era-tools.pc.in"] + [str(p.relative_to(REPO)) for p in (REPO / "mk").glob("*.mk")]:
        text = (REPO / path).read_text()
        assert not re.search(r"expat", text, re.I), f"{path} still names expat"
    for d in ("libpd", "format", "xml", "tools", "tests/unit", "examples"):
        for p in (REPO / d).rglob("*"):
            if p.suffix in (".c", ".h", ".cc"):
                assert "expat" not in p.read_text(errors="replace").lower(), p


def check_extra(*make_args):
    r = run(["make", "-s", "--no-print-directory", "-C", REPO, *make_args,
             "--eval=print-check-extra: ; @echo $(CHECK_EXTRA)", "print-check-extra"], env=clean_env())
    assert r.returncode == 0, r.stderr.decode()
    return r.stdout.decode().split()


def test_readme_says_what_make_check_runs():
    """README's numbered list names every CHECK_EXTRA target in the order
    `make check` runs them, between the unit and the integration tests."""
    readme = (REPO / "README.md").read_text()
    part = readme.split("`make check` runs, in this order:", 1)[1].split("\n\n`make check-unit", 1)[0]
    steps = re.findall(r"^\d+\. (.*?)(?=^\d+\. |\Z)", part, re.M | re.S)
    named = [re.match(r"`([\w-]+)`", s).group(1) for s in steps if re.match(r"`[\w-]+`:", s)]
    extra = check_extra("FUZZ_CC=" + "/bin/true")   # some compiler present: fuzz-check
    assert named == extra, (named, extra)
    assert "unit tests" in steps[1] and "integration tests" in steps[-1]
    mk = (REPO / "Makefile").read_text()
    check_rule = mk.split("\ncheck: deps\n", 1)[1].split("\n\n", 1)[0]
    assert check_rule.index("unit_tests --gtest") < check_rule.index("CHECK_EXTRA") < \
        check_rule.index("tests/integration")


def test_fuzz_skipped_visibly_without_clang():
    extra = check_extra("FUZZ_CC=/nonexistent/clang")
    assert "fuzz-check" not in extra and "fuzz-skipped" in extra
    r = run(["make", "-s", "--no-print-directory", "-C", REPO, "FUZZ_CC=/nonexistent/clang", "fuzz-skipped"],
            env=clean_env())
    line = r.stdout.decode().strip()
    assert r.returncode == 0 and line.startswith("fuzz-check: SKIPPED: /nonexistent/clang is not installed")
    assert "fuzz-check: SKIPPED: clang is not installed" in (REPO / "README.md").read_text()
