#!/usr/bin/env python3
"""Writes encapsulated DICOM files whose codestreams are narrower than Bits Allocated, with
the samples they must decode to: second cases of issue 13's fifth kind (12-jpegls-ba16-bs8).

    python3 Tests/Oracle/narrow_codestreams.py OUTDIR

For each file, prints one JSON line: {"path", "bits_allocated", "signed", "samples"} where
samples are the source values in row order (what a lossless decoder must give back, widened to
Bits Allocated). The codestreams come from OpenJPEG's opj_compress and OpenJPH's ojph_compress.
- j2k_prec8_signed_ba16.dcm: JPEG 2000 lossless, 8-bit signed codestream (−128…127), Bits
  Allocated 16, Bits Stored 8, Pixel Representation 1: widened and sign-extended to int16.
- htj2k_prec12_ba16.dcm: HTJ2K lossless, 12-bit unsigned codestream (0…4095), Bits Allocated 16.
- j2k_prec8_ba16.dcm: JPEG 2000 lossless, 8-bit unsigned codestream, Bits Allocated 16.
"""
import json
import os
import subprocess
import sys
import tempfile

import numpy as np
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.encaps import encapsulate
from pydicom.uid import JPEG2000Lossless, HTJ2KLossless, SecondaryCaptureImageStorage, generate_uid

ROWS, COLS = 16, 16


def codestream(tool, samples, bits, signed, tmp):
    """Encodes `samples` (a 2-D int array) losslessly with `tool`, from a raw file."""
    dtype = ("<i1" if signed else "<u1") if bits <= 8 else ("<i2" if signed else "<u2")
    raw = os.path.join(tmp, "in.raw" if tool == "opj" else "in.yuv")
    samples.astype(dtype).tofile(raw)
    if tool == "opj":
        out = os.path.join(tmp, "out.j2k")
        flag = "s" if signed else "u"
        subprocess.run(["opj_compress", "-i", raw, "-o", out, "-F", f"{COLS},{ROWS},1,{bits},{flag}", "-n", "3"],
                       check=True, capture_output=True)
    else:
        out = os.path.join(tmp, "out.j2c")
        subprocess.run(["ojph_compress", "-i", raw, "-o", out, "-dims", f"{{{COLS},{ROWS}}}", "-num_comps", "1",
                        "-signed", "true" if signed else "false", "-bit_depth", str(bits), "-reversible", "true", "-num_decomps", "3", "-downsamp", "{1,1}"],
                       check=True, capture_output=True)
    with open(out, "rb") as f:
        return f.read()


def write(path, stream, syntax, bits_allocated, bits_stored, signed):
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.MediaStorageSOPClassUID = SecondaryCaptureImageStorage
    ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
    ds.file_meta.TransferSyntaxUID = syntax
    ds.SOPClassUID = SecondaryCaptureImageStorage
    ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID
    ds.Modality = "OT"
    ds.PatientName = "NARROW^CODESTREAM"
    ds.PatientID = "NARROW-1"
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.Rows, ds.Columns = ROWS, COLS
    ds.BitsAllocated = bits_allocated
    ds.BitsStored = bits_stored
    ds.HighBit = bits_stored - 1
    ds.PixelRepresentation = 1 if signed else 0
    ds.PixelData = encapsulate([stream])
    ds["PixelData"].VR = "OB"
    ds.save_as(path, enforce_file_format=True)


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    index = np.arange(ROWS * COLS).reshape(ROWS, COLS)
    cases = [
        ("j2k_prec8_signed_ba16.dcm", "opj", JPEG2000Lossless, 8, True, index - 128),
        ("htj2k_prec12_ba16.dcm", "ojph", HTJ2KLossless, 12, False, index * 16 + 5),
        ("j2k_prec8_ba16.dcm", "opj", JPEG2000Lossless, 8, False, index),
    ]
    with tempfile.TemporaryDirectory() as tmp:
        for name, tool, syntax, bits, signed, samples in cases:
            path = os.path.join(out, name)
            write(path, codestream(tool, samples, bits, signed, tmp), syntax, 16, bits, signed)
            print(json.dumps({"path": path, "bits_allocated": 16, "signed": signed,
                              "samples": [int(v) for v in samples.flatten()]}))


if __name__ == "__main__":
    main()
