#!/usr/bin/env python3
"""Random dm-era scenarios from a seed (same seed, same script).

usage: gen_scenario.py {clean|crash} SEED [OUT]

clean: random writes, rewrites, checkpoints, metadata snapshots taken and
       dropped, suspend/resume, quick checkpoint bursts and pauses (so that
       the kernel digests some writesets and not others); clean removal.
crash: some history like the above, then a background writer (logging
       WBEGIN/WRITE, in the upper half of the origin) and a foreground loop
       of writes and checkpoints (lower half), cut by a sysrq reboot after a
       random delay.
The tests print the seed in the test id; replay one with
    ERA_KERNEL_SEEDS=<seed> make check-kernel   (or gen_scenario.py + run-scenario.sh)
"""
import random
import sys

SIZES = [("64M", 1024), ("128M", 2048), ("256M", 4096), ("1G", 16384)]


def _write(rng, lo, hi, maxc=48):
    c = rng.choice([1, 1, 2, 3, 8, rng.randint(1, maxc)])
    c = min(c, hi - lo)
    s = rng.randrange(lo, hi - c + 1)
    return f"era_write {s} {c}"


def history(rng, n, lo, hi, steps, allow_snap=True, allow_resume=True):
    """Random foreground operations on blocks [lo, hi)."""
    out, snap = [], False
    for _ in range(steps):
        r = rng.random()
        if r < 0.55:
            out.append(_write(rng, lo, hi))
        elif r < 0.62:
            # first and last blocks are the usual off-by-one traps
            out.append(f"era_write {rng.choice([lo, hi - 1])} 1")
        elif r < 0.78:
            out.append("era_msg checkpoint")
        elif r < 0.83 and allow_snap:
            out.append("era_msg drop_metadata_snap" if snap else "era_msg take_metadata_snap")
            snap = not snap
        elif r < 0.88 and allow_resume:
            out += ["era_suspend", "era_resume"]
        elif r < 0.93 and hi == n:
            k = rng.randint(2, 8)
            out.append(f"era_quick_checkpoints {k} {rng.randrange(lo, hi)} {rng.randint(1, max(1, hi - lo - 1))}")
        elif r < 0.97 and hi == n:
            out.append(f"sleep {rng.choice(['0.2', '0.5', '1'])}")
        else:
            out.append("era_status")
    return out, snap


def clean(seed):
    rng = random.Random(seed)
    size, n = rng.choice(SIZES)
    ops, snap = history(rng, n, 0, n, rng.randint(25, 60))
    lines = [f"# random clean scenario, seed {seed} ({n} blocks)",
             "#@ test",
             f"#@ boot: --origin-size {size} --meta-size 64M --timeout 400",
             ". /guest-lib.sh",
             "era_create", *ops]
    if rng.random() < 0.5:
        lines.append("sleep 1")
    lines += ["era_status", "era_remove"]
    return "\n".join(lines) + "\n"


def crash(seed):
    rng = random.Random(seed)
    size, n = rng.choice(SIZES[:3])
    half = n // 2
    ops, _snap = history(rng, n, 0, half, rng.randint(3, 20), allow_resume=True)
    delay = round(rng.uniform(0.3, 4.0), 2)
    loop, _ = history(rng, n, 0, half, 150, allow_snap=False, allow_resume=False)
    # log WSTART before each foreground write: one cut by the crash may
    # still reach the metadata
    loop = [x.replace("era_write ", "era_write_fg ", 1) for x in loop]
    bg_step = rng.choice([1, 3, 37, 129])
    bg_count = rng.choice([1, 2, 4])
    use_bg = rng.random() < 0.8
    lines = [f"# random crash scenario, seed {seed} ({n} blocks): crash after {delay} s",
             "#@ test",
             f"#@ boot: --origin-size {size} --meta-size 64M --timeout 300",
             ". /guest-lib.sh",
             "era_create", *ops]
    if use_bg:
        lines += ["(",
                  f"    b={half}",
                  "    while :; do",
                  f"        era_write_bg \"$b\" {bg_count}",
                  f"        b=$(( {half} + (b - {half} + {bg_step}) % ({n - half - bg_count}) ))",
                  "    done",
                  ") &"]
    lines += [f"( sleep {delay}; era_crash ) &",
              *loop,
              "sleep 30",
              "era_fail \"no crash\""]
    return "\n".join(lines) + "\n"


def main(argv):
    if len(argv) < 3 or argv[1] not in ("clean", "crash"):
        print(__doc__.strip(), file=sys.stderr)
        return 2
    text = (clean if argv[1] == "clean" else crash)(int(argv[2]))
    if len(argv) > 3:
        with open(argv[3], "w") as f:
            f.write(text)
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
