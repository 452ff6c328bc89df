#!/usr/bin/env python3
"""Drives `ahi-upload receive` with real DICOM peers (DCMTK echoscu/storescu/dcmsend,
pynetdicom in its virtual environment) and judges from outside: ahi-local's own record of
every stored instance (state.json), the instances fetched back with dicomweb-client and
compared with the sources by pydicom, the peers' own reports, and `ahi-upload status`.

    python3 Tests/Oracle/receive_scenarios.py SCENARIO --ahi-upload BIN --ahi-local BIN --work DIR [--via stow-rs|s3-import]

SCENARIO:
  peers       echoscu; storescu (+sd +r, --max-pdu 16384 and 131072); dcmsend (the fixtures' own
              transfer syntaxes: JPEG 2000, RLE, …); pynetdicom's echoscu and storescu. Every
              instance ends in ahi-local exactly once, equal to its source (pydicom).
  refuse      an unlisted calling AE is rejected; a SOP class the receiver does not know gets no
              accepted presentation context.
  kill        `kill -9` of `receive` in the middle of a pynetdicom send of 300 instances, then a
              restart: every instance that got success is delivered exactly once.
  concurrent  8 storescu associations at once × 200 instances: every one delivered exactly once.
  tls         receive with --tls-cert/--tls-key (a self-signed certificate made by openssl): DCMTK
              echoscu and storescu over TLS (+tla -ic) succeed and deliver; a plain association fails.
Prints `ok: …` lines; exits 1 with `FAIL: …` on the first broken promise.
"""
import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import time

import boto3
import numpy as np
import pydicom
from dicomweb_client.api import DICOMwebClient
from dicomweb_client.session_utils import create_session_from_auth

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ahi_local_process  # noqa: E402
from dicomweb_oracle import compare_datasets  # noqa: E402
from sigv4_auth import MedicalImagingSigV4  # noqa: E402
from synthetic import ct_instance  # noqa: E402

p = argparse.ArgumentParser()
p.add_argument("scenario", choices=["peers", "refuse", "kill", "concurrent", "tls"])
p.add_argument("--ahi-upload", required=True)
p.add_argument("--ahi-local", required=True)
p.add_argument("--work", required=True)
p.add_argument("--via", choices=["stow-rs", "s3-import"], default="stow-rs")
args = p.parse_args()

ROOT = "1.2.826.0.1.3680043.10.1234.55"
HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURES = os.path.join(HERE, "..", "..", "Fixtures")
VENV_PYTHON = os.path.join(os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "ahi-upload", "pynetdicom-venv",
                           "bin", "python")


def fail(msg):
    print(f"FAIL: {msg}", flush=True)
    sys.exit(1)


def ok(msg):
    print(f"ok: {msg}", flush=True)


os.makedirs(args.work, exist_ok=True)
procs = []


def cleanup():
    for pr in procs:
        if pr.poll() is None:
            pr.kill()


# ---------------------------------------------------------------- ahi-local and the receiver

local, endpoint = ahi_local_process.start(args.ahi_local, os.path.join(args.work, "ahi-local"))
if local is None:
    cleanup()
    fail("ahi-local did not start")
procs.append(local)
env = ahi_local_process.client_env()
os.environ.update(env)
kw = dict(endpoint_url=endpoint, region_name="us-east-1")
mi = boto3.client("medical-imaging", **kw)
s3 = boto3.client("s3", **kw)
s3.create_bucket(Bucket="receive")
datastore = mi.create_datastore(datastoreName="receive", clientToken=f"receive-{args.scenario}")["datastoreId"]
state = os.path.join(args.work, "state")
receive_log = os.path.join(args.work, "receive.log")


