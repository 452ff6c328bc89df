#!/usr/bin/env python3
"""Drives ahi-local with boto3 and the AWS CLI as clients, through the whole path:
S3 upload → create datastore → start import → poll → list jobs → manifests →
search image sets → get image set → metadata (gunzip, parse) → image frames,
comparing the frames with pydicom's pixel bytes. Any shape boto3 rejects fails.

    python3 Tests/Oracle/ahi_local_client.py ENDPOINT FILE...

Credentials come from the environment (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY);
AWS_DISABLE_HOST_PREFIX_INJECTION=true must be set. Prints `ok: …` lines; exits 1
with the reason on the first mismatch.
"""
import gzip
import json
import os
import subprocess
import sys
import time
import uuid
import zlib

import boto3
import botocore
import pydicom

endpoint, files = sys.argv[1], sys.argv[2:]


def fail(msg):
    print(f"FAIL: {msg}", flush=True)
    sys.exit(1)


def ok(msg):
    print(f"ok: {msg}", flush=True)


kw = dict(endpoint_url=endpoint, region_name="us-east-1")
s3 = boto3.client("s3", config=botocore.config.Config(s3={"addressing_style": "path"}), **kw)
mi = boto3.client("medical-imaging", **kw)

s3.create_bucket(Bucket="ahi-in")
for i, f in enumerate(files):
    s3.put_object(Bucket="ahi-in", Key=f"study/{i:03d}-{os.path.basename(f)}", Body=open(f, "rb").read())
listed = s3.list_objects_v2(Bucket="ahi-in", Prefix="study/")
if listed["KeyCount"] != len(files):
    fail(f"list_objects_v2 gave {listed['KeyCount']} keys, expected {len(files)}")
ok(f"boto3 put {len(files)} objects and listed them")

# The AWS CLI on the S3 side: one more object, through `aws s3 cp`.
env = dict(os.environ)
r = subprocess.run(["aws", "s3", "cp", files[0], "s3://ahi-in/cli/one.dcm", "--endpoint-url", endpoint, "--region", "us-east-1"],
                   env=env, capture_output=True, text=True)
if r.returncode != 0:
    fail(f"aws s3 cp: {r.stderr}")
back = s3.get_object(Bucket="ahi-in", Key="cli/one.dcm")["Body"].read()
if back != open(files[0], "rb").read():
    fail("aws s3 cp: object differs")
ok("aws s3 cp uploaded byte-identical")

ds = mi.create_datastore(datastoreName="test", clientToken=str(uuid.uuid4()))
ds_id = ds["datastoreId"]
got = mi.get_datastore(datastoreId=ds_id)["datastoreProperties"]
if got["datastoreStatus"] != "ACTIVE":
    fail(f"datastore status {got['datastoreStatus']}")
if ds_id not in [d["datastoreId"] for d in mi.list_datastores()["datastoreSummaries"]]:
    fail("list_datastores misses the new datastore")
ok(f"datastore {ds_id} created, got, listed")

token = str(uuid.uuid4())
args = dict(datastoreId=ds_id, dataAccessRoleArn="arn:aws:iam::123456789012:role/ahi-import", clientToken=token,
            inputS3Uri="s3://ahi-in/study/", outputS3Uri="s3://ahi-out/runs/", jobName="boto3-job")
job = mi.start_dicom_import_job(**args)
time.sleep(1.1)
again = mi.start_dicom_import_job(**args)
if again["jobId"] != job["jobId"]:
    fail("the same clientToken started a second job")
ok(f"job {job['jobId']} started; same clientToken → same job")

deadline = time.time() + 60
while True:
    props = mi.get_dicom_import_job(datastoreId=ds_id, jobId=job["jobId"])["jobProperties"]
    if props["jobStatus"] in ("COMPLETED", "FAILED"):
        break
    if time.time() > deadline:
        fail("job did not end within 60 s")
    time.sleep(0.2)
if props["jobStatus"] != "COMPLETED":
    fail(f"job ended {props['jobStatus']}: {props.get('message')}")
