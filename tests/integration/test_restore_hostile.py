"""era_restore on hostile XML (issue 13, findings 8 and 9): memory bounded by
what the output needs, whichever path parses; parse time linear in the
input (long attributes, many attributes and long runs are refused early);
and the two-thread path never recognises its cut by text the document can
hold: it gives what the single-thread parse gives, exit status, messages
and bytes."""
import re
import subprocess
import time

import pytest

import conftest
from conftest import run_tool, have_tool, tool_path

pytestmark = pytest.mark.skipif(not have_tool("era_restore"), reason="bin/era_restore not built")

MiB = 1 << 20
SEQ = {"ERA_RESTORE_PARALLEL_MIN": str(1 << 62)}
PAR = {"ERA_RESTORE_PARALLEL_MIN": "0", "ERA_RESTORE_DEBUG": "1"}
DEBUG_RE = rb"era_restore: parallel(, cut at byte \d+: [^\n]*|: no cut found, sequential)\n"


def blank(path, size=8 * MiB):
    """conftest's, 8 MiB unless said (this file's outputs)."""
    return conftest.blank(path, size)


def timed(xml, img, env, timeout=120):
    """Runs era_restore under /usr/bin/time: (result, seconds, peak RSS in KiB)."""
    stats = img.parent / (img.name + ".time")
    t0 = time.monotonic()
    r = subprocess.run(["/usr/bin/time", "-f", "%M", "-o", str(stats), tool_path("era_restore"),
                        "-i", str(xml), "-o", str(img)], capture_output=True, timeout=timeout,
                       env=dict(env, LC_ALL="C"))
    secs = time.monotonic() - t0
    return r, secs, int(stats.read_text().split()[-1])


def restore_secs(xml, tmp_path, env=None):
    """era_restore of XML into a blank 8 MiB o.img: (result, seconds)."""
    img = blank(tmp_path / "o.img")
    t0 = time.monotonic()
    r = run_tool("era_restore", "-i", xml, "-o", img, env=env)
    return r, time.monotonic() - t0


def sb(nr_blocks):
    return '<superblock uuid="" block_size="128" nr_blocks="%d" current_era="9">\n' % nr_blocks


def era_array(nr_blocks):
    return "  <era_array>\n" + "".join('    <era block="%d" era="1"/>\n' % b for b in range(nr_blocks)) + \
        "  </era_array>\n"


needs_time = pytest.mark.skipif(not __import__("os").access("/usr/bin/time", __import__("os").X_OK),
                                reason="/usr/bin/time missing")


# ---- finding 8: memory ----

@needs_time
@pytest.mark.parametrize("env", [SEQ, PAR], ids=["one-thread", "two-threads"])
def test_writeset_bigger_than_output_refused_before_allocating(tmp_path, env):
    """180 bytes of XML, one writeset of 2^31-1 bits: 268 MB of bitmap,
    which an 8 MiB output cannot hold: refused up front, in a few MB."""
    xml = tmp_path / "w.xml"
    xml.write_text(sb(16) + '  <writeset era="1" nr_bits="2147483647">\n  </writeset>\n' + era_array(16) +
                   "</superblock>\n")
    img = blank(tmp_path / "o.img")
    r, secs, rss = timed(xml, img, env)
    assert r.returncode == 3, r.stderr  # EXIT_IO: the output is too small
    err = re.sub(DEBUG_RE, b"", r.stderr)
    assert re.fullmatch(rb"era_restore: [^\n]*o\.img: output too small: writeset era 1 of 2147483647 bits "
                        rb"needs \d+ bytes of bitset blocks, the output has 8388608\n", err), err
    assert rss < 32 * 1024, rss
    assert img.read_bytes()[:4096] == bytes(4096)


