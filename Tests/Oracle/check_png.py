#!/usr/bin/env python3
"""Checks a PNG with Python's zlib: signature, chunk CRCs, IHDR, and that the IDAT
inflates to height × (1 + width × channels) bytes. Prints `png WIDTH HEIGHT CHANNELS MIN MAX`."""
import struct
import sys
import zlib

data = open(sys.argv[1], "rb").read()
assert data[:8] == b"\x89PNG\r\n\x1a\n", "no PNG signature"
i, idat, ihdr = 8, b"", None
while i < len(data):
    n, kind = struct.unpack(">I4s", data[i:i + 8])
    body = data[i + 8:i + 8 + n]
    (crc,) = struct.unpack(">I", data[i + 8 + n:i + 12 + n])
    assert zlib.crc32(kind + body) == crc, f"bad CRC in {kind}"
    if kind == b"IHDR":
        ihdr = struct.unpack(">IIBBBBB", body)
    elif kind == b"IDAT":
        idat += body
    i += 12 + n
w, h, depth, colour = ihdr[:4]
channels = 1 if colour == 0 else 3
raw = zlib.decompress(idat)
assert len(raw) == h * (1 + w * channels), "IDAT size"
pixels = bytes(b for r in range(h) for b in raw[r * (1 + w * channels) + 1:(r + 1) * (1 + w * channels)])
print(f"png {w} {h} {channels} {min(pixels)} {max(pixels)}")
