#!/usr/bin/env python3
"""Benchmark data: a 300-slice CT study (512x512, 16-bit, Explicit VR Little
Endian, with a realistic header) and one 1,000-frame multi-frame file.

    python3 Scripts/bench/make_data.py OUTDIR
"""
import os
import sys

import numpy as np
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence
from pydicom.uid import ExplicitVRLittleEndian

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from generate_fixtures import base, meta  # noqa: E402


def ct(n, pixels):
    ds = base(n=n)
    ds.SOPInstanceUID = f"1.2.826.0.1.3680043.10.1234.5.{n}"
    ds.InstitutionName = "Benchmark Hospital"
    ds.ReferringPhysicianName = "Doctor^Bench"
    ds.StudyDescription = "CT CHEST W/O CONTRAST"
    ds.SeriesDescription = "AXIAL 2.5mm"
    ds.BodyPartExamined = "CHEST"
    ds.KVP = "120"
    ds.ExposureTime = "500"
    ds.XRayTubeCurrent = "300"
    ds.ConvolutionKernel = "STANDARD"
    ds.PatientPosition = "HFS"
    ds.FrameOfReferenceUID = "1.2.826.0.1.3680043.10.1234.6"
    ds.SliceLocation = str(n * 2.5)
    code = Dataset()
    code.CodeValue = "113691"
    code.CodingSchemeDesignator = "DCM"
    code.CodeMeaning = "Image Processing"
    ds.DerivationCodeSequence = Sequence([code])
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.Rows = ds.Columns = 512
    ds.BitsAllocated = 16
    ds.BitsStored = 12
    ds.HighBit = 11
    ds.PixelRepresentation = 1
    ds.RescaleIntercept = "-1024"
    ds.RescaleSlope = "1"
    ds.WindowCenter = "40"
    ds.WindowWidth = "400"
    ds.PixelData = pixels
    return ds


def main():
    out = sys.argv[1]
    study = os.path.join(out, "study")
    os.makedirs(study, exist_ok=True)
    y, x = np.mgrid[0:512, 0:512]
    for n in range(1, 301):
        path = os.path.join(study, f"CT{n:04d}.dcm")
        if os.path.exists(path):
            continue
        pixels = ((x * 3 + y * 7 + n) % 4096 - 1024).astype(np.int16).tobytes()
        ds = ct(n, pixels)
        meta(ds, ExplicitVRLittleEndian)
        ds.save_as(path, enforce_file_format=True)
    mf = os.path.join(out, "multiframe_1000.dcm")
    if not os.path.exists(mf):
        ds = ct(1000, b"")
        ds.NumberOfFrames = 1000
        ds.BitsAllocated = 8
        ds.BitsStored = 8
        ds.HighBit = 7
        ds.PixelRepresentation = 0
        del ds.RescaleIntercept, ds.RescaleSlope
        ds.Rows = ds.Columns = 512
        frame = ((x + y) % 256).astype(np.uint8).tobytes()
        ds.PixelData = frame * 1000
        meta(ds, ExplicitVRLittleEndian)
        ds.save_as(mf, enforce_file_format=True)


if __name__ == "__main__":
    main()
