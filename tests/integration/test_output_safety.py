"""No tool writes where it must not (issue 13, findings 6, 7 and 10).

6: an output that reaches the input by another name (standard input, a loop
   device and its backing file, a second device node), a mounted device, and
   --force onto the backing file of a mounted loop device are refused, and
   the input's bytes stay as they were.
7: a failed era_dump/era_invalidate -o FILE leaves the previous FILE byte
   for byte (the new one is written beside it and renamed over it).
10: metadata readers refuse a FIFO or a character device at once instead of
   waiting in open() for a writer; nr_blocks >= 2^31 is refused with the
   kernel's reason by every reader, by era_restore and by era_metadata_size.

Loop devices come from `losetup -f --show` on sparse files and are detached
in finally blocks; a test that needs losetup, mknod or mount skips, saying
why, where the sandbox does not allow them."""
import contextlib
import os
import shutil
import stat
import struct
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from conftest import blank, block_csum, fixture_image, have_tool, run, sha256, tool_path

EXIT_DAMAGE, EXIT_IO = 1, 3
MiB = 1 << 20


def tool(name, *args, **kw):
    if not have_tool(name):
        pytest.skip(f"{name} not built")
    return run([tool_path(name), *args], timeout=60, **kw)


def refused(r, path, why):
    """An output refusal: EXIT_IO, nothing on stdout, one line naming the path and why."""
    err = r.stderr.decode()
    assert r.returncode == EXIT_IO, f"exit {r.returncode}: {err}"
    assert r.stdout == b""
    assert len(err.strip().splitlines()) == 1, err
    assert f": {path}: " in err, f"message does not name {path}: {err}"
    assert why in err, f"expected {why!r} in: {err}"


@contextlib.contextmanager
def loop_device(backing):
    if not shutil.which("losetup"):
        pytest.skip("losetup is not installed")
    r = subprocess.run(["losetup", "-f", "--show", str(backing)], capture_output=True, text=True)
    if r.returncode:
        pytest.skip(f"losetup is not permitted here: {r.stderr.strip()}")
    dev = r.stdout.strip()
    try:
        yield dev
    finally:
        subprocess.run(["losetup", "-d", dev], capture_output=True)


@contextlib.contextmanager
def mounted(dev, where):
    """Read-only, so the file system's bytes cannot change by themselves."""
    where.mkdir()
    r = subprocess.run(["mount", "-o", "ro", dev, str(where)], capture_output=True, text=True)
    if r.returncode:
        pytest.skip(f"mount is not permitted here: {r.stderr.strip()}")
    try:
        yield where
    finally:
        subprocess.run(["umount", str(where)], capture_output=True)


def ext4_image(path, size=32 * MiB):
    if not shutil.which("mkfs.ext4"):
        pytest.skip("mkfs.ext4 is not installed")
    with open(path, "wb") as f:
        f.truncate(size)
    r = subprocess.run(["mkfs.ext4", "-q", "-F", "-E", "lazy_itable_init=0,lazy_journal_init=0", str(path)],
                       capture_output=True, text=True)
    if r.returncode:
        pytest.skip(f"mkfs.ext4 failed: {r.stderr.strip()}")
    return path


def tmp_files(d):
    return sorted(p.name for p in Path(d).iterdir() if p.name.startswith("."))


# --- 6: writes over the input by an alias ------------------------------------

def test_restore_stdin_is_the_output(tmp_path):
    """era_restore -i - -o X < X"""
    x = fixture_image("eras", tmp_path)
    before = sha256(x)
    with open(x, "rb") as stdin:
        r = tool("era_restore", "-i", "-", "-o", x, stdin=stdin)
    refused(r, x, "over the input standard input (the same file)")
    assert sha256(x) == before


