"""Command-line contract of every tool in bin/ (issue 7).

Help and version on stdout with status 0; usage errors on stderr with
status 1; bad inputs (missing, directory, empty, zeros, random bytes,
/dev/null, unreadable) give a one-line message naming the path and status 1,
never a crash and never output on stdout; no tool writes over its input; a
closed output pipe ends a dump quietly with status 141. Tools not built yet
are skipped.
"""
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from conftest import sparse_copy, FIXTURE_NAMES, fixture_image, have_tool, tool_path

TIMEOUT = 20
ALL_TOOLS = ["era_check", "era_dump", "era_invalidate", "era_restore", "era_repair", "era_metadata_size"]
# tools that read a metadata image given as the last argument
IMAGE_READERS = ["era_check", "era_dump", "era_invalidate", "era_repair"]
ENV = dict(os.environ, LC_ALL="C")


def need(tool):
    if not have_tool(tool):
        pytest.skip(f"{tool} not built")
    return tool_path(tool)


def run(args, timeout=TIMEOUT, env=ENV, **kw):
    return subprocess.run([str(a) for a in args], capture_output=True, timeout=timeout, env=env, **kw)


def no_crash(r):
    assert 0 <= r.returncode < 128 or r.returncode == 141, \
        f"crashed with status {r.returncode}: {r.stderr.decode()[-1000:]}"


def read_args(tool, path, tmp_path):
    """Arguments that make `tool` read `path` as its metadata input."""
    if tool == "era_invalidate":
        return ["--written-since", "0", path]
    if tool == "era_repair":
        out = tmp_path / "repair-out.meta"
        if not out.exists():
            with open(out, "wb") as f:
                f.truncate(4 << 20)
        return ["-i", path, "-o", out]
    return [path]


def good_args(tool, tmp_path):
    if tool == "era_metadata_size":
        return ["--nr-blocks", "1024"]
    if tool == "era_restore":
        xml = tmp_path / "in.xml"
        xml.write_text('<superblock uuid="" block_size="128" nr_blocks="4" current_era="1">\n'
                       '  <era_array>\n' + ''.join(f'    <era block="{b}" era="0"/>\n' for b in range(4)) +
                       '  </era_array>\n</superblock>\n')
        out = tmp_path / "restore-out.meta"
        with open(out, "wb") as f:
            f.truncate(4 << 20)
        return ["-i", xml, "-o", out]
    return read_args(tool, fixture_image("fresh", tmp_path), tmp_path)


# --- help, version, usage errors -------------------------------------------

@pytest.mark.parametrize("tool", ALL_TOOLS)
@pytest.mark.parametrize("opt", ["-h", "--help"])
def test_help(tool, opt):
    r = run([need(tool), opt])
    assert r.returncode == 0, r.stderr
    assert b"Usage:" in r.stdout or b"usage:" in r.stdout
    assert r.stderr == b""


@pytest.mark.parametrize("tool", ALL_TOOLS)
@pytest.mark.parametrize("opt", ["-V", "--version"])
def test_version(tool, opt):
    r = run([need(tool), opt])
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() and r.stdout.endswith(b"\n")
    assert r.stderr == b""


@pytest.mark.parametrize("tool", ALL_TOOLS)
def test_unknown_option(tool, tmp_path):
    r = run([need(tool), "--no-such-option", *good_args(tool, tmp_path)])
    assert r.returncode == 2, r
    assert r.stdout == b""
    assert b"Usage:" in r.stderr or b"usage:" in r.stderr


@pytest.mark.parametrize("tool", ALL_TOOLS)
def test_no_arguments(tool):
    r = run([need(tool)])
    assert r.returncode == 2, r
    assert r.stdout == b""
    assert r.stderr.strip()


@pytest.mark.parametrize("tool", ["era_restore", "era_repair"])
@pytest.mark.parametrize("drop", ["-i", "-o"])
def test_missing_io_option(tool, drop, tmp_path):
    args = good_args(tool, tmp_path)
    k = args.index(drop)
    del args[k:k + 2]
    r = run([need(tool), *args])
    assert r.returncode == 2, r
    assert r.stdout == b"" and r.stderr.strip()


@pytest.mark.parametrize("tool", ["era_check", "era_dump", "era_invalidate"])
def test_too_many_arguments(tool, tmp_path):
    args = good_args(tool, tmp_path)
    r = run([need(tool), *args, args[-1]])
    assert r.returncode == 2, r
    assert r.stdout == b"" and r.stderr.strip()


def test_invalidate_needs_written_since(tmp_path):
    r = run([need("era_invalidate"), fixture_image("fresh", tmp_path)])
    assert r.returncode == 2 and r.stdout == b"" and b"written-since" in r.stderr


