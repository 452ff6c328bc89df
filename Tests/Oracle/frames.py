#!/usr/bin/env python3
"""Frame oracle: for each file, print one JSON line with pydicom's view of its
frames: {"path", "frames": [crc32 of each frame's bytes]}. Native frames are
cut from PixelData; encapsulated frames come from pydicom.encaps.generate_frames
(which uses the Basic/Extended Offset Table or fragment boundaries)."""
import json
import sys
import warnings
import zlib

warnings.filterwarnings("ignore")
import pydicom
from pydicom.encaps import generate_frames

for path in sys.argv[1:]:
    ds = pydicom.dcmread(path)
    n = int(getattr(ds, "NumberOfFrames", 1) or 1)
    if ds.file_meta.TransferSyntaxUID.is_encapsulated:
        eot = None
        if "ExtendedOffsetTable" in ds:
            import struct
            raw = ds.ExtendedOffsetTable
            eot = (list(struct.unpack(f"<{len(raw) // 8}Q", raw)),
                   list(struct.unpack(f"<{len(ds.ExtendedOffsetTableLengths) // 8}Q", ds.ExtendedOffsetTableLengths)))
        frames = list(generate_frames(ds.PixelData, number_of_frames=n, extended_offsets=eot))
    else:
        size = ds.Rows * ds.Columns * ds.SamplesPerPixel * ds.BitsAllocated // 8
        frames = [ds.PixelData[i * size:(i + 1) * size] for i in range(n)]
    print(json.dumps({"path": path, "frames": [zlib.crc32(f) for f in frames]}))
