"""Diagnostics a user or a script can act on (issue 14): the right file is
named, JSON output is valid on every path, and the exit status says which
kind of failure it was (0 clean, 1 damage, 2 usage, 3 I/O, 4 non-fatal)."""
import json
import re
import os
import resource
import signal
import subprocess

import pytest

from conftest import blank, SAMPLES, fixture_image, run, run_tool, tool_path


# --- the wrong file named -------------------------------------------------------

def test_repair_empty_input_names_the_input(tmp_path):
    src = tmp_path / "empty.meta"
    src.write_bytes(b"")
    out = blank(tmp_path / "out.meta", 4 << 20)
    r = run_tool("era_repair", "-i", src, "-o", out)
    assert r.returncode == 1
    err = r.stderr.decode()
    assert err.count("\n") == 1, err
    assert err.startswith(f"era_repair: {src}: block 0: superblock: "), err
    assert str(out) not in err and "skipped" not in err


def test_restore_input_read_error_names_the_input(tmp_path):
    """A directory opens but cannot be read: the input's read error."""
    out = blank(tmp_path / "out.meta", 4 << 20)
    r = run_tool("era_restore", "-i", tmp_path, "-o", out)
    assert r.returncode == 3
    assert r.stderr == f"era_restore: {tmp_path}: read failed: Is a directory\n".encode()


def era_array_xml(path, nr):
    with open(path, "w") as f:
        f.write(f'<superblock uuid="" block_size="128" nr_blocks="{nr}" current_era="2">\n  <era_array>\n')
        f.writelines(f'    <era block="{i}" era="1"/>\n' for i in range(nr))
        f.write("  </era_array>\n</superblock>\n")
    return path


@pytest.mark.parametrize("parallel", ["1", "1000000000"])
def test_restore_output_write_error_names_the_output(parallel, tmp_path):
    """A write that fails while the XML is parsed (RLIMIT_FSIZE: EFBIG) is
    the output's error, not a position in the XML."""
    xml = era_array_xml(tmp_path / "in.xml", 1018 * 40)
    out = blank(tmp_path / "out.meta", 8 << 20)

    def limit():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (65536, 65536))

    env = dict(os.environ, ERA_RESTORE_PARALLEL_MIN=parallel)
    r = subprocess.run([tool_path("era_restore"), "-i", str(xml), "-o", str(out)], capture_output=True,
                       preexec_fn=limit, env=env, timeout=60)
    assert r.returncode == 3, r.stderr
    assert r.stderr == f"era_restore: {out}: write failed: File too large\n".encode()


# --- JSON on every path -----------------------------------------------------------

def test_check_json_escapes_the_path(tmp_path):
    d = tmp_path / 'a"b\\c'
    d.mkdir()
    img = fixture_image("fresh", d)
    r = run_tool("era_check", "--format", "json", img)
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["file"] == str(img) and doc["clean"] is True


@pytest.mark.parametrize("case,status", [
    ("unknown-option", 2), ("no-input", 2), ("missing", 3), ("directory", 3), ("bad-format", 2)])
def test_check_json_on_failure_before_the_check(case, status, tmp_path):
    args = {"unknown-option": ["--no-such-option", tmp_path / "x"],
            "no-input": [],
            "missing": [tmp_path / "missing"],
            "directory": [tmp_path],
            "bad-format": ["--format", "yaml", tmp_path / "x"]}[case]
    fmt = ["--format=json"] if case == "bad-format" else ["--format", "json"]
    r = run_tool("era_check", *fmt, *args)
    assert r.returncode == status, r.stderr
    doc = json.loads(r.stdout)
    assert doc["clean"] is False and doc["exit_status"] == status
    assert doc["error"] and doc["error"] in r.stderr.decode()


def test_check_json_file_not_metadata(tmp_path):
    """Openable but not metadata: the full object, with the problem."""
    p = tmp_path / "zeros"
    p.write_bytes(bytes(4096))
    r = run_tool("era_check", "--format", "json", p)
    assert r.returncode == 1
    doc = json.loads(r.stdout)
    assert doc["errors"] == 1 and len(doc["problems"]) == 1 and doc["clean"] is False


@pytest.mark.parametrize("case,status", [("unknown-option", 2), ("missing", 3), ("bad-era", 2),
                                         ("damaged", 1)])
def test_invalidate_json_on_failure(case, status, tmp_path):
    zeros = tmp_path / "zeros"
    zeros.write_bytes(bytes(8192))
    args = {"unknown-option": ["--no-such-option", "--written-since", "1", zeros],
            "missing": ["--written-since", "1", tmp_path / "missing"],
            "bad-era": ["--written-since", "x", zeros],
            "damaged": ["--written-since", "1", zeros]}[case]
    r = run_tool("era_invalidate", "--format", "json", *args)
    assert r.returncode == status, r.stderr
    doc = json.loads(r.stdout)
    assert doc["exit_status"] == status and doc["error"] in r.stderr.decode()
    r = run_tool("era_invalidate", *args)
    assert r.returncode == status and r.stdout == b""


