"""era_restore: round trips, acceptance by both checkers, the same metadata
as 1.1.0 writes, every XML error class, and output safety."""
import lzma
import random
import re
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import (blank, FIXTURE_NAMES, REPO, SAMPLES, fixture_image, have_tool, ref110, run, run_tool,
                      tool_path)


SAMPLE_XML = ["small", "three", "nows", "gap", "big"]
MiB = 1 << 20

pytestmark = pytest.mark.skipif(not have_tool("era_restore"), reason="bin/era_restore not built")


def sample_xml(name, tmp_path):
    p = SAMPLES / "xml" / f"{name}.xml"
    if p.exists():
        return p
    out = Path(tmp_path) / f"{name}.xml"
    with lzma.open(SAMPLES / "xml" / f"{name}.xml.xz") as f:
        out.write_bytes(f.read())
    return out


def restore(xml, out, *extra):
    return run_tool("era_restore", "-i", xml, "-o", out, *extra)


def dump_text(img):
    """Our era_dump if built, else 1.1.0's; None if neither."""
    if have_tool("era_dump"):
        r = run_tool("era_dump", img)
        assert r.returncode == 0, r.stderr
        return r.stdout
    p = ref110()
    if p:
        r = run([p, "era_dump", img])
        assert r.returncode == 0, r.stderr
        return r.stdout
    return None


def same_xml(a, b):
    # 1.1.0 writes no final newline, we write one
    return a.rstrip(b"\n") == b.rstrip(b"\n")


def check_clean(img):
    r = run_tool("era_check", img)
    assert r.returncode == 0, r.stderr.decode()
    assert r.stderr == b"" or b"error" not in r.stderr.lower(), r.stderr.decode()


@pytest.mark.parametrize("name", SAMPLE_XML)
def test_sample_round_trip(name, tmp_path):
    xml = sample_xml(name, tmp_path)
    img = blank(tmp_path / "out.img")
    r = restore(xml, img)
    assert r.returncode == 0, r.stderr
    assert r.stdout == b"" and r.stderr == b""
    check_clean(img)
    text = dump_text(img)
    if text is None:
        pytest.skip("no era_dump (ours or 1.1.0) to compare with")
    assert same_xml(text, xml.read_bytes())


@pytest.mark.parametrize("name", SAMPLE_XML)
def test_sample_same_metadata_as_110(name, tmp_path):
    """The same metadata as the image 1.1.0's era_restore wrote (our layout
    puts the era array first, so the blocks are elsewhere): the two dump
    alike."""
    if not have_tool("era_dump"):
        pytest.skip("bin/era_dump not built")
    ref_xz = SAMPLES / "img" / f"{name}.r110.img.xz"
    ref = tmp_path / "ref.img"
    with lzma.open(ref_xz) as f:
        ref.write_bytes(f.read())
    img = blank(tmp_path / "out.img", ref.stat().st_size)
    assert restore(sample_xml(name, tmp_path), img).returncode == 0
    assert dump_text(img) == dump_text(ref)


@pytest.mark.parametrize("name", [n for n in SAMPLE_XML if n != "gap"])
def test_110_accepts_our_output(name, tmp_path, need_ref110):
    xml = sample_xml(name, tmp_path)
    img = blank(tmp_path / "out.img")
    assert restore(xml, img).returncode == 0
    r = run([need_ref110, "era_check", img])
    assert r.returncode == 0, r.stderr
    r = run([need_ref110, "era_dump", img])
    assert r.returncode == 0, r.stderr
    assert same_xml(r.stdout, xml.read_bytes())


def test_multi_level_trees_match_110(tmp_path, need_ref110):
    """600,000 blocks: 590 era array blocks, so the era array's index has
    three leaves and an internal node; 19 array blocks per bitset. 1.1.0
    reads our image back to the input, and its image dumps as ours does."""
    xml = tmp_path / "mid.xml"
    run([sys.executable, REPO / "bench" / "gen_xml.py", "600000", "-o", xml], timeout=300).check_returncode()
    ours = blank(tmp_path / "ours.img", 64 * MiB)
    ref = blank(tmp_path / "ref.img", 64 * MiB)
    assert restore(xml, ours).returncode == 0
    assert run([need_ref110, "era_restore", "-i", xml, "-o", ref]).returncode == 0
    check_clean(ours)
    assert run([need_ref110, "era_check", ours]).returncode == 0
    r = run([need_ref110, "era_dump", ours])
    assert r.returncode == 0, r.stderr
    assert same_xml(r.stdout, xml.read_bytes())
    text = dump_text(ours)
    assert same_xml(text, xml.read_bytes())
    assert dump_text(ref) == text


