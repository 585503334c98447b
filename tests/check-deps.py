#!/usr/bin/env python3
# Every header the build opened comes from a package that
# qemu/scripts/deps.sh installs, or that one of those depends on, at a
# version that the release's own archive (or, for the packages deps.sh takes
# from backports, backports) provides.  A header that this machine has only
# because someone installed a package by hand, or a newer version from
# elsewhere, would break the build on a new machine: that is a failure here.
#
# This is the cheap guard; `make check-fresh` is the real proof.
#
#   tests/check-deps.py [BUILD_DIR]      TAP on stdout
#
# SPDX-License-Identifier: GPL-2.0-or-later

import glob
import os
import re
import subprocess
import sys

top = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
build = os.path.abspath(sys.argv[1] if len(sys.argv) > 1
                        else os.path.join(top, "build"))
results = []


def result(ok, what):
    results.append((ok, what))


def sh(*cmd, check=True):
    p = subprocess.run(cmd, capture_output=True, text=True)
    if check and p.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)}: {p.stderr.strip()[:300]}")
    return p.stdout


# ---- 1. the headers each part of the build opened ----
def ninja_deps(bdir):
    if not os.path.exists(os.path.join(bdir, "build.ninja")):
        return None
    out = sh("ninja", "-C", bdir, "-t", "deps")
    return {l.strip() for l in out.splitlines() if l.startswith("    /")}


def kbuild_deps(mdir):
    files = set()
    for cmd in glob.glob(os.path.join(mdir, ".*.o.cmd")):
        for tok in re.split(r"[\s\\]+", open(cmd, errors="replace").read()):
            tok = tok.strip()
            if tok.startswith("/") and tok.endswith(".h"):
                files.add(tok)
    return files


parts = {}
for name, bdir in (("QEMU", os.path.join(build, "qemu-build")),
                   ("engine unit build", os.path.join(build, "unit"))):
    d = ninja_deps(bdir)
    if d is None:
        result(False, f"{name}: {bdir} is not built (run make first)")
    else:
        parts[name] = d
try:
    cflags = sh("pkg-config", "--cflags", "libdrm").split()
    out = sh("gcc", "-M", *cflags, os.path.join(top, "tests/guest/vvclient.c"))
    parts["guest test client"] = {t for t in out.replace("\\\n", " ").split()
                                  if t.startswith("/") and t.endswith(".h")}
except RuntimeError as e:
    result(False, f"guest test client: cannot list its headers: {e}")
mods = kbuild_deps(os.path.join(build, "guest", "module"))
if mods:
    parts["guest driver"] = mods

# Only files outside the project, its build and its caches are the
# system's.
own = (top + "/", build + "/",
       os.path.expanduser("~/.cache/virtio-video/"))


def system_file(f):
    f = os.path.normpath(f)
    return None if f.startswith(own) else f


# ---- 2. which package owns each file ----
owner = {}
for lst in glob.glob("/var/lib/dpkg/info/*.list"):
    pkg = os.path.basename(lst)[:-5].split(":")[0]
    for line in open(lst, errors="replace"):
        owner.setdefault(line.rstrip("\n"), pkg)


def owner_of(f):
    cands = [f, os.path.realpath(f)]
    for c in list(cands):            # merged /usr: dpkg may list either
        if c.startswith("/usr/lib/"):
            cands.append(c[4:])
        elif c.startswith("/lib/"):
            cands.append("/usr" + c)
    for c in cands:
        if c in owner:
            return owner[c]
    return None


# ---- 3. what deps.sh installs, and everything that depends on ----
listed = {}
for line in sh("bash", os.path.join(top, "qemu/scripts/deps.sh"),
               "--list").splitlines():
    pkg, suite = line.split()
    listed[pkg] = suite
release = next(s for s in listed.values() if not s.endswith("-backports"))

deps, provides = {}, {}
fmt = "${Package}\t${Provides}\t${Depends}\t${Pre-Depends}\t${db:Status-Abbrev}\n"
for line in sh("dpkg-query", "-W", "-f", fmt).splitlines():
    pkg, prov, dep, pre, status = line.split("\t")
    if not status.startswith("ii"):
        continue
    alts = []
    for clause in filter(None, (c.strip() for c in (dep + "," + pre).split(","))):
        alts.append([re.sub(r"[ :(].*", "", a.strip()) for a in clause.split("|")])
    deps[pkg] = alts
    for p in filter(None, (p.strip() for p in prov.split(","))):
        provides.setdefault(re.sub(r"[ :(].*", "", p), []).append(pkg)


def closure(roots):
    seen, todo = set(), list(roots)
    while todo:
        p = todo.pop()
        for q in [p] + provides.get(p, []):
            if q in deps and q not in seen:
                seen.add(q)
                for alts in deps[q]:
                    todo.extend(alts)
    return seen


base = closure([p for p, s in listed.items() if s == release])
newer = closure([p for p, s in listed.items() if s != release]) - base


# ---- 4. where the installed version of a package comes from ----
def origins(pkgs):
    out = sh("apt-cache", "policy", *sorted(pkgs), check=False)
    res, cur, installed, in_inst = {}, None, None, False
    for line in out.splitlines():
        if not line.startswith(" "):
            cur = line.rstrip(":")
            res[cur] = set()
        elif line.strip().startswith("Installed:"):
            installed = line.split(":", 1)[1].strip()
        elif re.match(r"^ (\*\*\*| {3}) \S+ \d+$", line):
            ver = line.split()[-2]
            in_inst = ver == installed
        elif in_inst and re.match(r"^ {8}\s*-?\d+ ", line):
            f = line.split()
            res[cur].add(f[2].split("/")[0] if len(f) >= 3 else f[1])
    return res


bad = {}
owners = {}
for part, files in parts.items():
    for f in sorted(files):
        f = system_file(f)
        if not f:
            continue
        pkg = owner_of(f)
        if pkg is None:
            bad.setdefault(part, []).append(f"{f}: no Debian package owns it")
            continue
        if pkg not in base and pkg not in newer:
            bad.setdefault(part, []).append(
                f"{f}: package {pkg}, which deps.sh does not install "
                "(nor anything it installs depends on)")
            continue
        owners.setdefault(pkg, []).append((part, f))

orig = origins(owners)
ok_suites = {release, release + "-updates", release + "-security"}
for pkg, uses in sorted(owners.items()):
    allowed = set(ok_suites)
    if pkg in newer:
        allowed |= {s for s in listed.values() if s != release}
    got = orig.get(pkg, set()) - {"/var/lib/dpkg/status"}
    if got & allowed:
        continue
    first = {}
    for part, f in uses:
        first.setdefault(part, f)
    for part, f in first.items():
        bad.setdefault(part, []).append(
            f"{f}: package {pkg} is installed at a version from "
            f"{', '.join(sorted(got)) or 'no archive apt knows'}, not from "
            f"{', '.join(sorted(allowed))}: a new machine gets another "
            "version")

for part, files in parts.items():
    n = sum(1 for f in files if system_file(f))
    if part in bad:
        result(False, f"{part}: {len(bad[part])} of {n} system headers "
               "would differ on a new machine: " + "; ".join(bad[part][:3]))
    else:
        result(True, f"{part}: all {n} system headers come from packages "
               "deps.sh installs")

for i, (ok, what) in enumerate(results, 1):
    print(f"{'ok' if ok else 'not ok'} {i} - deps: {what}")
print(f"1..{len(results)}")
sys.exit(0 if all(ok for ok, _ in results) else 1)