# --- exit statuses -------------------------------------------------------------------

def test_check_nonfatal_only_is_4(tmp_path):
    """A leaked block (a bitmap count nothing refers to) is non-fatal."""
    img = fixture_image("fresh", tmp_path)
    damage = os.path.join(os.path.dirname(tool_path("x")), "..", "build", "era_damage")
    if not os.access(damage, os.X_OK):
        pytest.skip("build/era_damage not built")
    subprocess.run([damage, str(img), "sm-leak"], check=True, capture_output=True)
    assert run_tool("era_check", img).returncode == 4
    assert run_tool("era_check", "-q", img).returncode == 4
    assert run_tool("era_check", "--ignore-non-fatal-errors", img).returncode == 0
    doc = json.loads(run_tool("era_check", "--format", "json", img).stdout)
    assert doc["non_fatal_errors"] >= 1 and doc["errors"] == 0 and doc["clean"] is False


@pytest.mark.parametrize("tool,args", [
    ("era_dump", ["--metadata-snap=x"]),
    ("era_metadata_size", ["-n", "x"]),
    ("era_restore", ["-i", "a"]),
    ("era_repair", ["-o", "b"]),
])
def test_usage_errors_are_2(tool, args, tmp_path):
    r = run_tool(tool, *args, tmp_path / "x") if tool == "era_dump" else run_tool(tool, *args)
    assert r.returncode == 2, r.stderr
    assert r.stderr.strip() and r.stdout == b""


def test_no_snapshot_held_is_1(tmp_path):
    img = fixture_image("fresh", tmp_path)
    r = run_tool("era_dump", "--metadata-snap", img)
    assert r.returncode == 1 and b"no metadata snapshot is held" in r.stderr


# --- messages in the user's terms, and what to do next -------------------------------

def damaged(kind, tmp_path, name="eras"):
    damage = os.path.join(os.path.dirname(tool_path("x")), "..", "build", "era_damage")
    if not os.access(damage, os.X_OK):
        pytest.skip("build/era_damage not built")
    img = fixture_image(name, tmp_path)
    r = subprocess.run([damage, str(img), kind], capture_output=True)
    assert r.returncode == 0, r.stderr
    return img


def era_array_root_zeroed(tmp_path):
    """The eras fixture with its era array's root block (superblock offset
    208) zeroed: (image, that block)."""
    img = fixture_image("eras", tmp_path)
    with open(img, "r+b") as f:
        f.seek(208)
        root = int.from_bytes(f.read(8), "little")
        f.seek(root * 4096)
        f.write(bytes(4096))
    return img, root


def test_check_names_the_era_array_and_the_origin_blocks_lost(tmp_path):
    """Zeroing the era array's root: the messages say era array, and which
    origin blocks' eras are gone; the last line says how to recover."""
    img, root = era_array_root_zeroed(tmp_path)
    r = run_tool("era_check", img)
    assert r.returncode == 1
    lines = r.stderr.decode().splitlines()
    assert lines[0] == f"era_check: {img}: error: block {root}: btree node: checksum mismatch " \
                       f"(stored 0x00000000, computed 0x58cc7e82) [era array]"
    assert lines[1].endswith(": array: blocks 0..4 missing (array of 4096 entries) "
                             "[era array: the eras of origin blocks 0..4095 are lost]")
    assert lines[-1] == f"era_check: {img}: damaged metadata: do not activate it; copy what can be read " \
                        f"onto a new device with 'era_repair -i {img} -o NEW_DEVICE' (era_repair(8))"
    doc = json.loads(run_tool("era_check", "--format", "json", img).stdout)
    p = doc["problems"][1]
    assert p["structure"] == "era array" and p["origin_blocks"] == {"begin": 0, "end": 4096}
    assert doc["next_step"] == lines[-1].split(": ", 2)[2]


@pytest.mark.parametrize("tool,args", [("era_dump", []), ("era_invalidate", ["--written-since", "3"])])
def test_read_tool_stopped_by_damage_says_where_and_what_next(tool, args, tmp_path):
    """era_dump and era_invalidate stop on the damage era_check reports: one
    line with the file, the block, the structure and lost origin blocks, and
    the next step era_check gives."""
    img, root = era_array_root_zeroed(tmp_path)
    r = run_tool(tool, *args, img)
    assert r.returncode == 1    # (era_dump has streamed what came before, as 1.1.0 does)
    assert r.stderr.decode() == (
        f"{tool}: {img}: block {root}: btree node: checksum mismatch (stored 0x00000000, computed "
        f"0x58cc7e82) [era array]; damaged metadata: do not activate it; copy what can be read onto a "
        f"new device with 'era_repair -i {img} -o NEW_DEVICE' (era_repair(8))\n")


