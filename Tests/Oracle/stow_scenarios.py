#!/usr/bin/env python3
"""Drives `ahi-upload import --via stow-rs` against a real ahi-local process and judges
the outcome from outside, with boto3 (SearchImageSets, GetImageSetMetadata), the
report ahi-upload writes, and ahi-local's request log.

    python3 Tests/Oracle/stow_scenarios.py SCENARIO --ahi-upload BIN --ahi-local BIN --work DIR

SCENARIO:
  import  a folder of 3 series and an invalid file: boto3 finds exactly the instances sent,
          one image set per series; the invalid file is skipped with its reason; a second
          import finds them all already imported and sends nothing.
  faults  ahi-local answers chosen instances with FailedSOPSequence (stow-fail), throttles the
          first STOW requests with 429 and 503: exactly the chosen instances are reported
          failed with FailureReason 0110; the throttled requests are retried; an instance
          larger than --stow-max-request-mib goes in a request of its own.
Prints `ok: …` lines; exits 1 with `FAIL: …` on the first broken promise.
"""
import argparse
import atexit
import re
import gzip
import json
import os
import subprocess
import sys
import time

import boto3
import numpy as np
import pydicom

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ahi_local_process  # noqa: E402
from synthetic import ct_instance  # noqa: E402

p = argparse.ArgumentParser()
p.add_argument("scenario", choices=["import", "faults"])
p.add_argument("--ahi-upload", required=True)
p.add_argument("--ahi-local", required=True)
p.add_argument("--work", required=True)
args = p.parse_args()

ROOT = "1.2.826.0.1.3680043.10.1234.66"
KEY_ID, SECRET = ahi_local_process.KEY_ID, ahi_local_process.SECRET


def fail(msg):
    print(f"FAIL: {msg}", flush=True)
    sys.exit(1)


def ok(msg):
    print(f"ok: {msg}", flush=True)


os.makedirs(args.work, exist_ok=True)
folder = os.path.join(args.work, "study")
rng = np.random.default_rng(3)
sent = {}  # SOP Instance UID -> series
for series in (1, 2, 3):
    for n in range(1, 5):
        ds = ct_instance(ROOT, 1, series, n, "STOW-1", "Stow^Patient", "STOW1", rng.integers(0, 4096, size=256), rows=16, cols=16)
        os.makedirs(os.path.join(folder, f"s{series}"), exist_ok=True)
        ds.save_as(os.path.join(folder, f"s{series}", f"IM{n}.dcm"), enforce_file_format=True)
        sent[ds.SOPInstanceUID] = ds.SeriesInstanceUID
large_uid = None
if args.scenario == "faults":
    ds = ct_instance(ROOT, 1, 4, 1, "STOW-1", "Stow^Patient", "STOW1", rng.integers(0, 4096, size=1024 * 1024), rows=1024, cols=1024)
    os.makedirs(os.path.join(folder, "s4"), exist_ok=True)
    ds.save_as(os.path.join(folder, "s4", "LARGE.dcm"), enforce_file_format=True)
    sent[ds.SOPInstanceUID] = ds.SeriesInstanceUID
    large_uid = ds.SOPInstanceUID
# An invalid file: no SOP Instance UID (HealthImaging cannot store it).
bad = ct_instance(ROOT, 1, 1, 99, "STOW-1", "Stow^Patient", "STOW1", rng.integers(0, 4096, size=256))
del bad.SOPInstanceUID
bad.save_as(os.path.join(folder, "s1", "BAD.dcm"), enforce_file_format=True)

failing = sorted(sent)[:2] if args.scenario == "faults" else []
faults = []
if args.scenario == "faults":
    faults = ["--fault", "stow-fail=" + "+".join(failing), "--fault", "stow-throttle=2", "--fault", "stow-unavailable=1"]
request_log = os.path.join(args.work, "requests.log")
server, endpoint = ahi_local_process.start(args.ahi_local, os.path.join(args.work, "ahi-local"),
                                          ["--request-log", request_log] + faults)
if server is None:
    fail("ahi-local did not start")
atexit.register(server.kill)  # also when a check fails
env = ahi_local_process.client_env()
os.environ.update(env)
mi = boto3.client("medical-imaging", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id=KEY_ID,
                  aws_secret_access_key=SECRET)
datastore = mi.create_datastore(datastoreName="stow", clientToken=f"stow-{args.scenario}")["datastoreId"]


def run_import(extra=()):
    report = os.path.join(args.work, f"report-{time.time()}.json")
    cmd = [args.ahi_upload, "import", folder, "--via", "stow-rs", "--datastore", datastore, "--endpoint-url", endpoint,
           "--region", "us-east-1", "--report", report, "--stow-max-instances", "5", "--debug"] + list(extra)
    r = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    if not os.path.exists(report):
        fail(f"no report (exit {r.returncode}): {r.stderr[-2000:]}")
    return r, json.load(open(report))