@needs_time
def test_bits_past_nr_blocks_are_written_not_held(tmp_path):
    """A writeset of 2^30 bits over 16 blocks (as after a shrink): the
    bitset is written whole (128 MiB of it on the output), but only the 16
    blocks' bits are held in memory."""
    xml = tmp_path / "w.xml"
    xml.write_text(sb(16) + '  <writeset era="1" nr_bits="1073741824">\n'
                   '    <bit block="3" value="true"/>\n    <bit block="20" value="false"/>\n  </writeset>\n' +
                   era_array(16) + "</superblock>\n")
    img = blank(tmp_path / "o.img", 160 * MiB)
    r, secs, rss = timed(xml, img, SEQ)
    assert r.returncode == 0, r.stderr
    assert rss < 48 * 1024, rss   # the whole bitmap would be 128 MiB
    d = run_tool("era_dump", img)
    assert d.returncode == 0, d.stderr
    assert b'<writeset era="1" nr_bits="1073741824">' in d.stdout
    assert b'<bit block="3" value="true"/>' in d.stdout or b'block_begin="3" len="1"' in d.stdout


def eight_writesets(nr_bits, pad_to):
    """Eight writesets of nr_bits bits over 16 blocks, each all set by one
    <marked>, padded with short comments to pad_to bytes (a cut in the
    middle gives the second thread half of them)."""
    per = max(0, (pad_to - 2000) // 8 // 40)
    s = sb(16)
    for era in range(1, 9):
        s += '  <writeset era="%d" nr_bits="%d">\n' % (era, nr_bits)
        s += '    <marked block_begin="0" len="%d"/>\n' % nr_bits
        s += "".join("    <!-- padding padding padding -->\n" for _ in range(per))
        s += "  </writeset>\n"
    return s + era_array(16) + "</superblock>\n"


@needs_time
@pytest.mark.parametrize("env", [SEQ, PAR], ids=["one-thread", "two-threads"])
def test_eight_full_writesets_small_output(tmp_path, env):
    """Finding 8: eight writesets of 2^31-1 bits, all marked (1.1 MB of
    XML), took 2.37 GB on the two-thread path. An 8 MiB output holds none
    of them: refused at once, whichever path."""
    xml = tmp_path / "w.xml"
    xml.write_text(eight_writesets(2147483647, 1100 * 1024))
    img = blank(tmp_path / "o.img")
    r, secs, rss = timed(xml, img, env)
    assert r.returncode == 3, r.stderr  # EXIT_IO: the output is too small
    assert b"output too small: writeset era 1 of 2147483647 bits" in r.stderr, r.stderr
    assert rss < 32 * 1024, rss
    assert secs < 10


@needs_time
def test_eight_full_writesets_two_threads_bounded(tmp_path):
    """Eight writesets of 2^27 bits (16 MiB of bitmap each) onto an output
    that holds them: the second thread may not keep every bitmap until the
    join; past its bound the restore is redone in one thread (which holds
    one at a time). Same image as the single-thread restore."""
    xml = tmp_path / "w.xml"
    xml.write_text(eight_writesets(1 << 27, 1100 * 1024))
    s_img = blank(tmp_path / "s.img", 320 * MiB)
    s, _, s_rss = timed(xml, s_img, SEQ)
    assert s.returncode == 0, s.stderr
    p_img = blank(tmp_path / "p.img", 320 * MiB)
    p, _, p_rss = timed(xml, p_img, PAR)
    assert p.returncode == 0, p.stderr
    assert b"failed, redone sequentially: second: the second part would hold too many writeset bitmaps" \
        in p.stderr, p.stderr
    assert s_rss < 40 * 1024, s_rss
    # 16 MiB in the first thread, at most 2 x (16 blocks) + 32 MiB in the second
    assert p_rss < 72 * 1024, p_rss   # all eight held: 128 MiB
    with open(s_img, "rb") as a, open(p_img, "rb") as b:
        while True:
            x, y = a.read(MiB), b.read(MiB)
            assert x == y
            if not x:
                break


# ---- finding 8: time ----

def attribute_doc(path, value_len):
    with open(path, "w") as f:
        f.write(sb(16) + '  <writeset era="1" nr_bits="16">\n    <bit block="')
        chunk = "1" * MiB
        for _ in range(value_len // MiB):
            f.write(chunk)
        f.write('" value="true"/>\n  </writeset>\n' + era_array(16) + "</superblock>\n")


@pytest.mark.parametrize("mb", [50, 100])
@pytest.mark.parametrize("env", [SEQ, PAR], ids=["one-thread", "two-threads"])
def test_long_attribute_refused_quickly(tmp_path, mb, env):
    """A 50 MB attribute value took 8 s, 100 MB 35 s (quadratic)."""
    xml = tmp_path / "a.xml"
    attribute_doc(xml, mb * MiB)
    r, secs = restore_secs(xml, tmp_path, env)
    assert r.returncode == 1, r.stderr
    err = re.sub(DEBUG_RE, b"", r.stderr)
    assert re.fullmatch(rb"era_restore: [^\n]*a\.xml:3:5: a tag, comment or text run of more than 65536 bytes "
                        rb"\(an era XML line has ~40\)\n", err), err
    assert secs < 3, secs


@pytest.mark.parametrize("env", [SEQ, PAR], ids=["one-thread", "two-threads"])
def test_many_attributes_refused_quickly(tmp_path, env):
    """200k attributes on one element took 15 s (pairwise checks)."""
    xml = tmp_path / "a.xml"
    xml.write_text(sb(16) + '  <writeset era="1" nr_bits="16">\n    <bit ' +
                   " ".join('a%d=""' % i for i in range(200000)) + '/>\n  </writeset>\n' + era_array(16) +
                   "</superblock>\n")
    r, secs = restore_secs(xml, tmp_path, env)
    assert r.returncode == 1, r.stderr
    err = re.sub(DEBUG_RE, b"", r.stderr)
    # the 17th '=' of the <bit> tag
    at = xml.read_bytes().index(b"<bit ")
    at = [m.start() for m in re.finditer(b"=", xml.read_bytes()[at:])][16] + at
    assert err.endswith(b"a.xml: more than 16 '=' in one tag at byte %d (an era XML element has at most "
                        b"4 attributes)\n" % at), err
    assert secs < 3, secs


@pytest.mark.parametrize("fill", [" ", "x"])
def test_long_text_run(tmp_path, fill):
    """Text between elements: a long run of blanks is parsed as it comes
    (linear, accepted), anything else is refused at its first bytes."""
    xml = tmp_path / "a.xml"
    xml.write_text(sb(16) + fill * (50 * MiB) + '  <writeset era="1" nr_bits="16">\n  </writeset>\n' +
                   era_array(16) + "</superblock>\n")
    r, secs = restore_secs(xml, tmp_path)
    assert secs < 3
    if fill == " ":
        assert r.returncode == 0, r.stderr
    else:
        assert r.returncode == 1
        assert re.search(rb"a\.xml:\d+:\d+: unexpected text 'x{20}' in <superblock>\n$", r.stderr), r.stderr


def test_comments_and_pis_may_hold_equals(tmp_path):
    """The '=' bound is for tags: comments and processing instructions may
    hold any number (a banner of '=' is common)."""
    xml = tmp_path / "a.xml"
    xml.write_text("<!-- " + "=" * 300 + " -->\n<?banner " + "=" * 300 + "?>\n" + sb(16) +
                   '  <writeset era="1" nr_bits="16">\n  <!-- a=1 b=2 ' + "= " * 100 + '-->\n'
                   '    <bit block="3" value="true"/>\n  </writeset>\n' + era_array(16) + "</superblock>\n")
    img = blank(tmp_path / "o.img")
    r = run_tool("era_restore", "-i", xml, "-o", img)
    assert r.returncode == 0, r.stderr


def test_doctype_still_refused(tmp_path):
    xml = tmp_path / "a.xml"
    xml.write_text('<!DOCTYPE superblock [<!ENTITY a "1">]>\n' + sb(16) + era_array(16) + "</superblock>\n")
    r = run_tool("era_restore", "-i", xml, "-o", blank(tmp_path / "o.img"))
    assert r.returncode == 1
    assert b"a DOCTYPE declaration is not allowed" in r.stderr, r.stderr


# ---- finding 9: the cut is the parser's, never the text's ----

def pi_doc(n=3000, ws_trick=True, ea_trick=False):
    """A valid document (n blocks) with its own <?era-split?> and, around
    the middle, a processing instruction whose text holds a <bit> (or
    <era>) line and ends where a PI inside that line would: a parser that
    starts inside it sees a different, still well-formed document."""
    lines = [sb(n).rstrip("\n"), '  <writeset era="5" nr_bits="%d">' % n]
    for b in range(n):
        if ws_trick and b == n // 2:
            # the single-thread parse gives no bit for this block (clear)
            lines.append('    <?era-split?><?x')
            lines.append('    <bit block="%d" value="true"/><?y ?>' % b)
            continue
        lines.append('    <bit block="%d" value="%s"/>' % (b, "true" if b % 3 == 0 else "false"))
    lines.append('  </writeset>')
    lines.append('  <era_array>')
    for b in range(n):
        if ea_trick and b == n // 2:
            # the single-thread parse sees no entry for this block
            lines.append('    <?era-split?><?x')
            lines.append('    <era block="%d" era="1"/><?y ?>' % b)
            continue
        lines.append('    <era block="%d" era="1"/>' % b)
    lines.append('  </era_array>')
    lines.append('</superblock>')
    return "\n".join(lines) + "\n"


def fake_line(data, tag):
    """Offset of the '<' of the line inside the PI."""
    return data.index(b"<?x\n") + 4 + data[data.index(b"<?x\n") + 4:].index(tag)


@pytest.mark.parametrize("where", ["at", "before"])
def test_split_pi_and_straddling_pi_in_writeset(tmp_path, where):
    """Finding 9: restored with exit 0 and a different bit. Now the first
    thread's parser is inside the PI at that offset: the cut is refused and
    the restore redone in one thread (or cut elsewhere): same image."""
    text = pi_doc()
    xml = tmp_path / "x.xml"
    xml.write_text(text)
    data = text.encode()
    at = fake_line(data, b"<bit ")
    s_img = blank(tmp_path / "s.img")
    s = run_tool("era_restore", "-i", xml, "-o", s_img, env=SEQ)
    assert s.returncode == 0, s.stderr
    p_img = blank(tmp_path / "p.img")
    p = run_tool("era_restore", "-i", xml, "-o", p_img,
                 env=dict(PAR, ERA_RESTORE_CUT_AT=str(at if where == "at" else at - 30)))
    assert p.returncode == 0, p.stderr
    m = re.search(rb"cut at byte (\d+): ([^;:]*)", p.stderr)
    assert m, p.stderr
    assert int(m.group(1)) == at
    assert m.group(2) == b"failed, redone sequentially", p.stderr
    assert p_img.read_bytes() == s_img.read_bytes()
    # the bit the PI holds is not set (the blocks around it are)
    d = run_tool("era_dump", p_img)
    assert d.returncode == 0
    assert b'<bit block="1500" value="true"/>' not in d.stdout
    assert b'<bit block="1500" value="false"/>' in d.stdout
    assert b'<bit block="1503" value="true"/>' in d.stdout


def test_split_pi_in_era_array_not_accepted(tmp_path):
    """Finding 9: the same trick in the era array made the two-thread path
    accept a document the single-thread parse rejects."""
    text = pi_doc(ws_trick=False, ea_trick=True)
    xml = tmp_path / "x.xml"
    xml.write_text(text)
    at = fake_line(text.encode(), b"<era ")
    s = run_tool("era_restore", "-i", xml, "-o", blank(tmp_path / "s.img"), env=SEQ)
    assert s.returncode == 1
    assert b"era_array: no entry for block 1500" in s.stderr, s.stderr
    p_img = blank(tmp_path / "p.img")
    p = run_tool("era_restore", "-i", xml, "-o", p_img, env=dict(PAR, ERA_RESTORE_CUT_AT=str(at)))
    assert p.returncode == 1, p.stderr
    assert re.sub(DEBUG_RE, b"", p.stderr) == s.stderr
    assert p_img.read_bytes()[:4096] == bytes(4096)


@pytest.mark.parametrize("trick", ["comment", "cdata", "pi-crlf"])
def test_cut_inside_other_markup(tmp_path, trick):
    """Tag-like lines inside a comment, CDATA or a PI (CRLF line ends) are
    never a cut: whatever the candidate, the result is the single-thread
    one."""
    n = 2000
    nl = "\r\n" if trick == "pi-crlf" else "\n"
    open_, close = {"comment": ("<!--", "-->"), "cdata": ("<![CDATA[", "]]>"), "pi-crlf": ("<?z", "?>")}[trick]
    lines = [sb(n).rstrip("\n"), '  <writeset era="5" nr_bits="%d">' % n]
    for b in range(n):
        if b == n // 2:
            lines += ["    " + open_, '    <bit block="%d" value="true"/>' % (b + 1), "    " + close]
        lines.append('    <bit block="%d" value="false"/>' % b)
    lines += ['  </writeset>', era_array(n).rstrip("\n"), '</superblock>']
    text = nl.join(lines) + nl
    xml = tmp_path / "x.xml"
    xml.write_bytes(text.encode())
    data = xml.read_bytes()
    at = data.index(open_.encode()) + data[data.index(open_.encode()):].index(b"<bit ")
    s_img = blank(tmp_path / "s.img")
    s = run_tool("era_restore", "-i", xml, "-o", s_img, env=SEQ)
    p_img = blank(tmp_path / "p.img")
    p = run_tool("era_restore", "-i", xml, "-o", p_img, env=dict(PAR, ERA_RESTORE_CUT_AT=str(at)))
    assert p.returncode == s.returncode, (p.stderr, s.stderr)
    assert re.sub(DEBUG_RE, b"", p.stderr) == s.stderr
    assert b"cut at byte %d: failed, redone sequentially" % at in p.stderr, p.stderr
    if s.returncode == 0:
        assert p_img.read_bytes() == s_img.read_bytes()


@pytest.mark.parametrize("form", ["lf", "crlf", "decl", "comments", "tabs"])
def test_cut_kept_in_ordinary_documents(tmp_path, form):
    """The confirmation costs nothing on ordinary documents: the two
    threads' work is kept (same image as one thread) whatever the line
    ends, an XML declaration, comments and PIs around the cut."""
    n = 3000
    nl = "\r\n" if form == "crlf" else "\n"
    ind = "\t" if form == "tabs" else "    "
    head = '<?xml version="1.0" encoding="UTF-8"?>' + nl if form == "decl" else ""
    lines = [head + sb(n).rstrip("\n"), '  <writeset era="5" nr_bits="%d">' % n]
    for b in range(n):
        if form == "comments" and b % 100 == 0:
            lines.append(ind + "<!-- <bit block=\"%d\" value=\"true\"/> --><?pi x=1?>" % b)
        lines.append(ind + '<bit block="%d" value="%s"/>' % (b, "true" if b % 5 == 0 else "false"))
    lines += ['  </writeset>', '  <era_array>']
    lines += [ind + '<era block="%d" era="%d"/>' % (b, b % 5) for b in range(n)]
    lines += ['  </era_array>', '</superblock>']
    xml = tmp_path / "x.xml"
    xml.write_bytes((nl.join(lines) + nl).encode())
    data = xml.read_bytes()
    s_img = blank(tmp_path / "s.img")
    assert run_tool("era_restore", "-i", xml, "-o", s_img, env=SEQ).returncode == 0
    for tag in (b'<bit block="1234" ', b'<era block="2000" '):
        at = data.index(tag)
        p_img = blank(tmp_path / "p.img")
        p = run_tool("era_restore", "-i", xml, "-o", p_img, env=dict(PAR, ERA_RESTORE_CUT_AT=str(at)))
        assert p.returncode == 0, p.stderr
        assert b"cut at byte %d: ok" % at in p.stderr, p.stderr
        assert p_img.read_bytes() == s_img.read_bytes()


def tricky_doc(n, nl):
    """n blocks; around every 10th line, comments, PIs (one of them
    <?era-split?>), CDATA of blanks and fake context tags that hold
    <bit>/<era>/<writeset> lines."""
    L = [sb(n).rstrip("\n"), '  <writeset era="4" nr_bits="%d">' % n]
    for b in range(0, n, 3):
        L.append('    <marked block_begin="%d" len="2"/>' % b)
        if b % 30 == 0:
            L.append('    <!--\n    <bit block="%d" value="true"/>\n    -->' % (b + 1))
    L += ['  </writeset>', '  <writeset era="5" nr_bits="%d">' % n]
    for b in range(n):
        L.append('    <bit block="%d" value="%s"/>' % (b, "true" if b % 7 else "false"))
        if b % 10 == 0:
            L.append('    <?era-split?><?x\n    <bit block="%d" value="true"/><?y ?><![CDATA[ ]]>' % (b + 1))
        if b % 25 == 0:
            L.append('    <!-- <writeset era="4" nr_bits="%d"> -->' % n)
    L.append('  </writeset>')
    L.append('  <era_array>')
    for b in range(n):
        L.append('    <era block="%d" era="%d"/>' % (b, b % 4))
        if b % 10 == 0:
            L.append('    <?x\n    <era block="%d" era="5"/>?><!-- <era_array> -->' % (b + 1))
    L += ['  </era_array>', '</superblock>']
    return (nl.join(L) + nl).replace("\n", nl) if nl != "\n" else nl.join(L) + nl


@pytest.mark.parametrize("nl", ["\n", "\r\n"], ids=["lf", "crlf"])
def test_every_cut_matches_single_thread(tmp_path, nl):
    """Every candidate cut (each line start) of a document full of
    comments, PIs and tag-like text: the two-thread restore gives the
    single-thread image, and keeps its work where the cut is real."""
    xml = tmp_path / "t.xml"
    xml.write_bytes(tricky_doc(120, nl).replace("\r\r\n", "\r\n").encode())
    data = xml.read_bytes()
    s_img = blank(tmp_path / "s.img")
    s = run_tool("era_restore", "-i", xml, "-o", s_img, env=SEQ)
    assert s.returncode == 0, s.stderr
    want = s_img.read_bytes()
    kept = redone = 0
    for m in re.finditer(rb"\n", data):
        p_img = blank(tmp_path / "p.img")
        p = run_tool("era_restore", "-i", xml, "-o", p_img, env=dict(PAR, ERA_RESTORE_CUT_AT=str(m.start() + 1)))
        assert p.returncode == 0, (m.start(), p.stderr)
        assert p_img.read_bytes() == want, m.start()
        kept += b": ok;" in p.stderr
        redone += b"redone sequentially" in p.stderr
    # most lines are real cuts; the ones inside comments and PIs are not
    assert kept > 100 and redone > 20, (kept, redone)


def test_conversion_error_is_one_line(tmp_path):
    """A declared encoding the bytes do not follow: libxml2 raises that
    without a parser context; it is the restore's one error line, never
    libxml2's own lines on stderr."""
    xml = tmp_path / "e.xml"
    xml.write_bytes(b'<?xml version="1.0" encoding="UTF-7"?>\n' + sb(16).encode() +
                    b"<!-- \xbf\xff\xff\xff -->\n" + era_array(16).encode() + b"</superblock>\n")
    for env in (SEQ, dict(PAR)):
        r = run_tool("era_restore", "-i", xml, "-o", blank(tmp_path / "o.img"), env=env)
        assert r.returncode == 1
        err = re.sub(DEBUG_RE, b"", r.stderr)
        assert re.fullmatch(rb"era_restore: [^\n]*e\.xml: input conversion failed due to input error, "
                            rb"bytes 0xBF 0xFF 0xFF 0xFF\n", err), err
