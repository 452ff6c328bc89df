#!/usr/bin/env python3
"""Every key S3 accepts, judged by boto3 (and the AWS CLI when installed) against ahi-local:
control characters (NUL, 0x01, 0x1F, tab, CR, LF, DEL), 1,024-byte keys (ASCII and
multi-byte UTF-8), non-ASCII keys in two Unicode normalisations (distinct keys, as S3
compares bytes), and `..`, `//`, trailing `/`, `%`, `+`, spaces, `?`, `#`, `&<>'"`.
Each goes through put, get, head, ListObjectsV2 and ListObjects (boto3's automatic
`encoding-type=url`, an explicit `EncodingType='url'`, and a raw signed request
without encoding-type whose XML is parsed), prefix and delimiter listing, paging,
delete, DeleteObjects and multipart uploads. 1,025-byte keys get `KeyTooLongError`.

    python3 Tests/Oracle/ahi_local_keys.py ENDPOINT            # the whole run
    python3 Tests/Oracle/ahi_local_keys.py ENDPOINT --persisted  # after a restart on the same data

Credentials come from the environment (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY).
Prints `ok: …` lines; exits 1 with the reason on the first mismatch.
"""
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import urllib.parse
import xml.etree.ElementTree as ET

import boto3
import botocore
import botocore.session
import requests
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest

endpoint = sys.argv[1]
persisted_only = "--persisted" in sys.argv[2:]
BUCKET = "keys"
NS = "{http://s3.amazonaws.com/doc/2006-03-01/}"


def fail(msg):
    print(f"FAIL: {msg}", flush=True)
    sys.exit(1)


def ok(msg):
    print(f"ok: {msg}", flush=True)


def utf8_order(keys):
    """S3 lists keys in the binary order of their UTF-8 bytes."""
    return sorted(keys, key=lambda k: k.encode("utf-8"))


def n_bytes(k):
    return len(k.encode("utf-8"))


# Keys S3 accepts. Every one must stay a distinct key.
ascii_1024 = "long/" + "a" * (1024 - 5)
multi_1024 = "long/" + "日" * 337 + "é" * 2 + "🩻"  # 5 + 1011 + 4 + 4 bytes
KEYS = {
    "nul": "ctl/a\x00b",
    "nul-only-name": "ctl/\x00",
    "soh": "ctl/\x01start",
    "us": "ctl/x\x1fy",
    "del": "ctl/del\x7f",
    "tab": "ws/tab\there",
    "cr": "ws/cr\rhere",
    "lf": "ws/lf\nhere",
    "crlf": "ws/crlf\r\nhere",
    "ascii-1024": ascii_1024,
    "multi-1024": multi_1024,
    "nfc": "uni/caf\u00e9",
    "nfd": "uni/cafe\u0301",
    "angstrom-nfc": "uni/\u00c5",
    "angstrom-sign": "uni/\u212b",
    "combining-after-slash": "uni/\u0301lead",
    "japanese": "uni/日本/ファイル.dcm",
    "emoji": "uni/🧪🩻.dcm",
    "c1": "uni/c1\u0085\u009f",
    "dotdot": "path/../up",
    "dot": "path/./here",
    "double-slash": "path//double",
    "trailing-slash": "path/dir/",
    "leading-slash": "/leading",
    "only-dots": "..",
    "percent": "sym/100%",
    "percent-41": "sym/percent%41",
    "percent-00": "sym/%00",
    "plus": "sym/a+b",
    "spaces": "sym/a b  c ",
    "question": "sym/what?x=1&y",
    "hash": "sym/#frag",
    "xml-specials": "sym/a&b<c>'\"&amp;",
    "amp-combining": "sym/&\u0301",
}
if n_bytes(ascii_1024) != 1024 or n_bytes(multi_1024) != 1024:
    fail(f"test keys are {n_bytes(ascii_1024)} and {n_bytes(multi_1024)} bytes, not 1024")
TOO_LONG = {"ascii-1025": "long/" + "b" * (1024 - 4), "multi-1025": "long/" + "é" * 510}
if any(n_bytes(k) != 1025 for k in TOO_LONG.values()):
    fail("too-long keys are not 1025 bytes")
