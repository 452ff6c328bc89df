#!/usr/bin/env python3
"""S3 upload benchmark: `ahi-upload upload` side by side with boto3's s3transfer,
`aws s3 cp --recursive` and `curl -Z --aws-sigv4`, against `rclone serve s3` on
127.0.0.1 (the fastest local server, so the client is what is measured).

    swift build -c release --product ahi-upload
    python3 Scripts/bench/s3_bench.py [--rounds 3] [--tool-path .build/release/ahi-upload]

Data sets: 1,000 × 512,000-byte files and 4 × 268,435,456-byte files (random
bytes, made once under --data). Every run gets a fresh server and an empty
bucket, its objects kept in /dev/shm (so the disk's noise is not measured); tools
are interleaved within a round; the table shows the median and each tool's time
divided by ahi-upload's (above 1: ahi-upload is faster).
Concurrency is 10 for every tool; boto3 and the AWS CLI use 8 MiB multipart
thresholds and parts (the reference lab's settings), ahi-upload its defaults
(multipart from 16 MiB, 8 MiB parts). Times are wall clock of the whole
command, except s3transfer, which is timed inside Python after the imports.
"client CPU" is the user+system time of the client process (the rest of the two
cores goes to the server).
"""
import argparse
import os
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time

AK = "AKIAIOSFODNN7EXAMPLE"
SK = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
DATASETS = {"small": (1000, 512_000), "large": (4, 268_435_456)}

S3TRANSFER = r"""
import sys, os, time
import boto3, botocore.config
from s3transfer.manager import TransferManager, TransferConfig
endpoint, bucket, folder = sys.argv[1:4]
client = boto3.session.Session().client("s3", endpoint_url=endpoint, region_name="us-east-1",
    aws_access_key_id=os.environ["AWS_ACCESS_KEY_ID"], aws_secret_access_key=os.environ["AWS_SECRET_ACCESS_KEY"],
    config=botocore.config.Config(max_pool_connections=12, s3={"addressing_style": "path"}))
files = sorted(os.listdir(folder))
start = time.perf_counter()
cfg = TransferConfig(multipart_threshold=8 << 20, multipart_chunksize=8 << 20, max_request_concurrency=10)
with TransferManager(client, cfg) as tm:
    futures = [tm.upload(os.path.join(folder, f), bucket, f) for f in files]
    for fu in futures:
        fu.result()
print(time.perf_counter() - start)
"""


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def make_data(root):
    for name, (count, size) in DATASETS.items():
        d = os.path.join(root, name)
        if os.path.isdir(d) and len(os.listdir(d)) == count:
            continue
        os.makedirs(d, exist_ok=True)
        print(f"making {count} × {size} bytes in {d}", file=sys.stderr)
        for i in range(count):
            with open(os.path.join(d, f"f{i:04d}.bin"), "wb") as f:
                left = size
                while left:
                    n = min(left, 16 << 20)
                    f.write(os.urandom(n))
                    left -= n


