#!/usr/bin/env python3
"""Time pydicom on the benchmark data: prints 'header <files/s>' for
dcmread(stop_before_pixels=True) over the study (best of N passes), and
'full <MB/s>' for dcmread + reading PixelData of the multi-frame file."""
import glob
import os
import sys
import time

import pydicom

data, passes = sys.argv[1], int(sys.argv[2])
files = sorted(glob.glob(os.path.join(data, "study", "*.dcm")))
best = 0.0
for _ in range(passes):
    t = time.perf_counter()
    for f in files:
        pydicom.dcmread(f, stop_before_pixels=True)
    best = max(best, len(files) / (time.perf_counter() - t))
print(f"header {best:.1f}")
mf = os.path.join(data, "multiframe_1000.dcm")
size = os.path.getsize(mf)
t = time.perf_counter()
ds = pydicom.dcmread(mf)
_ = ds.PixelData
print(f"full {size / 1e6 / (time.perf_counter() - t):.1f}")
