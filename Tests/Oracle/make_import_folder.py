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

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from synthetic import ct_instance  # noqa: E402

out = sys.argv[1]
ROOT = "1.2.826.0.1.3680043.10.1234.77"


def instance(study, series, n, patient_id="E2E-0001"):
    return ct_instance(ROOT, study, series, n, patient_id, "E2E^Patient", f"ACC{study}", np.arange(256) * (n + 1) % 4096)


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
