#!/usr/bin/env python3
"""Cross-check a kernel-made metadata image against its scenario log.

usage: log_truth.py IMAGE[.xz] LOG [--allow-extra]

Decodes the era array, the archived writesets and the current writeset
(no checksum checks beyond what peek_sb does), computes each block's logical
era (the max of all three) and compares with the eras the log implies: a
WRITE belongs to the era of the last STATUS plus the MSG checkpoint /
take_metadata_snap lines since.  Prints a one-line summary; exit 1 on a
mismatch.  --allow-extra accepts blocks set in the metadata but absent from
the log (writes in flight at a CRASH).  Standard library only; an
independent oracle for tests, not a tool.
"""
import struct
import sys

from peek_sb import BLOCK, peek, read_image


def node(img, b):
    n = img[b * BLOCK:(b + 1) * BLOCK]
    flags, blocknr, nr, mx, vsz = struct.unpack_from("<IQIII", n, 4)
    if blocknr != b or nr > mx:
        raise ValueError("bad btree node %d" % b)
    keys = struct.unpack_from("<%dQ" % nr, n, 32)
    base = 32 + 8 * mx
    return flags, keys, [n[base + i * vsz:base + (i + 1) * vsz] for i in range(nr)]


def leaves(img, root, depth=0):
    if depth > 16:
        raise ValueError("btree too deep")
    flags, keys, vals = node(img, root)
    if flags & 1:
        for v in vals:
            yield from leaves(img, struct.unpack("<Q", v)[0], depth + 1)
    else:
        yield from zip(keys, vals)


def array_values(img, root, fmt):
    out = []
    for _, v in leaves(img, root):
        b = struct.unpack("<Q", v)[0]
        blk = img[b * BLOCK:(b + 1) * BLOCK]
        _mx, nr, _vs, blocknr = struct.unpack_from("<IIIQ", blk, 4)
        if blocknr != b:
            raise ValueError("bad array block %d" % b)
        out.extend(struct.unpack_from("<%d%s" % (nr, fmt), blk, 24))
    return out


def set_bits(img, root, nbits):
    res = []
    for w, x in enumerate(array_values(img, root, "Q")):
        while x:
            low = x & -x
            i = w * 64 + low.bit_length() - 1
            if i < nbits:
                res.append(i)
            x ^= low
    return res


def logical_eras(img):
    sb = peek(img)
    eras = {b: e for b, e in enumerate(array_values(img, sb["era_array_root"], "I")) if e}
    for era, v in leaves(img, sb["writeset_tree_root"]):
        nbits, root = struct.unpack("<IQ", v)
        for b in set_bits(img, root, nbits):
            eras[b] = max(eras.get(b, 0), era)
    if sb["current_writeset_root"]:
        for b in set_bits(img, sb["current_writeset_root"], sb["current_writeset_bits"]):
            eras[b] = max(eras.get(b, 0), sb["current_era"])
    return eras


def log_eras(path):
    exp, cur = {}, 0
    with open(path) as f:
        for line in f:
            w = line.split()
            if not w:
                continue
            if w[0] == "STATUS":
                cur = int(w[6])
            elif w[0] == "MSG" and w[1] in ("checkpoint", "take_metadata_snap"):
                cur += 1
            elif w[0] == "WRITE":
                for b in range(int(w[1]), int(w[1]) + int(w[2])):
                    exp[b] = cur
    return exp


def main(argv):
    args = [a for a in argv[1:] if not a.startswith("--")]
    if len(args) != 2:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    got = logical_eras(read_image(args[0]))
    exp = log_eras(args[1])
    bad = sorted((b, e, got.get(b)) for b, e in exp.items() if got.get(b) != e)
    extra = sorted(set(got) - set(exp))
    print("%s: %d blocks written, %d mismatches %s, %d extra %s"
          % (args[0], len(exp), len(bad), bad[:5], len(extra), extra[:5]))
    return 1 if bad or (extra and "--allow-extra" not in argv) else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
