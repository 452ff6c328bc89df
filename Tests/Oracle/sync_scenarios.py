#!/usr/bin/env python3
"""Drives `ahi-upload sync` / `watch` / `status` against a real ahi-local process,
the way cron, systemd and a modality would, and judges the outcome from outside:
ahi-local's own record of every imported instance (state.json: which jobs wrote
it), its S3 side through boto3 (open multipart uploads), the request log (which
objects were PUT), and the ledger read with Python's sqlite3.

    python3 Tests/Oracle/sync_scenarios.py SCENARIO --ahi-upload BIN --ahi-local BIN --work DIR [--trials N] [--seed S]

SCENARIO: crash (SIGKILL at random moments, then the ledger must finish the job
exactly once), concurrent (two runs at the same time), settle (a file still being
written; a file changed after import), watch (files dropped while it runs; SIGTERM),
after (a failed job, an invalid file, --verify, --on-success), shards (four `sync --shard k/4`
and then four `import --shard k/4` processes at once on one folder).
Prints what it did; exits 1 with `FAIL: …` on the first broken promise.
"""
import argparse
import hashlib
import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import threading
import time

import boto3
import botocore
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ahi_local_process  # noqa: E402
from synthetic import ct_instance  # noqa: E402

p = argparse.ArgumentParser()
p.add_argument("scenario", choices=["crash", "concurrent", "settle", "watch", "after", "shards"])
p.add_argument("--ahi-upload", required=True)
p.add_argument("--ahi-local", required=True)
p.add_argument("--work", required=True)
p.add_argument("--trials", type=int, default=20)
p.add_argument("--seed", type=int, default=int(time.time()))
p.add_argument("--via", choices=["s3-import", "stow-rs"], default="s3-import")
args = p.parse_args()

ROOT = "1.2.826.0.1.3680043.10.1234.88"
BUCKET = "sync-bucket"


def fail(msg):
    print(f"FAIL: {msg}", flush=True)
    sys.exit(1)


def say(msg):
    print(msg, flush=True)


# ---------------------------------------------------------------- ahi-local

os.makedirs(args.work, exist_ok=True)
local_dir = os.path.join(args.work, "ahi-local")
request_log = os.path.join(args.work, "requests.log")
faults = ["--fault", "fail-job=1"] if args.scenario == "after" else []
server, endpoint = ahi_local_process.start(args.ahi_local, local_dir, ["--request-log", request_log] + faults)
if server is None:
    fail("ahi-local did not start")
env = ahi_local_process.client_env()
os.environ.update(env)
kw = dict(endpoint_url=endpoint, region_name="us-east-1")
s3 = boto3.client("s3", config=botocore.config.Config(s3={"addressing_style": "path"}), **kw)
mi = boto3.client("medical-imaging", **kw)
s3.create_bucket(Bucket=BUCKET)
datastore = mi.create_datastore(datastoreName="sync", clientToken=f"sync-{args.scenario}-{args.seed}")["datastoreId"]

folder = os.path.join(args.work, "incoming")
state = os.path.join(args.work, "state")
os.makedirs(folder, exist_ok=True)


def sync_args(extra=()):
    return [args.ahi_upload, "sync", folder, "--datastore", datastore, "--bucket", BUCKET,
            "--role-arn", "arn:aws:iam::123456789012:role/ahi", "--endpoint-url", endpoint, "--s3-endpoint-url", endpoint,
            "--region", "us-east-1", "--state-dir", state, "--multipart-threshold-mib", "5", "--part-size-mib", "5",
            "--max-files-per-job", "4", "--retry-base", "0", "--settle", "0", "--via", args.via,
            "--stow-max-instances", "4", "--concurrency", "2"] + list(extra)


def run_sync(extra=(), timeout=300):
    r = subprocess.run(sync_args(extra), env=env, capture_output=True, text=True, timeout=timeout)
    return r.returncode, r.stdout, r.stderr


# ---------------------------------------------------------------- data

expected = {}  # SOP Instance UID -> relative path


