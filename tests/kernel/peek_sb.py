#!/usr/bin/env python3
"""Print the dm-era superblock facts of a metadata image (plain or .xz).

usage: peek_sb.py IMAGE [--json]

Prints key=value pairs: magic, csum_ok, version, nr_blocks, current_era,
metadata_snap, writeset_tree_root, era_array_root, and archived_eras (the
keys of the writeset tree, i.e. the undigested archived writesets).
Exit status 1 if the magic or checksum is wrong. Standard library only.
"""
import json
import lzma
import struct
import sys

BLOCK = 4096
SB_MAGIC = 2126579579
SB_CSUM_XOR = 146538381
NODE_CSUM_XOR = 121107


def _crc32c_table():
    t = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
        t.append(c)
    return t


_T = _crc32c_table()


def block_csum(data, xor):
    """CRC-32C (init 0xffffffff, no final xor) of bytes 4.., xored with xor."""
    c = 0xFFFFFFFF
    for b in data[4:]:
        c = _T[(c ^ b) & 0xFF] ^ (c >> 8)
    return c ^ xor


def read_image(path):
    opener = lzma.open if path.endswith(".xz") else open
    with opener(path, "rb") as f:
        return f.read()


def btree_keys(img, root, limit=100000):
    """Keys of a persistent-data btree (leaf order), bounded."""
    keys, stack, seen = [], [root], set()
    while stack and len(seen) < limit:
        b = stack.pop()
        if b in seen or (b + 1) * BLOCK > len(img):
            raise ValueError("bad btree block %d" % b)
        seen.add(b)
        node = img[b * BLOCK:(b + 1) * BLOCK]
        csum, flags, blocknr, nr, mx, vsz = struct.unpack_from("<IIQIII", node, 0)
        if csum != block_csum(node, NODE_CSUM_XOR) or blocknr != b or nr > mx:
            raise ValueError("bad btree node at block %d" % b)
        k = list(struct.unpack_from("<%dQ" % nr, node, 32))
        if flags & 1:  # internal: values are child block numbers
            v = struct.unpack_from("<%dQ" % nr, node, 32 + 8 * mx)
            stack.extend(reversed(v))
        else:
            keys.extend(k)
    return keys


def peek(img):
    sb = img[:BLOCK]
    (csum, flags, blocknr) = struct.unpack_from("<IIQ", sb, 0)
    (magic, version) = struct.unpack_from("<QI", sb, 32)
    sm_nr_blocks, sm_nr_alloc = struct.unpack_from("<QQ", sb, 44)
    (data_bs, meta_bs, nr_blocks, current_era, ws_bits) = struct.unpack_from("<5I", sb, 172)
    (ws_root, wtree_root, array_root, snap) = struct.unpack_from("<4Q", sb, 192)
    r = {
        "magic": magic,
        "csum_ok": csum == block_csum(sb, SB_CSUM_XOR),
        "version": version,
        "flags": flags,
        "metadata_blocks": sm_nr_blocks,
        "metadata_allocated": sm_nr_alloc,
        "data_block_size": data_bs,
        "nr_blocks": nr_blocks,
        "current_era": current_era,
        "current_writeset_bits": ws_bits,
        "current_writeset_root": ws_root,
        "writeset_tree_root": wtree_root,
        "era_array_root": array_root,
        "metadata_snap": snap,
    }
    try:
        r["archived_eras"] = btree_keys(img, wtree_root)
    except ValueError as e:
        r["archived_eras"] = "error: %s" % e
    return r


def main(argv):
    if len(argv) < 2:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    r = peek(read_image(argv[1]))
    if "--json" in argv[2:]:
        print(json.dumps(r))
    else:
        for k, v in r.items():
            if k == "archived_eras" and isinstance(v, list):
                v = ",".join(map(str, v)) or "-"
            print("%s=%s" % (k, v))
    return 0 if r["magic"] == SB_MAGIC and r["csum_ok"] else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
