"""Host side of the kernel tests: boot scenarios with run-scenario.sh, turn
the guest's "ERA ..." console lines into ground truth, and read our tools'
answers.  Standard library only.

Ground truth comes from the log alone (see guest-lib.sh):
  - the era a WRITE lands in is the era of the last STATUS plus the MSG
    checkpoint / take_metadata_snap lines since (RESUME is always followed by
    STATUS);
  - a write logged with WBEGIN (a background writer running beside
    checkpoints, suspends or a crash timer) lands in an era between the era
    at its WBEGIN line and the era at its WRITE line + 1 (at most one
    foreground operation is in flight between two log lines);
  - a WBEGIN or WSTART (a foreground write in a crash scenario) without its
    WRITE (the crash came first) may or may not have reached the metadata;
  - a RELOAD with a smaller table, once resumed, forgets the blocks past the
    new end.
"""
import os
import re
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
SCENARIOS = HERE / "scenarios"
RUN = HERE / "run-scenario.sh"
# One work directory per pytest session: `make check` may run beside another
# session (QEMU itself is serialized by run-scenario.sh's lock).
WORK = REPO / "build" / "kernel-work" / f"session-{os.getpid()}"
# The static tools a guest runs (make kernel-prereqs builds them).
KBIN = REPO / "build" / "kernel"
STATIC = {"era_check": REPO / "bin" / "era_check.static",
          "era_invalidate": KBIN / "era_invalidate.static",
          "era_dump": KBIN / "era_dump.static",
          "era_repair": KBIN / "era_repair.static",
          "era_restore": KBIN / "era_restore.static"}
ARTIFACTS = REPO / "build" / "kernel-artifacts"
BLOCK_SECTORS = 128

os.environ["LC_ALL"] = "C"


def tool(name):
    return str(Path(os.environ.get("ERA_TOOLS_BIN", REPO / "bin")) / name)


def run(args, timeout=600, **kw):
    return subprocess.run([str(a) for a in args], capture_output=True, timeout=timeout, **kw)


def ref110():
    base = Path(os.environ.get("ERA_REF_DIR", Path(os.environ.get(
        "XDG_CACHE_HOME", Path.home() / ".cache")) / "era-tools" / "ref"))
    p = base / "1.1.0" / "usr" / "sbin" / "pdata_tools"
    return str(p) if os.access(p, os.X_OK) else None


# ---------------------------------------------------------------- booting

def extract_log(console_path):
    """The "ERA ..." lines of a console, prefix removed (escape codes and CRs
    before the first word dropped)."""
    data = Path(console_path).read_bytes().decode("utf-8", "replace").replace("\r", "")
    out = []
    for line in data.split("\n"):
        m = re.search(r"ERA ([A-Z_]+.*)$", line)
        if m:
            out.append(m.group(1).rstrip())
    return out


def boot_lines(script):
    """The run-scenario.sh options of each "#@ boot:" line."""
    opts = [shlex.split(m.group(1)) for m in
            re.finditer(r"^#@ boot:(.*)$", Path(script).read_text(), re.M)]
    return opts or [[]]


class BootError(AssertionError):
    pass


def guest_bins(*names):
    """The paths of the static tools names, for a boot's extra_bins; fails
    the test, saying how to build them, when one is missing."""
    out = []
    for n in names:
        p = STATIC[n]
        if not p.exists():
            pytest.fail(f"{p} missing: run `make kernel-prereqs` (make check-kernel does)")
        out.append(str(p))
    return out


