#!/usr/bin/env python3
"""The command line against the C tool a user would time it with, as whole processes.

Each pair runs alternately in one run (ours, theirs, ours, theirs, ...) on the same
input, and the table gives the median wall time of each and the ratio (ours ÷ theirs;
below 1.0 is faster). Startup is `--version`, compared with `dcmdump --version`.

    swift build -c release --product ahi-upload
    python3 Scripts/bench/cli_bench.py [--bin .build/release] [--rounds 15] [--data /tmp/ahi-cli-bench]

Pairs:
  dump        1 CT file, and 300 CT files in one process           vs dcmdump
  decode      HTJ2K lossless RPCL 512² and 2048² 16-bit, to .raw and .pgm   vs ojph_expand
  decode      a JPEG lossless frame of a DICOM file to .raw         vs dcmdjpeg (the whole file)
  render      one CT frame to an 8-bit PNG with its window          vs dcmj2pnm +on +Wi 1
  validate    300 CT files (one process)                             vs dciodvfy run over the same files
  startup     --version                                              vs dcmdump --version
"""
import argparse
import os
import statistics
import subprocess
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))


def run(cmd):
    start = time.perf_counter()
    done = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    elapsed = time.perf_counter() - start
    return elapsed, done


def timed(cmds, check):
    """Wall time of running every command in `cmds` one after another."""
    total = 0.0
    for cmd in cmds:
        elapsed, done = run(cmd)
        if check and done.returncode not in check:
            sys.exit(f"{' '.join(cmd[:3])}…: exit {done.returncode}: {done.stderr.decode(errors='replace')[-400:]}")
        total += elapsed
    return total


def make_data(data):
    os.makedirs(data, exist_ok=True)
    study = os.path.join(data, "study")
    if not os.path.isdir(study) or len(os.listdir(study)) < 300:
        subprocess.run([sys.executable, os.path.join(HERE, "make_data.py"), data], check=True)
    rng = np.random.default_rng(7)
    for size in (512, 2048):
        pgm = os.path.join(data, f"ct{size}_16.pgm")
        j2c = os.path.join(data, f"ct{size}_16.j2c")
        if not os.path.exists(j2c):
            y, x = np.mgrid[0:size, 0:size]
            img = ((np.sin(x / 23) + np.cos(y / 31)) * 0.22 + 0.5) * 65535 + rng.integers(0, 64, (size, size))
            img = np.clip(img, 0, 65535).astype(">u2")
            with open(pgm, "wb") as f:
                f.write(f"P5\n{size} {size}\n65535\n".encode())
                f.write(img.tobytes())
            subprocess.run(["ojph_compress", "-i", pgm, "-o", j2c, "-reversible", "true", "-prog_order", "RPCL",
                            "-num_decomps", "5" if size == 512 else "6"], check=True, stdout=subprocess.DEVNULL)
    jpeg = os.path.join(data, "ct_jpeg_lossless.dcm")
    if not os.path.exists(jpeg):
        subprocess.run(["dcmcjpeg", "+e1", os.path.join(study, "CT0001.dcm"), jpeg], check=True)
    return study


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bin", default=".build/release")
    ap.add_argument("--rounds", type=int, default=15)
    ap.add_argument("--data", default="/tmp/ahi-cli-bench")
    ap.add_argument("--only", help="run only the rows whose name contains this")
    ap.add_argument("--skip", help="skip the rows whose name contains this")
    args = ap.parse_args()
    ours = os.path.abspath(os.path.join(args.bin, "ahi-upload"))
    study = make_data(args.data)
    files = sorted(os.path.join(study, f) for f in os.listdir(study))[:300]
    one = files[0]
    out = os.path.join(args.data, "out")
    os.makedirs(out, exist_ok=True)
    d = args.data

    rows = [
        ("startup (--version)", [[ours, "--version"]], [["dcmdump", "--version"]], (0,)),
        ("dump, 1 CT file", [[ours, "dump", one]], [["dcmdump", one]], (0,)),
        ("dump, 300 CT files", [[ours, "dump", *files]], [["dcmdump", *files]], (0,)),
    ]
    for size in (512, 2048):
        j2c = os.path.join(d, f"ct{size}_16.j2c")
        for ext in ("raw", "pgm"):
            rows.append((f"decode {size}² 16-bit HTJ2K → .{ext}",
                         [[ours, "decode", j2c, "--out", os.path.join(out, f"ours.{ext}")]],
                         [["ojph_expand", "-i", j2c, "-o", os.path.join(out, f"theirs.{ext}")]], (0,)))
    jpeg = os.path.join(d, "ct_jpeg_lossless.dcm")
    rows.append(("decode JPEG lossless 512² DICOM → .raw",
                 [[ours, "decode", jpeg, "--out", os.path.join(out, "ours_jpeg.raw")]],
                 [["dcmdjpeg", jpeg, os.path.join(out, "theirs_jpeg.dcm")]], (0,)))
    rows.append(("render CT 512² → PNG (window 40/400)",
                 [[ours, "render", one, "--png", os.path.join(out, "ours.png")]],
                 [["dcmj2pnm", "+on", "+Wi", "1", one, os.path.join(out, "theirs.png")]], (0,)))
    # dciodvfy takes one file per run; exit codes: it reports the synthetic files' IOD gaps.
    rows.append(("validate, 300 CT files",
                 [[ours, "validate", "--quiet", study]],
                 [["dciodvfy", f] for f in files], None))

    print(f"Whole processes, alternately, median of {args.rounds} rounds; ratio = ahi-upload ÷ C tool")
    print()
    print("| pair | ahi-upload | C tool | ratio |")
    print("|---|---|---|---|")
    for name, mine, theirs, check in rows:
        if (args.only and args.only not in name) or (args.skip and args.skip in name):
            continue
        a, b = [], []
        timed(mine, check), timed(theirs, None)  # warm the page cache
        for _ in range(args.rounds):
            a.append(timed(mine, check))
            b.append(timed(theirs, None))
        ma, mb = statistics.median(a), statistics.median(b)
        tool = theirs[0][0]
        print(f"| {name} | {ma * 1000:.1f} ms | {mb * 1000:.1f} ms ({tool}) | {ma / mb:.2f}× |", flush=True)


if __name__ == "__main__":
    main()
