#!/usr/bin/env python3
"""Oracle test: dump every file of pydicom's test corpus with `ahi-upload dump
--format json` and compare it, element by element, with pydicom's
`Dataset.to_json_dict()` for the same file (read with `force=True`).

    python3 Tests/Oracle/pydicom_compare.py --tool .build/debug/ahi-upload [FILES...]

Prints "N of M identical", then every difference. Exit status 1 when a
difference is not of an allowed kind, or when a file pydicom reads cannot be
read here. Files pydicom refuses must give a diagnostic (not a crash) here.

Allowed kinds of difference, each a choice the standard leaves open or a
pydicom behaviour the standard does not require:
  empty-component   an empty value inside a multi-valued string: PS3.18 F.2.5
                    says null; pydicom writes "". Compared as equal.
  number-format     DS/IS/FL/FD numbers equal as numbers (1 vs 1.0, 1e-05 vs 0.00001).
  private-vr        a private element read without an explicit VR: pydicom
                    looks up its private dictionary; the standard gives no VR,
                    so this tool says UN (value shown as InlineBinary).
  component-padding pydicom strips trailing spaces only at the end of a whole
                    multi-valued string ("DERIVED " stays padded); PS3.5 6.2
                    makes trailing spaces of each CS/SH/LO/... value insignificant.
  pydicom-cannot-convert  pydicom raises while converting the value (e.g. a
                    malformed IS), so it has no JSON for that element.
  garbage-read      a file with neither preamble nor a plausible first element:
                    pydicom's force=True reads the bytes as an unknown element;
                    this tool refuses it as "not a DICOM file".
  ambiguous-vr      pydicom leaves a dictionary choice unresolved ("OB or OW"
                    for Overlay Data); this tool resolves it (OW, PS3.5 A.1 c).
"""
import argparse
import base64
import glob
import json
import math
import os
import subprocess
import sys
import warnings

warnings.filterwarnings("ignore")
import logging
logging.disable(logging.CRITICAL)

import pydicom
from pydicom import config

config.settings.reading_validation_mode = config.IGNORE


def corpus():
    import pydicom.data
    base = os.path.dirname(pydicom.data.__file__)
    files = sorted(glob.glob(os.path.join(base, "test_files", "**", "*"), recursive=True))
    files += sorted(glob.glob(os.path.join(base, "charset_files", "*")))
    try:
        import data_store
        ds_base = os.path.dirname(data_store.__file__)
        files += sorted(glob.glob(os.path.join(ds_base, "data", "**", "*"), recursive=True))
    except ImportError:
        print("warning: pydicom-data (data_store) is not installed; using pydicom's own files only")
    skip_ext = (".py", ".pyc", ".txt", ".json", ".dump", ".icc", ".gz", ".bz2", ".zip", ".md",
                ".jpg", ".j2k", ".jls", ".png", ".bmp", ".raw", ".npy", ".jpeg", ".jp2", ".h5")
    return [f for f in files if os.path.isfile(f) and not f.endswith(skip_ext)
            and not os.path.basename(f).startswith("README")
            and "__pycache__" not in f]


def pydicom_json(path):
    """pydicom's JSON, element by element, as Dataset.to_json_dict builds it
    but without its strict-reading context, so that a value pydicom finds
    invalid is still shown rather than dropped. Returns (json, first tag)."""
    ds = pydicom.dcmread(path, force=True)
    if len(ds) == 0:
        raise ValueError("pydicom reads no data elements")
    out = {}
    dropped = []
    for key in ds.keys():
        try:
            out[f"{key:08X}"] = ds[key].to_json_dict(None, 1024)
        except Exception:
            dropped.append(f"{key:08X}")
    return out, dropped, int(list(ds.keys())[0])


def norm_empty(v):
    return None if v == "" else v


def compare(ours, theirs, where, diffs):
    keys = sorted(set(ours) | set(theirs))
    for k in keys:
        path = f"{where}({k[:4]},{k[4:]})"
        if k not in ours:
            diffs.append(("missing-here", path, None, summarize(theirs[k])))
            continue
        if k not in theirs:
            diffs.append(("extra-here", path, summarize(ours[k]), None))
            continue
        a, b = ours[k], theirs[k]
        if a.get("vr") != b.get("vr"):
            kind = "vr"
            if b.get("vr", "").find(" or ") >= 0:
                kind = "ambiguous-vr"
            elif int(k[:4], 16) % 2 == 1 and a.get("vr") == "UN":
                kind = "private-vr"
            diffs.append((kind, path, a.get("vr"), b.get("vr")))
            continue
        if "InlineBinary" in a or "InlineBinary" in b:
            if a.get("InlineBinary") != b.get("InlineBinary"):
                la = len(base64.b64decode(a.get("InlineBinary", "")))
                lb = len(base64.b64decode(b.get("InlineBinary", "")))
                diffs.append(("binary", path, f"{la} bytes", f"{lb} bytes"))
            continue
        va, vb = a.get("Value", []), b.get("Value", [])
        if a.get("vr") == "SQ":
            if len(va) != len(vb):
                diffs.append(("items", path, len(va), len(vb)))
                continue
            for i, (ia, ib) in enumerate(zip(va, vb)):
                compare(ia or {}, ib or {}, f"{path}[{i}].", diffs)
            continue
        va = [norm_empty(x) for x in va] if isinstance(va, list) else va
        vb = [norm_empty(x) for x in vb] if isinstance(vb, list) else vb
        if va == vb:
            continue
        if isinstance(va, list) and isinstance(vb, list) and len(va) == len(vb) and all(
                values_equal(x, y) for x, y in zip(va, vb)):
            continue
        if a.get("vr") == "PN" and pn_equal(va, vb):
            continue
        if isinstance(va, list) and isinstance(vb, list) and [strip(x) for x in va] == [strip(x) for x in vb]:
            diffs.append(("component-padding", path, summarize(a), summarize(b)))
            continue
        diffs.append(("value", path, summarize(a), summarize(b)))