@pytest.mark.parametrize("value", ["-1", "abc", "", "4294967296", "1x"])
def test_invalidate_bad_era(value, tmp_path):
    r = run([need("era_invalidate"), "--written-since", value, fixture_image("fresh", tmp_path)])
    assert r.returncode == 2 and r.stdout == b"" and r.stderr.strip()


@pytest.mark.parametrize("tool", ALL_TOOLS)
def test_good_run(tool, tmp_path):
    """The baseline the error cases below differ from."""
    r = run([need(tool), *good_args(tool, tmp_path)])
    assert r.returncode == 0, r.stderr.decode()


# --- bad inputs -------------------------------------------------------------

def make_input(kind, tmp_path):
    p = tmp_path / f"input-{kind}"
    if kind == "missing":
        return tmp_path / "does-not-exist"
    if kind == "directory":
        p.mkdir()
    elif kind == "empty":
        p.write_bytes(b"")
    elif kind == "zeros-4k":
        p.write_bytes(bytes(4096))
    elif kind == "zeros-1m":
        p.write_bytes(bytes(1 << 20))
    elif kind == "random":
        p.write_bytes(bytes((i * 1103515245 + 12345) >> 16 & 0xff for i in range(64 * 1024)))
    elif kind == "devnull":
        return Path("/dev/null")
    elif kind == "short":
        p.write_bytes(b"\x01" * 1000)
    return p


BAD_INPUTS = ["missing", "directory", "empty", "zeros-4k", "zeros-1m", "random", "devnull", "short"]
# A file that cannot be opened or read is an I/O failure (3); one that can
# but holds no usable metadata (or XML) is damage (1).
UNREADABLE = ("missing", "directory", "devnull")  # devnull: a character device, refused


def bad_input_status(kind):
    return 3 if kind in UNREADABLE else 1


@pytest.mark.parametrize("kind", BAD_INPUTS)
@pytest.mark.parametrize("tool", IMAGE_READERS)
def test_bad_metadata_input(tool, kind, tmp_path):
    exe = need(tool)
    p = make_input(kind, tmp_path)
    before = p.read_bytes() if p.is_file() else None
    r = run([exe, *read_args(tool, p, tmp_path)])
    no_crash(r)
    assert r.returncode == bad_input_status(kind), f"exit {r.returncode}: {r.stderr.decode()}"
    assert r.stdout == b"", r.stdout[:200]
    err = r.stderr.decode()
    assert err.strip(), "failed without a message"
    assert str(p) in err, f"message does not name the path: {err}"
    assert len(err.strip().splitlines()) <= 2, f"expected a one-line error: {err}"
    if before is not None:
        assert p.read_bytes() == before


@pytest.mark.parametrize("kind", BAD_INPUTS)
def test_bad_xml_input(kind, tmp_path):
    exe = need("era_restore")
    p = make_input(kind, tmp_path)
    out = tmp_path / "out.meta"
    with open(out, "wb") as f:
        f.truncate(4 << 20)
    r = run([exe, "-i", p, "-o", out])
    no_crash(r)
    # XML is read from any file: /dev/null is an empty document (damage)
    want = 1 if kind == "devnull" else bad_input_status(kind)
    assert r.returncode == want, f"exit {r.returncode}: {r.stderr.decode()}"
    assert r.stdout == b""
    assert r.stderr.strip()


@pytest.mark.parametrize("tool", IMAGE_READERS)
def test_unreadable_input(tool, tmp_path):
    """A file the user may not read. chmod 000 does not stop root (it has
    CAP_DAC_OVERRIDE), so as root the tool is run as 'nobody' through
    setpriv on a world-visible file of mode 000; without setpriv: skipped."""
    exe = need(tool)
    d = Path(tempfile.mkdtemp(prefix="era-unreadable-"))
    try:
        os.chmod(d, 0o755)
        p = d / "meta"
        sparse_copy(fixture_image("fresh", tmp_path), p)
        os.chmod(p, 0)
        prefix = []
        if os.geteuid() == 0:
            setpriv = shutil.which("setpriv")
            if not setpriv:
                pytest.skip("running as root and setpriv is missing: chmod 000 cannot stop root")
            prefix = [setpriv, "--reuid=65534", "--regid=65534", "--clear-groups"]
            if run([*prefix, exe, "--version"]).returncode != 0:
                pytest.skip(f"{exe} is not executable as nobody (its directory is private)")
        args = read_args(tool, p, d)
        if tool == "era_repair":
            os.chmod(d / "repair-out.meta", 0o666)
        r = run([*prefix, exe, *args])
        no_crash(r)
        assert r.returncode == 3, r
        assert r.stdout == b""
        assert str(p) in r.stderr.decode() and b"ermission denied" in r.stderr, r.stderr
    finally:
        shutil.rmtree(d, ignore_errors=True)


