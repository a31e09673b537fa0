#!/usr/bin/env python3
"""Synthetic era XML in era_dump's exact layout, for benchmarks and tests.

gen_xml.py NR_BLOCKS [--writesets N] [--current-era E] [--seed S] [-o FILE]
Writesets are the N eras ending at the current era (the layout 1.1.0's
era_dump accepts); about one bit in 8 is set; era array values are random
eras below the oldest writeset.
"""
import argparse
import random
import sys


def generate(out, nr_blocks, nr_ws, current_era, seed, block_size=128):
    rnd = random.Random(seed)
    w = out.write
    w('<superblock uuid="" block_size="%d" nr_blocks="%d" current_era="%d">\n'
      % (block_size, nr_blocks, current_era))
    chunk = 65536
    for era in range(current_era - nr_ws + 1, current_era + 1):
        w('  <writeset era="%d" nr_bits="%d">\n' % (era, nr_blocks))
        for lo in range(0, nr_blocks, chunk):
            hi = min(nr_blocks, lo + chunk)
            bits = rnd.getrandbits(hi - lo) & rnd.getrandbits(hi - lo) & rnd.getrandbits(hi - lo)
            w(''.join('    <bit block="%d" value="%s"/>\n'
                      % (b, 'true' if (bits >> (b - lo)) & 1 else 'false')
                      for b in range(lo, hi)))
        w('  </writeset>\n')
    w('  <era_array>\n')
    top = max(0, current_era - nr_ws)
    for lo in range(0, nr_blocks, chunk):
        hi = min(nr_blocks, lo + chunk)
        w(''.join('    <era block="%d" era="%d"/>\n' % (b, rnd.randint(0, top))
                  for b in range(lo, hi)))
    w('  </era_array>\n')
    w('</superblock>')


def main():
    p = argparse.ArgumentParser()
    p.add_argument('nr_blocks', type=int)
    p.add_argument('--writesets', type=int, default=2)
    p.add_argument('--current-era', type=int, default=None)
    p.add_argument('--seed', type=int, default=1)
    p.add_argument('-o', '--output')
    a = p.parse_args()
    cur = a.current_era if a.current_era is not None else a.writesets + 3
    out = open(a.output, 'w') if a.output else sys.stdout
    generate(out, a.nr_blocks, a.writesets, cur, a.seed)
    out.close()


if __name__ == '__main__':
    main()
