#!/usr/bin/env python3
"""STOW-RS benchmark: instances per second storing 1,000 small CT instances into ahi-local
with `ahi-upload import --via stow-rs` beside dicomweb-client's `store_instances` (same
batch size, SigV4 through botocore as shared/reference/dicomweb-dimse.md §4.6 shows), and
`--via stow-rs` beside `--via s3-import` (wall time until every instance is confirmed).

    swift build -c release --product ahi-upload --product ahi-local
    python3 Scripts/bench/stow_bench.py [--bin .build/release] [--count 1000] [--rounds 3] [--batch 100]

Each measurement is a whole process, as a user times it (the Python client's interpreter
start and pydicom reads included, like ours' parsing and validation); the tools alternate
within a round; every run stores into a fresh ahi-local (data in /dev/shm; started before the
clock starts). Peak RSS and client CPU time come from /usr/bin/time.
"""
import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

import boto3
import botocore
import numpy as np

ORACLE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "Tests", "Oracle")
sys.path.insert(0, ORACLE)
import ahi_local_process  # noqa: E402
from synthetic import ct_instance  # noqa: E402

KEY_ID, SECRET = ahi_local_process.KEY_ID, ahi_local_process.SECRET
ROOT = "1.2.826.0.1.3680043.10.1234.77"

DICOMWEB_CLIENT = r'''
import glob, sys, pydicom
from dicomweb_client.api import DICOMwebClient
from dicomweb_client.session_utils import create_session_from_auth
sys.path.insert(0, sys.argv[4])
from sigv4_auth import MedicalImagingSigV4

url, folder, batch = sys.argv[1], sys.argv[2], int(sys.argv[3])
client = DICOMwebClient(url=url, session=create_session_from_auth(MedicalImagingSigV4("us-east-1")), chunk_size=1 << 31)
paths = sorted(glob.glob(folder + "/**/*.dcm", recursive=True))
stored = 0
for i in range(0, len(paths), batch):
    answer = client.store_instances([pydicom.dcmread(p) for p in paths[i:i + batch]])
    stored += len(getattr(answer, "ReferencedSOPSequence", []))
print(stored)
'''


