#!/usr/bin/env python3
"""Write the small synthetic DICOM files in Fixtures/ (all under 5 MB together).

    pip install pydicom numpy && apt-get install libgdcm-tools
    python3 Scripts/generate_fixtures.py

Every file is deterministic (fixed UIDs, dates and pixel values), so a re-run
gives identical bytes. The J2K multi-fragment fixture needs gdcmconv.
"""
import os
import shutil
import subprocess
import tempfile

import numpy as np
import pydicom
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.encaps import encapsulate, encapsulate_extended
from pydicom.sequence import Sequence
from pydicom.uid import (ExplicitVRBigEndian, ExplicitVRLittleEndian, ImplicitVRLittleEndian,
                         DeflatedExplicitVRLittleEndian, RLELossless, UID)

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Fixtures")
ROOT = "1.2.826.0.1.3680043.10.1234"  # example root for fixture UIDs
CT = "1.2.840.10008.5.1.4.1.1.2"


def base(sop_class=CT, n=1, modality="CT"):
    ds = Dataset()
    ds.SpecificCharacterSet = "ISO_IR 100"
    ds.ImageType = ["ORIGINAL", "PRIMARY", "AXIAL"]
    ds.SOPClassUID = sop_class
    ds.SOPInstanceUID = f"{ROOT}.3.{n}"
    ds.StudyDate = "20260101"
    ds.StudyTime = "120000"
    ds.AccessionNumber = "ACC0001"
    ds.Modality = modality
    ds.Manufacturer = "ahi-upload fixtures"
    ds.PatientName = "Fixture^Patient"
    ds.PatientID = "FIX-0001"
    ds.PatientBirthDate = "19700101"
    ds.PatientSex = "O"
    ds.StudyInstanceUID = f"{ROOT}.1"
    ds.SeriesInstanceUID = f"{ROOT}.2.{sum(map(ord, modality))}"
    ds.StudyID = "1"
    ds.SeriesNumber = 1
    ds.InstanceNumber = n
    ds.ImagePositionPatient = [-100.0, -100.0, float(n) * 2.5]
    ds.ImageOrientationPatient = [1, 0, 0, 0, 1, 0]
    ds.SliceThickness = "2.5"
    ds.PixelSpacing = [0.5, 0.5]
    return ds


def meta(ds, ts):
    fm = FileMetaDataset()
    fm.MediaStorageSOPClassUID = ds.SOPClassUID
    fm.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    fm.TransferSyntaxUID = ts
    fm.ImplementationClassUID = f"{ROOT}.99"
    fm.ImplementationVersionName = "AHIFIXTURES1"
    ds.file_meta = fm
    return ds


def ct_pixels(rows=64, cols=64):
    y, x = np.mgrid[0:rows, 0:cols]
    return ((x * 37 + y * 11) % 2048 - 1024).astype(np.int16)


def ct_slice(n=1):
    ds = base(n=n)
    arr = ct_pixels()
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.Rows, ds.Columns = arr.shape
    ds.BitsAllocated = 16
    ds.BitsStored = 16
    ds.HighBit = 15
    ds.PixelRepresentation = 1
    ds.SmallestImagePixelValue = int(arr.min())  # 'US or SS' in the dictionary
    ds.LargestImagePixelValue = int(arr.max())
    ds.RescaleIntercept = "0"
    ds.RescaleSlope = "1"
    ds.WindowCenter = ["40", "400"]
    ds.WindowWidth = ["400", "2000"]
    ds.PixelData = arr.tobytes()
    return ds, arr


def save(ds, name, ts, **kw):
    meta(ds, ts)
    path = os.path.join(OUT, name)
    if ts == ExplicitVRBigEndian:
        # pydicom writes big endian values from native arrays: swap the pixel bytes.
        arr = np.frombuffer(ds.PixelData, dtype="<i2" if ds.PixelRepresentation else "<u2")
        ds.PixelData = arr.byteswap().tobytes()
    ds.save_as(path, enforce_file_format=kw.get("enforce", True))
    return path


def rle_frames():
    """RLE Lossless codestreams of the multi-frame pixels, from pydicom's own encoder."""
    from pydicom.encaps import generate_frames
    ds, arr = multiframe_dataset(99)
    ds.PixelData = arr.tobytes()
    meta(ds, ExplicitVRLittleEndian)
    ds.compress(RLELossless, encoding_plugin="pydicom")
    return list(generate_frames(ds.PixelData, number_of_frames=len(arr)))


def multiframe_pixels(frames=8, rows=32, cols=32):
    z, y, x = np.mgrid[0:frames, 0:rows, 0:cols]
    return ((x + y * 3 + z * 29) % 256).astype(np.uint8)