@pytest.mark.parametrize("name", FIXTURE_NAMES)
def test_fixture_dump_round_trip(name, tmp_path):
    src = fixture_image(name, tmp_path)
    first = dump_text(src)
    if first is None:
        pytest.skip("no era_dump")
    xml = tmp_path / "d.xml"
    xml.write_bytes(first)
    img = blank(tmp_path / "out.img", src.stat().st_size)
    r = restore(xml, img)
    assert r.returncode == 0, r.stderr
    check_clean(img)
    assert same_xml(dump_text(img), first)
    p = ref110()
    if p:
        assert run([p, "era_check", img]).returncode == 0


def test_stdin(tmp_path):
    xml = sample_xml("small", tmp_path)
    img = blank(tmp_path / "out.img")
    with open(xml, "rb") as f:
        r = run([tool_path("era_restore"), "-i", "-", "-o", img], stdin=f)
    assert r.returncode == 0, r.stderr
    check_clean(img)


SB = '<superblock uuid="" block_size="128" nr_blocks="4" current_era="3">\n'
EA = ('  <era_array>\n    <era block="0" era="0"/>\n    <era block="1" era="1"/>\n'
      '    <era block="2" era="2"/>\n    <era block="3" era="3"/>\n  </era_array>\n')

ERROR_CASES = {
    "unknown-element": (SB + '  <foo/>\n' + EA + '</superblock>', r"unknown element <foo>"),
    "misplaced-element": (SB + EA + '  <era block="0" era="0"/>\n</superblock>', r"misplaced element <era>"),
    "ws-after-array": (SB + EA + '  <writeset era="3" nr_bits="4">\n  </writeset>\n</superblock>',
                       r"after <era_array>"),
    "missing-attr": (SB + '  <writeset era="3">\n  </writeset>\n' + EA + '</superblock>',
                     r"missing attribute 'nr_bits'"),
    "unknown-attr": (SB.replace('uuid=""', 'uuid="" foo="1"') + EA + '</superblock>',
                     r"unknown attribute 'foo'"),
    "non-numeric": (SB.replace('nr_blocks="4"', 'nr_blocks="four"') + EA + '</superblock>',
                    r"not a number"),
    "negative": (SB.replace('current_era="3"', 'current_era="-3"') + EA + '</superblock>', r"not a number"),
    "too-big": (SB.replace('nr_blocks="4"', 'nr_blocks="4294967296"') + EA + '</superblock>', r"not a number"),
    "bad-bool": (SB + '  <writeset era="3" nr_bits="4">\n    <bit block="0" value="yes"/>\n  </writeset>\n' + EA
                 + '</superblock>', r"not true or false"),
    "bit-out-of-range": (SB + '  <writeset era="3" nr_bits="4">\n    <bit block="4" value="true"/>\n'
                         '  </writeset>\n' + EA + '</superblock>', r"out of range"),
    "bit-order": (SB + '  <writeset era="3" nr_bits="4">\n    <bit block="2" value="true"/>\n'
                  '    <bit block="1" value="true"/>\n  </writeset>\n' + EA + '</superblock>', r"out of order"),
    "bit-dup": (SB + '  <writeset era="3" nr_bits="4">\n    <bit block="2" value="true"/>\n'
                '    <bit block="2" value="true"/>\n  </writeset>\n' + EA + '</superblock>', r"given twice"),
    "ws-era-future": (SB + '  <writeset era="4" nr_bits="4">\n  </writeset>\n' + EA + '</superblock>',
                      r"greater than current_era"),
    "ws-dup": (SB + '  <writeset era="3" nr_bits="4">\n  </writeset>\n  <writeset era="3" nr_bits="4">\n'
               '  </writeset>\n' + EA + '</superblock>', r"given twice"),
    "era-future": (SB + EA.replace('era="3"/>', 'era="4"/>') + '</superblock>', r"greater than current_era"),
    "era-dup": (SB + EA.replace('<era block="1" era="1"/>', '<era block="0" era="1"/>') + '</superblock>',
                r"given twice"),
    "era-order": (SB + EA.replace('block="1"', 'block="9"') + '</superblock>', r"out of range|out of order"),
    "era-missing": (SB + EA.replace('    <era block="3" era="3"/>\n', '') + '</superblock>',
                    r"no entry for block 3"),
    "era-gap": (SB + EA.replace('    <era block="1" era="1"/>\n', '') + '</superblock>', r"no entry for block 1"),
    "no-era-array": (SB + '</superblock>', r"no <era_array>"),
    "truncated": (SB + EA, r"truncated"),
    "truncated-mid": ((SB + EA)[:150], r"."),
    "garbage": ("garbage", r"."),
    "empty": ("", r"truncated|empty"),
    "not-well-formed": (SB + '  <era_array>\n  </writeset>\n</superblock>', r"."),
    "text": (SB + '  hello\n' + EA + '</superblock>', r"unexpected text"),
    "doctype": ('<!DOCTYPE superblock>\n' + SB + EA + '</superblock>', r"DOCTYPE"),
    "second-superblock": (SB + EA + '</superblock>\n' + SB + EA + '</superblock>', r"."),
    "cdata": (SB + '<![CDATA[x]]>' + EA + '</superblock>', r"CDATA|unexpected text"),
}


