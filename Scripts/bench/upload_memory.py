#!/usr/bin/env python3
"""Upload memory benchmark: peak RSS and files/s of `ahi-upload upload` side by side with
`aws s3 cp --recursive`, for 2,000 / 10,000 / 40,000 small files, against `rclone serve
s3` on 127.0.0.1 (objects in /dev/shm). Memory must stay flat: bounded by the requests in
flight, not by the number of files.

    swift build -c release --product ahi-upload
    python3 Scripts/bench/upload_memory.py [--tool-path .build/release/ahi-upload] [--counts 2000,10000,40000]

Each tool's peak RSS is the child's ru_maxrss (os.wait4); the tools alternate within one
run; a fresh server and bucket per upload. Files: 1,024 random bytes each, in folders of 500.
"""
import argparse
import os
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from s3_bench import AK, SK, Rclone  # noqa: E402


def make(root, count):
    d = os.path.join(root, f"n{count}")
    if os.path.isdir(d) and sum(len(fs) for _, _, fs in os.walk(d)) == count:
        return d
    print(f"making {count} files in {d}", file=sys.stderr)
    for i in range(count):
        sub = os.path.join(d, f"d{i // 500:03d}")
        os.makedirs(sub, exist_ok=True)
        with open(os.path.join(sub, f"f{i:05d}.bin"), "wb") as f:
            f.write(os.urandom(1024))
    return d


def run(cmd, env):
    start = time.perf_counter()
    p = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(p.pid, 0)
    elapsed = time.perf_counter() - start
    err = p.stderr.read().decode(errors="replace") if p.stderr else ""
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"{cmd[0]} failed: {err[-600:]}")
    return elapsed, usage.ru_maxrss / 1024  # MB (ru_maxrss is in KB on Linux)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tool-path", default=".build/release/ahi-upload")
    ap.add_argument("--counts", default="2000,10000,40000")
    ap.add_argument("--data", default=os.path.join(tempfile.gettempdir(), "ahi-upload-memory-data"))
    ap.add_argument("--store", default="/dev/shm" if os.path.isdir("/dev/shm") else tempfile.gettempdir())
    args = ap.parse_args()
    env = dict(os.environ, AWS_ACCESS_KEY_ID=AK, AWS_SECRET_ACCESS_KEY=SK, AWS_REGION="us-east-1", AWS_DEFAULT_REGION="us-east-1",
               AWS_EC2_METADATA_DISABLED="true", AWS_CONFIG_FILE="/nonexistent", AWS_SHARED_CREDENTIALS_FILE="/nonexistent")
    rows = []
    for count in [int(c) for c in args.counts.split(",")]:
        folder = make(args.data, count)
        for tool in ["ahi-upload", "aws s3 cp"]:
            server = Rclone(args.store)
            try:
                if tool == "ahi-upload":
                    cmd = [args.tool_path, "upload", folder, "s3://bench/", "--s3-endpoint-url", server.endpoint, "--concurrency", "10"]
                else:
                    cmd = ["aws", "s3", "cp", "--recursive", "--only-show-errors", "--endpoint-url", server.endpoint, folder, "s3://bench/"]
                elapsed, rss = run(cmd, env)
            finally:
                server.stop()
            rows.append((count, tool, elapsed, rss))
            print(f"{count} {tool}: {elapsed:.1f} s, {rss:.0f} MB", file=sys.stderr)
    base = {r[1]: r[3] for r in rows if r[0] == rows[0][0]}
    print("\n| files | tool | s | files/s | peak RSS MB | RSS ÷ its first row |")
    print("|---|---|---|---|---|---|")
    for count, tool, elapsed, rss in rows:
        print(f"| {count} | {tool} | {elapsed:.1f} | {count / elapsed:.0f} | {rss:.0f} | {rss / base[tool]:.2f}× |")


if __name__ == "__main__":
    main()