# --- never write over the input ---------------------------------------------

@pytest.mark.parametrize("tool", ["era_dump", "era_invalidate"])
@pytest.mark.parametrize("form", ["same", "symlink", "dotdot"])
def test_output_over_input_refused(tool, form, tmp_path):
    exe = need(tool)
    img = fixture_image("fresh", tmp_path)
    before = img.read_bytes()
    if form == "same":
        out = img
    elif form == "symlink":
        out = tmp_path / "link"
        out.symlink_to(img)
    else:
        (tmp_path / "sub").mkdir()
        out = tmp_path / "sub" / ".." / img.name
    args = ["--written-since", "0"] if tool == "era_invalidate" else []
    r = run([exe, *args, "-o", out, img])
    assert r.returncode == 3, r  # EXIT_IO: the output is refused
    assert r.stderr.strip()
    assert img.read_bytes() == before, "the input was overwritten"


def test_repair_output_over_input_refused(tmp_path):
    exe = need("era_repair")
    img = fixture_image("fresh", tmp_path)
    before = img.read_bytes()
    r = run([exe, "-i", img, "-o", img])
    assert r.returncode == 3, r  # EXIT_IO: the output is refused
    assert r.stderr.strip()
    assert img.read_bytes() == before


def test_restore_output_over_input_refused(tmp_path):
    exe = need("era_restore")
    xml = tmp_path / "in.xml"
    text = ('<superblock uuid="" block_size="128" nr_blocks="4" current_era="1">\n'
            '  <era_array>\n  </era_array>\n</superblock>\n')
    xml.write_text(text + " " * 50000)  # large enough to pass an output size check
    r = run([exe, "-i", xml, "-o", xml])
    assert r.returncode == 3, r  # EXIT_IO: the output is refused
    assert xml.read_text() == text + " " * 50000


# --- closed pipe --------------------------------------------------------------

def test_dump_closed_pipe(tmp_path):
    exe = need("era_dump")
    name = "large" if "large" in FIXTURE_NAMES else FIXTURE_NAMES[-1]
    img = fixture_image(name, tmp_path)
    r = subprocess.run(["bash", "-c", f"'{exe}' '{img}' 2>'{tmp_path}/err' | head -c 100 >/dev/null; "
                        "echo ${PIPESTATUS[0]}"], capture_output=True, timeout=60, env=ENV)
    assert r.stdout.decode().strip() == "141"
    assert (tmp_path / "err").read_bytes() == b""