def rss_run(cmd, env):
    """Wall time, peak RSS (MB), the client's own CPU time (user + system, s) and its standard output.

    Peak RSS and CPU come from /usr/bin/time (GNU time), whose small process forks the tool:
    a child's ru_maxrss starts at its parent's RSS at fork, so this Python process must not be that parent.
    """
    with tempfile.NamedTemporaryFile("r", suffix=".time") as t:
        start = time.perf_counter()
        p = subprocess.run(["/usr/bin/time", "-f", "%M %U %S", "-o", t.name] + cmd, env=env, capture_output=True)
        elapsed = time.perf_counter() - start
        if p.returncode != 0:
            raise RuntimeError(f"{cmd[:3]} failed: {p.stderr.decode(errors='replace')[-800:]}")
        kb, user, system = t.read().split()[-3:]
    return elapsed, int(kb) / 1024, float(user) + float(system), p.stdout.decode()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bin", default=".build/release")
    ap.add_argument("--count", type=int, default=1000)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--batch", type=int, default=100)
    ap.add_argument("--size", type=int, default=128, help="rows = columns of each CT slice")
    args = ap.parse_args()
    work = tempfile.mkdtemp(dir="/dev/shm" if os.path.isdir("/dev/shm") else None, prefix="stow-bench-")
    folder = os.path.join(work, "ct")
    rng = np.random.default_rng(7)
    for n in range(args.count):
        series = 1 + n // 250
        ds = ct_instance(ROOT, 1, series, n + 1, "BENCH", "Bench^Patient", "BENCH1",
                         rng.integers(0, 4096, size=args.size * args.size), rows=args.size, cols=args.size)
        os.makedirs(os.path.join(folder, f"s{series}"), exist_ok=True)
        ds.save_as(os.path.join(folder, f"s{series}", f"IM{n + 1:05d}.dcm"), enforce_file_format=True)
    total_bytes = sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(folder) for f in fs)

    env = dict(os.environ, AWS_ACCESS_KEY_ID=KEY_ID, AWS_SECRET_ACCESS_KEY=SECRET, AWS_REGION="us-east-1",
               AWS_DEFAULT_REGION="us-east-1", AWS_EC2_METADATA_DISABLED="true", AWS_CONFIG_FILE="/nonexistent",
               AWS_SHARED_CREDENTIALS_FILE="/nonexistent", AWS_DISABLE_HOST_PREFIX_INJECTION="true")
    for k in list(env):
        if k.startswith("AHI_"):
            del env[k]
    script = os.path.join(work, "dicomweb_store.py")
    open(script, "w").write(DICOMWEB_CLIENT)
    tool = os.path.join(args.bin, "ahi-upload")
    counter = [0]
    current = {}

    def datastore():
        """A fresh ahi-local (its data in /dev/shm) with one data store and the bucket: no run pays for another's state."""
        if "server" in current:
            current["server"].kill()
            current["server"].wait()
        counter[0] += 1
        server, endpoint = ahi_local_process.start(os.path.join(args.bin, "ahi-local"), os.path.join(work, f"ahi-local-{counter[0]}"))
        if server is None:
            sys.exit("ahi-local did not start")
        current["server"], current["endpoint"] = server, endpoint
        kw = dict(endpoint_url=current["endpoint"], region_name="us-east-1", aws_access_key_id=KEY_ID, aws_secret_access_key=SECRET)
        boto3.client("s3", config=botocore.config.Config(s3={"addressing_style": "path"}), **kw).create_bucket(Bucket="bench")
        return boto3.client("medical-imaging", **kw).create_datastore(datastoreName="bench", clientToken="bench")["datastoreId"]

    def ours_stow():
        ds = datastore()
        endpoint = current["endpoint"]
        return rss_run([tool, "import", folder, "--via", "stow-rs", "--datastore", ds, "--endpoint-url", endpoint, "--region",
                        "us-east-1", "--no-skip-existing", "--stow-max-instances", str(args.batch), "--quiet"], env)

    def ours_s3():
        ds = datastore()
        endpoint = current["endpoint"]
        return rss_run([tool, "import", folder, "--via", "s3-import", "--datastore", ds, "--endpoint-url", endpoint,
                        "--s3-endpoint-url", endpoint, "--bucket", "bench", "--role-arn", "arn:aws:iam::000000000000:role/x",
                        "--region", "us-east-1", "--no-skip-existing", "--quiet"], env)

    def theirs():
        ds = datastore()
        endpoint = current["endpoint"]
        result = rss_run([sys.executable, script, f"{endpoint}/datastore/{ds}", folder, str(args.batch), ORACLE], env)
        if int(result[3].strip() or 0) != args.count:
            raise RuntimeError(f"dicomweb-client stored {result[3].strip()} of {args.count}")
        return result

    times = {"ahi-upload import --via stow-rs": [], "dicomweb-client store_instances": [], "ahi-upload import --via s3-import": []}
    rss = {k: [] for k in times}
    cpu = {k: [] for k in times}
    for r in range(args.rounds):
        for name, fn in [("ahi-upload import --via stow-rs", ours_stow), ("dicomweb-client store_instances", theirs),
                         ("ahi-upload import --via s3-import", ours_s3)]:
            t, m, c, _ = fn()
            times[name].append(t)
            rss[name].append(m)
            cpu[name].append(c)
            print(f"round {r + 1}: {name}: {t:.2f} s, client CPU {c:.2f} s", file=sys.stderr)
    current["server"].kill()
    print(f"\n{args.count} CT instances of {args.size}x{args.size} (16-bit; {total_bytes / 1e6:.1f} MB), "
          f"{args.batch} per STOW-RS request, into ahi-local on 127.0.0.1; median of {args.rounds} alternating rounds\n")
    print("| tool | wall time (s) | instances/s | client CPU (s) | peak RSS (MB) |")
    print("|---|---:|---:|---:|---:|")
    med = {k: statistics.median(v) for k, v in times.items()}
    med_cpu = {k: statistics.median(v) for k, v in cpu.items()}
    for k, v in med.items():
        print(f"| {k} | {v:.2f} | {args.count / v:.0f} | {med_cpu[k]:.2f} | {max(rss[k]):.1f} |")
    print(f"\nratio dicomweb-client / ahi-upload --via stow-rs: {med['dicomweb-client store_instances'] / med['ahi-upload import --via stow-rs']:.2f}x")
    print(f"ratio of client CPU time, dicomweb-client / ahi-upload --via stow-rs: "
          f"{med_cpu['dicomweb-client store_instances'] / med_cpu['ahi-upload import --via stow-rs']:.2f}x")
    print(f"ratio --via s3-import / --via stow-rs (until every instance is confirmed): "
          f"{med['ahi-upload import --via s3-import'] / med['ahi-upload import --via stow-rs']:.2f}x")


if __name__ == "__main__":
    main()