def test_check_names_the_writeset_by_era(tmp_path):
    img = damaged("nr-bits", tmp_path)
    r = run_tool("era_check", img)
    assert r.returncode == 1
    assert re.search(rb"error: block \d+: array block 0: nr_entries 64, expected 33 \[writeset of era 8\]\n",
                     r.stderr), r.stderr
    doc = json.loads(run_tool("era_check", "--format", "json", img).stdout)
    assert [p["structure"] for p in doc["problems"] if p["severity"] == "error"] == ["writeset of era 8"]


def test_check_unusable_superblock_points_at_a_backup(tmp_path):
    img = damaged("sb-csum", tmp_path)
    r = run_tool("era_check", img)
    assert r.returncode == 1
    lines = r.stderr.decode().splitlines()
    assert len(lines) == 2 and ": error: block 0: superblock: checksum mismatch" in lines[0]
    assert lines[1].endswith("restore the metadata from an era_dump backup with "
                             "'era_restore -i BACKUP.xml -o NEW_DEVICE'")


def test_check_clean_has_no_next_step(tmp_path):
    img = fixture_image("eras", tmp_path)
    r = run_tool("era_check", img)
    assert (r.returncode, r.stderr) == (0, b"")
    assert "next_step" not in json.loads(run_tool("era_check", "--format", "json", img).stdout)


def test_check_json_out_of_memory_is_a_whole_object(tmp_path):
    """A space map of 4,161,600 blocks (a 16 GiB sparse file) needs 16 MiB
    of reference counts; under a 12 MiB address-space limit the check
    cannot finish: one message, and a complete JSON object that says so."""
    img = tmp_path / "huge.meta"
    with open(img, "wb") as f:
        f.truncate(16 << 30)
    assert run_tool("era_restore", "-i", SAMPLES / "xml" / "small.xml", "-o", img).returncode == 0

    def limit():
        resource.setrlimit(resource.RLIMIT_AS, (12 << 20, 12 << 20))

    r = subprocess.run([tool_path("era_check"), "--format", "json", str(img)], capture_output=True,
                       preexec_fn=limit, timeout=60)
    assert r.returncode == 1
    assert r.stderr == f"era_check: {img}: out of memory for 4161600 reference counts\n".encode()
    doc = json.loads(r.stdout)
    assert doc["error"] == "out of memory for 4161600 reference counts"
    assert doc["clean"] is False and doc["exit_status"] == 1


def test_repair_names_the_structure_it_skips(tmp_path):
    img, root = era_array_root_zeroed(tmp_path)
    out = blank(tmp_path / "out.meta", 8 << 20)
    r = run_tool("era_repair", "-i", img, "-o", out)
    assert r.returncode == 0
    lines = r.stderr.decode().splitlines()
    assert lines[0] == f"era_repair: {img}: block {root}: btree node: checksum mismatch " \
                       f"(stored 0x00000000, computed 0x58cc7e82) [era array] (skipped)"
    assert lines[1].endswith("[era array: the eras of origin blocks 0..4095 are lost] (skipped)")
    assert lines[2] == f"era_repair: {out}: 4096 unreadable era array entries set to the current era"


@pytest.mark.parametrize("tool,args", [
    ("era_dump", []), ("era_invalidate", ["--written-since", "0"]),
    ("era_invalidate", ["--format", "json", "--written-since", "0"]),
    ("era_check", ["--format", "json"]), ("era_metadata_size", ["-n", "100"])])
def test_output_write_error_is_3(tool, args, tmp_path):
    """Standard output on a full device: an I/O failure, said once."""
    img = [] if tool == "era_metadata_size" else [fixture_image("eras", tmp_path)]
    with open("/dev/full", "wb") as full:
        r = subprocess.run([tool_path(tool), *args, *map(str, img)], stdout=full, stderr=subprocess.PIPE,
                           timeout=60)
    assert r.returncode == 3
    assert r.stderr == f"{tool}: standard output: No space left on device\n".encode()


def test_long_message_is_not_cut(tmp_path):
    """A message longer than the JSON copy keeps (512 bytes) is printed
    whole: a 600-character path and what is wrong with it."""
    path = tmp_path / ("d" * 250) / ("e" * 250) / "missing.meta"
    r = run_tool("era_check", path)
    assert r.returncode == 3
    assert r.stderr.decode() == f"era_check: {path}: No such file or directory\n"
    assert len(r.stderr) > 512