def start_receive(port=0, extra=()):
    cmd = [args.ahi_upload, "receive", "--port", str(port), "--ae-title", "AHI", "--datastore", datastore,
           "--endpoint-url", endpoint, "--s3-endpoint-url", endpoint, "--bucket", "receive",
           "--role-arn", "arn:aws:iam::123456789012:role/ahi", "--region", "us-east-1", "--state-dir", state,
           "--via", args.via, "--retry-base", "0", "--quiet-period", "1"] + list(extra)
    pr = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    procs.append(pr)
    deadline = time.time() + 30
    while time.time() < deadline:
        line = pr.stderr.readline()
        if not line and pr.poll() is not None:
            break
        with open(receive_log, "a") as f:
            f.write(line)
        if line.startswith("receive: listening on "):
            port = int(line.split("listening on ", 1)[1].split()[0].rsplit(":", 1)[1])
            # Keep draining its log so it never blocks on a full pipe.
            import threading

            def drain():
                with open(receive_log, "a") as f:
                    for rest in pr.stderr:
                        f.write(rest)
            threading.Thread(target=drain, daemon=True).start()
            return pr, port
    cleanup()
    fail(f"receive did not start: {open(receive_log).read()[-2000:]}")


def status():
    r = subprocess.run([args.ahi_upload, "status", "--state-dir", state, "--output", "json"], env=env, capture_output=True, text=True)
    return json.loads(r.stdout) if r.returncode == 0 and r.stdout.strip().startswith("{") else {}


def wait_delivered(n, seconds=180):
    deadline = time.time() + seconds
    s = {}
    while time.time() < deadline:
        s = status()
        if s.get("delivered", 0) >= n and s.get("unfinished", 1) == 0:
            return s
        time.sleep(1)
    fail(f"{n} instances not delivered within {seconds} s: status {json.dumps({k: s.get(k) for k in ('counts', 'received', 'delivered', 'failed')})}; "
         f"receive log: {open(receive_log).read()[-1500:]}")


def stored_instances():
    """SOP Instance UID -> list of image set ids holding it, from ahi-local's own record."""
    doc = json.load(open(os.path.join(args.work, "ahi-local", "ahi", "state.json")))
    out = {}
    for s in doc["imageSets"]:
        if s["datastoreId"] != datastore or s.get("workflowStatus") == "DELETED":
            continue
        for sop in s["instances"]:
            out.setdefault(sop, []).append(s["imageSetId"])
    return out


def check_exactly_once(sources, context):
    """Every source instance in ahi-local once (one image set), and equal to its source when fetched back."""
    stored = stored_instances()
    by_uid = {}
    for f in sources:
        by_uid[str(pydicom.dcmread(f, stop_before_pixels=True).SOPInstanceUID)] = f
    for uid, f in by_uid.items():
        if len(stored.get(uid, [])) != 1:
            fail(f"{context}: {os.path.basename(f)} ({uid}) is in {len(stored.get(uid, []))} image sets, expected 1")
    client = DICOMwebClient(url=f"{endpoint}/datastore/{datastore}", session=create_session_from_auth(MedicalImagingSigV4()),
                            chunk_size=1 << 31)
    diffs = []
    for uid, f in by_uid.items():
        a = pydicom.dcmread(f)
        b = client.retrieve_instance(str(a.StudyInstanceUID), str(a.SeriesInstanceUID), uid,
                                     media_types=(("application/dicom", "*"),))
        out = []
        compare_datasets(a, b, os.path.basename(f), out)
        if "PixelData" in a and a.PixelData != b.PixelData:
            out.append(f"{f}: pixel data differ")
        diffs += out
    if diffs:
        fail(f"{context}: {len(diffs)} differences, e.g. {diffs[:3]}")
    ok(f"{context}: {len(by_uid)} instances, each in ahi-local exactly once, equal to its source (pydicom, fetched with dicomweb-client)")


