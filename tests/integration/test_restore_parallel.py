"""era_restore's parallel path (a large regular file is cut in two and parsed
by two threads): the image is the one the sequential path writes, wherever
the cut falls; anything wrong in either part, or a cut that does not fit,
makes it redo the whole restore sequentially, with the sequential path's
messages."""
import re
import sys
from pathlib import Path

import pytest

import conftest
from conftest import REPO, run, run_tool, have_tool

MiB = 1 << 20
EA_PER = 1018
pytestmark = pytest.mark.skipif(not have_tool("era_restore"), reason="bin/era_restore not built")

SEQ = {"ERA_RESTORE_PARALLEL_MIN": str(1 << 62)}


def par_env(**kw):
    env = {"ERA_RESTORE_PARALLEL_MIN": "0", "ERA_RESTORE_DEBUG": "1"}
    env.update({k: str(v) for k, v in kw.items()})
    return env


def blank(path, size=8 * MiB):
    """conftest's, 8 MiB unless said (this file's outputs)."""
    return conftest.blank(path, size)


def restore(xml, img, env):
    return run_tool("era_restore", "-i", xml, "-o", img, env=env)


def sequential_image(xml, tmp_path):
    img = blank(tmp_path / "seq.img")
    r = restore(xml, img, SEQ)
    assert r.returncode == 0, r.stderr
    return img.read_bytes()


def debug_line(stderr):
    m = re.search(rb"era_restore: parallel, cut at byte (\d+): (ok|failed, redone sequentially|commit failed)", stderr)
    assert m, stderr
    return int(m.group(1)), m.group(2).decode()


@pytest.fixture(scope="module")
def gen(tmp_path_factory):
    """5,000 blocks (5 era array blocks, the last partial), 3 writesets."""
    d = tmp_path_factory.mktemp("par")
    xml = d / "g.xml"
    run([sys.executable, REPO / "bench" / "gen_xml.py", "5000", "--writesets", "3", "-o", xml],
        timeout=300).check_returncode()
    return xml


def line_offsets(data, pattern):
    """Offsets of the '<' of lines matching pattern (bytes regex on the tag)."""
    return [m.start(1) for m in re.finditer(rb"\n *(" + pattern + rb")", data)]


def test_cuts_by_permille(gen, tmp_path):
    data = gen.read_bytes()
    ea_start = data.index(b"<era_array>")
    want = sequential_image(gen, tmp_path)
    kinds = set()
    for pm in [1, 50, 100, 200, 300, 400, 500, 600, 700, 800, 900, 950, 999]:
        img = blank(tmp_path / "p.img")
        r = restore(gen, img, par_env(ERA_RESTORE_CUT_PERMILLE=pm))
        assert r.returncode == 0, r.stderr
        cut, status = debug_line(r.stderr)
        assert status == "ok", r.stderr
        kinds.add("ea" if cut > ea_start else "ws")
        assert img.read_bytes() == want, "cut at %d (permille %d)" % (cut, pm)
    assert kinds == {"ea", "ws"}


def era_line(data, block):
    return line_offsets(data, rb'<era block="%d" ' % block)[0]


def bit_lines(data, block):
    return line_offsets(data, rb'<bit block="%d" ' % block)


@pytest.mark.parametrize("where", ["ea0", "ea1", "ea1017", "ea1018", "ea1019", "ea2036", "ea4071", "ea4072",
                                   "ea4999", "ws0-first", "ws1-first", "ws1-mid", "ws0-last", "ws2-last"])
def test_cut_at_boundaries(gen, tmp_path, where):
    """Cuts at and around era array block boundaries (1,018 entries a
    block) and at the ends of writesets."""
    data = gen.read_bytes()
    if where.startswith("ea"):
        at = era_line(data, int(where[2:]))
    else:
        ws, pos = where.split("-")
        block = {"first": 0, "mid": 2500, "last": 4999}[pos]
        at = bit_lines(data, block)[int(ws[2:])]
    want = sequential_image(gen, tmp_path)
    img = blank(tmp_path / "p.img")
    r = restore(gen, img, par_env(ERA_RESTORE_CUT_AT=at))
    assert r.returncode == 0, r.stderr
    cut, status = debug_line(r.stderr)
    assert cut == at and status == "ok", r.stderr
    assert img.read_bytes() == want


SB = '<superblock uuid="" block_size="128" nr_blocks="3000" current_era="5">\n'


