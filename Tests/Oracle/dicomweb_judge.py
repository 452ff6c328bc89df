#!/usr/bin/env python3
"""dicomweb-client, requests and boto3 judge ahi-local's DICOMweb (STOW-RS, QIDO-RS, WADO-RS).

    python3 Tests/Oracle/dicomweb_judge.py ENDPOINT FAIL_UID+FAIL_UID FILE...

ahi-local must run with `--fault stow-fail=FAIL_UID+FAIL_UID` (two UIDs this script gives to
copies of CT_small). Credentials from the environment; AWS_DISABLE_HOST_PREFIX_INJECTION=true.
Prints `ok: …` lines and `all ok`; exits 1 with the reason on the first mismatch.
"""
import copy
import os
import sys
import uuid

import boto3
import numpy as np
import pydicom
import requests
from dicomweb_client.api import DICOMwebClient
from dicomweb_client.session_utils import create_session_from_auth
from pydicom.data import get_testdata_file

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from sigv4_auth import MedicalImagingSigV4  # noqa: E402

endpoint, fail_uids, files = sys.argv[1], sys.argv[2].split("+"), sys.argv[3:]
REGION = "us-east-1"


def fail(msg):
    print(f"FAIL: {msg}", flush=True)
    sys.exit(1)


def ok(msg):
    print(f"ok: {msg}", flush=True)


auth = MedicalImagingSigV4(REGION)
mi = boto3.client("medical-imaging", endpoint_url=endpoint, region_name=REGION)
datastore = mi.create_datastore(datastoreName="dicomweb-judge", clientToken=str(uuid.uuid4()))["datastoreId"]
base = f"{endpoint}/datastore/{datastore}"
client = DICOMwebClient(url=base, session=create_session_from_auth(auth), chunk_size=1 << 31)

# The instances: our fixtures and pydicom's corpus (RLE, J2K lossless multi-frame, RGB RLE 2 frames).
corpus = ["CT_small.dcm", "MR_small_RLE.dcm", "SC_rgb_rle_2frame.dcm", "emri_small_jpeg_2k_lossless.dcm"]
paths = files + [get_testdata_file(n) for n in corpus]
originals = [pydicom.dcmread(p) for p in paths]
by_sop = {ds.SOPInstanceUID: ds for ds in originals}
if len(by_sop) != len(originals):
    fail("the test files share SOP Instance UIDs")

# --- STOW-RS with dicomweb-client
answer = client.store_instances(originals)
# dicomweb-client hands the STOW answer back as a pydicom Dataset.
stored = {item.ReferencedSOPInstanceUID for item in answer.get("ReferencedSOPSequence", [])}
if stored != set(by_sop):
    fail(f"STOW stored {len(stored)} of {len(by_sop)}: missing {set(by_sop) - stored}, answer {answer}")
if answer.get("FailedSOPSequence"):
    fail(f"STOW reported failures: {answer.FailedSOPSequence}")
# Instances stored in a non-primary image set (conflicting patient/study attributes) carry
# `?imageSetId=` in their RetrieveURL; without it DICOMweb addresses primary image sets only.
nonprimary = {item.ReferencedSOPInstanceUID: item.RetrieveURL.split("imageSetId=")[1]
              for item in answer.ReferencedSOPSequence if "imageSetId=" in item.RetrieveURL}
primary_only = [ds for ds in originals if ds.SOPInstanceUID not in nonprimary]
ok(f"dicomweb-client stored {len(stored)} instances in one STOW-RS request ({len(nonprimary)} in a non-primary image set)")

studies = {ds.StudyInstanceUID for ds in originals}
series = {(ds.StudyInstanceUID, ds.SeriesInstanceUID) for ds in originals}

# --- boto3 sees one image set per series
def image_sets():
    out, token = [], None
    while True:
        kw = {"datastoreId": datastore, "maxResults": 50}
        if token:
            kw["nextToken"] = token
        r = mi.search_image_sets(**kw)
        out += r["imageSetsMetadataSummaries"]
        token = r.get("nextToken")
        if not token:
            return out


