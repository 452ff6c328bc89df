#!/usr/bin/env python3
"""Writes small DICOM files for the pixel-data and severity tests, with pydicom, and prints
one JSON line per file: its name and what pydicom / numpy say it holds.

    python3 Tests/Oracle/make_pixel_cases.py OUTDIR

Files (all explicit VR little endian unless said):
  ybr422_3frames.dcm       native YBR_FULL_422, 4 rows x 6 columns, 3 frames (stored Y Y Cb Cr);
                           "rgb": pydicom's pixel_array (converted to RGB), per frame
  rle_frames_missing.dcm   RLE Lossless, 4x4 16-bit, three fragments but NumberOfFrames 4;
                           "frames": the three frames' samples (from the array that was encoded)
  warn-*.dcm               one file per HealthImaging warning the validator predicts; "ahiWarning": the code
"""
import json
import os
import sys

import numpy as np
import pydicom
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.encaps import encapsulate
from pydicom.uid import ExplicitVRLittleEndian, RLELossless, generate_uid

out = sys.argv[1]
os.makedirs(out, exist_ok=True)
ROOT = "1.2.826.0.1.3680043.10.1234.77"


def base(n, ts=ExplicitVRLittleEndian):
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.7"
    meta.MediaStorageSOPInstanceUID = f"{ROOT}.{n}.1.1"
    meta.TransferSyntaxUID = ts
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID = meta.MediaStorageSOPClassUID
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    ds.StudyInstanceUID = f"{ROOT}.{n}"
    ds.SeriesInstanceUID = f"{ROOT}.{n}.1"
    ds.Modality = "OT"
    ds.PatientID, ds.PatientName = "CASE", "Case^Pixel"
    return ds


def save(ds, name, **facts):
    path = os.path.join(out, name)
    ds.save_as(path, enforce_file_format=True)
    print(json.dumps(dict(name=name, path=path, **facts)))
    return path


def gray(ds, rows, cols, bits=8, frames=None):
    ds.Rows, ds.Columns = rows, cols
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = bits, bits, bits - 1, 0
    if frames is not None:
        ds.NumberOfFrames = frames


rng = np.random.default_rng(20261130)

# YBR_FULL_422, 3 frames: pixel pairs share Cb/Cr; stored Y0 Y1 Cb Cr per pair.
ds = base(1)
ds.Rows, ds.Columns, ds.NumberOfFrames = 4, 6, 3
ds.SamplesPerPixel, ds.PhotometricInterpretation, ds.PlanarConfiguration = 3, "YBR_FULL_422", 0
ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 8, 8, 7, 0
raw = rng.integers(0, 256, size=3 * 4 * 6 * 2, dtype=np.uint8)
ds.PixelData = raw.tobytes()
path = save(ds, "ybr422_3frames.dcm")
rgb = pydicom.dcmread(path).pixel_array  # pydicom converts YBR_FULL_422 to RGB
print(json.dumps({"name": "ybr422_3frames.dcm#oracle", "rgb": rgb.tolist()}))

# RLE, three frames present, four declared.
ds = base(2)
gray(ds, 4, 4, bits=16, frames=3)
frames = rng.integers(0, 4096, size=(3, 4, 4), dtype=np.uint16)
ds.PixelData = frames.tobytes()
ds.compress(RLELossless, encoding_plugin="pydicom")
ds.NumberOfFrames = 4
save(ds, "rle_frames_missing.dcm", frames=frames.tolist())

# One file per warning the validator predicts.
ds = base(3, ts="1.2.840.10008.1.2.4.53")  # a retired JPEG process HealthImaging does not import
gray(ds, 2, 2)
ds.PixelData = encapsulate([b"\xff\xd8\xff\xd9"])
ds["PixelData"].VR = "OB"
save(ds, "warn-unsupported-ts.dcm", ahiWarning="UNSUPPORTED_TRANSFER_SYNTAX")

ds = base(4)
gray(ds, 2, 2, frames=3)
ds.PixelData = bytes(range(8))  # two of three frames
save(ds, "warn-frame-count.dcm", ahiWarning="FRAME_NUMBER_MISMATCH")

ds = base(5, ts=RLELossless)
gray(ds, 2, 2, frames=2)
frag = (1).to_bytes(4, "little") + (64).to_bytes(4, "little") + bytes(56) + b"\x03\x00\x01\x02\x03"
frag += b"\x00"  # even length
ds.PixelData = encapsulate([frag, frag], has_bot=True)
ds["PixelData"].VR = "OB"
pd = bytearray(ds.PixelData)
pd[8:12] = (5000).to_bytes(4, "little")  # the second frame's offset points past the data
pd[12:16] = (9000).to_bytes(4, "little")
ds.PixelData = bytes(pd)
save(ds, "warn-offset-table.dcm", ahiWarning="INVALID_OFFSET_TABLE")

ds = base(6)
gray(ds, 2, 2)
ds.SeriesInstanceUID = "1.2.3..4"  # the docs' example of a bad UID
ds.PixelData = bytes(4)
save(ds, "warn-uid.dcm", ahiWarning="INVALID_UID_FORMAT")

ds = base(7)
gray(ds, 2, 2)
ds.StudyDescription = "A" * 100  # LO allows 64; HealthImaging's table allows 256
ds.PixelData = bytes(4)
save(ds, "warn-value-length.dcm", ahiWarning="INVALID_DICOM_VALUE_LENGTH")

ds = base(8)
gray(ds, 2, 2, bits=16)
ds.PixelData = bytes(6)  # not even one whole 8-byte frame
save(ds, "warn-short-pixels.dcm", ahiWarning="TRANSCODING_EXCEPTION")

ds = base(9, ts=RLELossless)
gray(ds, 2, 2)
ds.PixelData = encapsulate([])  # an offset table and no fragment
ds["PixelData"].VR = "OB"
save(ds, "warn-no-fragments.dcm", ahiWarning="FRAMES_EXTRACTION_FAILURE")