@pytest.mark.parametrize("case", sorted(ERROR_CASES))
def test_xml_errors(case, tmp_path):
    text, pattern = ERROR_CASES[case]
    xml = tmp_path / "bad.xml"
    xml.write_text(text)
    img = blank(tmp_path / "out.img")
    r = restore(xml, img)
    err = r.stderr.decode()
    assert r.returncode == 1, err
    assert re.match(r"^era_restore: %s:\d+:\d+: " % re.escape(str(xml)), err), err
    assert re.search(pattern, err), err
    assert err.count("\n") == 1, err
    with open(img, "rb") as f:
        assert f.read(4096) == bytes(4096)


def test_valid_bits_forms(tmp_path):
    """false bits past nr_bits (dumps list every block) and <marked> runs."""
    xml = tmp_path / "ok.xml"
    xml.write_text(SB + '  <writeset era="3" nr_bits="2">\n    <bit block="0" value="true"/>\n'
                   '    <bit block="3" value="false"/>\n  </writeset>\n'
                   '  <writeset era="2" nr_bits="4">\n    <marked block_begin="1" len="2"/>\n  </writeset>\n'
                   + EA + '<!-- a comment -->\n</superblock>')
    img = blank(tmp_path / "out.img")
    r = restore(xml, img)
    assert r.returncode == 0, r.stderr
    check_clean(img)
    text = dump_text(img)
    if text is not None:
        assert b'<writeset era="2" nr_bits="4">\n    <bit block="0" value="false"/>\n' \
               b'    <bit block="1" value="true"/>\n    <bit block="2" value="true"/>' in text


def test_failure_leaves_superblock_invalid(tmp_path):
    img = blank(tmp_path / "out.img")
    assert restore(sample_xml("small", tmp_path), img).returncode == 0
    check_clean(img)
    bad = tmp_path / "bad.xml"
    bad.write_text(SB + EA.replace('era="3"/>', 'era="9"/>') + '</superblock>')
    assert restore(bad, img).returncode == 1
    with open(img, "rb") as f:
        assert f.read(4096) == bytes(4096)
    assert run_tool("era_check", img).returncode != 0


def test_output_too_small(tmp_path):
    img = blank(tmp_path / "tiny.img", 8192)
    r = restore(sample_xml("small", tmp_path), img)
    assert r.returncode == 3
    assert b"needs 45056 bytes" in r.stderr, r.stderr
    assert b"\n" == r.stderr[-1:] and r.stderr.count(b"\n") == 1
    with open(img, "rb") as f:
        assert f.read() == bytes(8192)