# Keys under tree/ for delimiter listing.
TREE = ["tree/a/1", "tree/a/2", "tree/b\x00/1", "tree/日本/x", "tree/leaf", "tree/e\u0301/1", "tree/\u00e9/1",
        "tree/sp ace/1", "tree/plus+/1", "tree/pct%/1", "tree/cr\r/1"]

kw = dict(endpoint_url=endpoint, region_name="us-east-1")
cfg = botocore.config.Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1})
s3 = boto3.client("s3", config=cfg, **kw)
creds = botocore.session.get_session().get_credentials()


def body_of(key):
    return b"body:" + key.encode("utf-8")


def list_all(**extra):
    """Every key of the bucket through boto3's paginator (automatic encoding-type=url, decoded by botocore)."""
    keys, prefixes = [], []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, **extra):
        keys += [o["Key"] for o in page.get("Contents", [])]
        prefixes += [p["Prefix"] for p in page.get("CommonPrefixes", [])]
    return keys, prefixes


def raw_list(query):
    """A signed GET of the bucket with exactly `query` (no encoding-type unless given), as requests sends it."""
    qs = "&".join(f"{urllib.parse.quote(k, safe='-_.~')}={urllib.parse.quote(v, safe='-_.~')}" for k, v in query)
    url = f"{endpoint}/{BUCKET}" + (f"?{qs}" if qs else "")
    req = AWSRequest(method="GET", url=url, headers={"x-amz-content-sha256": hashlib.sha256(b"").hexdigest()})
    SigV4Auth(creds, "s3", "us-east-1").add_auth(req)
    return requests.get(url, headers=dict(req.headers.items()))


def xml_keys(doc):
    root = ET.fromstring(doc)
    return ([e.text or "" for e in root.iter(f"{NS}Key")] + [e.text or "" for e in root.iter("Key")],
            [e.text or "" for c in list(root.iter(f"{NS}CommonPrefixes")) + list(root.iter("CommonPrefixes"))
             for e in c if e.tag.endswith("Prefix")])


def set_aside_references(doc):
    """Numeric references to characters XML 1.0 cannot hold, replaced by `[U+XXXX]` so expat reads the rest."""
    return re.sub(rb"&#(x[0-9A-Fa-f]+|[0-9]+);", lambda m: f"[U+{ref(m.group(1)):04X}]".encode() if illegal(ref(m.group(1))) else m.group(0), doc)


def ref(digits):
    return int(digits[1:], 16) if digits.startswith(b"x") else int(digits)


def illegal(c):
    return c < 0x20 and c not in (0x09, 0x0A, 0x0D) or c in (0xFFFE, 0xFFFF)


def marked(key):
    return "".join(f"[U+{ord(c):04X}]" if illegal(ord(c)) else c for c in key)


def expect_keys(got, want, what):
    if got != want:
        missing = [k for k in want if k not in got]
        extra = [k for k in got if k not in want]
        fail(f"{what}: got {len(got)} keys, want {len(want)}; missing {missing!r:.300}; extra {extra!r:.300}; "
             f"order ok: {sorted(got) == sorted(want)}")


def survivors():
    """The keys left in the bucket at the end of the run (checked again after a restart)."""
    return utf8_order([k for n, k in KEYS.items() if n not in DELETED_BY_NAME] + TREE + MULTIPART_KEYS + ["plain/after.txt"])


DELETED_BY_NAME = {"nul-only-name", "us", "cr", "percent", "hash", "nfc", "dotdot", "trailing-slash", "xml-specials", "amp-combining",
                   "only-dots", "tab"}
MULTIPART_KEYS = ["mp/nul\x00key", "mp/cr\rlf\nkey", "mp/" + "m" * (1024 - 3), "mp/" + "日" * 340 + "x", "mp/cafe\u0301",
                  "mp/caf\u00e9", "mp/🩻 + %.dcm", "mp/dir/", "mp/../x", "mp/a&b<c>"]
if n_bytes(MULTIPART_KEYS[3]) != 1024:
    fail("multipart multi-byte key is not 1024 bytes")