def test_restore_stdin_pipe_still_works(tmp_path):
    xml = tool("era_dump", fixture_image("eras", tmp_path)).stdout
    out = blank(tmp_path / "new.meta")
    r = tool("era_restore", "-i", "-", "-o", out, input=xml)
    assert r.returncode == 0, r.stderr
    assert tool("era_dump", out).stdout == xml


def test_repair_loop_input_onto_its_backing_file(tmp_path):
    """era_repair -i /dev/loopN -o <its backing file>"""
    img = fixture_image("eras", tmp_path)
    before = sha256(img)
    with loop_device(img) as dev:
        r = tool("era_repair", "-i", dev, "-o", img)
        refused(r, img, f"over the input {dev} (the input is a loop device backed by this file)")
        with open(dev, "rb") as stdin:
            r = tool("era_restore", "-i", "-", "-o", img, stdin=stdin)
        refused(r, img, "(the input is a loop device backed by this file)")
        # the backing file is known by device and inode: a rename changes nothing
        moved = tmp_path / "moved.meta"
        img.rename(moved)
        r = tool("era_repair", "-i", dev, "-o", moved)
        refused(r, moved, "(the input is a loop device backed by this file)")
        r = tool("era_dump", "-o", moved, fixture_image("fresh", tmp_path))
        refused(r, moved, f"is the backing file of loop device {dev}")
        moved.rename(img)
    assert sha256(img) == before


def test_repair_file_input_onto_a_loop_device_over_it(tmp_path):
    img = fixture_image("eras", tmp_path)
    before = sha256(img)
    with loop_device(img) as dev:
        r = tool("era_repair", "-i", img, "-o", dev)
        refused(r, dev, "(this is a loop device backed by the input)")
        with loop_device(img) as dev2:
            r = tool("era_repair", "-i", dev, "-o", dev2)
            refused(r, dev2, "(both are loop devices over the same file)")
    assert sha256(img) == before


@pytest.mark.parametrize("name", ["era_dump", "era_invalidate"])
def test_dump_onto_backing_file_of_input_loop(name, tmp_path):
    """era_dump -o <backing file of the input loop device>: was truncated, then unlinked."""
    img = fixture_image("eras", tmp_path)
    before = sha256(img)
    args = ["--written-since", "0"] if name == "era_invalidate" else []
    with loop_device(img) as dev:
        r = tool(name, *args, "-o", img, dev)
        refused(r, img, f"over the input {dev} (the input is a loop device backed by this file)")
        assert img.exists() and sha256(img) == before
        # and the other way round: the input file, the output its loop device
        r = tool(name, *args, "-o", dev, img)
        refused(r, dev, "(this is a loop device backed by the input)")
    assert sha256(img) == before


def test_dump_onto_second_device_node(tmp_path):
    """mknod of the input device's major:minor: the same-file check ignored st_rdev."""
    img = fixture_image("eras", tmp_path)
    before = sha256(img)
    with loop_device(img) as dev:
        node = tmp_path / "node2"
        try:
            os.mknod(node, 0o600 | stat.S_IFBLK, os.stat(dev).st_rdev)
        except OSError as e:
            pytest.skip(f"mknod is not permitted here: {e}")
        rdev = os.stat(dev).st_rdev
        why = f"(the same block device {os.major(rdev)}:{os.minor(rdev)})"
        refused(tool("era_dump", "-o", node, dev), node, why)
        refused(tool("era_invalidate", "--written-since", "0", "-o", dev, node), dev, why)
    assert sha256(img) == before


def test_dump_stdout_is_the_input(tmp_path):
    """`era_dump IN >> IN`: standard output is checked like -o."""
    img = fixture_image("eras", tmp_path)
    before = sha256(img)
    with open(img, "ab") as out:
        r = subprocess.run([tool_path("era_dump"), img], stdout=out, stderr=subprocess.PIPE, timeout=60)
    assert r.returncode == EXIT_IO, r.stderr
    assert f"era_dump: standard output: refusing to write over the input {img} (the same file)".encode() \
        in r.stderr, r.stderr
    assert sha256(img) == before


