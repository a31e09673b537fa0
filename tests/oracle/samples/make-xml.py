#!/usr/bin/python3
"""Write the hand-made era XML inputs of the oracle samples (deterministic)."""
import sys

def mk(name, nr, cur, wss, eras, block_size=128):
    L = [f'<superblock uuid="" block_size="{block_size}" nr_blocks="{nr}" current_era="{cur}">']
    for era, bits in wss:
        L.append(f'  <writeset era="{era}" nr_bits="{nr}">')
        for b in range(nr):
            L.append(f'    <bit block="{b}" value="{"true" if b in bits else "false"}"/>')
        L.append('  </writeset>')
    L.append('  <era_array>')
    for b in range(nr):
        L.append(f'    <era block="{b}" era="{eras(b)}"/>')
    L.append('  </era_array>')
    L.append('</superblock>')
    with open(name, 'w') as f:
        f.write("\n".join(L) + "\n")

def small_eras(b):
    return [0, 1, 2, 0, 1][b % 5] if b < 40 else (3 if 40 <= b < 45 else 0)

# writesets contiguous up to current_era (the only shape 1.1.0 era_dump accepts)
mk('small.xml', 100, 5, [(4, {1, 2, 3, 10, 50, 99}), (5, {2, 3, 4, 60, 61, 62, 63, 64})], small_eras)
# three writesets, eras 4..6, current_era 6; bits crossing 64-bit words
mk('three.xml', 130, 6, [(4, {0, 63, 64, 65, 129}), (5, set(range(10, 20)) | {127, 128}),
                         (6, set(range(60, 70)))],
   lambda b: (b % 4) if b < 100 else 3)
# no writesets at all
mk('nows.xml', 100, 3, [], lambda b: b % 4)
# writesets 3 and 4 but current_era 5: a gap 1.1.0 era_dump refuses
mk('gap.xml', 100, 5, [(3, {1, 2, 3, 10, 50, 99}), (4, {2, 3, 4, 60, 61, 62, 63, 64})], small_eras)
# 70000 blocks (era array > 1 array block, bitset > 1 block? no: 1094 words fit in 3 blocks)
mk('big.xml', 70000, 7,
   [(6, set(range(1000, 1100)) | {69999}), (7, set(range(1050, 1200)) | set(range(65000, 65010)))],
   lambda b: (b // 1000) % 5)
