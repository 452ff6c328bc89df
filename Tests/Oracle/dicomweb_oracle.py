#!/usr/bin/env python3
"""Independent peers for the DICOMweb client tests (requests + pydicom, none of our code).

    python3 dicomweb_oracle.py stow URL FILE... [--user U --password P]
        STOW-RS the files to URL/studies as one multipart/related request (Python requests);
        prints the HTTP status and the number of ReferencedSOPSequence items; exit 1 unless 200.

    python3 dicomweb_oracle.py compare DIR FILE...
        For each original FILE, reads DIR/<Study>/<Series>/<SOP>.dcm with pydicom (no force) and
        compares the data sets element by element (values, VRs, sequences, pixel data bytes) and
        the File Meta's Transfer Syntax UID. Prints "N of M equal" then each difference; exit 1 on any.

    python3 dicomweb_oracle.py filemeta FILE ORIGINAL TRANSFER_SYNTAX
        Checks a file we wrote from a bare data set: pydicom reads it without force; the group
        length equals the bytes of group 0002 as walked here; MediaStorageSOPClassUID/InstanceUID
        equal the data set's SOPClassUID/SOPInstanceUID; TransferSyntaxUID is TRANSFER_SYNTAX;
        ImplementationClassUID is present; the data set equals ORIGINAL's element by element.

    python3 dicomweb_oracle.py frame FILE N
        Prints the SHA-256 (hex) and length of frame N (1-based) of FILE as pydicom sees it:
        native pixel data sliced by Rows*Columns*SamplesPerPixel*BitsAllocated/8, or the
        encapsulated frame's fragments joined (pydicom.encaps.generate_frames).

    python3 dicomweb_oracle.py truncating-proxy UPSTREAM --fraction F
        A loopback HTTP proxy: forwards each GET to UPSTREAM and sends back the first F of the
        answer's body without Content-Length, then closes (a cut-off answer). Prints
        "listening on PORT".
"""
import argparse
import struct
import sys
import uuid
import warnings

warnings.filterwarnings("ignore")


def stow(args):
    import requests
    boundary = uuid.uuid4().hex
    body = b""
    for f in args.files:
        with open(f, "rb") as fh:
            body += f"--{boundary}\r\nContent-Type: application/dicom\r\n\r\n".encode() + fh.read() + b"\r\n"
    body += f"--{boundary}--\r\n".encode()
    auth = (args.user, args.password) if args.user else None
    r = requests.post(args.url.rstrip("/") + "/studies", data=body, auth=auth,
                      headers={"Accept": "application/dicom+json",
                               "Content-Type": f'multipart/related; type="application/dicom"; boundary={boundary}'})
    stored = 0
    try:
        stored = len(r.json().get("00081199", {}).get("Value", []))
    except Exception:
        pass
    print(f"status {r.status_code} stored {stored}")
    return 0 if r.status_code == 200 else 1


def compare_datasets(a, b, where, out):
    tags = sorted(set(a.keys()) | set(b.keys()))
    for tag in tags:
        if tag not in a:
            out.append(f"{where}: {tag} only in the retrieved file")
            continue
        if tag not in b:
            out.append(f"{where}: {tag} missing from the retrieved file")
            continue
        ea, eb = a[tag], b[tag]
        if ea.VR != eb.VR:
            out.append(f"{where}: {tag} VR {ea.VR} != {eb.VR}")
        if ea.VR == "SQ":
            if len(ea.value) != len(eb.value):
                out.append(f"{where}: {tag} has {len(ea.value)} items, {len(eb.value)} retrieved")
            for i, (ia, ib) in enumerate(zip(ea.value, eb.value)):
                compare_datasets(ia, ib, f"{where} {tag}[{i}]", out)
        elif ea.value != eb.value:
            va, vb = ea.value, eb.value
            if isinstance(va, bytes):
                out.append(f"{where}: {tag} bytes differ ({len(va)} vs {len(vb)} bytes)")
            else:
                out.append(f"{where}: {tag} {va!r} != {vb!r}")


def compare(args):
    import os
    import pydicom
    diffs, equal = [], 0
    for f in args.files:
        a = pydicom.dcmread(f)
        path = os.path.join(args.dir, str(a.StudyInstanceUID), str(a.SeriesInstanceUID), str(a.SOPInstanceUID) + ".dcm")
        if not os.path.exists(path):
            diffs.append(f"{f}: not retrieved ({path})")
            continue
        b = pydicom.dcmread(path)
        out = []
        if a.file_meta.TransferSyntaxUID != b.file_meta.TransferSyntaxUID:
            out.append(f"{f}: transfer syntax {a.file_meta.TransferSyntaxUID} != {b.file_meta.TransferSyntaxUID}")
        compare_datasets(a, b, f, out)
        if "PixelData" in a and a.PixelData != b.PixelData:
            out.append(f"{f}: pixel data differ")
        if out:
            diffs += out
        else:
            equal += 1
    print(f"{equal} of {len(args.files)} equal")
    for d in diffs:
        print(d)
    return 0 if not diffs else 1


