#!/usr/bin/env python3
# Mean PSNR of raw NV12 frames against the source they were encoded from.
#
#   nv12-psnr.py DECODED SOURCE WIDTH HEIGHT
#
# Prints "<frames decoded> <mean PSNR in dB, all planes>"; a missing
# DECODED file counts as 0 frames.
#
# SPDX-License-Identifier: GPL-2.0-or-later
import math
import sys

fs = int(sys.argv[3]) * int(sys.argv[4]) * 3 // 2
try:
    a = open(sys.argv[1], "rb").read()
except OSError:
    a = b""
b = open(sys.argv[2], "rb").read()
n = len(a) // fs
tot = 0.0
for f in range(n):
    x, y = a[f * fs:(f + 1) * fs], b[f * fs:(f + 1) * fs]
    mse = sum((p - q) * (p - q) for p, q in zip(x, y)) / fs
    tot += 100.0 if mse == 0 else 10 * math.log10(255 * 255 / mse)
print(n, "%.2f" % (tot / n if n else 0))