if persisted_only:
    keys, _ = list_all()
    expect_keys(keys, survivors(), "after restart, ListObjectsV2")
    for k in keys:
        if s3.get_object(Bucket=BUCKET, Key=k)["Body"].read() != body_of(k) and not k.startswith("mp/"):
            fail(f"after restart, {k!r} reads back different bytes")
    ok(f"after a restart, {len(keys)} keys listed in UTF-8 byte order and read back")
    print("all ok", flush=True)
    sys.exit(0)

s3.create_bucket(Bucket=BUCKET)

# --- put, get, head: every key is its own object.
for name, key in list(KEYS.items()) + [(k, k) for k in TREE]:
    try:
        s3.put_object(Bucket=BUCKET, Key=key, Body=body_of(key))
    except botocore.exceptions.ClientError as e:
        fail(f"put {name} ({n_bytes(key)} bytes): {e}")
for name, key in list(KEYS.items()) + [(k, k) for k in TREE]:
    got = s3.get_object(Bucket=BUCKET, Key=key)["Body"].read()
    if got != body_of(key):
        fail(f"get {name}: {got[:80]!r} is another key's body")
    if s3.head_object(Bucket=BUCKET, Key=key)["ContentLength"] != len(body_of(key)):
        fail(f"head {name}: wrong length")
ok(f"put, get, head {len(KEYS) + len(TREE)} keys, each its own object (NFC and NFD distinct)")

# --- 1,025 bytes: KeyTooLongError on PUT and CreateMultipartUpload, nothing stored.
for name, key in TOO_LONG.items():
    for op, call in [("PutObject", lambda: s3.put_object(Bucket=BUCKET, Key=key, Body=b"x")),
                     ("CreateMultipartUpload", lambda: s3.create_multipart_upload(Bucket=BUCKET, Key=key))]:
        try:
            call()
            fail(f"{op} of a {name} key was accepted")
        except botocore.exceptions.ClientError as e:
            err, status = e.response["Error"], e.response["ResponseMetadata"]["HTTPStatusCode"]
            if err.get("Code") != "KeyTooLongError" or status != 400 or err.get("Message") != "Your key is too long":
                fail(f"{op} {name}: {status} {err}")
ok("1,025-byte keys (ASCII and multi-byte) refused: 400 KeyTooLongError on PutObject and CreateMultipartUpload")

everything = utf8_order(list(KEYS.values()) + TREE)

# --- ListObjectsV2 as boto3 does it (encoding-type=url sent, keys decoded by botocore), paged and not.
keys, _ = list_all()
expect_keys(keys, everything, "ListObjectsV2 (boto3 default)")
for page_size in (1, 2, 7):
    keys, _ = list_all(PaginationConfig={"PageSize": page_size})
    expect_keys(keys, everything, f"ListObjectsV2 paged by {page_size}")
keys = []
for page in s3.get_paginator("list_objects").paginate(Bucket=BUCKET, PaginationConfig={"PageSize": 3}):
    keys += [o["Key"] for o in page.get("Contents", [])]
expect_keys(keys, everything, "ListObjects v1 paged by 3")
ok(f"ListObjectsV2 and ListObjects list all {len(everything)} keys in UTF-8 byte order, paged by 1, 2, 3, 7 and whole")

# --- An explicit EncodingType='url': botocore leaves the keys encoded; they decode to the keys.
r = s3.list_objects_v2(Bucket=BUCKET, EncodingType="url", Prefix="uni/caf", Delimiter="/")
if r.get("EncodingType") != "url":
    fail(f"EncodingType not echoed: {r.get('EncodingType')}")
enc = [o["Key"] for o in r.get("Contents", [])]
if any(re.search(r"[^A-Za-z0-9%+\-._~/*]", k) for k in enc):
    fail(f"encoded keys hold characters that need encoding: {enc}")
if [urllib.parse.unquote_plus(k) for k in enc] != utf8_order([KEYS["nfc"], KEYS["nfd"]]):
    fail(f"EncodingType=url keys: {enc}")