def make_cts(folder, n, series=1, size=16, seed=0):
    rng = np.random.default_rng(seed)
    os.makedirs(folder, exist_ok=True)
    paths = []
    for i in range(n):
        ds = ct_instance(ROOT, 1 + seed, series, i + 1, f"RCV-{seed}", "Receive^Patient", f"RCV{seed}",
                         rng.integers(0, 4096, size=size * size), rows=size, cols=size)
        path = os.path.join(folder, f"IM{i + 1:05d}.dcm")
        ds.save_as(path, enforce_file_format=True)
        paths.append(path)
    return paths


def run(cmd, timeout=300):
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env)


# ---------------------------------------------------------------- scenarios

def peers():
    receiver, port = start_receive()
    r = run(["/usr/bin/echoscu", "-aet", "TESTSCU", "-aec", "AHI", "127.0.0.1", str(port)])
    if r.returncode != 0:
        fail(f"DCMTK echoscu: exit {r.returncode}: {r.stderr[-500:]}")
    r = run([VENV_PYTHON, "-m", "pynetdicom", "echoscu", "-aet", "PYSCU", "-aec", "AHI", "127.0.0.1", str(port)])
    if r.returncode != 0 or "Error" in r.stderr:
        fail(f"pynetdicom echoscu: exit {r.returncode}: {r.stderr[-500:]}")
    ok("C-ECHO from DCMTK echoscu and pynetdicom echoscu")

    a = make_cts(os.path.join(args.work, "a"), 20, series=1, seed=1)
    b = make_cts(os.path.join(args.work, "b"), 20, series=2, seed=2, size=128)
    c = make_cts(os.path.join(args.work, "c"), 10, series=3, seed=3)
    compressed = [os.path.join(FIXTURES, f) for f in ("j2k_two_fragments_per_frame.dcm", "rle_with_bot.dcm", "multiframe_8frames.dcm",
                                                       "ct_implicit_le.dcm")]
    for cmd, name in [
        (["/usr/bin/storescu", "-aet", "TESTSCU", "-aec", "AHI", "+sd", "+r", "--max-pdu", "16384", "127.0.0.1", str(port),
          os.path.dirname(a[0])], "storescu --max-pdu 16384"),
        (["/usr/bin/storescu", "-aet", "TESTSCU", "-aec", "AHI", "+sd", "+r", "--max-pdu", "131072", "127.0.0.1", str(port),
          os.path.dirname(b[0])], "storescu --max-pdu 131072"),
        (["/usr/bin/dcmsend", "-aet", "TESTSCU", "-aec", "AHI", "127.0.0.1", str(port)] + compressed, "dcmsend (JPEG 2000, RLE, …)"),
        ([VENV_PYTHON, "-m", "pynetdicom", "storescu", "-aet", "PYSCU", "-aec", "AHI", "127.0.0.1", str(port),
          os.path.dirname(c[0]), "-r"], "pynetdicom storescu"),
    ]:
        r = run(cmd)
        if r.returncode != 0:
            fail(f"{name}: exit {r.returncode}: {(r.stdout + r.stderr)[-800:]}")
        ok(f"{name}: sent without a failure")
    everything = a + b + c + compressed
    wait_delivered(len(everything))
    check_exactly_once(everything, "DCMTK and pynetdicom senders")
    receiver.send_signal(signal.SIGTERM)
    try:
        receiver.wait(timeout=60)
    except subprocess.TimeoutExpired:
        fail("receive did not stop within 60 s of SIGTERM")
    if receiver.returncode != 0:
        fail(f"receive exited {receiver.returncode} after SIGTERM")
    ok("SIGTERM: receive stopped and exited 0")