def strip(x):
    return norm_empty(x.strip(" ")) if isinstance(x, str) else x


def is_plausible(tag):
    from pydicom.datadict import dictionary_has_tag
    return dictionary_has_tag(tag) or (tag >> 16) % 2 == 1


def values_equal(x, y):
    if isinstance(x, (int, float)) and isinstance(y, (int, float)):
        return x == y or (math.isfinite(x) and math.isfinite(y) and math.isclose(x, y, rel_tol=1e-12))
    return x == y


def pn_equal(va, vb):
    if len(va) != len(vb):
        return False
    for x, y in zip(va, vb):
        x = {k: v for k, v in (x or {}).items() if v}
        y = {k: v for k, v in (y or {}).items() if v}
        if x != y:
            return False
    return True


def summarize(e):
    s = json.dumps(e, ensure_ascii=False)
    return s if len(s) < 160 else s[:157] + "..."


ALLOWED = {"private-vr", "ambiguous-vr", "component-padding", "pydicom-cannot-convert"}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tool", required=True)
    ap.add_argument("files", nargs="*")
    args = ap.parse_args()
    files = args.files or corpus()
    identical = 0
    compared = 0
    failures = []
    allowed_counts = {}
    refused = []
    for f in files:
        name = os.path.relpath(f, os.path.dirname(os.path.dirname(f)))
        try:
            theirs, dropped, first_tag = pydicom_json(f)
            theirs = json.loads(json.dumps(theirs, default=str), parse_constant=lambda c: None)
        except Exception as exc:  # pydicom refuses the file: we must not crash
            r = subprocess.run([args.tool, "dump", "--format", "json", f], capture_output=True, text=True)
            crashed = r.returncode not in (0, 1)
            refused.append((name, type(exc).__name__, r.returncode, r.stderr.strip().splitlines()[-1:] if r.stderr else []))
            if crashed:
                failures.append((name, "crash", f"exit {r.returncode}", r.stderr[-300:]))
            continue
        compared += 1
        r = subprocess.run([args.tool, "dump", "--format", "json", "--quiet", f], capture_output=True, text=True)
        if r.returncode == 1 and "not a DICOM file" in r.stderr and not is_plausible(first_tag):
            # pydicom (force=True) turns any bytes into a data element; we refuse them.
            refused.append((name, "garbage read by pydicom as " + f"({first_tag >> 16:04X},{first_tag & 0xFFFF:04X})",
                            r.returncode, r.stderr.strip().splitlines()[-1:]))
            allowed_counts["garbage-read"] = allowed_counts.get("garbage-read", 0) + 1
            continue
        if r.returncode not in (0, 1) or not r.stdout.strip():
            failures.append((name, "unreadable", f"exit {r.returncode}", r.stderr.strip()[-300:]))
            continue
        try:
            ours = json.loads(r.stdout)
        except ValueError as exc:
            failures.append((name, "invalid-json", str(exc), r.stdout[:200]))
            continue
        diffs = []
        compare(ours, theirs, "", diffs)
        diffs = [("pydicom-cannot-convert",) + d[1:] if d[0] == "extra-here" and d[1][1:10].replace(",", "") in dropped
                 else d for d in diffs]
        if not diffs:
            identical += 1
        for kind, path, a, b in diffs:
            if kind in ALLOWED:
                allowed_counts[kind] = allowed_counts.get(kind, 0) + 1
            else:
                failures.append((name, kind, path, f"ours={a} pydicom={b}"))
    print(f"{identical} of {compared} identical ({len(files)} files; {len(refused)} refused by pydicom)")
    for kind, n in sorted(allowed_counts.items()):
        print(f"  allowed difference {kind}: {n} elements")
    for name, kind, rc, msg in refused:
        print(f"  pydicom refuses {name} ({kind}); ahi-upload exit {rc}: {' '.join(msg)}")
    for f in failures:
        print("DIFF", *f)
    print(f"{len(failures)} unexplained differences")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