def test_output_too_small_for_writesets(tmp_path):
    """Room for the era array but not the writesets: the exact size is
    still reported, and the result is exactly enough."""
    xml = sample_xml("big", tmp_path)
    img = blank(tmp_path / "small.img", 64 * 4096)
    r = restore(xml, img)
    assert r.returncode == 3
    m = re.search(rb"needs (\d+) bytes", r.stderr)
    assert m, r.stderr
    need = int(m.group(1))
    img2 = blank(tmp_path / "exact.img", need)
    assert restore(xml, img2).returncode == 0
    check_clean(img2)
    img3 = blank(tmp_path / "less.img", need - 4096)
    assert restore(xml, img3).returncode == 3


def test_output_missing(tmp_path):
    r = restore(sample_xml("small", tmp_path), tmp_path / "nope.img")
    assert r.returncode == 3  # EXIT_IO: cannot open the output
    assert b"does not exist" in r.stderr
    assert not (tmp_path / "nope.img").exists()


def test_output_is_input(tmp_path):
    xml = tmp_path / "x.xml"
    xml.write_bytes(sample_xml("small", tmp_path).read_bytes() + b" " * 8192)
    before = xml.read_bytes()
    r = restore(xml, xml)
    assert r.returncode == 3  # EXIT_IO: the output is refused
    assert b"same file" in r.stderr
    assert xml.read_bytes() == before


def test_output_with_signature_needs_force(tmp_path):
    img = blank(tmp_path / "fs.img", 4 * MiB)
    # an ext4 superblock magic at 1080 is enough for libblkid? use mkswap's
    # signature instead: "SWAPSPACE2" at the end of the first 4 KiB page
    with open(img, "r+b") as f:
        f.seek(4096 - 10)
        f.write(b"SWAPSPACE2")
        f.seek(1024)
        f.write((1).to_bytes(4, "little") + (1023).to_bytes(4, "little"))
    r = restore(sample_xml("small", tmp_path), img)
    if r.returncode == 0:
        pytest.skip("libblkid did not recognise the test signature")
    assert r.returncode == 3 and b"--force" in r.stderr, r.stderr
    r = restore(sample_xml("small", tmp_path), img, "--force")
    assert r.returncode == 0, r.stderr
    check_clean(img)


def test_help_version():
    r = run_tool("era_restore", "--help")
    assert r.returncode == 0 and b"Usage:" in r.stdout
    r = run_tool("era_restore", "-V")
    assert r.returncode == 0 and r.stdout
    r = run_tool("era_restore", "-i", "x")
    assert r.returncode == 2


def random_xml(seed):
    rnd = random.Random(seed)
    nr_blocks = rnd.choice([1, 2, 63, 64, 65, 100, 509 * 64 + 1, rnd.randint(1, 5000)])
    current = rnd.randint(0, 20)
    nr_ws = rnd.randint(0, min(4, current + 1))
    out = ['<superblock uuid="" block_size="%d" nr_blocks="%d" current_era="%d">'
           % (rnd.choice([8, 128, 1024]), nr_blocks, current)]
    density = rnd.random()
    for era in range(current - nr_ws + 1, current + 1):
        out.append('  <writeset era="%d" nr_bits="%d">' % (era, nr_blocks))
        for b in range(nr_blocks):
            out.append('    <bit block="%d" value="%s"/>' % (b, "true" if rnd.random() < density else "false"))
        out.append('  </writeset>')
    out.append('  <era_array>')
    # no entry newer than the oldest writeset, as the kernel keeps it: XML
    # whose era the digest would lower is refused (test_digest_safety.py)
    oldest = current - nr_ws + 1 if nr_ws else current
    for b in range(nr_blocks):
        out.append('    <era block="%d" era="%d"/>' % (b, min(rnd.randint(0, current), oldest)))
    out.append('  </era_array>')
    out.append('</superblock>')
    return "\n".join(out)


@pytest.mark.parametrize("seed", range(12))
def test_random_round_trip(seed, tmp_path):
    text = random_xml(seed)
    xml = tmp_path / ("seed%d.xml" % seed)
    xml.write_text(text)
    img = blank(tmp_path / "out.img")
    r = restore(xml, img)
    assert r.returncode == 0, "seed %d: %s" % (seed, r.stderr)
    check_clean(img)
    dumped = dump_text(img)
    if dumped is None:
        pytest.skip("no era_dump")
    assert same_xml(dumped, text.encode()), "seed %d: round trip differs (xml kept in %s)" % (seed, xml)
