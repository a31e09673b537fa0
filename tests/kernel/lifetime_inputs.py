"""Inputs of the lifetime tests (issue 13) that no kernel run makes cheaply:
era XML with hundreds of archived writesets, its logical truth computed
here (never by our tools), and damage to the newest leaf of a writeset
tree.  Standard library only.

The writeset tree's leaves hold at most 201 entries (12-byte values), so
more archived writesets than that make a two-level tree: losing its newest
leaf loses the newest writesets while older ones survive, which is what
era_repair must not turn into lowered eras once the kernel digests them
(issue 13, finding 1)."""
import struct

from log_truth import node
from peek_sb import BLOCK, peek

LEAF_MAX_WRITESETS = 201


def many_writesets(nr_blocks=1024, nr_writesets=300, unsafe=None, extra_marks=None):
    """XML of metadata with writesets for eras 1..nr_writesets and
    current_era nr_writesets + 1.  Writeset E marks blocks 16 * (E % 64)
    and the next one, and block 1000 + E % 24: a block is marked again
    every 64 (or 24) eras, so the digest's order matters.  The era array
    is 0 (kernel-like: never above the oldest archived writeset) except
    that unsafe = {block: era} sets entries, and extra_marks = {era:
    [blocks]} marks more blocks: an entry above every writeset that marks
    its block is what the digest lowers (finding 2).
    Returns (xml text, logical eras list, current_era)."""
    marks = {}
    for e in range(1, nr_writesets + 1):
        marks[e] = sorted({(16 * (e % 64)) % nr_blocks, (16 * (e % 64) + 1) % nr_blocks,
                           (1000 + e % 24) % nr_blocks} | set((extra_marks or {}).get(e, ())))
    array = [0] * nr_blocks
    for b, e in (unsafe or {}).items():
        array[b] = e
    truth = list(array)
    for e, bs in marks.items():
        for b in bs:
            truth[b] = max(truth[b], e)
    cur = nr_writesets + 1
    out = [f'<superblock uuid="" block_size="128" nr_blocks="{nr_blocks}" current_era="{cur}">']
    for e in range(1, nr_writesets + 1):
        out.append(f'  <writeset era="{e}" nr_bits="{nr_blocks}">')
        out += [f'    <marked block_begin="{b}" len="1"/>' for b in marks[e]]
        out.append('  </writeset>')
    out.append('  <era_array>')
    out += [f'    <era block="{b}" era="{e}"/>' for b, e in enumerate(array)]
    out += ['  </era_array>', '</superblock>', '']
    return "\n".join(out), truth, cur


def writeset_leaves(img_bytes):
    """Leaf blocks of the writeset tree, oldest keys first, with their keys."""
    sb = peek(img_bytes)
    out = []

    def walk(b, depth):
        if depth > 8:
            raise ValueError("writeset tree too deep")
        flags, keys, vals = node(img_bytes, b)
        if flags & 1:
            for v in vals:
                walk(struct.unpack("<Q", v)[0], depth + 1)
        else:
            out.append((b, list(keys)))

    walk(sb["writeset_tree_root"], 0)
    return out


def break_newest_writeset_leaf(path):
    """Breaks the checksum of the writeset tree's newest leaf in place
    (needs a tree of two levels or more).  Returns (block, its keys)."""
    with open(path, "rb") as f:
        data = f.read()
    leaves = writeset_leaves(data)
    if len(leaves) < 2:
        raise ValueError(f"{path}: writeset tree has one leaf, nothing older would survive")
    b, keys = leaves[-1]
    with open(path, "r+b") as f:
        f.seek(b * BLOCK)
        f.write(bytes(x ^ 0xFF for x in data[b * BLOCK:b * BLOCK + 4]))
    return b, keys


def big_era_array(nr_blocks=262144):
    """XML whose restore takes a while (kill -9 points land inside it):
    an era array of NR_BLOCKS entries with eras 0..49 and three archived
    writesets (eras 50-52) marking ranges; kernel-like (the era array never
    above the oldest archived writeset)."""
    out = [f'<superblock uuid="" block_size="128" nr_blocks="{nr_blocks}" current_era="53">']
    for k, e in enumerate((50, 51, 52)):
        out.append(f'  <writeset era="{e}" nr_bits="{nr_blocks}">')
        for s in range(k * 97, nr_blocks - 64, 4099 + k):
            out.append(f'    <marked block_begin="{s}" len="{1 + (s + k) % 40}"/>')
        out.append('  </writeset>')
    out.append('  <era_array>')
    out += [f'    <era block="{b}" era="{(b * 7 + b // 1000) % 50}"/>' for b in range(nr_blocks)]
    out += ['  </era_array>', '</superblock>', '']
    return "\n".join(out)