out = props["outputS3Uri"]
if not out.endswith(f"{ds_id}-DicomImport-{job['jobId']}/"):
    fail(f"outputS3Uri not expanded: {out}")
jobs = mi.list_dicom_import_jobs(datastoreId=ds_id)["jobSummaries"]
if [j["jobId"] for j in jobs] != [job["jobId"]]:
    fail(f"list_dicom_import_jobs: {jobs}")
ok(f"job COMPLETED; output {out}")

prefix = out[len("s3://ahi-out/"):]
manifest = json.loads(s3.get_object(Bucket="ahi-out", Key=prefix + "job-output-manifest.json")["Body"].read())["jobSummary"]
success = [json.loads(l) for l in s3.get_object(Bucket="ahi-out", Key=prefix + "SUCCESS/success.ndjson")["Body"].read().splitlines() if l]
failure = [json.loads(l) for l in s3.get_object(Bucket="ahi-out", Key=prefix + "FAILURE/failure.ndjson")["Body"].read().splitlines() if l]
if manifest["numberOfScannedFiles"] != len(files) or len(success) + len(failure) != len(files):
    fail(f"manifest counts: {manifest}, {len(success)} success, {len(failure)} failure")
ok(f"manifest: {manifest['numberOfImportedFiles']} imported, {len(failure)} failed, {manifest['numberOfGeneratedImageSets']} image sets")

by_key = {f"study/{i:03d}-{os.path.basename(f)}": f for i, f in enumerate(files)}
# Files that share a SOP Instance UID (one data set in several encodings) overwrite each
# other in the image set, as on AWS; the job reads keys in order, so the last one wins.
last_for_sop = {}
for line in sorted(success, key=lambda l: l["inputFile"]):
    last_for_sop[pydicom.dcmread(by_key[line["inputFile"]], stop_before_pixels=True).SOPInstanceUID] = line["inputFile"]
checked_frames = 0
for line in success:
    path = by_key[line["inputFile"]]
    d = pydicom.dcmread(path)
    if last_for_sop[d.SOPInstanceUID] != line["inputFile"]:
        continue
    set_id = line["importResponse"]["imageSetId"]
    hits = mi.search_image_sets(datastoreId=ds_id, searchCriteria={
        "filters": [{"values": [{"DICOMStudyInstanceUID": d.StudyInstanceUID}], "operator": "EQUAL"}]})["imageSetsMetadataSummaries"]
    if set_id not in [h["imageSetId"] for h in hits]:
        fail(f"search by StudyInstanceUID does not find {set_id}")
    info = mi.get_image_set(datastoreId=ds_id, imageSetId=set_id)
    if info["imageSetState"] != "ACTIVE":
        fail(f"image set state {info['imageSetState']}")
    blob = mi.get_image_set_metadata(datastoreId=ds_id, imageSetId=set_id)
    raw = blob["imageSetMetadataBlob"].read()
    meta = json.loads(gzip.decompress(raw))
    series = meta["Study"]["Series"][d.SeriesInstanceUID]
    inst = series["Instances"][d.SOPInstanceUID]
    if meta["Study"]["DICOM"]["StudyInstanceUID"] != d.StudyInstanceUID:
        fail("metadata StudyInstanceUID differs")
    if inst["DICOM"]["SOPClassUID"] != d.SOPClassUID:
        fail("metadata SOPClassUID differs")
    if "PixelData" in d and not d.file_meta.TransferSyntaxUID.is_compressed:
        frames = inst["ImageFrames"]
        nframes = int(getattr(d, "NumberOfFrames", 1) or 1)
        if len(frames) != nframes:
            fail(f"{path}: {len(frames)} frames in metadata, pydicom has {nframes}")
        if d.BitsAllocated == 1:
            continue
        arr = d.pixel_array
        if inst["StoredTransferSyntaxUID"] != "1.2.840.10008.1.2.4.202":
            fail(f"{path}: a lossless source must be stored as HTJ2K RPCL, not {inst['StoredTransferSyntaxUID']}")
        for n, fr in enumerate(frames[:3]):
            got = mi.get_image_frame(datastoreId=ds_id, imageSetId=set_id, imageFrameInformation={"imageFrameId": fr["ID"]})
            body = got["imageFrameBlob"].read()
            if got["contentType"] != "image/jph" or body[:4] != b"\xff\x4f\xff\x51":
                fail(f"{path}: frame {n} is {got['contentType']} starting {body[:4].hex()}, expected an HTJ2K codestream")
            want = (arr[n] if nframes > 1 else arr)
            want = want.astype(want.dtype.newbyteorder("<")).tobytes()
            levels = fr["PixelDataChecksumFromBaseToFullResolution"]
            if zlib.crc32(want) != levels[-1]["Checksum"] or levels[-1]["Width"] != d.Columns:
                fail(f"{path}: frame {n}: full-resolution checksum {levels[-1]} is not the CRC-32 of pydicom's pixels {zlib.crc32(want)}")
            if d.SamplesPerPixel == 1:
                # A reference decoder gives back pydicom's pixels: opj_decompress (ojph_expand 0.9
                # writes negative samples of signed data as 0 in its raw output).
                tmp = os.path.join(os.environ.get("TMPDIR", "/tmp"), f"ahi-frame-{uuid.uuid4()}")
                open(tmp + ".j2c", "wb").write(body)
                r = subprocess.run(["opj_decompress", "-i", tmp + ".j2c", "-o", tmp + ".rawl"], capture_output=True, text=True)
                expanded = open(tmp + ".rawl", "rb").read() if r.returncode == 0 else b""
                for ext in (".j2c", ".rawl"):
                    if os.path.exists(tmp + ext):
                        os.remove(tmp + ext)
                if expanded != want:
                    fail(f"{path}: frame {n}: opj_decompress of the stored frame differs from pydicom's pixels")
            checked_frames += 1
