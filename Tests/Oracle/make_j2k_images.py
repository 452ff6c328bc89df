#!/usr/bin/env python3
"""Writes test images for the codec tests: PGM/PPM (for ojph_compress, opj_compress)
and raw little-endian samples (the truth to compare decoded pixels with).

    python3 Tests/Oracle/make_j2k_images.py OUT

Prints one JSON line per image: name, width, height, components, bits, signed, raw, source.
"""
import json
import os
import sys

import numpy as np

out = sys.argv[1]
os.makedirs(out, exist_ok=True)
rng = np.random.default_rng(7)


def smooth(h, w, bits, comps=1, signed=False):
    y, x = np.mgrid[0:h, 0:w]
    planes = []
    for c in range(comps):
        base = (np.sin(x / (9.0 + c)) + np.cos(y / (13.0 + c))) * 0.25 + 0.5
        v = base * (2 ** bits - 1) * 0.9 + rng.integers(0, 2 ** max(1, bits - 6), size=(h, w))
        v = np.clip(v, 0, 2 ** bits - 1)
        if signed:
            v = v - 2 ** (bits - 1)
        planes.append(v)
    return np.stack(planes, axis=-1).astype(np.int64)


def write(name, arr, bits, signed=False):
    h, w, comps = arr.shape
    record = {"name": name, "width": w, "height": h, "components": comps, "bits": bits, "signed": signed}
    bps = 1 if bits <= 8 else 2
    raw = os.path.join(out, name + ".raw")
    dtype = {1: "<i1" if signed else "<u1", 2: "<i2" if signed else "<u2"}[bps]
    arr.astype(dtype).tofile(raw)
    record["raw"] = raw
    if not signed:
        ext = "pgm" if comps == 1 else "ppm"
        path = os.path.join(out, f"{name}.{ext}")
        with open(path, "wb") as f:
            f.write(f"P{5 if comps == 1 else 6}\n{w} {h}\n{2 ** bits - 1}\n".encode())
            f.write(arr.astype(">u1" if bps == 1 else ">u2").tobytes())
        record["source"] = path
    else:
        # opj_compress reads little-endian raw samples from a .rawl file (-F gives the shape);
        # ojph_compress 0.9 does not sign-extend raw input, so it is not used for signed data.
        rawl = os.path.join(out, name + ".rawl")
        arr.astype(dtype).tofile(rawl)
        record["source"] = rawl
    print(json.dumps(record), flush=True)


write("ct16", smooth(128, 96, 16), 16)
write("cr12", smooth(96, 128, 12), 12)
write("mono8", smooth(64, 80, 8), 8)
write("rgb8", smooth(48, 64, 8, comps=3), 8)
write("signed16", smooth(64, 64, 16, signed=True), 16, signed=True)