@pytest.mark.parametrize("name", ["era_dump", "era_invalidate"])
def test_dump_onto_mounted_device(name, tmp_path):
    """era_dump -o <mounted ext4 device>: dump outputs had neither O_EXCL nor the signature check."""
    meta = fixture_image("eras", tmp_path)
    fs = ext4_image(tmp_path / "fs.img")
    args = ["--written-since", "0"] if name == "era_invalidate" else []
    with loop_device(fs) as dev:
        with mounted(dev, tmp_path / "mnt") as mnt:
            before = sha256(fs)
            r = tool(name, *args, "-o", dev, meta)
            refused(r, dev, f"device is in use: mounted on {mnt}")
            assert sha256(fs) == before
        # unmounted, the ext4 signature still stops it
        before = sha256(fs)
        r = tool(name, *args, "-o", dev, meta)
        refused(r, dev, "holds a signature of type ext4")
        assert sha256(fs) == before
        # and a dump never replaces the file a loop device reads from
        r = tool(name, *args, "-o", fs, meta)
        refused(r, fs, f"is the backing file of loop device {dev}")
        assert sha256(fs) == before


@pytest.mark.parametrize("name", ["era_restore", "era_repair"])
def test_force_onto_backing_file_of_mounted_loop(name, tmp_path):
    """--force skips the signature check only: never the file under a mounted loop device."""
    meta = fixture_image("eras", tmp_path)
    xml = tmp_path / "in.xml"
    xml.write_bytes(tool("era_dump", meta).stdout)
    src = xml if name == "era_restore" else meta
    fs = ext4_image(tmp_path / "fs.img")
    with loop_device(fs) as dev:
        with mounted(dev, tmp_path / "mnt") as mnt:
            before = sha256(fs)
            r = tool(name, "--force", "-i", src, "-o", fs)
            refused(r, fs, f"is the backing file of {dev}, which is mounted on {mnt}")
            r = tool(name, "--force", "-i", src, "-o", dev)
            refused(r, dev, "in use")
            assert sha256(fs) == before
        # not mounted, the loop device idle: --force writes the file as asked
        r = tool(name, "--force", "-i", src, "-o", fs)
        assert r.returncode == 0, r.stderr
    assert tool("era_check", fs).returncode == 0


def test_force_onto_disk_with_mounted_partition(tmp_path):
    """A whole disk whose partition is mounted (older kernels let O_EXCL of the
    disk succeed then): refused whatever the force."""
    img = tmp_path / "disk.img"
    with open(img, "wb") as f:
        f.truncate(34 * MiB)
        mbr = bytearray(512)
        mbr[446:462] = bytes([0, 0, 0, 0, 0x83, 0, 0, 0]) + struct.pack("<II", 2048, 32 * 2048)
        mbr[510:512] = b"\x55\xaa"
        f.write(mbr)
    xml = tmp_path / "in.xml"
    xml.write_bytes(tool("era_dump", fixture_image("eras", tmp_path)).stdout)
    with loop_device(img) as dev:
        part = dev + "p1"
        if shutil.which("partx"):
            subprocess.run(["partx", "-a", dev], capture_output=True)
        if not os.path.exists(part):
            pytest.skip(f"no partition device {part} (partx unavailable or not permitted)")
        if not shutil.which("mkfs.ext4"):
            pytest.skip("mkfs.ext4 is not installed")
        r = subprocess.run(["mkfs.ext4", "-q", "-F", part], capture_output=True, text=True)
        assert r.returncode == 0, r.stderr
        with mounted(part, tmp_path / "mnt") as mnt:
            before = sha256(img)
            r = tool("era_restore", "--force", "-i", xml, "-o", dev)
            refused(r, dev, "in use")
            if "its partition" in r.stderr.decode():
                assert f"mounted on {mnt}" in r.stderr.decode()
            assert sha256(img) == before