if urllib.parse.unquote_plus(r["Prefix"]) != "uni/caf" or urllib.parse.unquote_plus(r["Delimiter"]) != "/":
    fail(f"EncodingType=url Prefix/Delimiter: {r['Prefix']!r} {r['Delimiter']!r}")
r = s3.list_objects_v2(Bucket=BUCKET, EncodingType="url")
if [urllib.parse.unquote_plus(o["Key"]) for o in r["Contents"]] != everything:
    fail("EncodingType=url: the whole bucket does not decode to its keys")
r = s3.list_objects_v2(Bucket=BUCKET, EncodingType="url", StartAfter=KEYS["spaces"], MaxKeys=1)
if urllib.parse.unquote_plus(r["StartAfter"]) != KEYS["spaces"]:
    fail(f"EncodingType=url StartAfter: {r.get('StartAfter')!r}")
ok("explicit EncodingType='url': keys, Prefix, Delimiter, StartAfter percent-encoded and decode to the keys")

# --- Raw signed requests without encoding-type: XML 1.0 carries these keys exactly (CR as &#13;).
for prefix in ("ws/", "uni/", "sym/", "path/", "long/", "tree/a"):
    resp = raw_list([("list-type", "2"), ("prefix", prefix)])
    if resp.status_code != 200:
        fail(f"raw list prefix {prefix!r}: {resp.status_code} {resp.text[:300]}")
    try:
        got, _ = xml_keys(resp.content)
    except ET.ParseError as e:
        fail(f"raw list prefix {prefix!r}: XML does not parse: {e}: {resp.content[:300]!r}")
    want = [k for k in everything if k.encode().startswith(prefix.encode())]
    expect_keys(got, want, f"raw ListObjectsV2 prefix {prefix!r}")
resp = raw_list([("list-type", "2"), ("prefix", "tree/"), ("delimiter", "/")])
got, prefixes = xml_keys(set_aside_references(resp.content))
if got != ["tree/leaf"] or prefixes != [marked(p) for p in utf8_order({k[:k.index("/", 5) + 1] for k in TREE if k.count("/") > 1})]:
    fail(f"raw delimiter listing: {got!r} {prefixes!r}")
ok("raw ListObjectsV2 without encoding-type: XML parses and gives the exact keys (tab, CR, LF, CRLF, non-ASCII, &<>'\")")
# Keys XML 1.0 cannot carry: S3 documents that an XML 1.0 parser cannot read them without encoding-type.
# ahi-local answers 200 with numeric character references (lossless), never 500.
resp = raw_list([("list-type", "2"), ("prefix", "ctl/")])
if resp.status_code != 200:
    fail(f"raw list of control-character keys: {resp.status_code} {resp.text[:300]}")
try:
    got, _ = xml_keys(set_aside_references(resp.content))
except ET.ParseError as e:
    fail(f"raw list ctl/: not XML even with character references set aside: {e}: {resp.content[:300]!r}")
want = [marked(k) for k in everything if k.startswith("ctl/")]
expect_keys(got, want, "raw ListObjectsV2 of control-character keys (as character references)")
ok("raw ListObjectsV2 of NUL/0x01/0x1F keys: 200, keys as numeric character references")

# --- Prefix and delimiter listing with such keys (boto3 default encoding).
for prefix, want in [("uni/cafe", [KEYS["nfd"]]), ("uni/caf\u00e9", [KEYS["nfc"]]), ("ctl/a\x00", [KEYS["nul"]]),
                     ("ctl/\x00", [KEYS["nul-only-name"]]), ("sym/a", [KEYS["xml-specials"], KEYS["plus"], KEYS["spaces"]]),
                     ("path/.", [KEYS["dotdot"], KEYS["dot"]]), ("path//", [KEYS["double-slash"]]), ("/", [KEYS["leading-slash"]]),
                     ("ws/cr\r", [KEYS["cr"]]), (KEYS["multi-1024"], [KEYS["multi-1024"]])]:
    keys, _ = list_all(Prefix=prefix)
    expect_keys(keys, utf8_order(want), f"prefix {prefix!r:.40}")
