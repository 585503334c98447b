#!/usr/bin/env python3
# Mean PSNR of raw NV12 frames against the source they were encoded from.
#
#   nv12-psnr.py DECODED SOURCE WIDTH HEIGHT
#
# Prints "<frames decoded> <mean PSNR in dB, all planes>"; a missing
# DECODED file counts as 0 frames.  Frames are read one at a time, so
# 1080p streams need no more memory than two frames.
#
# SPDX-License-Identifier: GPL-2.0-or-later
import math
import operator
import sys

fs = int(sys.argv[3]) * int(sys.argv[4]) * 3 // 2
# squares of byte differences -255..255, indexed by the difference
# itself (negative ones from the end of the list)
SQ = [d * d for d in range(256)] + [(511 - i) ** 2 for i in range(256, 511)]


def sse(x, y):
    return sum(map(SQ.__getitem__, map(operator.sub, x, y)))


try:
    a = open(sys.argv[1], "rb")
except OSError:
    a = None
b = open(sys.argv[2], "rb")
n = 0
tot = 0.0
while a:
    x = a.read(fs)
    if len(x) < fs:
        break
    y = b.read(fs)
    if len(y) < fs:
        # more frames than the source has: count them, they cannot match
        n += 1
        continue
    mse = sse(x, y) / fs
    tot += 100.0 if mse == 0 else 10 * math.log10(255 * 255 / mse)
    n += 1
print(n, "%.2f" % (tot / n if n else 0))