def instance(study, series, n, rows=16, cols=16, seed=0):
    rng = np.random.default_rng(seed * 7919 + n)
    return ct_instance(ROOT, study, series, n, f"SYNC-{study}", "Sync^Patient", f"SYNC{study}",
                       rng.integers(0, 4096, size=rows * cols), rows=rows, cols=cols)


def drop(ds, rel, atomic=True):
    """Writes a file into the folder (to a hidden temporary name, then renamed, as a modality's SCP does)."""
    path = os.path.join(folder, rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tmp = os.path.join(os.path.dirname(path), "." + os.path.basename(path) + ".part")
    ds.save_as(tmp if atomic else path, enforce_file_format=True)
    if atomic:
        os.rename(tmp, path)
    expected[ds.SOPInstanceUID] = rel
    return path


# ---------------------------------------------------------------- judges

def stored_instances():
    """SOP Instance UID -> list of (image set id, jobs that wrote it), from ahi-local's own record."""
    doc = json.load(open(os.path.join(local_dir, "ahi", "state.json")))
    out = {}
    for s in doc["imageSets"]:
        if s["datastoreId"] != datastore or s.get("workflowStatus") == "DELETED":
            continue
        for sop, inst in s["instances"].items():
            out.setdefault(sop, []).append((s["imageSetId"], inst.get("importedBy") or []))
    return out


def ledger_rows():
    db = sqlite3.connect(f"file:{os.path.join(state, 'ledger.sqlite')}?mode=ro", uri=True)
    rows = db.execute("SELECT path, state, sop_instance_uid, image_set_id, upload_id, last_error FROM files").fetchall()
    db.close()
    return rows


def safe_ledger_rows():
    try:
        return ledger_rows()
    except sqlite3.Error:
        return []


def ledger_counts():
    counts = {}
    for r in ledger_rows():
        counts[r[1]] = counts.get(r[1], 0) + 1
    return counts


def open_multipart_uploads():
    return s3.list_multipart_uploads(Bucket=BUCKET).get("Uploads", [])


def puts_per_key():
    """Object PUTs (single or completed multipart) per key, from ahi-local's request log."""
    counts = {}
    for line in open(request_log):
        method, target = line.rstrip("\n").split(" ", 1)
        path, _, query = target.partition("?")
        if not path.startswith(f"/{BUCKET}/"):
            continue
        key = path[len(BUCKET) + 2:]
        if (method == "PUT" and "partNumber" not in query) or (method == "POST" and "uploadId" in query):
            counts[key] = counts.get(key, 0) + 1
    return counts


# STOW-RS: how many times ahi-local had stored each instance when the ledger first recorded it imported.
stores_when_confirmed = {}


def note_confirmed():
    """After a trial: remember, for each instance the ledger now records as imported, how often it had been stored."""
    stored = stored_instances()
    for r in safe_ledger_rows():
        if r[1] == "imported" and r[2] not in stores_when_confirmed and stored.get(r[2]):
            stores_when_confirmed[r[2]] = len(stored[r[2]][0][1])


def stow_posts():
    """STOW-RS requests ahi-local has received so far (its request log)."""
    if not os.path.exists(request_log):
        return 0
    return sum(1 for line in open(request_log) if line.startswith("POST ") and "/studies" in line)


def check_exactly_once(context):
    stored = stored_instances()
    for sop, rel in expected.items():
        got = stored.get(sop, [])
        if len(got) != 1:
            fail(f"{context}: {rel} ({sop}) is in {len(got)} image sets, expected 1")
        jobs = got[0][1]
        if args.via == "stow-rs":
            # Sent again only while unconfirmed: never once the ledger had recorded it.
            if sop in stores_when_confirmed and len(jobs) != stores_when_confirmed[sop]:
                fail(f"{context}: {rel} was sent again after the ledger recorded it stored "
                     f"({stores_when_confirmed[sop]} stores then, {len(jobs)} now)")
            continue
        if len(jobs) != 1:
            fail(f"{context}: {rel} was imported {len(jobs)} times (jobs {jobs}), expected once")
    extra = set(stored) - set(expected)
    if extra:
        fail(f"{context}: the data store holds instances nobody dropped: {sorted(extra)[:3]}")
    rows = {r[2]: r for r in ledger_rows()}
    for sop, rel in expected.items():
        r = rows.get(sop)
        if r is None or r[1] != "imported":
            fail(f"{context}: ledger has {rel} as {r[1] if r else 'missing'} ({r[5] if r else ''})")
        if args.via == "s3-import" and r[3] != stored[sop][0][0]:
            fail(f"{context}: ledger says {rel} is in image set {r[3]}, the data store says {stored[sop][0][0]}")
    if open_multipart_uploads():
        fail(f"{context}: multipart uploads left open: {open_multipart_uploads()}")
    how = "one image set each" if args.via == "stow-rs" else "one import job each"
    say(f"ok: {context}: {len(expected)} instances, each in the data store exactly once ({how}), "
        f"ledger agrees, no multipart upload open")


def finish(context, runs=3):
    for i in range(runs):
        code, out, err = run_sync()
        if code == 0 and all(r[1] == "imported" for r in ledger_rows()):
            return
        say(f"  completion run {i + 1}: exit {code}: {out.strip()[-300:]} {err.strip()[-300:]}")
    fail(f"{context}: sync did not finish the job in {runs} runs")


# ---------------------------------------------------------------- scenarios

def crash():
    rng = random.Random(args.seed)
    say(f"crash test: seed {args.seed}, {args.trials} trials")
    killed = 0
    caught_multipart = 0
    for trial in range(args.trials):
        study = 1 + trial // 5
        # STOW-RS: 12 per trial, three requests of 4 with two in flight, so a kill can land between them.
        for n in range(3 if args.via == "s3-import" else 12):
            drop(instance(study, trial, n + 1, seed=trial), f"study-{study}/series-{trial}/IM{n + 1}.dcm")
        # A 32 MiB instance: multipart, 7 parts of 5 MiB (STOW-RS has no parts; its large
        # instances are stow_scenarios.py's).
        large = trial % 4 == 0 and args.via == "s3-import"
        if large:
            drop(instance(study, trial, 99, rows=4096, cols=4096, seed=trial), f"study-{study}/series-{trial}/LARGE.dcm")
        # A STOW-RS run of a few files takes well under a second.
        delay = rng.uniform(0.05, 3.0) if args.via == "s3-import" else rng.uniform(0.05, 1.0)
        log_path = os.path.join(args.work, f"trial-{trial + 1:02d}.log")
        with open(log_path, "w") as log:
            proc = subprocess.Popen(sync_args(), env=env, stdout=log, stderr=log)
            start = time.time()
            if args.via == "stow-rs":
                # Aim between a STOW-RS request and the ledger's record of its answer: once ahi-local
                # has received this run's first, second or third request, a moment later.
                posts, nth = stow_posts(), 1 + trial % 3
                while proc.poll() is None and time.time() - start < 30 and stow_posts() < posts + nth:
                    time.sleep(0.005)
                delay = time.time() - start + rng.uniform(0.0, 0.05)
            if large and trial % 8 == 0 and args.via == "s3-import":
                # Aim inside the multipart upload: once the ledger records its upload id, a random moment later.
                while proc.poll() is None and time.time() - start < 30 and not any(r[4] for r in safe_ledger_rows()):
                    time.sleep(0.01)
                delay = time.time() - start + rng.uniform(0.0, 0.3)
            try:
                proc.wait(timeout=max(0.0, delay - (time.time() - start)))
                outcome = f"finished by itself (exit {proc.returncode})"
                if proc.returncode != 0:
                    outcome += ": " + open(log_path).read().strip().splitlines()[-1][:200]
            except subprocess.TimeoutExpired:
                proc.send_signal(signal.SIGKILL)
                proc.wait()
                killed += 1
                outcome = "SIGKILL"
        counts = ledger_counts() if os.path.exists(os.path.join(state, "ledger.sqlite")) else {}
        note_confirmed()
        open_now = len(open_multipart_uploads())
        caught_multipart += 1 if open_now else 0
        say(f"trial {trial + 1:2d}: {len(expected):3d} files dropped, killed after {delay:4.2f} s: {outcome}; "
            f"ledger {dict(sorted(counts.items()))}; open multipart uploads {open_now}")
    if killed < args.trials // 2:
        fail(f"only {killed} of {args.trials} runs were killed mid-way: the test did not test much")
    finish("crash")
    check_exactly_once(f"crash test via {args.via} ({killed} of {args.trials} runs killed, {caught_multipart} during a multipart upload)")
    if args.via == "stow-rs":
        stored = stored_instances()
        resent = sum(1 for sop in expected if len(stored[sop][0][1]) > 1)
        sets = {s for v in stored.values() for s, _ in v}
        series = {sop.rsplit(".", 1)[0] for sop in expected}
        if len(sets) != len(series):
            fail(f"{len(sets)} image sets for {len(series)} series: a re-sent instance made a new image set")
        if not stores_when_confirmed:
            fail("no answer was recorded before a kill: nothing showed that recorded instances are not sent again")
        say(f"ok: {resent} instances were sent again after a kill before their answer was recorded; "
            f"{len(stores_when_confirmed)} recorded between kills were never sent again; {len(sets)} image sets for {len(series)} series")
        posts = stow_posts()
        code, out, _ = run_sync()
        if code != 0 or stow_posts() != posts:
            fail(f"a run with nothing new sent something (exit {code}): {out}")
        say("ok: a further run sends nothing")
        return
    parts = sum(1 for line in open(request_log) if line.startswith("PUT ") and "partNumber=" in line)
    large = sum(1 for rel in expected.values() if rel.endswith("LARGE.dcm"))
    say(f"info: {parts} UploadPart requests for {large} large files of 7 parts each ({7 * large} parts)")
    # And a run with nothing new sends nothing.
    before = sum(puts_per_key().values())
    code, out, _ = run_sync()
    if code != 0 or sum(puts_per_key().values()) != before:
        fail(f"a run with nothing new uploaded something (exit {code}): {out}")
    say("ok: a further run uploads nothing")


def concurrent():
    for n in range(6):
        drop(instance(1, 1, n + 1), f"s/IM{n + 1}.dcm")
    drop(instance(1, 1, 99, rows=1536, cols=2048), "s/LARGE.dcm")
    a = subprocess.Popen(sync_args(["--lock-timeout", "1"]), env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    b = subprocess.Popen(sync_args(["--lock-timeout", "1"]), env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    out_a, err_a = a.communicate(timeout=300)
    out_b, err_b = b.communicate(timeout=300)
    say(f"run A: exit {a.returncode}: {out_a.strip()}")
    say(f"run B: exit {b.returncode}: {out_b.strip()}")
    if a.returncode != 0 or b.returncode != 0:
        fail(f"both runs must exit 0: {err_a[-500:]} {err_b[-500:]}")
    if not any("not started: another run holds" in o for o in (out_a, out_b)):
        fail("neither run said it found the other's lock")
    # A third run waits for the lock as long as needed, finds nothing to do.
    c = subprocess.Popen(sync_args(["--lock-timeout", "60"]), env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    d = subprocess.Popen(sync_args(["--lock-timeout", "60"]), env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    for proc in (c, d):
        out, err = proc.communicate(timeout=300)
        if proc.returncode != 0:
            fail(f"a waiting run failed: {out} {err[-500:]}")
    twice = {k: n for k, n in puts_per_key().items() if n > 1 and "/output/" not in k}
    if twice:
        fail(f"objects uploaded more than once: {twice}")
    say(f"ok: two runs at once and two waiting runs: every object uploaded once ({len(puts_per_key())} PUTs)")
    check_exactly_once("concurrent runs")


def settle():
    done = threading.Event()
    ds = instance(5, 1, 1, rows=512, cols=512)
    growing = os.path.join(folder, "growing", "IM1.dcm")
    os.makedirs(os.path.dirname(growing), exist_ok=True)
    full = os.path.join(args.work, "full.dcm")
    ds.save_as(full, enforce_file_format=True)
    expected[ds.SOPInstanceUID] = "growing/IM1.dcm"
    data = open(full, "rb").read()

    def writer():
        with open(growing, "wb") as f:
            for i in range(0, len(data), len(data) // 12):
                f.write(data[i:i + len(data) // 12])
                f.flush()
                time.sleep(0.4)
        done.set()

    t = threading.Thread(target=writer)
    t.start()
    runs = 0
    while not done.is_set():
        code, out, err = run_sync(["--settle", "4"])
        runs += 1
        rows = [r for r in ledger_rows() if r[0] == growing]
        if rows and rows[0][1] != "seen":
            fail(f"a file still being written went to {rows[0][1]} ({rows[0][5]})")
        if any(k.endswith("growing/IM1.dcm") for k in puts_per_key()):
            fail("a file still being written was uploaded")
    t.join()
    say(f"ok: {runs} runs while the file was being written: it stayed 'seen', nothing uploaded")
    time.sleep(4.5)
    code, out, err = run_sync(["--settle", "4"])
    if code != 0:
        fail(f"sync after the file settled: exit {code}: {out} {err[-800:]}")
    check_exactly_once("settled file")
    # Touched only: not imported again.
    os.utime(growing, None)
    time.sleep(4.5)
    run_sync(["--settle", "4"])
    if len(stored_instances()[ds.SOPInstanceUID][0][1]) != 1:
        fail("a file whose mtime changed but whose bytes did not was imported again")
    say("ok: a touched file is not imported again")
    # Changed after import: imported again (a second job writes the instance).
    ds.PixelData = bytes(len(ds.PixelData))
    ds.save_as(growing, enforce_file_format=True)
    time.sleep(4.5)
    code, out, err = run_sync(["--settle", "4"])
    jobs = stored_instances()[ds.SOPInstanceUID][0][1]
    if code != 0 or len(jobs) != 2:
        fail(f"a file changed after import was not imported again (exit {code}, jobs {jobs}): {out}")
    say("ok: a file changed after import is imported again")


def watch():
    cmd = sync_args(["--settle", "1"])
    cmd[1] = "watch"
    cmd += ["--quiet-period", "1", "--poll-interval", "30"]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(1.5)

    def wait_imported(n, seconds=90):
        deadline = time.time() + seconds
        while time.time() < deadline:
            if proc.poll() is not None:
                fail(f"watch exited early ({proc.returncode}): {proc.stderr.read()[-800:]}")
            if os.path.exists(os.path.join(state, "ledger.sqlite")):
                if sum(1 for r in ledger_rows() if r[1] == "imported") >= n:
                    return
            time.sleep(0.5)
        fail(f"watch did not import {n} files within {seconds} s: {ledger_counts()}")

    for n in range(3):
        drop(instance(7, 1, n + 1), f"a/IM{n + 1}.dcm")
    wait_imported(3)
    say("ok: watch imported 3 files dropped while it ran")
    for n in range(2):
        drop(instance(7, 2, n + 1), f"b/new-folder/IM{n + 1}.dcm")
    wait_imported(5)
    say("ok: watch imported 2 more, dropped into a folder made after it started")
    proc.send_signal(signal.SIGTERM)
    try:
        out, err = proc.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        fail("watch did not stop within 30 s of SIGTERM")
    if proc.returncode != 0 or "stopped by SIGTERM" not in out:
        fail(f"watch on SIGTERM: exit {proc.returncode}: {out} {err[-500:]}")
    say(f"ok: SIGTERM: {out.strip()}")
    db = sqlite3.connect(os.path.join(state, "ledger.sqlite"))
    if db.execute("PRAGMA integrity_check").fetchone()[0] != "ok":
        fail("the ledger is damaged")
    db.close()
    check_exactly_once("watch")
    r = subprocess.run([args.ahi_upload, "status", "--state-dir", state, "--output", "json"], capture_output=True, text=True)
    status = json.loads(r.stdout)
    if status["counts"]["imported"] != 5 or not status["lastRun"]["outcome"].startswith("stopped by SIGTERM"):
        fail(f"status: {r.stdout}")
    say("ok: status reports 5 imported and the last run stopped by SIGTERM")


def after():
    """A job that fails on the service's side is retried by the next run; an invalid
    file is rejected once and left alone; --verify then --on-success move:DIR."""
    for n in range(3):
        drop(instance(8, 1, n + 1, rows=64, cols=64), f"good/IM{n + 1}.dcm")
    good = open(os.path.join(folder, "good/IM1.dcm"), "rb").read()
    with open(os.path.join(folder, "broken.dcm"), "wb") as f:
        f.write(good[:400])
    done = os.path.join(args.work, "done")
    flags = ["--on-success", f"move:{done}", "--verify"]
    code, out, err = run_sync(flags)
    rows = {os.path.relpath(r[0], folder): r for r in ledger_rows()}
    if code != 1 or rows["broken.dcm"][1] != "rejected" or any(rows[f"good/IM{n}.dcm"][1] != "failed" for n in (1, 2, 3)):
        fail(f"first run (its job fails): exit {code}, ledger {rows}: {out}")
    if "FAILED" not in (rows["good/IM1.dcm"][5] or ""):
        fail(f"the failed job's message is not recorded: {rows['good/IM1.dcm']}")
    say(f"ok: run 1: the job FAILED on the service's side (exit 1); broken.dcm rejected: {rows['broken.dcm'][5]}")
    code, out, err = run_sync(flags)
    rows = {os.path.relpath(r[0], folder): r for r in ledger_rows()}
    if code != 0 or any(rows[f"good/IM{n}.dcm"][1] != "imported" for n in (1, 2, 3)):
        fail(f"second run did not retry the failed files: exit {code}, {rows}: {out} {err[-800:]}")
    for n in (1, 2, 3):
        if os.path.exists(os.path.join(folder, f"good/IM{n}.dcm")) or not os.path.exists(os.path.join(done, f"good/IM{n}.dcm")):
            fail(f"good/IM{n}.dcm was not moved to {done} after its verified import")
    if not os.path.exists(os.path.join(folder, "broken.dcm")) or rows["broken.dcm"][1] != "rejected":
        fail("broken.dcm must stay where it is, rejected")
    say("ok: run 2: the failed files were retried and imported, verified, moved to done/; broken.dcm left alone")
    check_exactly_once("after a failed job")
    # --on-success delete removes a source only once it is imported.
    path = drop(instance(8, 2, 1, rows=64, cols=64), "later/IM1.dcm")
    code, out, err = run_sync(["--on-success", "delete"])
    rows = {os.path.relpath(r[0], folder): r for r in ledger_rows()}
    if code != 0 or os.path.exists(path) or rows["later/IM1.dcm"][1] != "imported":
        fail(f"--on-success delete: exit {code}, exists {os.path.exists(path)}, {rows.get('later/IM1.dcm')}: {out}")
    check_exactly_once("--on-success delete")
    r = subprocess.run([args.ahi_upload, "status", "--state-dir", state], capture_output=True, text=True)
    if r.returncode != 0 or "rejected  " + os.path.join(folder, "broken.dcm") not in r.stdout or "imported 4" not in r.stdout:
        fail(f"status: {r.stdout} {r.stderr}")
    say("ok: status lists the rejected file with its reason:\n" + r.stdout.strip())


def shard_of(study_uid, count):
    """The shard a study belongs to, computed here independently: the first 8 bytes of SHA-256 of the UID, big-endian, mod N."""
    return int.from_bytes(hashlib.sha256(study_uid.encode()).digest()[:8], "big") % count


def shards():
    """Four shards started together on one folder of six studies: every instance imported
    exactly once, each study by one job, each shard's ledger holding only its studies;
    then the same with four `import --shard` processes on a second folder."""
    n_shards = 4
    studies = {}
    for st in range(1, 7):
        for se in (1, 2):
            for n in (1, 2):
                ds = instance(20 + st, se, n, seed=st)
                drop(ds, f"study{st}/series{se}/IM{n}.dcm")
                studies[ds.SOPInstanceUID] = ds.StudyInstanceUID
    owners = {shard_of(u, n_shards) for u in set(studies.values())}
    say(f"six studies over shards {sorted(owners)}")

    def base(k, kind):
        st = f"{state}-{k}"
        a = sync_args(["--shard", f"{k}/{n_shards}"])
        return [x if x != state else st for x in a]

    procs = [subprocess.Popen(base(k, "sync"), env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for k in range(n_shards)]
    outs = [p.communicate(timeout=600) for p in procs]
    for k, (p, (out, err)) in enumerate(zip(procs, outs)):
        if p.returncode != 0:
            fail(f"sync --shard {k}/{n_shards}: exit {p.returncode}: {out[-500:]} {err[-1500:]}")
    throttled = sum(err.count("throttled") for _, err in outs)
    stored = stored_instances()
    jobs_per_study = {}
    for sop, study in studies.items():
        got = stored.get(sop, [])
        if len(got) != 1 or len(got[0][1]) != 1:
            fail(f"shards: {sop} is in {len(got)} image sets / written by {got[0][1] if got else []}, expected exactly once")
        jobs_per_study.setdefault(study, set()).update(got[0][1])
    split = {s: j for s, j in jobs_per_study.items() if len(j) != 1}
    if split:
        fail(f"shards: studies imported by more than one job: {split}")
    seen = set()
    for k in range(n_shards):
        db = sqlite3.connect(f"file:{state}-{k}/ledger.sqlite?mode=ro", uri=True)
        rows = db.execute("SELECT study_instance_uid, state FROM files").fetchall()
        db.close()
        mine = {r[0] for r in rows}
        wrong = {u for u in mine if u is None or shard_of(u, n_shards) != k}
        if wrong:
            fail(f"shards: ledger {k} holds studies of other shards (or unread files): {sorted(map(str, wrong))}")
        if any(r[1] != "imported" for r in rows):
            fail(f"shards: ledger {k} has unfinished rows: {rows}")
        if mine & seen:
            fail(f"shards: a study is in two ledgers: {mine & seen}")
        seen |= mine
    if seen != set(studies.values()):
        fail(f"shards: studies in no ledger: {set(studies.values()) - seen}")
    say(f"ok: sync: {len(studies)} instances of 6 studies, each imported exactly once, each study by one job, "
        f"each of the 4 ledgers holding only its own studies (StartDICOMImportJob throttled {throttled} times, waited out)")

    # The same with `import --shard`, into the same data store, from a second folder.
    second = os.path.join(args.work, "incoming-import")
    imported = {}
    for st in range(1, 7):
        for n in (1, 2, 3):
            ds = instance(40 + st, 1, n, seed=st)
            path = os.path.join(second, f"s{st}/IM{n}.dcm")
            os.makedirs(os.path.dirname(path), exist_ok=True)
            ds.save_as(path, enforce_file_format=True)
            imported[ds.SOPInstanceUID] = ds.StudyInstanceUID
    cmd = [args.ahi_upload, second, "--datastore", datastore, "--bucket", BUCKET, "--role-arn", "arn:aws:iam::123456789012:role/ahi",
           "--endpoint-url", endpoint, "--s3-endpoint-url", endpoint, "--region", "us-east-1", "--output", "json"]
    procs = [subprocess.Popen(cmd + ["--shard", f"{k}/{n_shards}"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for k in range(n_shards)]
    outs = [p.communicate(timeout=600) for p in procs]
    reported = set()
    for k, (p, (out, err)) in enumerate(zip(procs, outs)):
        if p.returncode != 0:
            fail(f"import --shard {k}/{n_shards}: exit {p.returncode}: {out[-500:]} {err[-1500:]}")
        report = json.loads(out)
        if report.get("shard") != f"{k}/{n_shards}":
            fail(f"import --shard {k}: the report says shard {report.get('shard')}")
        for f in report["files"]:
            if f["status"] != "imported" or shard_of(f["studyInstanceUID"], n_shards) != k:
                fail(f"import --shard {k}: {f}")
            if f["path"] in reported:
                fail(f"import: {f['path']} reported by two shards")
            reported.add(f["path"])
    if len(reported) != len(imported):
        fail(f"import: {len(reported)} files reported by the shards, {len(imported)} in the folder")
    stored = stored_instances()
    for sop, study in imported.items():
        got = stored.get(sop, [])
        if len(got) != 1 or len(got[0][1]) != 1:
            fail(f"import shards: {sop}: {got}")
    say(f"ok: import: {len(imported)} instances over 4 shards, each reported by its own shard and imported exactly once")


try:
    {"after": after, "crash": crash, "concurrent": concurrent, "settle": settle, "watch": watch, "shards": shards}[args.scenario]()
finally:
    server.kill()
    server.wait()