keys, prefixes = list_all(Prefix="tree/", Delimiter="/")
want_prefixes = utf8_order({k[:k.index("/", 5) + 1] for k in TREE if k.count("/") > 1})
if keys != ["tree/leaf"] or prefixes != want_prefixes:
    fail(f"delimiter listing: keys {keys!r}, CommonPrefixes {prefixes!r}, want {want_prefixes!r}")
for page_size in (1, 2):
    keys, prefixes = list_all(Prefix="tree/", Delimiter="/", PaginationConfig={"PageSize": page_size})
    if keys != ["tree/leaf"] or prefixes != want_prefixes:
        fail(f"delimiter listing paged by {page_size}: {keys!r} {prefixes!r}")
keys, prefixes = list_all(Delimiter="\x00")
if prefixes != utf8_order(["ctl/a\x00", "ctl/\x00", "tree/b\x00"]) or any("\x00" in k for k in keys):
    fail(f"NUL delimiter: {prefixes!r}")
keys, prefixes = list_all(Prefix="tree/", Delimiter="本")
if prefixes != ["tree/日本"]:
    fail(f"non-ASCII delimiter: {prefixes!r}")
ok("prefix listing (NFC vs NFD, NUL, CR, 1,024 bytes) and CommonPrefixes with '/', NUL and '本' delimiters, paged")

# --- Delete: DeleteObject for some, DeleteObjects for others (no CR: XML turns a raw CR into LF, as in S3).
deleted = {n: KEYS[n] for n in DELETED_BY_NAME}
single = {n: k for n, k in deleted.items() if n in ("cr", "nul-only-name", "us", "nfc", "tab")}
for k in single.values():
    s3.delete_object(Bucket=BUCKET, Key=k)
batch = [k for n, k in deleted.items() if n not in single]
r = s3.delete_objects(Bucket=BUCKET, Delete={"Objects": [{"Key": k} for k in batch]})
if r.get("Errors") or utf8_order([d["Key"] for d in r.get("Deleted", [])]) != utf8_order(batch):
    fail(f"DeleteObjects: {r.get('Deleted')} {r.get('Errors')}")
for k in deleted.values():
    try:
        s3.head_object(Bucket=BUCKET, Key=k)
        fail(f"{k!r} still there after delete")
    except botocore.exceptions.ClientError as e:
        if e.response["ResponseMetadata"]["HTTPStatusCode"] != 404:
            fail(f"head after delete: {e}")
    try:
        s3.get_object(Bucket=BUCKET, Key=k)
        fail(f"{k!r} still readable after delete")
    except s3.exceptions.NoSuchKey:
        pass
if s3.get_object(Bucket=BUCKET, Key=KEYS["nfd"])["Body"].read() != body_of(KEYS["nfd"]):
    fail("deleting the NFC key touched the NFD key")
remaining = utf8_order([k for k in everything if k not in deleted.values()])
keys, _ = list_all()
expect_keys(keys, remaining, "ListObjectsV2 after deletes")
ok(f"DeleteObject ({len(single)}) and DeleteObjects ({len(batch)}) removed exactly those keys; NFD kept when NFC went")

# --- Multipart: create, upload parts, list uploads and parts, complete.
part = os.urandom(5 << 20)
uploads = {}
for i, key in enumerate(MULTIPART_KEYS):
    r = s3.create_multipart_upload(Bucket=BUCKET, Key=key)
    uploads[key] = r["UploadId"]
    if "\x00" not in key and r.get("Key") != key:
        fail(f"CreateMultipartUpload echoed {r.get('Key')!r} for {key!r}")
r = s3.list_multipart_uploads(Bucket=BUCKET, Prefix="mp/", EncodingType="url")
listed = [urllib.parse.unquote_plus(u["Key"]) for u in r.get("Uploads", [])]
if listed != utf8_order(MULTIPART_KEYS) or r.get("EncodingType") != "url":
    fail(f"ListMultipartUploads (url): {listed!r}")
if sorted(u["UploadId"] for u in r["Uploads"]) != sorted(uploads.values()):
    fail("ListMultipartUploads: upload ids differ")