def refuse():
    receiver, port = start_receive(extra=["--allow-calling-ae", "GOODSCU"])
    r = run(["/usr/bin/echoscu", "-aet", "BADSCU", "-aec", "AHI", "127.0.0.1", str(port)])
    if r.returncode == 0 or "Rejected" not in (r.stdout + r.stderr):
        fail(f"an unlisted calling AE was not rejected: exit {r.returncode}: {(r.stdout + r.stderr)[-500:]}")
    r = run(["/usr/bin/echoscu", "-aet", "GOODSCU", "-aec", "AHI", "127.0.0.1", str(port)])
    if r.returncode != 0:
        fail(f"the listed calling AE was refused: {r.stderr[-500:]}")
    ok("an unlisted calling AE is rejected, a listed one accepted")
    # A SOP class nobody defined: no accepted presentation context.
    folder = os.path.join(args.work, "odd")
    path = make_cts(folder, 1, seed=9)[0]
    ds = pydicom.dcmread(path)
    ds.SOPClassUID = ds.file_meta.MediaStorageSOPClassUID = "1.2.826.0.1.3680043.10.1234.55.999"
    ds.save_as(path, enforce_file_format=True)
    r = run(["/usr/bin/dcmsend", "-aet", "GOODSCU", "-aec", "AHI", "127.0.0.1", str(port), path])
    said = r.stdout + r.stderr
    if "No Acceptable Presentation Contexts" not in said and "no acceptable presentation context" not in said.lower():
        fail(f"an unknown SOP class was accepted (dcmsend exit {r.returncode}): {said[-500:]}")
    if status().get("received", 0) != 0:
        fail(f"the receiver recorded something: {status()}")
    ok("an unknown SOP class gets no accepted presentation context (dcmsend: No Acceptable Presentation Contexts); nothing received")
    receiver.send_signal(signal.SIGTERM)
    receiver.wait(timeout=60)


KILL_SENDER = r'''
import json, sys
from pydicom import dcmread
from pynetdicom import AE
from pynetdicom.sop_class import CTImageStorage
port, out, files = int(sys.argv[1]), sys.argv[2], sys.argv[3:]
ae = AE(ae_title="PYSCU")
ae.add_requested_context(CTImageStorage)
ae.dimse_timeout = 10
log = open(out, "a")
assoc = ae.associate("127.0.0.1", port, ae_title="AHI")
if not assoc.is_established:
    sys.exit(2)
for f in files:
    try:
        st = assoc.send_c_store(dcmread(f))
    except Exception:
        break
    code = getattr(st, "Status", None)
    log.write(json.dumps({"file": f, "status": code}) + "\n")
    log.flush()
    if not assoc.is_established:
        break
if assoc.is_established:
    assoc.release()
'''


