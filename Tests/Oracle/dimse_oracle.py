#!/usr/bin/env python3
"""Independent check of files that went through a DIMSE transfer (pydicom only, none of our code).

    python3 dimse_oracle.py compare DIR FILE... [--same-ts]
        Reads every file under DIR with pydicom (no force) and finds each original FILE's
        counterpart by SOP Instance UID. Compares the data sets element by element (values,
        VRs, sequences, pixel data bytes; dicomweb_oracle.compare_datasets) and checks the
        received File Meta: MediaStorageSOPClassUID/InstanceUID equal the data set's
        SOPClassUID/SOPInstanceUID and a TransferSyntaxUID is present (equal to the
        original's with --same-ts). Prints "N of M equal" then each difference; exit 1 on any.
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from dicomweb_oracle import compare_datasets  # noqa: E402


def compare(args):
    import pydicom
    received = {}
    problems = []
    for root, _dirs, names in os.walk(args.dir):
        for name in names:
            path = os.path.join(root, name)
            try:
                ds = pydicom.dcmread(path)
            except Exception as e:  # a received file pydicom cannot read is a failure
                problems.append(f"{path}: pydicom cannot read it: {e}")
                continue
            received[str(ds.SOPInstanceUID)] = (path, ds)
    equal = 0
    for f in args.files:
        a = pydicom.dcmread(f)
        uid = str(a.SOPInstanceUID)
        if uid not in received:
            problems.append(f"{f}: not received")
            continue
        path, b = received[uid]
        out = []
        meta = b.file_meta
        if str(meta.get("MediaStorageSOPInstanceUID", "")) != uid:
            out.append(f"{f}: MediaStorageSOPInstanceUID {meta.get('MediaStorageSOPInstanceUID')} != {uid}")
        if str(meta.get("MediaStorageSOPClassUID", "")) != str(a.SOPClassUID):
            out.append(f"{f}: MediaStorageSOPClassUID {meta.get('MediaStorageSOPClassUID')} != {a.SOPClassUID}")
        if "TransferSyntaxUID" not in meta:
            out.append(f"{f}: received file has no TransferSyntaxUID")
        elif args.same_ts and meta.TransferSyntaxUID != a.file_meta.TransferSyntaxUID:
            out.append(f"{f}: transfer syntax {a.file_meta.TransferSyntaxUID} != {meta.TransferSyntaxUID}")
        compare_datasets(a, b, f, out)
        if "PixelData" in a and a.PixelData != b.PixelData:
            out.append(f"{f}: pixel data differ")
        if out:
            problems += out
        else:
            equal += 1
    print(f"{equal} of {len(args.files)} equal")
    for p in problems:
        print(p)
    return 0 if not problems else 1


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("compare")
    p.add_argument("dir")
    p.add_argument("files", nargs="+")
    p.add_argument("--same-ts", action="store_true")
    args = ap.parse_args()
    return {"compare": compare}[args.cmd](args)


if __name__ == "__main__":
    sys.exit(main())