sets = image_sets()
primary = [s for s in sets if s.get("isPrimary", True)]
keys = {(s["DICOMTags"]["DICOMStudyInstanceUID"], s["DICOMTags"]["DICOMSeriesInstanceUID"]) for s in primary}
if len(primary) != len(series) or keys != series:
    fail(f"SearchImageSets: {len(primary)} primary image sets for {len(series)} series")
# Instances whose patient/study attributes disagree with their series' first go to non-primary
# image sets (as import jobs do); every non-primary set belongs to a stored series.
if any((s["DICOMTags"]["DICOMStudyInstanceUID"], s["DICOMTags"]["DICOMSeriesInstanceUID"]) not in series for s in sets):
    fail("SearchImageSets: an image set of a series never stored")
ok(f"boto3 SearchImageSets: one primary image set per series ({len(primary)}), {len(sets) - len(primary)} non-primary")

# --- QIDO-RS
found = {s["0020000D"]["Value"][0] for s in client.search_for_studies()}
if not studies <= found:
    fail(f"QIDO studies: missing {studies - found}")
for study in studies:
    got = {s["0020000E"]["Value"][0] for s in client.search_for_series(study)}
    want = {se for st, se in series if st == study}
    if got != want:
        fail(f"QIDO series of {study}: {got} != {want}")
    for se in want:
        inst = client.search_for_instances(study, se)
        got_i = {i["00080018"]["Value"][0] for i in inst}
        want_i = {ds.SOPInstanceUID for ds in primary_only if ds.StudyInstanceUID == study and ds.SeriesInstanceUID == se}
        if got_i != want_i:
            fail(f"QIDO instances of {se}: {got_i} != {want_i}")
        for i in inst:
            if not i.get("00081190", {}).get("Value", [""])[0].endswith(f"/instances/{i['00080018']['Value'][0]}"):
                fail(f"QIDO instance without its RetrieveURL: {i.get('00081190')}")
for sop, set_id in nonprimary.items():
    ds = by_sop[sop]
    inst = client.search_for_instances(ds.StudyInstanceUID, ds.SeriesInstanceUID, additional_params={"imageSetId": set_id})
    if [i["00080018"]["Value"][0] for i in inst] != [sop]:
        fail(f"QIDO with imageSetId={set_id}: {inst}")
ok("QIDO studies, series and instances give exactly what was stored, with RetrieveURLs (non-primary with imageSetId)")

with_id = next(ds for ds in originals if str(ds.get("PatientID", "")).strip() and len(str(ds.PatientID)) >= 2)
prefix = str(with_id.PatientID)[:2]
hits = client.search_for_studies(search_filters={"PatientID": prefix + "*"})
hit_uids = {h["0020000D"]["Value"][0] for h in hits}
want = {ds.StudyInstanceUID for ds in originals if str(ds.get("PatientID", "")).startswith(prefix)}
if hit_uids != want or any(not h["00100020"]["Value"][0].startswith(prefix) for h in hits):
    fail(f"PatientID={prefix}*: {hit_uids} != {want}")
ok(f"QIDO PatientID={prefix}* (sent as %2A) found the {len(want)} matching studies")

described = next((ds for ds in primary_only if str(ds.get("StudyDescription", "")).strip()), None)
if described is not None:
    rec = client.search_for_studies(search_filters={"StudyInstanceUID": described.StudyInstanceUID}, fields=["StudyDescription"])
    if len(rec) != 1 or rec[0].get("00081030", {}).get("Value", [None])[0] != described.StudyDescription:
        fail(f"includefield=StudyDescription: {rec}")
    ok("QIDO includefield=StudyDescription returns it")

everything = [s["0020000D"]["Value"][0] for s in client.search_for_studies()]
paged, offset = [], 0
while True:
    page = client.search_for_studies(limit=2, offset=offset)
    if not page:
        break
    if len(page) > 2:
        fail(f"limit=2 gave {len(page)}")
    paged += [s["0020000D"]["Value"][0] for s in page]
    offset += len(page)