# --- 7: a failed dump keeps the previous file ------------------------------------

def damaged_copy(img, tmp_path):
    """The era array's root zeroed: the dump fails after writing the writesets."""
    bad = tmp_path / "damaged.meta"
    bad.write_bytes(img.read_bytes())
    with open(bad, "r+b") as f:
        f.seek(208)
        root = struct.unpack("<Q", f.read(8))[0]
        f.seek(root * 4096)
        f.write(bytes(4096))
    return bad


@pytest.mark.parametrize("name", ["era_dump", "era_invalidate"])
def test_failed_dump_keeps_previous_file(name, tmp_path):
    img = fixture_image("eras", tmp_path)
    bad = damaged_copy(img, tmp_path)
    args = ["--written-since", "0"] if name == "era_invalidate" else []
    d = tmp_path / "backups"
    d.mkdir()
    out = d / "last.xml"
    r = tool(name, *args, "-o", out, img)
    assert r.returncode == 0, r.stderr
    good = out.read_bytes()
    assert good == tool(name, *args, img).stdout
    r = tool(name, *args, "-o", out, bad)
    assert r.returncode == EXIT_DAMAGE, r.stderr
    assert str(bad) in r.stderr.decode()
    assert out.read_bytes() == good, "the previous dump was lost"
    assert tmp_files(d) == [], "a temporary file was left behind"
    # a failure with no previous file leaves none
    r = tool(name, *args, "-o", d / "new.xml", bad)
    assert r.returncode == EXIT_DAMAGE
    assert sorted(p.name for p in d.iterdir()) == ["last.xml"]


def test_dump_replaces_file_keeping_mode_and_symlink(tmp_path):
    img = fixture_image("eras", tmp_path)
    want = tool("era_dump", img).stdout
    out = tmp_path / "out.xml"
    out.write_bytes(b"old")
    os.chmod(out, 0o600)
    owner = (65534, 65534) if os.geteuid() == 0 else (os.getuid(), os.getgid())
    os.chown(out, *owner)
    ino = out.stat().st_ino
    r = tool("era_dump", "-o", out, img)
    assert r.returncode == 0, r.stderr
    assert out.read_bytes() == want
    assert out.stat().st_ino != ino, "written in place, not replaced"
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    assert (out.stat().st_uid, out.stat().st_gid) == owner
    # a new file: 0644 less the umask, as a plain create
    new = tmp_path / "new.xml"
    r = run(["sh", "-c", f"umask 027; exec '{tool_path('era_dump')}' -o '{new}' '{img}'"])
    assert r.returncode == 0, r.stderr
    assert stat.S_IMODE(new.stat().st_mode) == 0o640
    # a symlink: its target is replaced, the link stays
    link = tmp_path / "link.xml"
    link.symlink_to(out)
    out.write_bytes(b"old")
    r = tool("era_dump", "-o", link, img)
    assert r.returncode == 0, r.stderr
    assert link.is_symlink() and out.read_bytes() == want
    # a link to a file not there yet: the file is created, as open() would
    (tmp_path / "sub").mkdir()
    dangling = tmp_path / "sub" / "latest.xml"
    dangling.symlink_to("../dated.xml")
    r = tool("era_dump", "-o", dangling, img)
    assert r.returncode == 0, r.stderr
    assert dangling.is_symlink() and (tmp_path / "dated.xml").read_bytes() == want
    assert tmp_files(tmp_path) == [] and tmp_files(tmp_path / "sub") == []