def boot(script, outdir, opts=(), env=None, extra_bins=(), drives=(), timeout=None,
         crash_ok=False):
    """One QEMU run of SCRIPT in OUTDIR; returns the log lines.  Raises
    BootError (with the tail of the console) unless the scenario ended with
    "ERA END 0" (or, with crash_ok, logged CRASH)."""
    outdir = Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    args = [RUN, script, outdir, *opts]
    for k, v in (env or {}).items():
        args += ["--env", f"{k}={v}"]
    for b in extra_bins:
        args += ["--extra-bin", b]
    for d in drives:
        args += ["--drive", d]
    if timeout and "--timeout" not in opts:
        args += ["--timeout", str(timeout)]
    t = int(timeout or 300) + 120 + int(os.environ.get("ERA_QEMU_WAIT", "600"))
    r = run(args, timeout=t)
    console = outdir / "console.log"
    log = extract_log(console) if console.exists() else []
    crashed = any(x == "CRASH" for x in log)
    failed = any(x.startswith(("FAIL", "INIT_ERROR")) for x in log)
    ended = "END 0" in log
    if failed or not (ended or (crash_ok and crashed)):
        tail = "\n".join(log[-15:])
        raise BootError(f"{Path(script).name} in {outdir}: run-scenario status {r.returncode}\n"
                        f"{r.stderr.decode(errors='replace')[-1500:]}\nlast log lines:\n{tail}")
    return log


def run_scenario(script, outdir, env=None, extra_bins=(), crash_ok=False, boots=None):
    """Every boot of SCRIPT ("#@ boot:" lines), each continuing from the
    images of the one before.  Returns the combined log with "BOOT k" lines."""
    outdir = Path(outdir)
    log = []
    for k, opts in enumerate(boots or boot_lines(script), 1):
        opts = list(opts)
        if k > 1:
            opts += ["--meta-image", str(outdir / "meta.img"),
                     "--origin-image", str(outdir / "origin.img")]
        e = {"ERA_BOOT": k, **(env or {})}
        lines = boot(script, outdir, opts, e, extra_bins, crash_ok=crash_ok)
        shutil.copy(outdir / "console.log", outdir / f"console.boot{k}.log")
        log.append(f"BOOT {k}")
        log += lines
    (outdir / "era.log").write_text("\n".join(log) + "\n")
    return log


# ---------------------------------------------------------------- truth

class Truth:
    """What the log says about each block.

    last[b] = (lo, hi): bounds of the era of the last acknowledged write of b
    (lo == hi for plain foreground writes).  inflight: blocks of a WBEGIN
    whose WRITE never came (crash).  era: the current era after the last
    line.  nr_blocks: from the last table that took effect (None if no
    table was seen)."""

    def __init__(self, lines):
        self.last = {}
        self.inflight = set()
        self.era = 0
        self.nr_blocks = None
        self.writes = 0
        pending = {}
        reload_size = None
        for line in lines:
            w = line.split()
            if not w:
                continue
            op = w[0]
            if op == "STATUS" and len(w) > 6 and w[3] == "era":
                self.era = int(w[6])
            elif op == "MSG" and len(w) > 1 and w[1] in ("checkpoint", "take_metadata_snap"):
                self.era += 1
            elif op == "CREATE":
                self.nr_blocks = int(w[2]) // BLOCK_SECTORS
                self._shrink()
            elif op == "RELOAD":
                reload_size = int(w[2]) // BLOCK_SECTORS
            elif op == "RESUME" and reload_size is not None:
                self.nr_blocks, reload_size = reload_size, None
                self._shrink()
            elif op == "BOOT":
                pending = {}
            elif op == "WBEGIN":
                s, c = int(w[1]), int(w[2])
                pending.setdefault((s, c), []).append(self.era)
                self.inflight.update(range(s, s + c))
            elif op == "WSTART":
                s, c = int(w[1]), int(w[2])
                self.inflight.update(range(s, s + c))
            elif op == "WRITE":
                s, c = int(w[1]), int(w[2])
                q = pending.get((s, c))
                if q:
                    lo, hi = q.pop(0), self.era + 1
                else:
                    lo = hi = self.era
                self.writes += 1
                for b in range(s, s + c):
                    self.last[b] = (lo, hi)
                    self.inflight.discard(b)
        # a block still pending in another WBEGIN of the same range stays inflight
        for (s, c), q in pending.items():
            if q:
                self.inflight.update(range(s, s + c))

    def _shrink(self):
        if self.nr_blocks is None:
            return
        for b in [b for b in self.last if b >= self.nr_blocks]:
            del self.last[b]
        self.inflight = {b for b in self.inflight if b < self.nr_blocks}

    def exact(self):
        return all(lo == hi for lo, hi in self.last.values()) and not self.inflight

    def written_since(self, e):
        """Blocks that must be reported by --written-since e."""
        return {b for b, (lo, _hi) in self.last.items() if lo >= e}


