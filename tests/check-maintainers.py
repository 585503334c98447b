#!/usr/bin/env python3
# Every file the series lays over QEMU's tree (qemu/scripts/build.sh's
# overlay) is listed by an F: line of the virtio-video section that
# qemu/patches/ adds to QEMU's MAINTAINERS, and every such F: line lists
# at least one file: a file nobody maintains would not pass review.
#
# Patterns as scripts/get_maintainer.pl reads them: a trailing "/" is a
# directory and everything below it, "*" and "?" do not cross a "/".
#
#   tests/check-maintainers.py      TAP on stdout
#
# SPDX-License-Identifier: GPL-2.0-or-later

import glob
import os
import re
import subprocess
import sys

top = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OVERLAY_DIRS = None
with open(os.path.join(top, "qemu/scripts/build.sh")) as f:
    m = re.search(r"^OVERLAY_DIRS=\(([^)]*)\)", f.read(), re.M)
    OVERLAY_DIRS = m.group(1).split()


def overlay_files():
    try:
        out = subprocess.run(["git", "ls-files", "--cached", "--others",
                              "--exclude-standard", "--"] + OVERLAY_DIRS,
                             cwd=top, capture_output=True, text=True,
                             check=True).stdout
        return sorted(p for p in out.splitlines() if p)
    except (OSError, subprocess.CalledProcessError):
        files = []
        for d in OVERLAY_DIRS:
            for root, _, names in os.walk(os.path.join(top, d)):
                files += [os.path.relpath(os.path.join(root, n), top)
                          for n in names]
        return sorted(files)


def section_patterns():
    """The F: lines of the section the patches add, and its name."""
    pats = []
    for p in sorted(glob.glob(os.path.join(top, "qemu/patches/*.patch"))):
        in_maint = in_section = False
        for line in open(p, encoding="utf-8"):
            if line.startswith("diff --git "):
                in_maint = line.rstrip().endswith(" b/MAINTAINERS")
                continue
            if not in_maint:
                continue
            if line.rstrip() == "+virtio-video":
                in_section = True
            elif in_section and not line.startswith("+"):
                in_section = False
            elif in_section and line.startswith("+F:"):
                pats.append(line[3:].strip())
    return pats


def to_regex(pat):
    rx = ""
    for ch in pat:
        rx += "[^/]*" if ch == "*" else "[^/]" if ch == "?" else re.escape(ch)
    return re.compile(rx + (".*" if pat.endswith("/") else "") + "$")


files = overlay_files()
pats = section_patterns()
results = []
if not pats:
    results.append((False, "no virtio-video section with F: lines in "
                           "qemu/patches/*.patch's MAINTAINERS hunk"))
if not files:
    results.append((False, "no overlay files found under " +
                    " ".join(OVERLAY_DIRS)))
rx = [(p, to_regex(p)) for p in pats]
for f in files:
    hit = [p for p, r in rx if r.match(f)]
    results.append((bool(hit), "MAINTAINERS lists %s%s" %
                    (f, " (%s)" % hit[0] if hit else "")))
for p, r in rx:
    results.append((any(r.match(f) for f in files) or
                    os.path.exists(os.path.join(top, "build/qemu-src", p)),
                    "MAINTAINERS F: %s matches a file" % p))

for i, (ok, what) in enumerate(results, 1):
    print("%s %d - maintainers: %s" % ("ok" if ok else "not ok", i, what))
print("1..%d" % len(results))
sys.exit(0 if all(ok for ok, _ in results) else 1)