r = s3.list_multipart_uploads(Bucket=BUCKET, Prefix="mp/c")
if [u["Key"] for u in r.get("Uploads", [])] != utf8_order([MULTIPART_KEYS[4], MULTIPART_KEYS[5], MULTIPART_KEYS[1]]):
    fail(f"ListMultipartUploads without encoding: {[u['Key'] for u in r.get('Uploads', [])]!r}")
for i, key in enumerate(MULTIPART_KEYS):
    bodies = [part, body_of(key)] if i < 2 else [body_of(key)]
    etags = [s3.upload_part(Bucket=BUCKET, Key=key, UploadId=uploads[key], PartNumber=n + 1, Body=b)["ETag"]
             for n, b in enumerate(bodies)]
    parts = s3.list_parts(Bucket=BUCKET, Key=key, UploadId=uploads[key])["Parts"]
    if [p["ETag"] for p in parts] != etags:
        fail(f"ListParts {key!r:.40}: {parts}")
    s3.complete_multipart_upload(Bucket=BUCKET, Key=key, UploadId=uploads[key],
                                 MultipartUpload={"Parts": [{"PartNumber": n + 1, "ETag": e} for n, e in enumerate(etags)]})
    if s3.get_object(Bucket=BUCKET, Key=key)["Body"].read() != b"".join(bodies):
        fail(f"multipart {key!r:.40}: body differs")
if s3.list_multipart_uploads(Bucket=BUCKET).get("Uploads"):
    fail("uploads left open after completion")
keys, _ = list_all(Prefix="mp/")
expect_keys(keys, utf8_order(MULTIPART_KEYS), "ListObjectsV2 of multipart keys")
ok(f"multipart upload of {len(MULTIPART_KEYS)} keys (NUL, CR/LF, 1,024 bytes ASCII and UTF-8, NFC/NFD, '..', trailing '/')")

# --- After all of it, an ordinary listing of the bucket still works.
s3.put_object(Bucket=BUCKET, Key="plain/after.txt", Body=body_of("plain/after.txt"))
keys, _ = list_all()
expect_keys(keys, survivors(), "final ListObjectsV2")
r = s3.list_objects_v2(Bucket=BUCKET, Prefix="plain/")
if [o["Key"] for o in r.get("Contents", [])] != ["plain/after.txt"]:
    fail(f"ordinary prefix listing: {r}")
ok(f"an ordinary listing of the bucket still works ({len(keys)} keys)")

# --- The AWS CLI as a second judge.
if shutil.which("aws"):
    env = dict(os.environ)
    base = ["--endpoint-url", endpoint, "--region", "us-east-1", "--output", "json"]
    with tempfile.NamedTemporaryFile(delete=False) as f:
        f.write(b"cli body")
    cli_key = "cli/日本 +%?#.txt"
    r = subprocess.run(["aws", "s3api", "put-object", "--bucket", BUCKET, "--key", cli_key, "--body", f.name] + base,
                       env=env, capture_output=True, text=True)
    os.remove(f.name)
    if r.returncode != 0:
        fail(f"aws s3api put-object: {r.stderr}")
    r = subprocess.run(["aws", "s3api", "list-objects-v2", "--bucket", BUCKET] + base, env=env, capture_output=True, text=True)
    if r.returncode != 0:
        fail(f"aws s3api list-objects-v2: {r.stderr}")
    cli_keys = [o["Key"] for o in json.loads(r.stdout)["Contents"]]
    expect_keys(cli_keys, utf8_order(survivors() + [cli_key]), "aws s3api list-objects-v2")
    r = subprocess.run(["aws", "s3api", "put-object", "--bucket", BUCKET, "--key", TOO_LONG["multi-1025"]] + base,
                       env=env, capture_output=True, text=True)
    if r.returncode == 0 or "KeyTooLongError" not in r.stderr:
        fail(f"aws s3api put-object of a 1,025-byte key: {r.returncode} {r.stderr}")
    s3.delete_object(Bucket=BUCKET, Key=cli_key)
    ok("aws s3api put-object, list-objects-v2 (NUL, CR, 1,024-byte keys in the bucket) and KeyTooLongError")
else:
    ok("aws CLI not installed: skipped")

print("all ok", flush=True)