def filemeta(args):
    import pydicom
    problems = []
    with open(args.file, "rb") as fh:
        data = fh.read()
    if data[128:132] != b"DICM":
        problems.append("no DICM at offset 128")
    # Walk group 0002 (explicit VR little endian) independently of pydicom.
    pos, group_length, walked = 132, None, 0
    while pos + 8 <= len(data):
        group, element = struct.unpack_from("<HH", data, pos)
        if group != 2:
            break
        vr = data[pos + 4:pos + 6].decode("ascii")
        if vr in ("OB", "OW", "OF", "SQ", "UT", "UN"):
            length = struct.unpack_from("<I", data, pos + 8)[0]
            header = 12
        else:
            length = struct.unpack_from("<H", data, pos + 6)[0]
            header = 8
        if element == 0:
            group_length = struct.unpack_from("<I", data, pos + header)[0]
        else:
            walked += header + length
        pos += header + length
    if group_length != walked:
        problems.append(f"group length {group_length} but group 0002 has {walked} bytes after it")
    ds = pydicom.dcmread(args.file)  # no force: it must be a proper Part 10 file
    fm = ds.file_meta
    if fm.MediaStorageSOPClassUID != ds.SOPClassUID:
        problems.append(f"MediaStorageSOPClassUID {fm.MediaStorageSOPClassUID} != SOPClassUID {ds.SOPClassUID}")
    if fm.MediaStorageSOPInstanceUID != ds.SOPInstanceUID:
        problems.append(f"MediaStorageSOPInstanceUID {fm.MediaStorageSOPInstanceUID} != SOPInstanceUID {ds.SOPInstanceUID}")
    if fm.TransferSyntaxUID != args.transfer_syntax:
        problems.append(f"TransferSyntaxUID {fm.TransferSyntaxUID} != {args.transfer_syntax}")
    if not fm.get("ImplementationClassUID"):
        problems.append("no ImplementationClassUID")
    if fm.get("FileMetaInformationVersion") != b"\x00\x01":
        problems.append(f"FileMetaInformationVersion {fm.get('FileMetaInformationVersion')!r}")
    original = pydicom.dcmread(args.original)
    compare_datasets(original, ds, args.file, problems)
    if "PixelData" in original and original.PixelData != ds.PixelData:
        problems.append("pixel data differ")
    for p in problems:
        print(p)
    print("ok" if not problems else f"{len(problems)} problem(s)")
    return 0 if not problems else 1


def frame(args):
    import hashlib
    import pydicom
    from pydicom.encaps import generate_frames
    ds = pydicom.dcmread(args.file)
    n = int(args.n)
    if ds.file_meta.TransferSyntaxUID.is_encapsulated:
        frames = list(generate_frames(ds.PixelData, number_of_frames=int(ds.get("NumberOfFrames", 1))))
        data = frames[n - 1]
    else:
        size = ds.Rows * ds.Columns * ds.SamplesPerPixel * ds.BitsAllocated // 8
        data = ds.PixelData[(n - 1) * size: n * size]
    print(hashlib.sha256(data).hexdigest(), len(data))
    return 0


def truncating_proxy(args):
    import http.client
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
    from urllib.parse import urlparse
    up = urlparse(args.upstream)

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *a):
            pass

        def do_GET(self):
            conn = http.client.HTTPConnection(up.hostname, up.port, timeout=30)
            headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "connection")}
            conn.request("GET", self.path, headers=headers)
            r = conn.getresponse()
            body = r.read()
            cut = body[: int(len(body) * args.fraction)] if 200 <= r.status < 300 else body
            self.send_response(r.status)
            for k, v in r.getheaders():
                if k.lower() not in ("content-length", "connection", "transfer-encoding", "keep-alive"):
                    self.send_header(k, v)
            if cut is body:
                self.send_header("Content-Length", str(len(body)))
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(cut)
            self.wfile.flush()
            self.close_connection = True

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    print(f"listening on {server.server_address[1]}", flush=True)
    server.serve_forever()


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("stow")
    p.add_argument("url")
    p.add_argument("files", nargs="+")
    p.add_argument("--user")
    p.add_argument("--password")
    p = sub.add_parser("compare")
    p.add_argument("dir")
    p.add_argument("files", nargs="+")
    p = sub.add_parser("filemeta")
    p.add_argument("file")
    p.add_argument("original")
    p.add_argument("transfer_syntax")
    p = sub.add_parser("frame")
    p.add_argument("file")
    p.add_argument("n")
    p = sub.add_parser("truncating-proxy")
    p.add_argument("upstream")
    p.add_argument("--fraction", type=float, default=0.5)
    args = ap.parse_args()
    return {"stow": stow, "compare": compare, "filemeta": filemeta, "frame": frame, "truncating-proxy": truncating_proxy}[args.cmd](args)


if __name__ == "__main__":
    sys.exit(main())