def test_dump_closed_pipe_popen(tmp_path):
    """Reader closes its end after 100 bytes, without a shell in between."""
    exe = need("era_dump")
    name = "large" if "large" in FIXTURE_NAMES else FIXTURE_NAMES[-1]
    img = fixture_image(name, tmp_path)
    p = subprocess.Popen([exe, str(img)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=ENV)
    assert len(p.stdout.read(100)) == 100
    p.stdout.close()
    err = p.stderr.read()
    assert p.wait(timeout=60) == 141
    assert err == b""


# --- stable, locale-independent messages ----------------------------------------

@pytest.mark.parametrize("tool", IMAGE_READERS)
def test_messages_locale_independent(tool, tmp_path):
    exe = need(tool)
    p = make_input("missing", tmp_path)
    outs = set()
    for loc in ("C", "de_DE.UTF-8", "fr_FR.UTF-8", "C.UTF-8"):
        env = dict(os.environ, LC_ALL=loc, LANG=loc, LANGUAGE="de:fr")
        r = run([exe, *read_args(tool, p, tmp_path)], env=env)
        outs.add((r.returncode, r.stdout, r.stderr))
    assert len(outs) == 1, outs


@pytest.mark.parametrize("tool", ALL_TOOLS)
def test_help_locale_independent(tool):
    exe = need(tool)
    a = run([exe, "--help"])
    b = run([exe, "--help"], env=dict(os.environ, LC_ALL="de_DE.UTF-8", LANG="de_DE.UTF-8"))
    assert a.stdout == b.stdout and a.returncode == b.returncode


# ---------------------------------------------------------------- one vocabulary (issue 15)

HELP_COLUMN = 35   # where every tool's option descriptions start


def help_lines(tool):
    r = run([need(tool), "--help"])
    assert r.returncode == 0 and r.stderr == b""
    return r.stdout.decode().splitlines()


@pytest.mark.parametrize("tool", ALL_TOOLS)
def test_help_layout(tool):
    """Usage line, one-line description, "Options:", then -h, -q, -V first
    and every description in one column, nothing past 80 columns; a note
    may follow after a blank line."""
    lines = help_lines(tool)
    assert lines[0].startswith(f"Usage: {tool} [options]"), lines[0]
    assert lines[1] and not lines[1].startswith(" ") and lines[1].endswith("."), lines[1]
    assert lines[2] == "Options:"
    opts = []
    for line in lines[3:]:
        if line == "":
            break
        assert len(line) <= 80, line
        if line.startswith(("  -", "      --")):
            assert line[HELP_COLUMN - 2:HELP_COLUMN] == "  " and line[HELP_COLUMN] != " ", line
            opts.append(line[2:HELP_COLUMN].split()[0:2])
        else:
            # a description continued: same column
            assert line[:HELP_COLUMN].strip() == "" and line[HELP_COLUMN] != " ", line
    assert opts[:3] == [["-h,", "--help"], ["-q,", "--quiet"], ["-V,", "--version"]], opts[:3]


def test_dump_help_claims_no_repair():
    text = "\n".join(help_lines("era_dump"))
    line = [x for x in text.splitlines() if "--repair" in x][0]
    assert "Tolerate damage" in line and "changes nothing" in text
    assert "Repair the metadata" not in text


@pytest.mark.parametrize("tool", ALL_TOOLS)
def test_quiet_silences_errors(tool, tmp_path):
    """-q and --quiet: a failing run prints nothing and keeps its status."""
    bad = tmp_path / "missing.meta"
    args = {"era_metadata_size": ["--nr-blocks", "0"],
            "era_restore": ["-i", bad, "-o", tmp_path / "out.meta"]}.get(tool) or read_args(tool, bad, tmp_path)
    loud = run([need(tool), *args])
    assert loud.returncode != 0 and loud.stderr != b""
    for q in ("-q", "--quiet"):
        r = run([need(tool), q, *args])
        assert r.returncode == loud.returncode and r.stderr == b"" and r.stdout == b"", (q, r.stderr)


@pytest.mark.parametrize("tool", ["era_dump", "era_invalidate", "era_metadata_size"])
def test_quiet_keeps_results(tool, tmp_path):
    """-q hushes messages, not the result on stdout."""
    args = good_args(tool, tmp_path) if tool == "era_metadata_size" else \
        read_args(tool, fixture_image("eras", tmp_path), tmp_path)
    plain = run([need(tool), *args])
    quiet = run([need(tool), "-q", *args])
    assert plain.returncode == 0 and quiet.returncode == 0 and quiet.stdout == plain.stdout != b""


@pytest.mark.parametrize("tool", ["era_dump", "era_invalidate"])
@pytest.mark.parametrize("spelling", ["-m", "--metadata-snapshot", "--metadata-snap"])
def test_metadata_snapshot_spellings(tool, spelling, tmp_path):
    """Both readers take -m, --metadata-snapshot and the old --metadata-snap:
    the same answer for each; on an image with no snapshot held, the same
    message."""
    held = tmp_path / "snap.meta"
    src = fixture_image("snap_held", tmp_path) if "snap_held" in FIXTURE_NAMES else None
    if src is None:
        pytest.skip("no snap_held fixture")
    sparse_copy(src, held)
    extra = ["--written-since", "0"] if tool == "era_invalidate" else []
    ref = run([need(tool), "--metadata-snapshot", *extra, held])
    assert ref.returncode == 0, ref.stderr
    r = run([need(tool), spelling, *extra, held])
    assert r.returncode == 0 and r.stdout == ref.stdout, (spelling, r.stderr)
    none = run([need(tool), spelling, *extra, fixture_image("eras", tmp_path)])
    assert none.returncode != 0 and b"no metadata snapshot is held" in none.stderr


@pytest.mark.parametrize("tool", IMAGE_READERS)
def test_xml_input_names_era_restore(tool, tmp_path):
    """An XML dump given where metadata is expected: say so, not 'bad magic'."""
    xml = tmp_path / "dump.xml"
    r = run([need("era_dump"), "-o", xml, fixture_image("eras", tmp_path)])
    assert r.returncode == 0
    for path in (xml, tmp_path / "bom.xml"):
        if path.name == "bom.xml":
            path.write_bytes(b"\xef\xbb\xbf\n  " + xml.read_bytes())
        r = run([need(tool), *read_args(tool, path, tmp_path)])
        err = r.stderr.decode()
        assert r.returncode != 0
        assert f"this looks like XML: did you mean era_restore -i {path}?" in err, err
        assert "bad magic" not in err
    # anything else that is not metadata still gets the magic number
    other = tmp_path / "text"
    other.write_bytes(b"not xml at all\n" * 400)
    r = run([need(tool), *read_args(tool, other, tmp_path)])
    assert "bad magic" in r.stderr.decode() and "XML" not in r.stderr.decode()
