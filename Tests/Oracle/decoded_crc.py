#!/usr/bin/env python3
"""pydicom's decoded pixels, as the oracle for FrameDecoder: for each file, one JSON line
with the zlib CRC-32 of every frame's samples (little-endian, interleaved), or the
reason pydicom cannot decode it.

    python3 Tests/Oracle/decoded_crc.py FILE...
"""
import json
import sys
import zlib

import pydicom

for path in sys.argv[1:]:
    try:
        d = pydicom.dcmread(path)
        arr = d.pixel_array
        frames = int(getattr(d, "NumberOfFrames", 1) or 1)
        if frames == 1:
            arr = arr[None, ...]
        crcs = [zlib.crc32(f.astype(f.dtype.newbyteorder("<")).tobytes()) for f in arr]
        print(json.dumps({"path": path, "crcs": crcs, "bits": int(d.BitsAllocated)}))
    except Exception as e:  # no decoder plugin, or not an image
        print(json.dumps({"path": path, "error": type(e).__name__}))