def stored_by_image_set():
    """image set id -> (series UID, SOP Instance UIDs), from boto3."""
    out = {}
    criteria = {"filters": [{"values": [{"DICOMStudyInstanceUID": f"{ROOT}.1"}], "operator": "EQUAL"}]}
    for s in mi.search_image_sets(datastoreId=datastore, searchCriteria=criteria, maxResults=50)["imageSetsMetadataSummaries"]:
        body = mi.get_image_set_metadata(datastoreId=datastore, imageSetId=s["imageSetId"])["imageSetMetadataBlob"].read()
        if body[:2] == b"\x1f\x8b":
            body = gzip.decompress(body)
        doc = json.loads(body)
        for series_uid, series in doc["Study"]["Series"].items():
            out[s["imageSetId"]] = (series_uid, set(series["Instances"]))
    return out


def stow_posts():
    return [line for line in open(request_log) if line.startswith("POST ") and "/studies" in line]


r, report = run_import(["--stow-max-request-mib", "1"] if args.scenario == "faults" else [])
by_path = {f["path"]: f for f in report["files"]}
bad_path = os.path.join(folder, "s1", "BAD.dcm")
if by_path.get(bad_path, {}).get("status") != "skipped" or "SOPInstanceUID" not in (by_path[bad_path].get("reason") or ""):
    fail(f"the invalid file is not skipped with its reason: {by_path.get(bad_path)}")
ok(f"the invalid file is skipped: {by_path[bad_path]['reason'][:100]}")
if report.get("via") != "stow-rs":
    fail(f"the report says via {report.get('via')}")

stored = stored_by_image_set()
held = {sop for _, sops in stored.values() for sop in sops}
expected_stored = set(sent) - set(failing)
if held != expected_stored:
    fail(f"the data store holds {len(held)} instances, {len(expected_stored)} expected; "
         f"missing {sorted(expected_stored - held)[:3]}, extra {sorted(held - expected_stored)[:3]}")
series_of_sets = [series for series, _ in stored.values()]
if sorted(series_of_sets) != sorted(set(series_of_sets)) or set(series_of_sets) != {sent[s] for s in expected_stored}:
    fail(f"image sets per series: {series_of_sets}")
ok(f"boto3 finds exactly the {len(held)} instances stored, in {len(stored)} image sets, one per series")

for path, f in by_path.items():
    if path == bad_path:
        continue
    sop = pydicom.dcmread(path, stop_before_pixels=True).SOPInstanceUID
    if sop in failing:
        if f["status"] != "failed" or "0110" not in (f.get("reason") or ""):
            fail(f"{path} should be failed with FailureReason 0110: {f}")
    elif f["status"] != "imported":
        fail(f"{path} should be imported: {f}")

if args.scenario == "import":
    if r.returncode != 2:
        fail(f"exit {r.returncode}, expected 2 (all valid files stored, one skipped): {r.stdout[-500:]}")
    ok("every valid file reported imported, exit 2 for the skipped one")
    before = len(stow_posts())
    r2, report2 = run_import()
    counts = {}
    for f in report2["files"]:
        counts[f["status"]] = counts.get(f["status"], 0) + 1
    if counts.get("already-imported") != len(sent) or len(stow_posts()) != before:
        fail(f"a second import sent something or did not find the instances: {counts}, {len(stow_posts()) - before} STOW requests")
    ok(f"a second import finds all {len(sent)} already imported and sends nothing")
else:
    if r.returncode != 1:
        fail(f"exit {r.returncode}, expected 1 (files failed)")
    ok(f"exactly the {len(failing)} chosen instances are reported failed with FailureReason 0110; exit 1")
    throttled = [line for line in r.stderr.splitlines() if "retry" in line and "StoreDICOM" in line]
    if len(throttled) < 3:
        fail(f"expected the 2 throttled (429) and 1 unavailable (503) requests to be retried: {throttled}")
    ok(f"429 and 503 answers retried ({len(throttled)} retries)")
    large = os.path.getsize(os.path.join(folder, "s4", "LARGE.dcm"))
    # Lines written by concurrent requests may share a line of the log: search the whole text.
    sizes = [int(n) for n in re.findall(r"\(StoreDICOM, attempt \d+, (\d+) bytes\)", r.stderr)]
    if not any(large <= n < large + 1024 for n in sizes):
        fail(f"no request carried the {large}-byte instance alone: request sizes {sorted(set(sizes))}")
    ok(f"the {large}-byte instance went alone (--stow-max-request-mib 1)")
server.kill()