def multiframe_dataset(n, frames=8):
    ds = base(sop_class="1.2.840.10008.5.1.4.1.1.7.2", n=n, modality="OT")  # Multi-frame Grayscale Byte SC
    arr = multiframe_pixels(frames)
    ds.NumberOfFrames = frames
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.Rows, ds.Columns = arr.shape[1:]
    ds.BitsAllocated = 8
    ds.BitsStored = 8
    ds.HighBit = 7
    ds.PixelRepresentation = 0
    ds.FrameIncrementPointer = 0x00181063
    ds.FrameTime = "40"
    return ds, arr


def sample_study():
    """Fixtures/sample-study/: one small, valid CT study (2 series × 3 slices) — what the
    README's first command imports into the local HealthImaging."""
    root = os.path.join(OUT, "sample-study")
    shutil.rmtree(root, ignore_errors=True)
    for series in (1, 2):
        os.makedirs(os.path.join(root, f"series-{series}"))
        for n in (1, 2, 3):
            ds, arr = ct_slice(n)
            ds.StudyInstanceUID = f"{ROOT}.10"
            ds.SeriesInstanceUID = f"{ROOT}.10.{series}"
            ds.SOPInstanceUID = f"{ROOT}.10.{series}.{n}"
            ds.SeriesNumber = series
            ds.PatientName = "Sample^Study"
            ds.PatientID = "SAMPLE-0001"
            ds.AccessionNumber = "SAMPLE01"
            ds.StudyDescription = "ahi-upload sample study"
            ds.SeriesDescription = f"sample series {series}"
            ds.PixelData = (arr + np.int16(series * 100 + n)).astype(np.int16).tobytes()
            meta(ds, ExplicitVRLittleEndian)
            ds.save_as(os.path.join(root, f"series-{series}", f"CT{n:04d}.dcm"), enforce_file_format=True)


