#!/usr/bin/env python3
"""Writes a folder for the end-to-end import tests:

    python3 Tests/Oracle/make_import_folder.py OUT

study-a/: series 1 (3 CT slices), series 2 (2 slices), and one slice of series 1 whose
PatientID disagrees with the rest (HealthImaging puts it in a non-primary image set);
study-b/: one series of 4 slices (two jobs with --max-files-per-job 3);
broken.dcm: a truncated file the validator refuses.
Prints one JSON line per valid file: path, StudyInstanceUID, SeriesInstanceUID, SOPInstanceUID, conflict.
"""
import json
import os
import sys

import numpy as np
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

out = sys.argv[1]
ROOT = "1.2.826.0.1.3680043.10.1234.77"


def instance(study, series, n, patient_id="E2E-0001"):
    ds = Dataset()
    ds.SOPClassUID = "1.2.840.10008.5.1.4.1.1.2"
    ds.SOPInstanceUID = f"{ROOT}.{study}.{series}.{n}"
    ds.StudyInstanceUID = f"{ROOT}.{study}"
    ds.SeriesInstanceUID = f"{ROOT}.{study}.{series}"
    ds.StudyDate, ds.StudyTime, ds.AccessionNumber, ds.StudyID = "20260102", "101010", f"ACC{study}", str(study)
    ds.Modality, ds.SeriesNumber, ds.InstanceNumber = "CT", series, n
    ds.PatientName, ds.PatientID, ds.PatientBirthDate, ds.PatientSex = "E2E^Patient", patient_id, "19800101", "F"
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.Rows = ds.Columns = 16
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 12, 11, 0
    ds.PixelData = (np.arange(256, dtype=np.uint16) * (n + 1) % 4096).astype("<u2").tobytes()
    fm = FileMetaDataset()
    fm.MediaStorageSOPClassUID, fm.MediaStorageSOPInstanceUID = ds.SOPClassUID, ds.SOPInstanceUID
    fm.TransferSyntaxUID = ExplicitVRLittleEndian
    fm.ImplementationClassUID = f"{ROOT}.99"
    ds.file_meta = fm
    return ds


def write(ds, rel, conflict=False):
    path = os.path.join(out, rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    ds.save_as(path, enforce_file_format=True)
    print(json.dumps({"path": path, "study": ds.StudyInstanceUID, "series": ds.SeriesInstanceUID,
                      "sop": ds.SOPInstanceUID, "conflict": conflict}))


for n in (1, 2, 3):
    write(instance(1, 1, n), f"study-a/series-1/IM{n}.dcm")
for n in (1, 2):
    write(instance(1, 2, n), f"study-a/series-2/IM{n}.dcm")
write(instance(1, 1, 9, patient_id="OTHER-0002"), "study-a/series-1/IM9-conflict.dcm", conflict=True)
for n in (1, 2, 3, 4):
    write(instance(2, 1, n), f"study-b/series-1/IM{n}.dcm")
good = open(os.path.join(out, "study-a/series-1/IM1.dcm"), "rb").read()
with open(os.path.join(out, "broken.dcm"), "wb") as f:
    f.write(good[:200])