def test_dump_does_not_replace_a_read_only_file(tmp_path):
    """A rename needs only the directory: a file the user may not write
    stays refused, as writing it in place was. Run as nobody (root may write anything)."""
    if os.geteuid() != 0 or not shutil.which("setpriv"):
        pytest.skip("needs root and setpriv to run as nobody")
    prefix = [shutil.which("setpriv"), "--reuid=65534", "--regid=65534", "--clear-groups"]
    if run([*prefix, tool_path("era_dump"), "--version"]).returncode != 0:
        pytest.skip("era_dump is not executable as nobody (its directory is private)")
    d = Path(tempfile.mkdtemp(prefix="era-readonly-"))
    try:
        img = d / "in.meta"
        img.write_bytes(fixture_image("eras", tmp_path).read_bytes())
        os.chmod(img, 0o644)
        out = d / "out.xml"
        out.write_bytes(b"previous")
        os.chmod(out, 0o444)
        os.chown(d, 65534, 65534)
        os.chown(out, 65534, 65534)
        r = run([*prefix, tool_path("era_dump"), "-o", out, img])
        assert r.returncode == EXIT_IO, r
        assert f"{out}: Permission denied".encode() in r.stderr, r.stderr
        assert out.read_bytes() == b"previous" and tmp_files(d) == []
        os.chmod(out, 0o644)
        r = run([*prefix, tool_path("era_dump"), "-o", out, img])
        assert r.returncode == 0, r.stderr
        assert out.stat().st_uid == 65534 and stat.S_IMODE(out.stat().st_mode) == 0o644
    finally:
        shutil.rmtree(d, ignore_errors=True)


def test_dump_killed_leaves_no_temporary_file(tmp_path):
    img = fixture_image("large", tmp_path)
    d = tmp_path / "out"
    d.mkdir()
    out = d / "dump.xml"
    out.write_bytes(b"previous")
    p = subprocess.Popen([tool_path("era_dump"), "-o", str(out), str(img)], stderr=subprocess.PIPE)
    deadline = time.time() + 10
    while not tmp_files(d) and p.poll() is None and time.time() < deadline:
        time.sleep(0.001)
    if p.poll() is not None:
        pytest.skip("the dump finished before it could be interrupted")
    p.terminate()
    p.wait(timeout=30)
    assert p.returncode == -15
    assert out.read_bytes() == b"previous"
    assert tmp_files(d) == []


def test_dump_to_pipe_and_null_unchanged(tmp_path):
    img = fixture_image("eras", tmp_path)
    r = tool("era_dump", "-o", "/dev/null", img)
    assert r.returncode == 0, r.stderr
    r = run(["bash", "-c", f"'{tool_path('era_dump')}' -o >(cat > '{tmp_path}/p.xml') '{img}'; wait"])
    assert r.returncode == 0, r.stderr
    deadline = time.time() + 10
    want = tool("era_dump", img).stdout
    while (tmp_path / "p.xml").read_bytes() != want and time.time() < deadline:
        time.sleep(0.05)
    assert (tmp_path / "p.xml").read_bytes() == want


# --- 10: FIFOs, character devices, nr_blocks >= 2^31 ---------------------------

READERS = [["era_check"], ["era_dump"], ["era_invalidate", "--written-since", "0"], ["era_repair"]]


def reader_args(args, path, tmp_path):
    if args[0] == "era_repair":
        return ["era_repair", "-o", blank(tmp_path / "repair-out.meta"), "-i", path]
    return [*args, path]


@pytest.mark.parametrize("args", READERS, ids=lambda a: a[0])
@pytest.mark.parametrize("kind", ["fifo", "chardev"])
def test_reader_refuses_fifo_and_chardev_at_once(args, kind, tmp_path):
    if kind == "fifo":
        path = tmp_path / "meta.fifo"
        os.mkfifo(path)  # no writer: open(O_RDONLY) would wait forever
        what = "is a FIFO (named pipe), not a regular file or a block device"
    else:
        path = Path("/dev/zero")
        what = "is a character device, not a regular file or a block device"
    name, *rest = reader_args(args, path, tmp_path)
    t = time.time()
    r = tool(name, *rest)
    assert time.time() - t < 10
    # 1 until the exit-status table is rolled out to opening errors, then 3
    assert r.returncode in (EXIT_DAMAGE, EXIT_IO), r
    assert f"{path}: {what}" in r.stderr.decode(), r.stderr


