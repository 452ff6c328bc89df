#!/usr/bin/env python3
"""DIMSE receive benchmark: instances/s and MB/s that DCMTK `storescu` achieves sending 1,000 CT
instances over loopback to `ahi-upload receive` (each instance written durably — fsync of the
file and the spool folder, a ledger record — before success is answered) and to DCMTK
`storescp` (writing files, no fsync), alternately in one run.

    swift build -c release --product ahi-upload
    python3 Scripts/bench/receive_bench.py [--bin .build/release] [--count 1000] [--size 256] [--rounds 3] [--associations 1]

Whole processes, timed as the sender sees them: the wall time of storescu (or of N storescu
processes started together, one association each) from start to exit. The receivers run on
127.0.0.1 with their files under /tmp; `receive` waits an hour before delivering, so its
delivery does not compete (validation of the received files does).
"""
import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "Tests", "Oracle"))
from synthetic import ct_instance  # noqa: E402

ROOT = "1.2.826.0.1.3680043.10.1234.44"


def free_port():
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_listening(port, seconds=30):
    import socket
    deadline = time.time() + seconds
    while time.time() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    sys.exit(f"nothing listens on {port}")


def send(port, folders, called):
    start = time.perf_counter()
    # DCMTK leaves Nagle's algorithm on unless TCP_NODELAY=1: 40 ms per message on loopback otherwise.
    env = dict(os.environ, TCP_NODELAY="1")
    senders = [subprocess.Popen(["/usr/bin/storescu", "-aet", "BENCH", "-aec", called, "+sd", "+r", "127.0.0.1", str(port), d],
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env) for d in folders]
    for s in senders:
        _, err = s.communicate()
        if s.returncode != 0:
            sys.exit(f"storescu failed: {err.decode(errors='replace')[-600:]}")
    return time.perf_counter() - start


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bin", default=".build/release")
    ap.add_argument("--count", type=int, default=1000)
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--associations", type=int, default=1)
    args = ap.parse_args()
    work = tempfile.mkdtemp(prefix="receive-bench-")
    rng = np.random.default_rng(5)
    folders = [os.path.join(work, "data", f"a{k}") for k in range(args.associations)]
    for n in range(args.count):
        ds = ct_instance(ROOT, 1, 1 + n % args.associations, n + 1, "BENCH", "Bench^Patient", "BENCH1",
                         rng.integers(0, 4096, size=args.size * args.size), rows=args.size, cols=args.size)
        d = folders[n % args.associations]
        os.makedirs(d, exist_ok=True)
        ds.save_as(os.path.join(d, f"IM{n + 1:05d}.dcm"), enforce_file_format=True)
    total = sum(os.path.getsize(os.path.join(d, f)) for d in folders for f in os.listdir(d))
    env = dict(os.environ, TCP_NODELAY="1", AWS_ACCESS_KEY_ID="AKIAAHILOCAL00000000", AWS_SECRET_ACCESS_KEY="ahi-local-secret-access-key",
               AWS_REGION="us-east-1", AWS_EC2_METADATA_DISABLED="true", AWS_CONFIG_FILE="/nonexistent",
               AWS_SHARED_CREDENTIALS_FILE="/nonexistent")
    times = {"ahi-upload receive": [], "storescp": []}
    for r in range(args.rounds):
        for name in times:
            port = free_port()
            out = os.path.join(work, f"out-{name.split()[0]}-{r}")
            os.makedirs(out)
            if name == "storescp":
                cmd = ["/usr/bin/storescp", "-aet", "STORESCP", "-od", out, "+xa", str(port)]
                called = "STORESCP"
            else:
                # Delivery to an endpoint nobody listens on, an hour away: only receiving is timed.
                cmd = [os.path.join(args.bin, "ahi-upload"), "receive", "--port", str(port), "--ae-title", "AHI",
                       "--state-dir", out, "--via", "stow-rs", "--dicomweb-endpoint-url", "http://127.0.0.1:9/dicom-web",
                       "--dicomweb-auth", "none", "--datastore", "bench", "--quiet-period", "3600", "--quiet"]
                called = "AHI"
            server = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            wait_listening(port)
            t = send(port, folders, called)
            server.terminate()
            try:
                server.wait(timeout=60)
            except subprocess.TimeoutExpired:
                server.kill()
            times[name].append(t)
            print(f"round {r + 1}: {name}: {t:.2f} s", file=sys.stderr)
            shutil.rmtree(out, ignore_errors=True)
    print(f"\n{args.count} CT instances of {args.size}x{args.size} ({total / 1e6:.1f} MB) from DCMTK storescu over loopback, "
          f"{args.associations} association(s); median of {args.rounds} alternating rounds\n")
    print("| receiver | wall time (s) | instances/s | MB/s |")
    print("|---|---:|---:|---:|")
    med = {k: statistics.median(v) for k, v in times.items()}
    for k, v in med.items():
        print(f"| {k} | {v:.2f} | {args.count / v:.0f} | {total / 1e6 / v:.1f} |")
    print(f"\nratio of throughput, ahi-upload receive / storescp: {med['storescp'] / med['ahi-upload receive']:.2f}x")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