if paged != everything:
    fail(f"paging with limit=2 gave {paged}, unpaged {everything}")
ok(f"QIDO limit/offset pages cover all {len(everything)} studies in the same order")
if client.search_for_studies(search_filters={"PatientID": "no-such-patient-*"}) != []:
    fail("a QIDO query matching nothing is not []")
ok("QIDO with no match answers []")

# --- WADO-RS: instances as stored, every element compared
for ds in originals:
    extra = {"imageSetId": nonprimary[ds.SOPInstanceUID]} if ds.SOPInstanceUID in nonprimary else None
    back = client.retrieve_instance(ds.StudyInstanceUID, ds.SeriesInstanceUID, ds.SOPInstanceUID,
                                    media_types=(("application/dicom", "*"),), additional_params=extra)
    if back.file_meta.TransferSyntaxUID != ds.file_meta.TransferSyntaxUID:
        fail(f"{ds.SOPInstanceUID}: transfer syntax {back.file_meta.TransferSyntaxUID} != {ds.file_meta.TransferSyntaxUID}")
    for elem in ds:
        other = back.get(elem.tag)
        if other is None or other.value != elem.value:
            fail(f"{ds.SOPInstanceUID}: element {elem.tag} differs after WADO-RS")
    if len(back) != len(ds):
        fail(f"{ds.SOPInstanceUID}: {len(back)} elements back, {len(ds)} sent")
ok(f"WADO-RS returned all {len(originals)} instances element for element (pixel data included)")

# Series retrieval and series metadata.
study, se = max(series, key=lambda k: sum(ds.SeriesInstanceUID == k[1] for ds in primary_only))
members = [ds for ds in primary_only if ds.SeriesInstanceUID == se]
got = client.retrieve_series(study, se, media_types=(("application/dicom", "*"),))
if {d.SOPInstanceUID for d in got} != {d.SOPInstanceUID for d in members}:
    fail("retrieve_series: wrong instances")
meta = client.retrieve_series_metadata(study, se)
if {m["00080018"]["Value"][0] for m in meta} != {d.SOPInstanceUID for d in members}:
    fail("series metadata: wrong instances")
for m in meta:
    if "7FE00010" in m and "BulkDataURI" not in m["7FE00010"]:
        fail("metadata: PixelData without BulkDataURI")
ok("WADO-RS series retrieval and series metadata (PixelData as BulkDataURI)")

# Default transfer syntax (Explicit VR LE): served for an ELE instance, 406 for a compressed one.
session = requests.Session()
session.auth = auth
ele = next(ds for ds in primary_only if ds.file_meta.TransferSyntaxUID == "1.2.840.10008.1.2.1")
rle = next(ds for ds in originals if ds.file_meta.TransferSyntaxUID == "1.2.840.10008.1.2.5")
def instance_url(ds):
    return f"{base}/studies/{ds.StudyInstanceUID}/series/{ds.SeriesInstanceUID}/instances/{ds.SOPInstanceUID}"
r = session.get(instance_url(ele), headers={"Accept": 'multipart/related; type="application/dicom"'})
if r.status_code != 200:
    fail(f"ELE instance with the default transfer syntax: {r.status_code}")
r = session.get(instance_url(rle), headers={"Accept": 'multipart/related; type="application/dicom"'})
if r.status_code != 406:
    fail(f"RLE instance asked in Explicit VR LE: {r.status_code}, expected 406")
r = session.get(instance_url(ele), headers={"Accept": "application/dicom; transfer-syntax=*"})
if r.status_code != 200 or pydicom.dcmread(pydicom.filebase.DicomBytesIO(r.content)).SOPInstanceUID != ele.SOPInstanceUID:
    fail(f"single-part application/dicom: {r.status_code}")
ok("WADO-RS Accept: default ELE served / 406 for RLE; single-part application/dicom for an instance")