def test_restore_reads_xml_from_a_fifo(tmp_path):
    """XML is a stream: a named pipe with a writer is read as before."""
    xml = tool("era_dump", fixture_image("eras", tmp_path)).stdout
    fifo = tmp_path / "xml.fifo"
    os.mkfifo(fifo)
    out = blank(tmp_path / "new.meta")
    w = subprocess.Popen(["sh", "-c", f"cat > '{fifo}'"], stdin=subprocess.PIPE)
    p = subprocess.Popen([tool_path("era_restore"), "-i", str(fifo), "-o", str(out)], stderr=subprocess.PIPE)
    w.communicate(xml, timeout=30)
    _, err = p.communicate(timeout=60)
    assert p.returncode == 0, err
    assert tool("era_dump", out).stdout == xml


SB_CSUM_XOR = 146538381


def set_nr_blocks(img, n):
    with open(img, "r+b") as f:
        sb = bytearray(f.read(4096))
        assert struct.unpack_from("<I", sb, 0)[0] == block_csum(sb, SB_CSUM_XOR), "checksum model"
        struct.pack_into("<I", sb, 180, n)
        struct.pack_into("<I", sb, 0, block_csum(sb, SB_CSUM_XOR))
        f.seek(0)
        f.write(sb)


@pytest.mark.parametrize("args", READERS, ids=lambda a: a[0])
def test_readers_refuse_nr_blocks_2_31(args, tmp_path):
    img = fixture_image("fresh", tmp_path)
    set_nr_blocks(img, 1 << 31)
    before = sha256(img)
    name, *rest = reader_args(args, img, tmp_path)
    r = tool(name, *rest)
    assert r.returncode == EXIT_DAMAGE, r
    assert b"block 0: superblock: nr_blocks 2147483648: the kernel refuses 2^31" in r.stderr, r.stderr
    assert sha256(img) == before


def test_readers_accept_nr_blocks_below_2_31(tmp_path):
    """The limit is the kernel's, not lower: 2^31 - 1 gets past it (then fails
    on the era array that cannot fit this small device)."""
    img = fixture_image("fresh", tmp_path)
    set_nr_blocks(img, (1 << 31) - 1)
    r = tool("era_check", img)
    assert b"kernel refuses" not in r.stderr and b"nr_blocks 2147483647" in r.stderr, r.stderr


def test_restore_refuses_nr_blocks_2_31(tmp_path):
    out = blank(tmp_path / "out.meta")
    for n, refused_ in ((1 << 31, True), ((1 << 31) - 1, False)):
        xml = tmp_path / f"{n}.xml"
        xml.write_text(f'<superblock uuid="" block_size="128" nr_blocks="{n}" current_era="1">\n'
                       '  <era_array>\n  </era_array>\n</superblock>\n')
        r = tool("era_restore", "-i", xml, "-o", out)
        assert r.returncode == EXIT_DAMAGE
        assert (f"nr_blocks {n}: the kernel refuses 2^31".encode() in r.stderr) == refused_, r.stderr
        assert str(xml).encode() in r.stderr


def test_metadata_size_refuses_nr_blocks_2_31():
    r = tool("era_metadata_size", "-n", str(1 << 31))
    assert r.returncode == 2 and r.stdout == b""  # EXIT_USAGE: a bad number
    assert b"2147483648 origin blocks: the kernel refuses 2^31" in r.stderr, r.stderr
    r = tool("era_metadata_size", "-s", "8t", "-b", "4k")
    assert r.returncode == 2 and b"the kernel refuses 2^31" in r.stderr, r.stderr
    # one less is past the kernel's limit, and refused for the space it needs
    r = tool("era_metadata_size", "-n", str((1 << 31) - 1))
    assert r.returncode == 2 and b"kernel" not in r.stderr and b"can address" in r.stderr, r.stderr