ok(f"search, get_image_set, metadata and {checked_frames} frames match pydicom")

# The AWS CLI on the medical-imaging side.
r = subprocess.run(["aws", "medical-imaging", "list-dicom-import-jobs", "--datastore-id", ds_id, "--endpoint-url", endpoint,
                    "--region", "us-east-1"], env=env, capture_output=True, text=True)
if r.returncode != 0 or job["jobId"] not in r.stdout:
    fail(f"aws medical-imaging list-dicom-import-jobs: {r.stderr or r.stdout}")
set_id = success[0]["importResponse"]["imageSetId"]
outfile = os.path.join(os.environ.get("TMPDIR", "/tmp"), f"ahi-meta-{uuid.uuid4()}.json.gz")
r = subprocess.run(["aws", "medical-imaging", "get-image-set-metadata", "--datastore-id", ds_id, "--image-set-id", set_id,
                    outfile, "--endpoint-url", endpoint, "--region", "us-east-1"], env=env, capture_output=True, text=True)
if r.returncode != 0:
    fail(f"aws medical-imaging get-image-set-metadata: {r.stderr}")
json.loads(gzip.decompress(open(outfile, "rb").read()))
os.remove(outfile)
ok("aws medical-imaging list-dicom-import-jobs and get-image-set-metadata")

# A wrong secret is refused on both sides.
bad = dict(kw, aws_access_key_id=os.environ["AWS_ACCESS_KEY_ID"], aws_secret_access_key="wrong")
try:
    boto3.client("medical-imaging", **bad).list_datastores()
    fail("a wrong secret was accepted by medical-imaging")
except botocore.exceptions.ClientError as e:
    if e.response["ResponseMetadata"]["HTTPStatusCode"] != 403:
        fail(f"wrong secret: {e}")
try:
    boto3.client("s3", config=botocore.config.Config(s3={"addressing_style": "path"}), **bad).list_objects_v2(Bucket="ahi-in")
    fail("a wrong secret was accepted by S3")
except botocore.exceptions.ClientError as e:
    if e.response["Error"]["Code"] != "SignatureDoesNotMatch":
        fail(f"wrong secret on S3: {e}")
ok("wrong secret refused (medical-imaging 403, S3 SignatureDoesNotMatch)")
print("all ok", flush=True)
