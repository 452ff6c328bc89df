#!/usr/bin/env python3
"""Multi-frame benchmark files: N frames of 512×512 16-bit CT-like noise-on-gradient, as
native Explicit VR Little Endian, HTJ2K lossless RPCL (each frame by ojph_compress) and
JPEG lossless SV1 (DCMTK dcmcjpeg).

    python3 Scripts/bench/make_multiframe.py OUTDIR [--frames 64] [--size 512]

Writes OUTDIR/mf_native.dcm, OUTDIR/mf_htj2k.dcm, OUTDIR/mf_jpegll.dcm (skips files present).
"""
import argparse
import os
import subprocess
import sys
import tempfile

import numpy as np
from pydicom.encaps import encapsulate
from pydicom.uid import ExplicitVRLittleEndian, UID

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from generate_fixtures import base, meta  # noqa: E402

HTJ2K_RPCL = UID("1.2.840.10008.1.2.4.202")


def frames(n, size):
    rng = np.random.default_rng(11)
    y, x = np.mgrid[0:size, 0:size]
    for k in range(n):
        img = (np.sin(x / 23 + k / 7) + np.cos(y / 31)) * 900 + 2048 + rng.integers(0, 40, (size, size))
        yield np.clip(img, 0, 4095).astype("<u2")


def dataset(n, size):
    ds = base(n=1)
    ds.SOPInstanceUID = f"1.2.826.0.1.3680043.10.1234.77.{n}.{size}"
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.Rows = ds.Columns = size
    ds.BitsAllocated = 16
    ds.BitsStored = 12
    ds.HighBit = 11
    ds.PixelRepresentation = 0
    ds.NumberOfFrames = n
    return ds


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--frames", type=int, default=64)
    ap.add_argument("--size", type=int, default=512)
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    native = os.path.join(a.out, "mf_native.dcm")
    if not os.path.exists(native):
        ds = dataset(a.frames, a.size)
        ds.PixelData = b"".join(f.tobytes() for f in frames(a.frames, a.size))
        meta(ds, ExplicitVRLittleEndian)
        ds.save_as(native, enforce_file_format=True)
    ht = os.path.join(a.out, "mf_htj2k.dcm")
    if not os.path.exists(ht):
        streams = []
        with tempfile.TemporaryDirectory() as tmp:
            for k, f in enumerate(frames(a.frames, a.size)):
                pgm, j2c = os.path.join(tmp, f"{k}.pgm"), os.path.join(tmp, f"{k}.j2c")
                with open(pgm, "wb") as fh:
                    fh.write(f"P5\n{a.size} {a.size}\n4095\n".encode() + f.astype(">u2").tobytes())
                subprocess.run(["ojph_compress", "-i", pgm, "-o", j2c, "-reversible", "true", "-prog_order", "RPCL",
                                "-num_decomps", "5"], check=True, stdout=subprocess.DEVNULL)
                streams.append(open(j2c, "rb").read())
        ds = dataset(a.frames, a.size)
        ds.PixelData = encapsulate(streams)
        ds["PixelData"].VR = "OB"
        meta(ds, HTJ2K_RPCL)
        ds.save_as(ht, enforce_file_format=True)
    ll = os.path.join(a.out, "mf_jpegll.dcm")
    if not os.path.exists(ll):
        subprocess.run(["dcmcjpeg", "+e1", native, ll], check=True)


if __name__ == "__main__":
    main()