def kill():
    files = make_cts(os.path.join(args.work, "k"), 300, seed=4, size=64)
    receiver, port = start_receive()
    script = os.path.join(args.work, "sender.py")
    open(script, "w").write(KILL_SENDER)
    results = os.path.join(args.work, "results.ndjson")
    sender = subprocess.Popen([VENV_PYTHON, script, str(port), results] + files, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    procs.append(sender)
    import random
    target = random.Random().randint(50, 250)
    deadline = time.time() + 60
    while time.time() < deadline and (not os.path.exists(results) or sum(1 for _ in open(results)) < target):
        time.sleep(0.005)
    receiver.kill()  # SIGKILL in the middle of the association
    receiver.wait()
    sender.wait(timeout=60)
    acked = [json.loads(line)["file"] for line in open(results) if json.loads(line)["status"] == 0]
    if not 40 <= len(acked) < len(files):
        fail(f"the kill did not land mid-way: {len(acked)} of {len(files)} acknowledged")
    ok(f"receive killed with SIGKILL after {len(acked)} of {len(files)} instances were acknowledged")
    receiver, port = start_receive()
    wait_delivered(len(acked))
    stored = stored_instances()
    for f in acked:
        uid = str(pydicom.dcmread(f, stop_before_pixels=True).SOPInstanceUID)
        if len(stored.get(uid, [])) != 1:
            fail(f"{f} was acknowledged but is in {len(stored.get(uid, []))} image sets after the restart")
    extra = set(stored) - {str(pydicom.dcmread(f, stop_before_pixels=True).SOPInstanceUID) for f in files}
    if extra:
        fail(f"ahi-local holds instances nobody sent: {sorted(extra)[:3]}")
    unacked_stored = len(stored) - len(acked)
    check_exactly_once(acked, "after a SIGKILL and a restart")
    ok(f"every acknowledged instance delivered once; {unacked_stored} received but not acknowledged before the kill were "
       f"delivered too (the sender saw no success for them)")
    receiver.send_signal(signal.SIGTERM)
    receiver.wait(timeout=60)


def concurrent():
    receiver, port = start_receive(extra=["--max-associations", "16"])
    folders = []
    for k in range(8):
        make_cts(os.path.join(args.work, f"p{k}"), 200, series=k + 1, seed=10 + k)
        folders.append(os.path.join(args.work, f"p{k}"))
    start = time.time()
    senders = [subprocess.Popen(["/usr/bin/storescu", "-aet", f"SCU{k}", "-aec", "AHI", "+sd", "+r", "127.0.0.1", str(port), d],
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) for k, d in enumerate(folders)]
    for k, s in enumerate(senders):
        out, _ = s.communicate(timeout=600)
        if s.returncode != 0:
            fail(f"storescu {k}: exit {s.returncode}: {out[-800:]}")
    ok(f"8 storescu associations × 200 instances sent in {time.time() - start:.1f} s")
    files = [os.path.join(d, f) for d in folders for f in sorted(os.listdir(d))]
    wait_delivered(len(files), seconds=600)
    stored = stored_instances()
    for f in files:
        uid = str(pydicom.dcmread(f, stop_before_pixels=True).SOPInstanceUID)
        if len(stored.get(uid, [])) != 1:
            fail(f"{f} is in {len(stored.get(uid, []))} image sets")
    ok(f"all {len(files)} delivered, each exactly once")
    receiver.send_signal(signal.SIGTERM)
    receiver.wait(timeout=60)


def tls():
    key, cert = os.path.join(args.work, "key.pem"), os.path.join(args.work, "cert.pem")
    r = run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert, "-subj", "/CN=localhost",
             "-days", "1"])
    if r.returncode != 0:
        fail(f"openssl: {r.stderr[-300:]}")
    receiver, port = start_receive(extra=["--tls-cert", cert, "--tls-key", key])
    r = run(["/usr/bin/echoscu", "+tla", "-ic", "-aet", "TLSSCU", "-aec", "AHI", "127.0.0.1", str(port)])
    if r.returncode != 0:
        fail(f"echoscu over TLS: exit {r.returncode}: {(r.stdout + r.stderr)[-500:]}")
    r = run(["/usr/bin/echoscu", "-to", "5", "-ta", "5", "-aet", "PLAIN", "-aec", "AHI", "127.0.0.1", str(port)], timeout=60)
    if r.returncode == 0:
        fail("a plain (not TLS) association was accepted by a TLS receiver")
    files = make_cts(os.path.join(args.work, "t"), 10, seed=7)
    r = run(["/usr/bin/storescu", "+tla", "-ic", "-aet", "TLSSCU", "-aec", "AHI", "+sd", "+r", "127.0.0.1", str(port),
             os.path.dirname(files[0])])
    if r.returncode != 0:
        fail(f"storescu over TLS: exit {r.returncode}: {(r.stdout + r.stderr)[-500:]}")
    wait_delivered(len(files))
    check_exactly_once(files, "over TLS")
    ok("DCMTK echoscu and storescu over TLS succeed; a plain association is refused")
    receiver.send_signal(signal.SIGTERM)
    receiver.wait(timeout=60)


try:
    {"tls": tls, "peers": peers, "refuse": refuse, "kill": kill, "concurrent": concurrent}[args.scenario]()
finally:
    cleanup()
    shutil.rmtree(os.path.join(args.work, "state", "spool"), ignore_errors=True)