def main():
    os.makedirs(OUT, exist_ok=True)
    for f in os.listdir(OUT):
        if f.endswith(".dcm"):
            os.remove(os.path.join(OUT, f))

    # A CT slice in each uncompressed transfer syntax.
    for name, ts in [("ct_implicit_le.dcm", ImplicitVRLittleEndian),
                     ("ct_explicit_le.dcm", ExplicitVRLittleEndian),
                     ("ct_explicit_be.dcm", ExplicitVRBigEndian),
                     ("ct_deflated.dcm", DeflatedExplicitVRLittleEndian)]:
        ds, _ = ct_slice(1)
        save(ds, name, ts)

    # Without preamble and DICM (read leniently, like pydicom's force=True).
    ds, _ = ct_slice(2)
    ds.file_meta = FileMetaDataset()
    ds.save_as(os.path.join(OUT, "ct_no_preamble.dcm"), implicit_vr=True, little_endian=True,
               enforce_file_format=False)

    # Multi-frame, native.
    ds, arr = multiframe_dataset(10)
    ds.PixelData = arr.tobytes()
    save(ds, "multiframe_8frames.dcm", ExplicitVRLittleEndian)

    # Encapsulated RLE: Basic Offset Table, none, and the Extended Offset Table.
    frames = rle_frames()
    ds, _ = multiframe_dataset(11)
    ds.PixelData = encapsulate(frames, has_bot=True)
    ds["PixelData"].VR = "OB"
    save(ds, "rle_with_bot.dcm", RLELossless)
    ds, _ = multiframe_dataset(12)
    ds.PixelData = encapsulate(frames, has_bot=False)
    ds["PixelData"].VR = "OB"
    save(ds, "rle_no_bot.dcm", RLELossless)
    ds, _ = multiframe_dataset(13)
    data, offsets, lengths = encapsulate_extended(frames)
    ds.PixelData = data
    ds["PixelData"].VR = "OB"
    ds.ExtendedOffsetTable = offsets
    ds.ExtendedOffsetTableLengths = lengths
    save(ds, "rle_extended_offset_table.dcm", RLELossless)

    # JPEG 2000 frames split into two fragments each, with no offset table:
    # frames must be found where a codestream (SOC) starts.
    if shutil.which("gdcmconv"):
        with tempfile.TemporaryDirectory() as tmp:
            src = os.path.join(OUT, "multiframe_8frames.dcm")
            j2k = os.path.join(tmp, "j2k.dcm")
            subprocess.run(["gdcmconv", "--j2k", src, j2k], check=True)
            jds = pydicom.dcmread(j2k)
            from pydicom.encaps import generate_frames
            codestreams = list(generate_frames(jds.PixelData, number_of_frames=8))
            ds, _ = multiframe_dataset(14)
            fragments = []
            for cs in codestreams:
                half = (len(cs) // 2) & ~1
                fragments += [cs[:half], cs[half:]]
            from pydicom.encaps import itemize_fragment
            item_data = b"".join(itemize_fragment(f + b"\0" * (len(f) % 2)) for f in fragments)
            ds.PixelData = b"\xfe\xff\x00\xe0\x00\x00\x00\x00" + item_data  # empty BOT, then items
            ds["PixelData"].VR = "OB"
            ds["PixelData"].is_undefined_length = True
            save(ds, "j2k_two_fragments_per_frame.dcm", jds.file_meta.TransferSyntaxUID)
    else:
        print("gdcmconv not found: j2k_two_fragments_per_frame.dcm not written")

    # Nested sequences (three levels), private tags and a private sequence.
    ds, _ = ct_slice(3)
    inner = Dataset()
    inner.CodeValue = "121327"
    inner.CodingSchemeDesignator = "DCM"
    inner.CodeMeaning = "Full fidelity image"
    middle = Dataset()
    middle.ReferencedSOPClassUID = CT
    middle.ReferencedSOPInstanceUID = f"{ROOT}.3.1"
    middle.PurposeOfReferenceCodeSequence = Sequence([inner])
    outer = Dataset()
    outer.SpatialLocationsPreserved = "YES"
    outer.SourceImageSequence = Sequence([middle, middle])
    ds.DerivationCodeSequence = Sequence([inner])
    ds.SourceImageSequence = Sequence([middle])
    ds.ReferencedImageEvidenceSequence = Sequence([outer])
    ds.ReferencedStudySequence = Sequence([])
    block = ds.private_block(0x0019, "AHI FIXTURE CREATOR", create=True)
    block.add_new(0x01, "LO", "private text")
    block.add_new(0x02, "US", [1, 2, 3])
    block.add_new(0x03, "FD", 3.25)
    priv_item = Dataset()
    priv_item.add_new(0x00190010, "LO", "AHI FIXTURE CREATOR")
    priv_item.add_new(0x00191001, "LO", "inside a private sequence")
    block.add_new(0x04, "SQ", Sequence([priv_item]))
    save(ds, "nested_private.dcm", ExplicitVRLittleEndian)
    ds = pydicom.dcmread(os.path.join(OUT, "nested_private.dcm"))
    save(ds, "nested_private_implicit.dcm", ImplicitVRLittleEndian)

    # Non-ASCII character sets: UTF-8, Latin-1 and ISO 2022 Japanese.
    ds, _ = ct_slice(4)
    ds.SpecificCharacterSet = "ISO_IR 192"
    ds.PatientName = "Müller^Jürgen=ミュラー^ユルゲン"
    ds.StudyDescription = "Ünïcödé ✓ 研究"
    save(ds, "charset_utf8.dcm", ExplicitVRLittleEndian)
    ds, _ = ct_slice(5)
    ds.SpecificCharacterSet = "ISO_IR 100"
    ds.PatientName = "Bäcker^Åsa"
    ds.InstitutionName = "Hôpital Général"
    save(ds, "charset_latin1.dcm", ExplicitVRLittleEndian)
    ds, _ = ct_slice(6)
    ds.SpecificCharacterSet = ["", "ISO 2022 IR 87"]
    ds.PatientName = "Yamada^Tarou=山田^太郎=やまだ^たろう"
    save(ds, "charset_iso2022_jp.dcm", ExplicitVRLittleEndian)

    # 1-bit packed data, frames not byte aligned (5x5 = 25 bits per frame).
    ds = base(sop_class="1.2.840.10008.5.1.4.1.1.66.4", n=7, modality="SEG")
    frames = np.array([[(r + c + f) % 2 for c in range(5)] for f in range(3) for r in range(5)], dtype=np.uint8)
    ds.NumberOfFrames = 3
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.Rows = ds.Columns = 5
    ds.BitsAllocated = ds.BitsStored = 1
    ds.HighBit = 0
    ds.PixelRepresentation = 0
    bits = np.packbits(frames.flatten(), bitorder="little").tobytes()
    ds.PixelData = bits + (b"\0" if len(bits) % 2 else b"")
    ds["PixelData"].VR = "OB"
    save(ds, "bitmap_1bit_3frames.dcm", ExplicitVRLittleEndian)

    sample_study()

    total = sum(os.path.getsize(os.path.join(OUT, f)) for f in os.listdir(OUT) if f.endswith(".dcm"))
    print(f"wrote {len([f for f in os.listdir(OUT) if f.endswith('.dcm')])} fixtures, {total} bytes, into {os.path.normpath(OUT)}")


if __name__ == "__main__":
    main()