# --- Frames: decoded pixels equal pydicom's for lossless files; HTJ2K as stored
for name in ["MR_small_RLE.dcm", "SC_rgb_rle_2frame.dcm"]:
    ds = next(d for d in originals if d.SOPInstanceUID == pydicom.dcmread(get_testdata_file(name)).SOPInstanceUID)
    n = int(ds.get("NumberOfFrames", 1))
    frames = client.retrieve_instance_frames(ds.StudyInstanceUID, ds.SeriesInstanceUID, ds.SOPInstanceUID,
                                             frame_numbers=list(range(1, n + 1)),
                                             media_types=(("application/octet-stream", "*"),))
    pixels = ds.pixel_array if n > 1 else ds.pixel_array[np.newaxis]
    if ds.PhotometricInterpretation.startswith("YBR"):
        fail("the lossless test files are expected to be MONOCHROME/RGB")
    for i, f in enumerate(frames):
        want = pixels[i].astype(pixels.dtype.newbyteorder("<")).tobytes()
        if f != want:
            fail(f"{name} frame {i + 1}: {len(f)} bytes differ from pydicom's {len(want)}")
    ok(f"frames of {name} (application/octet-stream) equal pydicom's decoded pixels ({n} frames)")
    stored_frames = client.retrieve_instance_frames(ds.StudyInstanceUID, ds.SeriesInstanceUID, ds.SOPInstanceUID, frame_numbers=[1])
    if stored_frames[0][:2] != b"\xff\x4f":
        fail(f"{name} frame 1 as stored (*/*) is not a JPEG 2000 codestream")
    r = session.get(instance_url(ds) + f"/frames/{n + 1}", headers={"Accept": 'multipart/related; type="application/octet-stream"'})
    if r.status_code != 404:
        fail(f"frame past the end: {r.status_code}")
    r = session.get(instance_url(ds) + "/frames/1", headers={"Accept": 'multipart/related; type="image/jpeg"'})
    if r.status_code != 406:
        fail(f"frames as image/jpeg: {r.status_code}, expected 406")
ok("frames: HTJ2K codestream as stored for */*, 404 past the end, 406 for image/jpeg")
r = session.get(f"{base}/studies/1.2.3.4.5.6.7.8.9/series", headers={"Accept": "application/dicom+json"})
if r.status_code != 200 or r.json() != []:
    fail(f"series of an unknown study: {r.status_code}")
r = session.get(f"{base}/studies/1.2.3.4.5.6.7.8.9", headers={"Accept": 'multipart/related; type="application/dicom"; transfer-syntax=*'})
if r.status_code != 404:
    fail(f"unknown study: {r.status_code}")
ok("unknown study: 404 for WADO-RS, [] for QIDO-RS")

# --- A re-sent identical instance: same image set count, its version goes up
ds = next(d for d in originals if d.SOPInstanceUID == pydicom.dcmread(get_testdata_file("CT_small.dcm")).SOPInstanceUID)
def set_of(d):
    return next(s for s in image_sets() if s["DICOMTags"]["DICOMSeriesInstanceUID"] == d.SeriesInstanceUID)
before = set_of(ds)
v0 = int(mi.get_image_set(datastoreId=datastore, imageSetId=before["imageSetId"])["versionId"])
again = client.store_instances([ds])
if not again.get("ReferencedSOPSequence"):
    fail(f"re-sent instance not stored: {again}")
after = image_sets()
v1 = int(mi.get_image_set(datastoreId=datastore, imageSetId=before["imageSetId"])["versionId"])
if len(after) != len(sets) or v1 != v0 + 1:
    fail(f"re-sent instance: {len(after)} image sets (was {len(sets)}), version {v1} (was {v0})")
ok(f"a re-sent identical instance leaves {len(after)} image sets and bumps the version {v0} -> {v1}")

# --- Raw STOW variants with requests: single part, unquoted/missing type, study mismatch, faults
def part10(d):
    buf = pydicom.filebase.DicomBytesIO()
    pydicom.dcmwrite(buf, d, enforce_file_format=True)
    return buf.getvalue()

