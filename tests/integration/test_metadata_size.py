"""era_metadata_size: its figure holds what era_restore writes and what the
kernel allocated in the fixtures, with room to spare; too little fails."""
import pytest

from conftest import FIXTURE_NAMES, fixture_image, have_tool, run_tool, superblock_facts

BLOCK = 4096


def size(*args):
    r = run_tool("era_metadata_size", *[str(a) for a in args])
    assert r.returncode == 0, r.stderr
    return int(r.stdout)


def gen_xml(path, nr_blocks, eras, current_era):
    """era_dump-layout XML: writesets of the given eras, every 7th block set."""
    with open(path, "w") as f:
        f.write('<superblock uuid="" block_size="128" nr_blocks="%d" current_era="%d">\n'
                % (nr_blocks, current_era))
        for era in eras:
            f.write('  <writeset era="%d" nr_bits="%d">\n' % (era, nr_blocks))
            f.write("".join('    <bit block="%d" value="%s"/>\n'
                            % (b, "true" if (b + era) % 7 == 0 else "false")
                            for b in range(nr_blocks)))
            f.write("  </writeset>\n")
        f.write("  <era_array>\n")
        f.write("".join('    <era block="%d" era="%d"/>\n' % (b, b % (eras[0] if eras else 1))
                        for b in range(nr_blocks)))
        f.write("  </era_array>\n</superblock>\n")


def restore(xml, out, nbytes):
    with open(out, "wb") as f:
        f.truncate(nbytes)
    return run_tool("era_restore", "-i", xml, "-o", out)


def test_units_and_forms_agree():
    b = size("--nr-blocks", 1048576, "--unit", "b")
    assert b % BLOCK == 0
    assert size("-n", 1048576) == b // 512                      # default: sectors
    assert size("-n", 1048576, "-u", "k") == -(-b // 1024)
    assert size("-n", 1048576, "-u", "m") == -(-b // (1 << 20))
    assert size("-n", 1048576, "-u", "g") == -(-b // (1 << 30))
    # 64 GiB origin in 64 KiB blocks = 1048576 blocks, however it is written
    for dev, bs in (("64g", "64k"), ("64G", "128"), ("134217728", "128s"),
                    ("68719476736b", "65536b"), ("64GiB", "64KiB")):
        assert size("--device-size", dev, "--block-size", bs, "-u", "b") == b
    # the partial last block counts
    assert size("-s", 129, "-b", 128, "-u", "b") == size("-n", 2, "-u", "b")


def test_grows_with_blocks_and_writesets():
    a = size("-n", 100000, "-u", "b")
    assert size("-n", 200000, "-u", "b") > a
    assert size("-n", 100000, "-w", 20, "-u", "b") > a
    assert size("-n", 100000, "--no-metadata-snapshot", "-u", "b") < a
    assert size("-n", 100000, "-w", 0, "-u", "b") < a


@pytest.mark.parametrize("args", [
    [], ["-n", "0"], ["-n", "4294967296"], ["-n", "10", "-s", "1g", "-b", "64k"],
    ["-s", "1g"], ["-b", "64k"], ["-s", "1g", "-b", "3k"], ["-s", "1g", "-b", "2k"],
    ["-s", "1x", "-b", "64k"], ["-n", "10", "-u", "x"], ["-n", "10", "extra"],
    ["-n", "4294967295"],  # needs more than a metadata device can address
    ["-s", "1p", "-b", "4k"],
])
def test_bad_arguments_fail(args):
    r = run_tool("era_metadata_size", *args)
    assert r.returncode == 2 and r.stdout == b""
    assert r.stderr.startswith(b"era_metadata_size: ")


def test_closed_pipe():
    import subprocess
    from conftest import tool_path
    p = subprocess.Popen([tool_path("era_metadata_size"), "-n", "10"], stdout=subprocess.PIPE)
    p.stdout.close()
    assert p.wait() in (0, 141)


@pytest.mark.parametrize("name", FIXTURE_NAMES)
def test_covers_kernel_allocation_twice(name, tmp_path):
    """Kernel-made images: the estimate for their block count and number of
    archived writesets is at least twice what the kernel had allocated
    (room for a full copy-on-write copy of everything)."""
    img = fixture_image(name, tmp_path)
    facts = superblock_facts(img)
    with open(img, "rb") as f:
        b = f.read(BLOCK)
    nr_allocated = int.from_bytes(b[52:60], "little")
    # archived writesets: entries of the writeset tree (a single leaf here)
    root = int.from_bytes(b[200:208], "little")
    with open(img, "rb") as f:
        f.seek(root * BLOCK)
        node = f.read(BLOCK)
    assert int.from_bytes(node[4:8], "little") == 2, "writeset tree root is not a leaf"
    archived = int.from_bytes(node[16:20], "little")
    est = size("-n", facts["nr_blocks"], "-w", archived, "-u", "b") // BLOCK
    assert est >= 2 * nr_allocated, (est, nr_allocated)


@pytest.mark.parametrize("nr_blocks,eras,current", [
    (4096, [6, 7, 8], 8),
    (100000, [10, 11, 12], 12),
    (33000, [], 1),
])
def test_restore_fits_exactly_sized_file(tmp_path, nr_blocks, eras, current):
    if not have_tool("era_restore"):
        pytest.skip("bin/era_restore not built")
    xml = tmp_path / "in.xml"
    gen_xml(xml, nr_blocks, eras, current)
    nbytes = size("-n", nr_blocks, "-w", len(eras), "-u", "b")
    out = tmp_path / "meta"
    r = restore(xml, out, nbytes)
    assert r.returncode == 0, r.stderr
    assert run_tool("era_check", out).returncode == 0
    # a much smaller file (an eighth, at least 10 blocks) is refused
    small = max(10 * BLOCK, nbytes // 8 // BLOCK * BLOCK)
    r = restore(xml, tmp_path / "small", small)
    assert r.returncode == 3, "restore fitted in an eighth of the estimate"
    assert r.stderr


def test_restore_of_fixture_dump(tmp_path):
    if not have_tool("era_restore"):
        pytest.skip("bin/era_restore not built")
    img = fixture_image("eras", tmp_path)
    xml = tmp_path / "eras.xml"
    r = run_tool("era_dump", "-o", xml, img)
    assert r.returncode == 0, r.stderr
    nws = xml.read_bytes().count(b"<writeset ")
    nbytes = size("-n", superblock_facts(img)["nr_blocks"], "-w", nws, "-u", "b")
    r = restore(xml, tmp_path / "meta", nbytes)
    assert r.returncode == 0, r.stderr
    assert run_tool("era_dump", tmp_path / "meta").stdout == xml.read_bytes()
