"""The libraries' one return convention (libpd/pd_err.h): 0, a documented
non-negative count, or a negative PD_E_* code. No bare -1 and no -errno in
libpd/, format/ or xml/; a -1 that is not an error (a "not found" index, an
fd as open() gives) says so on its line with the word "sentinel"."""
import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
LIBS = ("libpd", "format", "xml")
BAD = [
    re.compile(r"\breturn\s+-\s*1\s*;"),          # return -1;
    re.compile(r"\?\s*-\s*1\s*:\s*0\b"),          # x ? -1 : 0
    re.compile(r"\breturn\s+-\s*errno\b"),        # return -errno;
    re.compile(r"\br\s*=\s*-\s*1\s*;"),           # r = -1;
]


def offences(text):
    out = []
    for no, line in enumerate(text.splitlines(), 1):
        if "sentinel" in line:
            continue
        if any(p.search(line) for p in BAD):
            out.append((no, line.strip()))
    return out


def test_the_check_catches_each_form():
    sample = ("\treturn -1;\n\treturn s->err ? -1 : 0;\n\treturn -errno;\n\t\tr = -1;\n"
              "\treturn -1; /* sentinel: not found */\n\treturn -PD_E_IO;\n"
              "\treturn a < b ? -1 : a > b;\n")
    assert [no for no, _ in offences(sample)] == [1, 2, 3, 4]


def test_no_bare_minus_one_in_the_libraries():
    found = []
    for lib in LIBS:
        for f in sorted((REPO / lib).glob("*.[ch]")):
            for no, line in offences(f.read_text()):
                found.append(f"{f.relative_to(REPO)}:{no}: {line}")
    assert not found, "return 0 or -PD_E_* (libpd/pd_err.h):\n" + "\n".join(found)


def test_sentinels_are_few_and_known():
    # each allowed -1 is reviewed: a new one is added here on purpose
    allowed = {("libpd/same_target.c", "open_node"), ("xml/era_parse.c", "which")}
    seen = set()
    for lib in LIBS:
        for f in sorted((REPO / lib).glob("*.[ch]")):
            fn = None
            for line in f.read_text().splitlines():
                m = re.match(r"^(?:static\s+)?(?:inline\s+)?[a-z_][\w\s\*]*?\b(\w+)\(", line)
                if m and not line.startswith(("\t", " ")):
                    fn = m.group(1)
                if "sentinel" in line and BAD[0].search(line):
                    seen.add((str(f.relative_to(REPO)), fn))
    assert seen == allowed
