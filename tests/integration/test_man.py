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


# ---------------------------------------------------------------- texts (issue 15)

def rendered(tool):
    if not shutil.which("groff"):
        pytest.skip("groff not installed (Debian package groff-base)")
    r = run(["groff", "-man", "-Tutf8", "-P-c", "-P-b", "-P-u", page(tool)])
    assert r.returncode == 0
    # join hyphenated line ends and squeeze the justification's spaces
    text = r.stdout.decode().replace("\u2010\n", "").replace("-\n", "")
    return re.sub(r"\s+", " ", text)


@pytest.mark.parametrize("tool", TOOLS)
def test_json_shapes_render_as_they_are(tool):
    """Every JSON object a page shows keeps its quotes: no `end : E`."""
    text = rendered(tool)
    for m in re.finditer(r"\{[^{}]*\}", text):
        obj = m.group(0)
        if ":" not in obj or "\"" not in obj:
            continue
        assert obj.count("\"") % 2 == 0, obj
        keys = re.findall(r"([\w\"]+)\s*:", obj)
        assert all(k.startswith("\"") and k.endswith("\"") for k in keys), obj


def test_invalidate_json_shape_matches_output(tmp_path):
    from conftest import fixture_image
    text = rendered("era_invalidate")
    assert '{"begin": B, "end": E}' in text
    r = run_tool("era_invalidate", "--format", "json", "--written-since", "6", fixture_image("eras", tmp_path))
    assert r.returncode == 0
    assert re.search(rb'\{"begin": \d+, "end": \d+\}', r.stdout)


def test_check_json_fields_named_as_output(tmp_path):
    """era_check(8) names the fields of a JSON problem as the output has them."""
    import json
    from conftest import fixture_image
    img = fixture_image("eras", tmp_path)
    with open(img, "r+b") as f:   # break the superblock's checksum
        f.seek(200)
        f.write(b"\xff" * 8)
    r = run_tool("era_check", "--format", "json", img)
    problems = json.loads(r.stdout)["problems"]
    assert problems
    keys = set(problems[0])
    para = rendered("era_check").split("json writes one JSON object", 1)[1].split(".SH", 1)[0][:400]
    named = set(re.findall(r"\b(id|tag|severity|block|structure|origin_blocks|message)\b",
                           para.split("the main superblock")[0]))
    # origin_blocks is only there where origin blocks lost their eras
    assert keys <= named and named - keys <= {"origin_blocks"}, (named, keys)


def test_invalidate_explains_which_era_to_record():
    """The status line example and the text agree: the field number names
    the current era as dmsetup prints the line (START LENGTH era ...)."""
    src = page("era_invalidate").read_text()
    status = [x for x in src.splitlines() if re.match(r"^0 \d+ era \d+ \d+/\d+ \d+ ", x)]
    assert len(status) == 1, status
    fields = status[0].split()
    text = rendered("era_invalidate")
    m = re.search(r"the current era is field (\d+) of the line", text)
    assert m, "no field number for the current era"
    era = fields[int(m.group(1)) - 1]
    assert fields[2] == "era" and len(fields) == 7
    assert f"Record {era} with the backup; the next backup asks --written-since {era}" in text


def test_messages_grammar(tmp_path):
    """Messages quoted by the issue read as sentences."""
    from conftest import fixture_image
    dmg = REPO / "build" / "era_damage"
    if not dmg.exists():
        pytest.skip("build/era_damage not built")
    img = fixture_image("eras", tmp_path)
    assert run([dmg, img, "nr-bits"]).returncode == 0
    r = run_tool("era_check", img)
    err = r.stderr.decode()
    assert re.search(r"has \d+ bits but the origin has \d+ blocks", err), err
    assert "bits, the device" not in err
    src = (REPO / "libpd" / "output.c").read_text()
    assert '"a %s signature' not in src and '"a %s partition' not in src


def test_missing_output_hint_names_era_metadata_size(tmp_path):
    from conftest import fixture_image
    r = run_tool("era_repair", "-i", fixture_image("eras", tmp_path), "-o", tmp_path / "nonexistent.meta")
    err = r.stderr.decode()
    assert r.returncode != 0 and "era_metadata_size" in err and "fallocate" not in err, err