def small_doc(ws_lines=None, ea_lines=None):
    """nr_blocks 3000, writesets 4 and 5, an era array of 3000 entries."""
    ws_lines = ws_lines if ws_lines is not None else [
        '  <writeset era="4" nr_bits="3000">'] + ['    <marked block_begin="%d" len="3"/>' % b
                                                  for b in range(0, 3000, 10)] + ['  </writeset>'] + [
        '  <writeset era="5" nr_bits="3000">'] + ['    <bit block="%d" value="%s"/>' % (b, "true" if b % 7 else "false")
                                                  for b in range(3000)] + ['  </writeset>']
    ea_lines = ea_lines if ea_lines is not None else ['    <era block="%d" era="%d"/>' % (b, b % 4)
                                                      for b in range(3000)]
    return SB + "\n".join(ws_lines + ['  <era_array>'] + ea_lines + ['  </era_array>']) + "\n</superblock>"


def test_cut_at_marked(tmp_path):
    text = small_doc()
    xml = tmp_path / "m.xml"
    xml.write_text(text)
    want = sequential_image(xml, tmp_path)
    data = text.encode()
    for at in line_offsets(data, rb'<marked block_begin="(?:0|10|1500|2990)"'):
        img = blank(tmp_path / "p.img")
        r = restore(xml, img, par_env(ERA_RESTORE_CUT_AT=at))
        assert r.returncode == 0, r.stderr
        assert debug_line(r.stderr) == (at, "ok"), r.stderr
        assert img.read_bytes() == want


def same_as_sequential(text, tmp_path, cut_pattern, expect_status=None):
    """Restores text sequentially and in parallel cut at the first line
    matching cut_pattern: same exit status, same stderr (bar the debug
    line), same image. Returns (returncode, stderr, status)."""
    xml = tmp_path / "x.xml"
    xml.write_text(text)
    at = line_offsets(text.encode(), cut_pattern)[0]
    s_img = blank(tmp_path / "s.img")
    s = restore(xml, s_img, SEQ)
    p_img = blank(tmp_path / "p.img")
    p = restore(xml, p_img, par_env(ERA_RESTORE_CUT_AT=at))
    cut, status = debug_line(p.stderr)
    assert cut == at
    p_err = re.sub(rb"era_restore: parallel, cut at byte [^\n]*\n", b"", p.stderr)
    assert p.returncode == s.returncode, (p.stderr, s.stderr)
    assert p_err == s.stderr
    if s.returncode == 0:
        assert p_img.read_bytes() == s_img.read_bytes()
    else:
        # the superblock is zeroed: nothing takes the rest for metadata
        assert p_img.read_bytes()[:4096] == bytes(4096)
    if expect_status:
        assert status == expect_status, p.stderr
    return s.returncode, s.stderr.decode(), status


ERRORS_SECOND_HALF = {
    # name: (document, line to cut at, message)
    "era-order": (lambda: small_doc(ea_lines=['    <era block="%d" era="1"/>' % (b if b != 2500 else 2400)
                                              for b in range(3000)]),
                  rb'<era block="2000" ', r"out of order"),
    "era-future": (lambda: small_doc(ea_lines=['    <era block="%d" era="%d"/>' % (b, 9 if b == 2999 else 1)
                                               for b in range(3000)]),
                   rb'<era block="1500" ', r"greater than current_era"),
    "era-missing-at-cut": (lambda: small_doc(ea_lines=['    <era block="%d" era="1"/>' % b
                                                       for b in range(3000) if b != 1499]),
                           rb'<era block="1500" ', r"no entry for block 1499"),
    "era-dup-at-cut": (lambda: small_doc(ea_lines=['    <era block="%d" era="1"/>' % min(b, 1499)
                                                   for b in range(3000)]),
                       rb'<era block="1499" era="1"/>\n    <era block="1499" ', r"given twice"),
    "era-missing-end": (lambda: small_doc(ea_lines=['    <era block="%d" era="1"/>' % b for b in range(2999)]),
                        rb'<era block="1500" ', r"no entry for block 2999"),
    "bit-dup-at-cut": (lambda: small_doc().replace('<bit block="1001" ', '<bit block="1000" '),
                       rb'<bit block="1000" value="true"/>\n    <bit block="1000" ', r"given twice"),
    "bit-order": (lambda: small_doc().replace('<bit block="2001" ', '<bit block="20" '),
                  rb'<bit block="1000" ', r"out of order"),
    "bit-range": (lambda: small_doc().replace('<bit block="2999" value="true"/>',
                                              '<bit block="2999" value="true"/>\n    <bit block="3000" value="true"/>'),
                  rb'<bit block="1000" ', r"out of range"),
    "ws-dup": (lambda: small_doc().replace('<writeset era="5"', '<writeset era="4"'),
               rb'<marked block_begin="1500" ', r"given twice"),
    "unknown-element": (lambda: small_doc().replace('    <era block="2222" era="2"/>',
                                                    '    <foo/>\n    <era block="2222" era="2"/>'),
                        rb'<era block="1500" ', r"unknown element <foo>"),
    "not-well-formed": (lambda: small_doc().replace('    <era block="2222" era="2"/>', '    <era block="2222" era="2">'),
                        rb'<era block="1500" ', r"."),
    "truncated": (lambda: small_doc()[:-30], rb'<era block="1500" ', r"."),
    "truncated-at-line": (lambda: small_doc()[:small_doc().index('    <era block="2500"')], rb'<era block="1500" ',
                          r"truncated"),
    "first-half-error": (lambda: small_doc().replace('<bit block="200" value="true"/>', '<bit block="200" value="yes"/>'),
                         rb'<bit block="1000" ', r"not true or false"),
    "no-era-array": (lambda: small_doc(ea_lines=[]).replace('  <era_array>\n  </era_array>\n', ''),
                     rb'<bit block="1000" ', r"no <era_array>"),
}