def cut_at(lines, pred):
    """lines up to (not including) the last line for which pred is true."""
    idx = max(i for i, x in enumerate(lines) if pred(x))
    return lines[:idx]


# ---------------------------------------------------------------- our tools

def logical_eras(img, extra=()):
    r = run([tool("era_dump"), "--logical", *extra, img])
    if r.returncode != 0:
        raise AssertionError(f"era_dump --logical {img}: {r.stderr.decode(errors='replace')}")
    return [int(m) for m in re.findall(rb'<era block="\d+" era="(\d+)"/>', r.stdout)]


def parse_blocks(xml):
    """Set of blocks of an era_invalidate XML output."""
    if isinstance(xml, bytes):
        xml = xml.decode()
    out = set()
    for m in re.finditer(r'<block block="(\d+)"/>|<range begin="(\d+)" end="(\d+)"/>', xml):
        if m.group(1) is not None:
            out.add(int(m.group(1)))
        else:
            out.update(range(int(m.group(2)), int(m.group(3))))
    return out


def invalidate(img, since, extra=()):
    r = run([tool("era_invalidate"), "--written-since", str(since), *extra, img])
    if r.returncode == 5 and b"is ahead of the metadata" in r.stderr and not r.stdout:
        return set()  # past the metadata's era + 1: refused (issue 16); nothing can be there
    if r.returncode != 0:
        raise AssertionError(f"era_invalidate --written-since {since} {img}: "
                             f"{r.stderr.decode(errors='replace')}")
    if not r.stdout.startswith(b"<blocks>") or b"</blocks>" not in r.stdout:
        raise AssertionError(f"era_invalidate output is not a block list: {r.stdout[:200]!r}")
    return parse_blocks(r.stdout)


def sb(img):
    with open(img, "rb") as f:
        b = f.read(4096)
    le = lambda o, n: int.from_bytes(b[o:o + n], "little")
    return {"magic": le(32, 8), "nr_blocks": le(180, 4), "current_era": le(184, 4),
            "cws_root": le(192, 8), "metadata_snap": le(216, 8), "flags": le(4, 4)}


def era_check(img):
    r = run([tool("era_check"), img])
    return r.returncode, (r.stdout + r.stderr).decode(errors="replace")


def compare_with_110(img):
    """Our era_dump (plain and --logical) against 1.1.0's + "\\n".  Returns a
    list of problems (empty: agree, or 1.1.0 not cached: None)."""
    ref = ref110()
    if not ref:
        return None
    probs = []
    for args in ([], ["--logical"]):
        ours = run([tool("era_dump"), *args, img])
        theirs = run([ref, "era_dump", *args, img])
        if theirs.returncode != 0:
            probs.append(f"1.1.0 era_dump {' '.join(args)} failed ({theirs.returncode}): "
                         f"{theirs.stderr.decode(errors='replace').strip()}; ours exit {ours.returncode}")
        elif ours.stdout != theirs.stdout + b"\n":
            probs.append(f"era_dump {' '.join(args)} differs from 1.1.0")
    return probs


