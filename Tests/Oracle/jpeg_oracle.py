#!/usr/bin/env python3
"""Oracles for the JPEG decoder tests (Tests/HTJ2KTests/JPEGDecoderTests.swift): pydicom 3
with pylibjpeg + pylibjpeg-libjpeg decodes, DCMTK's dcmcjpeg encodes.

    jpeg_oracle.py testdata NAME...          the path of each pydicom test file (pydicom-data too)
    jpeg_oracle.py cases DIR                 native sources and their dcmcjpeg lossless encodings
    jpeg_oracle.py samples DIR FILE FRAME... pydicom's samples of those frames

`cases` writes, for 8-, 12- and 16-bit, unsigned and signed, grey and RGB sources, a native
file and its JPEG Lossless Process 14 encodings (SV1 = .70, `+e1`; selection values 1, 6
and 7 = .57, `+el +sv N`; for 12-bit unsigned also 12-bit precision codestreams), and prints
one JSON line per encoding: {"path", "source", "syntax"}.

`samples` writes each frame twice as little-endian int32, pixel by pixel, components
interleaved: DIR/<frame>.rgb.bin (pydicom's default: YBR_FULL/YBR_FULL_422 converted to RGB)
and DIR/<frame>.raw.bin (`raw=True`: the stored values), and prints one JSON line per frame:
{"frame", "rgb", "raw", "shape"}.
"""
import json
import os
import subprocess
import sys
import warnings

warnings.filterwarnings("ignore")
import numpy as np
import pydicom
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.pixels import pixel_array
from pydicom.uid import ExplicitVRLittleEndian, generate_uid


def testdata(names):
    from pydicom.data import get_testdata_file
    for name in names:
        path = get_testdata_file(name)
        if not path:
            sys.exit(f"no pydicom test file {name}")
        print(path)


def native(path, rows, cols, frames, spp, bits_allocated, bits_stored, signed, seed):
    """A secondary capture whose samples span the whole range of Bits Stored (smooth
    gradients plus noise, extremes included)."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:rows, 0:cols]
    lo, hi = (-(1 << (bits_stored - 1)), (1 << (bits_stored - 1)) - 1) if signed else (0, (1 << bits_stored) - 1)
    planes = []
    for f in range(frames):
        comps = []
        for c in range(spp):
            base = (x * (c + 1) + y * (f + 2)) / (rows + cols * (c + 1)) * (hi - lo) + lo
            v = base + rng.normal(0, (hi - lo) / 40, (rows, cols))
            v = np.clip(np.round(v), lo, hi).astype(np.int64)
            v[0, 0], v[0, 1] = lo, hi
            comps.append(v)
        planes.append(np.stack(comps, -1) if spp > 1 else comps[0])
    arr = np.stack(planes) if frames > 1 else planes[0]
    ds = Dataset()
    ds.SOPClassUID = "1.2.840.10008.5.1.4.1.1.7"
    ds.SOPInstanceUID = generate_uid()
    ds.StudyInstanceUID, ds.SeriesInstanceUID = generate_uid(), generate_uid()
    ds.Modality, ds.PatientID, ds.PatientName = "OT", "JPEG", "JPEG^Cases"
    ds.SamplesPerPixel = spp
    ds.PhotometricInterpretation = "RGB" if spp == 3 else "MONOCHROME2"
    if spp == 3:
        ds.PlanarConfiguration = 0
    ds.Rows, ds.Columns = rows, cols
    if frames > 1:
        ds.NumberOfFrames = frames
    ds.BitsAllocated, ds.BitsStored, ds.HighBit = bits_allocated, bits_stored, bits_stored - 1
    ds.PixelRepresentation = 1 if signed else 0
    dtype = {8: (np.uint8, np.int8), 16: (np.uint16, np.int16)}[bits_allocated][1 if signed else 0]
    ds.PixelData = arr.astype(dtype).astype(np.dtype(dtype).newbyteorder("<")).tobytes()
    fm = FileMetaDataset()
    fm.MediaStorageSOPClassUID, fm.MediaStorageSOPInstanceUID = ds.SOPClassUID, ds.SOPInstanceUID
    fm.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta = fm
    ds.save_as(path, enforce_file_format=True)


CASES = [  # name, rows, cols, frames, spp, bits allocated, bits stored, signed
    ("u8", 48, 64, 2, 1, 8, 8, False),
    ("rgb8", 40, 56, 1, 3, 8, 8, False),
    ("u12", 48, 64, 1, 1, 16, 12, False),
    ("s12", 48, 64, 1, 1, 16, 12, True),
    ("u16", 48, 64, 1, 1, 16, 16, False),
    ("s16", 48, 64, 1, 1, 16, 16, True),
]


def cases(out):
    os.makedirs(out, exist_ok=True)
    for i, (name, rows, cols, frames, spp, ba, bs, signed) in enumerate(CASES):
        source = os.path.join(out, f"{name}.native.dcm")
        native(source, rows, cols, frames, spp, ba, bs, signed, seed=i)
        encodings = [("sv1", ["+e1"]), ("sv6", ["+el", "+sv", "6"]), ("sv1el", ["+el", "+sv", "1"]),
                     ("sv7", ["+el", "+sv", "7"])]
        if name == "u12":
            # DCMTK's true-lossless codec writes Bits Allocated (16) as the precision; its
            # pseudo-lossless one, forced to 12 bits, writes P = 12 (lossless for unsigned data).
            encodings += [("pl-sv1", ["+pl", "+e1", "+bt"]), ("pl-sv6", ["+pl", "+el", "+bt"])]
        for label, args in encodings:
            path = os.path.join(out, f"{name}.{label}.dcm")
            r = subprocess.run(["dcmcjpeg", *args, source, path], capture_output=True, text=True)
            if r.returncode != 0:
                sys.exit(f"dcmcjpeg {' '.join(args)} {source}: {r.stderr}")
            syntax = str(pydicom.dcmread(path, stop_before_pixels=True).file_meta.TransferSyntaxUID)
            print(json.dumps({"path": path, "source": source, "syntax": syntax}))


def samples(out, path, frames):
    os.makedirs(out, exist_ok=True)
    ds = pydicom.dcmread(path)
    for f in frames:
        line = {"frame": f}
        for kind, raw in (("rgb", False), ("raw", True)):
            arr = pixel_array(ds, index=f, raw=raw)
            target = os.path.join(out, f"{f}.{kind}.bin")
            arr.astype("<i4").tofile(target)
            line[kind] = target
            line["shape"] = list(arr.shape)
        print(json.dumps(line))


if __name__ == "__main__":
    command, args = sys.argv[1], sys.argv[2:]
    if command == "testdata":
        testdata(args)
    elif command == "cases":
        cases(args[0])
    elif command == "samples":
        samples(args[0], args[1], [int(a) for a in args[2:]])
    else:
        sys.exit(__doc__)