@pytest.mark.parametrize("case", sorted(ERRORS_SECOND_HALF))
def test_errors_fall_back(case, tmp_path):
    make, cut, pattern = ERRORS_SECOND_HALF[case]
    rc, err, status = same_as_sequential(make(), tmp_path, cut, "failed, redone sequentially")
    assert rc == 1
    assert re.match(r"^era_restore: .*x\.xml:\d+:\d+: ", err), err
    assert re.search(pattern, err), err


def test_error_line_is_the_documents(tmp_path):
    """An error far into the second part is reported at its real line."""
    text = small_doc(ea_lines=['    <era block="%d" era="%d"/>' % (b, 9 if b == 2900 else 1) for b in range(3000)])
    rc, err, _ = same_as_sequential(text, tmp_path, rb'<era block="100" ')
    line = text.split("\n").index('    <era block="2900" era="9"/>') + 1
    assert ":%d:" % line in err, err


FALLBACK_OK = {
    # cuts that do not fit: redone sequentially, successfully
    "cut-in-comment": lambda: small_doc(ea_lines=['    <era block="%d" era="1"/>' % b for b in range(1400)] +
                                        ['    <!-- a comment over lines', '    <era block="7" era="3"/>', '    -->'] +
                                        ['    <era block="%d" era="1"/>' % b for b in range(1400, 3000)]),
    "context-in-comment": lambda: small_doc().replace(
        '<bit block="900" ', '<!-- <writeset era="3" nr_bits="3000"> -->\n    <bit block="900" '),
    "era-array-in-comment": lambda: small_doc().replace(
        '<bit block="900" ', '<!-- <era_array> -->\n    <bit block="900" '),
}


@pytest.mark.parametrize("case", sorted(FALLBACK_OK))
def test_unfit_cuts_fall_back(case, tmp_path):
    text = FALLBACK_OK[case]()
    cut = rb'<era block="7" era="3"/>' if case == "cut-in-comment" else rb'<bit block="1000" '
    rc, err, status = same_as_sequential(text, tmp_path, cut, "failed, redone sequentially")
    assert rc == 0 and err == "", err


def test_comment_and_pi_around_cut(tmp_path):
    """Comments and processing instructions (even one named like the
    marker) near the cut are fine."""
    text = small_doc().replace('<era block="1499" era="3"/>',
                               '<era block="1499" era="3"/><!-- c --><?era-split?>\n    <!-- d -->')
    rc, err, status = same_as_sequential(text, tmp_path, rb'<era block="1500" ')
    assert rc == 0, err


def test_stdin_pipe_is_sequential(tmp_path):
    xml = tmp_path / "m.xml"
    xml.write_text(small_doc())
    img = blank(tmp_path / "p.img")
    with open(xml, "rb") as f:
        data = f.read()
    r = run(["sh", "-c", 'cat "$1" | "$2" -i - -o "$3"', "sh", xml, run_tool.__globals__["tool_path"]("era_restore"),
             img], env=par_env())
    assert r.returncode == 0, r.stderr
    assert b"parallel" not in r.stderr
    assert img.read_bytes() == sequential_image(xml, tmp_path)
    assert data