def check_against_truth(img, truth, exact=None, invalidate_extra=(), dump_extra=(),
                        check=True):
    """The core ground-truth assertions on one image.  Returns a list of
    problems (strings); empty when all hold."""
    probs = []
    facts = sb(img)
    if check:
        rc, out = era_check(img)
        if rc != 0:
            probs.append(f"era_check exit {rc}: {out.strip()[:600]}")
    if exact is None:
        exact = truth.exact()
    try:
        eras = logical_eras(img, dump_extra)
    except AssertionError as e:
        return probs + [str(e)]
    nr = len(eras)
    if not dump_extra and nr != facts["nr_blocks"]:
        probs.append(f"era_dump: {nr} era entries, superblock nr_blocks {facts['nr_blocks']}")
    bad = []
    for b, (lo, hi) in sorted(truth.last.items()):
        if b >= nr:
            bad.append((b, "beyond nr_blocks", nr))
            continue
        got = eras[b]
        if b in truth.inflight:
            ok = got >= lo
        else:
            ok = lo <= got <= hi
        if not ok:
            bad.append((b, (lo, hi), got))
    if bad:
        probs.append(f"logical eras disagree with the log for {len(bad)} blocks, "
                     f"e.g. (block, log era, dump era) {bad[:6]}")
    extra = [b for b, e in enumerate(eras) if e and b not in truth.last and b not in truth.inflight]
    if extra and exact:
        probs.append(f"{len(extra)} blocks have a nonzero era but were never written, "
                     f"e.g. {[(b, eras[b]) for b in extra[:6]]}")
    top = max(facts["current_era"], truth.era) + 1
    if dump_extra:
        top = truth.era + 1
    for e in range(0, top + 1):
        try:
            got = invalidate(img, e, invalidate_extra)
        except AssertionError as x:
            probs.append(str(x))
            break
        need = truth.written_since(e)
        missing = sorted(need - got)
        if missing:
            probs.append(f"era_invalidate --written-since {e} misses {len(missing)} logged "
                         f"blocks, e.g. {missing[:8]}")
        if exact:
            want = {b for b, x in enumerate(eras) if x >= e}
            if got != want:
                probs.append(f"era_invalidate --written-since {e} != blocks with logical "
                             f"era >= {e} ({len(got ^ want)} differ, e.g. {sorted(got ^ want)[:8]})")
    return probs


def fresh_dir(name, kdirs):
    """An empty WORK/NAME, listed in kdirs (kept as artifacts on failure)."""
    d = WORK / name
    shutil.rmtree(d, ignore_errors=True)
    d.mkdir(parents=True)
    kdirs.append(d)
    return d


def report(probs, what):
    assert not probs, f"{what}:\n  " + "\n  ".join(probs)


def disk_boots(items, out, chunk):
    """The boots that take ITEMS, CHUNK extra disks each: (part, its boot
    directory OUT/bootN, the guest's names of its disks: vdc, vdd, ...)."""
    for k in range(0, len(items), chunk):
        part = items[k:k + chunk]
        d = out / f"boot{k // chunk + 1}"
        d.mkdir(parents=True, exist_ok=True)
        yield part, d, [f"vd{chr(ord('c') + i)}" for i in range(len(part))]


def sections_of(log, names):
    """{disk name: the log lines after its "DISK name ..." line (era_disk_create
    in guest-lib.sh) up to the next disk's}."""
    sec, cur = {n: [] for n in names}, None
    for line in log:
        if line.startswith("DISK "):
            cur = line.split()[1]
            continue
        if cur in sec:
            sec[cur].append(line)
    return sec


def keep_artifacts(test_id, dirs):
    """Copy the consoles, logs and images of a failing test into
    build/kernel-artifacts/<test id>/ (images sparse)."""
    dest = ARTIFACTS / re.sub(r"[^A-Za-z0-9_.=-]+", "_", test_id)
    dest.mkdir(parents=True, exist_ok=True)
    for d in dirs:
        d = Path(d)
        if not d.exists():
            continue
        sub = dest / d.name
        if sub.exists():
            shutil.rmtree(sub)
        shutil.copytree(d, sub, copy_function=lambda s, t: subprocess.run(
            ["cp", "--sparse=always", s, t], check=False))
    return dest