class Rclone:
    def __init__(self, root):
        self.dir = tempfile.mkdtemp(prefix="ahi-rclone-", dir=root)
        os.makedirs(os.path.join(self.dir, "bench"))
        self.port = free_port()
        self.proc = subprocess.Popen(["rclone", "serve", "s3", "--auth-key", f"{AK},{SK}", "--addr",
                                      f"127.0.0.1:{self.port}", self.dir],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.time() + 20
        while time.time() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("rclone serve s3 did not start")

    @property
    def endpoint(self):
        return f"http://127.0.0.1:{self.port}"

    def stored(self):
        d = os.path.join(self.dir, "bench")
        return sum(os.path.getsize(os.path.join(r, f)) for r, _, fs in os.walk(d) for f in fs)

    def stop(self):
        self.proc.kill()
        self.proc.wait()
        shutil.rmtree(self.dir, ignore_errors=True)


def run_tool(tool, folder, server, args, env):
    ep = server.endpoint
    if tool == "ahi-upload":
        cmd = [args.tool_path, "upload", folder, "s3://bench/", "--s3-endpoint-url", ep, "--concurrency", "10"]
    elif tool == "aws s3 cp":
        cmd = ["aws", "s3", "cp", "--recursive", "--only-show-errors", "--endpoint-url", ep, folder, "s3://bench/"]
    elif tool == "curl -Z":
        cfg = os.path.join(server.dir, "curl.cfg")
        with open(cfg, "w") as f:
            for name in sorted(os.listdir(folder)):
                f.write(f'upload-file = "{os.path.join(folder, name)}"\nurl = "{ep}/bench/{name}"\n')
        cmd = ["curl", "-sS", "-f", "-Z", "--parallel-max", "10", "--aws-sigv4", "aws:amz:us-east-1:s3",
               "--user", f"{AK}:{SK}", "-H", "x-amz-content-sha256: UNSIGNED-PAYLOAD", "-K", cfg, "-o", "/dev/null"]
    elif tool == "boto3 s3transfer":
        cmd = [sys.executable, "-c", S3TRANSFER, ep, "bench", folder]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    r = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    elapsed = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if r.returncode != 0:
        raise RuntimeError(f"{tool} failed ({r.returncode}): {r.stderr[-800:]}")
    if tool == "boto3 s3transfer":
        elapsed = float(r.stdout.strip().splitlines()[-1])
    return elapsed, cpu


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--tool-path", default=".build/release/ahi-upload")
    ap.add_argument("--data", default=os.path.join(tempfile.gettempdir(), "ahi-s3-bench-data"))
    ap.add_argument("--datasets", default="small,large")
    ap.add_argument("--server-dir", default="/dev/shm" if os.path.isdir("/dev/shm") else None,
                    help="where rclone keeps objects (default /dev/shm: memory, so disk noise is not measured)")
    args = ap.parse_args()
    tools = ["ahi-upload", "boto3 s3transfer", "aws s3 cp", "curl -Z"]
    make_data(args.data)
    cfgdir = tempfile.mkdtemp(prefix="ahi-awscfg-")
    with open(os.path.join(cfgdir, "config"), "w") as f:
        f.write("[default]\nregion = us-east-1\ns3 =\n  max_concurrent_requests = 10\n  multipart_threshold = 8MB\n"
                "  multipart_chunksize = 8MB\n  addressing_style = path\n")
    env = dict(os.environ, AWS_ACCESS_KEY_ID=AK, AWS_SECRET_ACCESS_KEY=SK, AWS_CONFIG_FILE=os.path.join(cfgdir, "config"),
               AWS_SHARED_CREDENTIALS_FILE=os.path.join(cfgdir, "none"), AWS_EC2_METADATA_DISABLED="true")
    times = {(d, t): [] for d in args.datasets.split(",") for t in tools}
    cpus = {(d, t): [] for d in args.datasets.split(",") for t in tools}
    for rnd in range(args.rounds):
        for d in args.datasets.split(","):
            folder = os.path.join(args.data, d)
            count, size = DATASETS[d]
            for t in tools:
                server = Rclone(args.server_dir)
                try:
                    s, cpu = run_tool(t, folder, server, args, env)
                    stored = server.stored()
                    if stored != count * size:
                        raise RuntimeError(f"{t}: server holds {stored} bytes, expected {count * size}")
                finally:
                    server.stop()
                times[(d, t)].append(s)
                cpus[(d, t)].append(cpu)
                print(f"round {rnd + 1} {d:5} {t:17} {s:7.2f} s, client CPU {cpu:.2f} s", file=sys.stderr, flush=True)
    print(f"\nrclone serve s3 on 127.0.0.1, concurrency 10, median of {args.rounds} (MB = 10^6 bytes)\n")
    print("| data set | tool | runs (s) | median s | files/s | MB/s | client CPU s | time ÷ ahi-upload's |")
    print("|---|---|---|---|---|---|---|---|")
    for d in args.datasets.split(","):
        count, size = DATASETS[d]
        ours = statistics.median(times[(d, "ahi-upload")])
        for t in tools:
            m = statistics.median(times[(d, t)])
            runs = ", ".join(f"{x:.2f}" for x in times[(d, t)])
            ratio = "—" if t == "ahi-upload" else f"{m / ours:.2f}×"
            print(f"| {count}×{size // 1000 if size < 10**6 else size // 2**20}{' KB' if size < 10**6 else ' MiB'} | {t} | {runs} | "
                  f"{m:.2f} | {count / m:.1f} | {count * size / 1e6 / m:.1f} | {statistics.median(cpus[(d, t)]):.2f} | {ratio} |")
    shutil.rmtree(cfgdir, ignore_errors=True)


if __name__ == "__main__":
    main()