def stow(parts, content_type=None, path="/studies"):
    b = uuid.uuid4().hex
    body = b"".join(b"\r\n--" + b.encode() + b"\r\nContent-Type: application/dicom\r\n\r\n" + p for p in parts) + b"\r\n--" + b.encode() + b"--\r\n"
    ct = (content_type or 'multipart/related; type="application/dicom"; boundary={b}').format(b=b)
    return session.post(base + path, data=body, headers={"Content-Type": ct, "Accept": "application/dicom+json"})

def copy_with(uid):
    d = copy.deepcopy(ds)
    d.SOPInstanceUID = uid
    d.file_meta.MediaStorageSOPInstanceUID = uid
    return d

r = session.post(base + "/studies", data=part10(ds), headers={"Content-Type": "application/dicom", "Accept": "application/dicom+json"})
if r.status_code != 200 or r.headers.get("Content-Type") != "application/dicom+json":
    fail(f"single-part application/dicom STOW: {r.status_code} {r.headers.get('Content-Type')}")
for ct in ['multipart/related; boundary="{b}"; type=application/dicom', "multipart/related; boundary={b}"]:
    r = stow([part10(ds)], ct)
    if r.status_code != 200:
        fail(f"STOW with Content-Type {ct}: {r.status_code} {r.text}")
ok("STOW accepts single-part application/dicom, unquoted and missing type, quoted boundary first")
r = stow([part10(ds)], path="/studies/1.2.3.4.5.6.7.8.9")
failed = r.json().get("00081198", {}).get("Value", []) if r.status_code == 409 else []
if r.status_code != 409 or [f["00081197"]["Value"][0] for f in failed] != [0xA900]:
    fail(f"study UID mismatch: {r.status_code} {r.text}")
r = session.post(base + "/studies", data=b"x", headers={"Content-Type": "text/plain"})
if r.status_code != 415:
    fail(f"text/plain STOW: {r.status_code}")
ok("STOW: study UID mismatch → 409 with FailureReason 43264 (A900); text/plain → 415")

r = stow([part10(copy_with(u)) for u in fail_uids])
if r.status_code != 409:
    fail(f"stow-fail (all failing): {r.status_code}")
got = {(f["00081155"]["Value"][0], f["00081197"]["Value"][0]) for f in r.json()["00081198"]["Value"]}
if got != {(u, 272) for u in fail_uids} or r.json().get("00081199", {}).get("Value"):
    fail(f"stow-fail: {got}")
good = "2.25." + str(uuid.uuid4().int)
r = stow([part10(copy_with(fail_uids[0])), part10(copy_with(good))])
j = r.json()
if r.status_code != 202 or [f["00081155"]["Value"][0] for f in j["00081198"]["Value"]] != [fail_uids[0]] \
        or [s["00081155"]["Value"][0] for s in j["00081199"]["Value"]] != [good]:
    fail(f"stow-fail mixed: {r.status_code} {j}")
r = session.get(f"{base}/studies/{ds.StudyInstanceUID}/series/{ds.SeriesInstanceUID}/instances",
                params={"SOPInstanceUID": ",".join(fail_uids + [good])})
if {i["00080018"]["Value"][0] for i in r.json()} != {good}:
    fail(f"failed instances were stored: {r.json()}")
ok("stow-fail: exactly those instances fail with 272 (409 when none stored, 202 when some); they are not stored")
r = session.get(f"{base}/studies", headers={"Host": "dicom-medical-imaging.us-east-1.amazonaws.com", "Accept": "application/dicom+json"})
if r.status_code != 200 or not r.json():
    fail(f"QIDO with a dicom- Host: {r.status_code}")
unsigned = requests.get(f"{base}/studies")
if unsigned.status_code != 403 or "xml" in unsigned.headers.get("Content-Type", ""):
    fail(f"unsigned DICOMweb request: {unsigned.status_code} {unsigned.headers.get('Content-Type')}")
ok("a dicom- prefixed Host verifies; an unsigned request gets 403 without S3 XML")
print("all ok", flush=True)
