"""Man pages: groff finds nothing to warn about, and each page's OPTIONS
section lists exactly the options the tool's --help lists."""
import re
import shutil

import pytest

from conftest import REPO, have_tool, run, run_tool

MAN8 = REPO / "man8"
TOOLS = ["era_check", "era_dump", "era_invalidate", "era_restore", "era_repair",
         "era_metadata_size"]


def page(tool):
    return MAN8 / f"{tool}.8"


def section(text, name):
    """Source lines of section NAME (between `.SH NAME` and the next .SH)."""
    m = re.search(r"^\.SH \"?%s\"?\s*$(.*?)(?=^\.SH |\Z)" % re.escape(name), text, re.M | re.S)
    assert m, f"no .SH {name}"
    return m.group(1)


def page_options(tool):
    """Options named in the tag lines (the line after .TP) of OPTIONS."""
    lines = section(page(tool).read_text(), "OPTIONS").splitlines()
    opts = set()
    for i, line in enumerate(lines):
        if line.strip() == ".TP" and i + 1 < len(lines):
            tag = lines[i + 1].replace("\\-", "-")
            opts.update(re.findall(r"(?<![\w-])(--?[A-Za-z][\w-]*)", tag))
    return opts


def help_options(tool):
    out = run_tool(tool, "--help")
    assert out.returncode == 0, out.stderr
    opts = set()
    for line in out.stdout.decode().splitlines():
        m = re.match(r"^\s+((?:-\w, )?--?[\w-]+)", line)
        if m:
            opts.update(re.findall(r"--?[\w-]+", m.group(1)))
    return opts


@pytest.mark.parametrize("tool", TOOLS)
def test_page_exists_with_sections(tool):
    text = page(tool).read_text()
    for s in ("NAME", "SYNOPSIS", "DESCRIPTION", "OPTIONS", "EXIT STATUS", "EXAMPLES", "SEE ALSO"):
        assert re.search(r"^\.SH \"?%s\"?\s*$" % s, text, re.M), f"{tool}.8 lacks {s}"
    assert re.search(r"^\.TH %s 8 " % tool.upper(), text, re.M)


@pytest.mark.parametrize("tool", TOOLS)
def test_groff_no_warnings(tool):
    if not shutil.which("groff"):
        pytest.skip("groff not installed (Debian package groff-base)")
    r = run(["groff", "-man", "-Tutf8", "-ww", "-z", page(tool)])
    assert r.returncode == 0
    assert r.stderr.decode() == "" and r.stdout.decode() == ""


@pytest.mark.parametrize("tool", TOOLS)
def test_options_match_help(tool):
    if not have_tool(tool):
        pytest.skip(f"bin/{tool} not built")
    in_help = help_options(tool)
    in_page = page_options(tool)
    assert {o for o in in_help if o.startswith("--")} - in_page == set(), \
        "long options in --help but not in the page"
    assert in_page - in_help == set(), "options in the page but not in --help"
    assert in_help - in_page == set(), "short options in --help but not in the page"


@pytest.mark.parametrize("tool", TOOLS)
def test_exit_status_documented(tool):
    text = section(page(tool).read_text(), "EXIT STATUS")
    assert re.search(r"^\.B 0$", text, re.M) and re.search(r"^\.B 1$", text, re.M)
    if tool in ("era_dump", "era_invalidate", "era_metadata_size"):
        assert re.search(r"^\.B 141$", text, re.M)


def exit_table(tool):
    """The shared part of EXIT STATUS: up to the first .PP."""
    return section(page(tool).read_text(), "EXIT STATUS").split("\n.PP\n")[0]


def test_exit_status_table_identical_everywhere():
    tables = {t: exit_table(t) for t in TOOLS}
    assert len(set(tables.values())) == 1, tables
    codes = re.findall(r"^\.B (\d+)$", tables["era_check"], re.M)
    assert codes == ["0", "1", "2", "3", "4", "5", "141"]


def test_exit_status_table_matches_common_h():
    """The numbers documented are the numbers tools/common.h defines."""
    defs = dict(re.findall(r"^#define (EXIT_\w+) (\d+)", (REPO / "tools" / "common.h").read_text(), re.M))
    assert {k: defs[k] for k in ("EXIT_OK", "EXIT_DAMAGE", "EXIT_USAGE", "EXIT_IO", "EXIT_NONFATAL",
                                 "EXIT_ERA_AHEAD", "EXIT_PIPE")} == \
        {"EXIT_OK": "0", "EXIT_DAMAGE": "1", "EXIT_USAGE": "2", "EXIT_IO": "3", "EXIT_NONFATAL": "4",
         "EXIT_ERA_AHEAD": "5", "EXIT_PIPE": "141"}
    assert sorted(int(c) for c in re.findall(r"^\.B (\d+)$", exit_table("era_dump"), re.M)) == \
        sorted(int(v) for k, v in defs.items() if k != "EXIT_FAIL")


def test_live_metadata_workflow_documented():
    text = page("era_invalidate").read_text().replace("\\-", "-")
    for cmd in ("dmsetup message era0 0 take_metadata_snap",
                "era_invalidate --metadata-snapshot --written-since",
                "dmsetup message era0 0 drop_metadata_snap"):
        assert cmd in text


def completion_options(tool):
    text = (REPO / "contrib" / "bash-completion" / "era-tools").read_text()
    m = re.search(r"^\s*%s\)\s*\n\s*opts=\"([^\"]*)\"" % re.escape(tool), text, re.M)
    assert m, f"no completion for {tool}"
    return set(m.group(1).split())


@pytest.mark.parametrize("tool", TOOLS)
def test_bash_completion_matches_help(tool):
    if not have_tool(tool):
        pytest.skip(f"bin/{tool} not built")
    assert completion_options(tool) == help_options(tool)


def test_bash_completion_parses():
    if not shutil.which("bash"):
        pytest.skip("no bash")
    script = ("_init_completion() { return 1; }; . %s; complete -p era_check era_metadata_size"
              % (REPO / "contrib" / "bash-completion" / "era-tools"))
    r = run(["bash", "-c", script])
    assert r.returncode == 0, r.stderr
    assert b"complete -F _era_tools era_check" in r.stdout
