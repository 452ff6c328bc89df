#!/usr/bin/env python3
"""Writes damaged Part 10 files, byte by byte, for the parser's recovery tests: second cases
of the kinds in issue 13 (a group-2 element outside the File Meta; a length that ends inside
an element; a sequence length that overshoots). pydicom would repair the lengths on writing,
so the bytes are put together here.

    python3 Tests/Oracle/recovery_cases.py OUTDIR

Writes into OUTDIR and prints one file name per line:
- group2_explicit.dcm: meta with a consistent group length; an explicit VR little endian data
  set whose first element is a stray (0002,0003).
- group2_no_group_length.dcm: meta without (0002,0000); an implicit VR data set whose first
  element is a stray (0002,0003): the meta is the explicit-VR group-2 run, the stray is not.
- undercounted_native.dcm: a Request Attributes Sequence whose item and sequence lengths are
  10 bytes too small, so they end inside the item's last element (defined length), then more
  top-level elements and native Pixel Data (explicit VR).
- undercounted_implicit.dcm: the same in implicit VR, in a Performed Protocol Code Sequence.
- undercounted_nested_sq.dcm: a Request Attributes Sequence whose item and sequence lengths
  are 24 bytes too small and end inside the item's last element, a Scheduled Protocol Code
  Sequence of undefined length (DCMTK reads it to its delimiter, as for file 24).
- overcounted_sequence.dcm: a Referenced Series Sequence whose length is 16 bytes too large,
  so it covers the start of the next top-level element.
"""
import os
import struct
import sys

SC = b"1.2.840.10008.5.1.4.1.1.7"
EXPLICIT = b"1.2.840.10008.1.2.1"
IMPLICIT = b"1.2.840.10008.1.2"
LONG = {b"OB", b"OW", b"OF", b"SQ", b"UT", b"UN", b"UC", b"UR", b"OD", b"OL", b"OV"}


def pad(v, vr):
    if len(v) % 2:
        v += b"\0" if vr in (b"UI", b"OB") else b" "
    return v


def el(tag, vr, value, explicit=True, length=None):
    """One element; `length` overrides the value's length (to plant a wrong one)."""
    group, element = tag >> 16, tag & 0xFFFF
    n = len(value) if length is None else length
    head = struct.pack("<HH", group, element)
    if not explicit:
        return head + struct.pack("<I", n) + value
    if vr in LONG:
        return head + vr + b"\0\0" + struct.pack("<I", n) + value
    return head + vr + struct.pack("<H", n) + value


def item(body, length=None):
    return struct.pack("<HHI", 0xFFFE, 0xE000, len(body) if length is None else length) + body


def meta(ts, uid, group_length=True):
    body = (el(0x00020001, b"OB", b"\0\1") + el(0x00020002, b"UI", pad(SC, b"UI"))
            + el(0x00020003, b"UI", pad(uid, b"UI")) + el(0x00020010, b"UI", pad(ts, b"UI"))
            + el(0x00020012, b"UI", pad(b"1.2.826.0.1.3680043.10.1.99", b"UI")))
    if group_length:
        body = el(0x00020000, b"UL", struct.pack("<I", len(body))) + body
    return b"\0" * 128 + b"DICM" + body


def common(uid, name, explicit):
    e = lambda t, vr, v: el(t, vr, pad(v, vr), explicit)
    return (e(0x00080016, b"UI", SC) + e(0x00080018, b"UI", uid) + e(0x00080020, b"DA", b"20240101")
            + e(0x00080060, b"CS", b"OT") + e(0x00100010, b"PN", name) + e(0x00100020, b"LO", b"REC-1")
            + e(0x0020000D, b"UI", uid + b".1") + e(0x0020000E, b"UI", uid + b".2"))


def image_pixel(explicit, rows=4, cols=4):
    """The Image Pixel module's (0028,xxxx) elements for a rows × cols 8-bit image."""
    us = lambda t, v: el(t, b"US", struct.pack("<H", v), explicit)
    cs = lambda t, v: el(t, b"CS", pad(v, b"CS"), explicit)
    return (us(0x00280002, 1) + cs(0x00280004, b"MONOCHROME2") + us(0x00280010, rows) + us(0x00280011, cols)
            + us(0x00280100, 8) + us(0x00280101, 8) + us(0x00280102, 7) + us(0x00280103, 0))


def pixel_data(explicit, rows=4, cols=4):
    """Native Pixel Data: sample i is 8 × i."""
    return el(0x7FE00010, b"OB", bytes(range(0, rows * cols * 8, 8)), explicit)


def image(explicit):
    return image_pixel(explicit) + pixel_data(explicit)


def group2_explicit():
    uid = b"2.25.1311768467463790320301"
    stray = el(0x00020003, b"UI", pad(uid, b"UI"))
    return meta(EXPLICIT, uid) + stray + common(uid, b"RECOVERY^G2E", True) + image(True)


def group2_no_group_length():
    uid = b"2.25.1311768467463790320302"
    stray = el(0x00020003, b"UI", pad(uid, b"UI"), explicit=False)
    return meta(IMPLICIT, uid, group_length=False) + stray + common(uid, b"RECOVERY^G2N", False) + image(False)


def undercounted(explicit, seq_tag, uid, name):
    e = lambda t, vr, v: el(t, vr, pad(v, vr), explicit)
    body = e(0x00080100, b"SH", b"CODE-1") + e(0x00400007, b"LO", b"A STEP DESCRIPTION THAT RUNS LONG")
    short = 10
    seq_item = item(body, len(body) - short)
    seq = el(seq_tag, b"SQ", seq_item, explicit, length=len(seq_item) - short)
    after = e(0x0040A124, b"UI", b"2.25.77")
    ts = EXPLICIT if explicit else IMPLICIT
    # Elements in ascending order around the sequence.
    head = common(uid, name, explicit) + e(0x00200013, b"IS", b"7") + image_pixel(explicit)
    return meta(ts, uid) + head + seq + after + pixel_data(explicit)


def undercounted_nested_sq():
    uid = b"2.25.1311768467463790320306"
    code = item(el(0x00080100, b"SH", pad(b"P-1", b"SH")) + el(0x00080102, b"SH", pad(b"99TEST", b"SH")))
    nested = el(0x00400008, b"SQ", code + struct.pack("<HHI", 0xFFFE, 0xE0DD, 0), length=0xFFFFFFFF)
    body = el(0x00400007, b"LO", pad(b"STEP", b"LO")) + nested
    seq_item = item(body, len(body) - 24)
    seq = el(0x00400275, b"SQ", seq_item, length=len(seq_item) - 24)
    head = common(uid, b"RECOVERY^NESTED", True) + el(0x00200013, b"IS", pad(b"8", b"IS")) + image_pixel(True)
    return meta(EXPLICIT, uid) + head + seq + el(0x0040A124, b"UI", pad(b"2.25.78", b"UI")) + pixel_data(True)


def overcounted_sequence():
    uid = b"2.25.1311768467463790320305"
    body = el(0x0020000E, b"UI", pad(b"2.25.99", b"UI"))
    seq_item = item(body)
    seq = el(0x00081115, b"SQ", seq_item, length=len(seq_item) + 16)
    after = el(0x00100010, b"PN", pad(b"RECOVERY^OVER", b"PN")) + el(0x00100020, b"LO", pad(b"REC-5", b"LO"))
    head = (el(0x00080016, b"UI", pad(SC, b"UI")) + el(0x00080018, b"UI", pad(uid, b"UI"))
            + el(0x00080060, b"CS", pad(b"OT", b"CS")))
    return meta(EXPLICIT, uid) + head + seq + after + image(True)


CASES = {
    "group2_explicit.dcm": group2_explicit,
    "group2_no_group_length.dcm": group2_no_group_length,
    "undercounted_native.dcm": lambda: undercounted(True, 0x00400275, b"2.25.1311768467463790320303", b"RECOVERY^UNDER"),
    "undercounted_implicit.dcm": lambda: undercounted(False, 0x00400260, b"2.25.1311768467463790320304", b"RECOVERY^IMPL"),
    "undercounted_nested_sq.dcm": undercounted_nested_sq,
    "overcounted_sequence.dcm": overcounted_sequence,
}

if __name__ == "__main__":
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    for name, build in CASES.items():
        with open(os.path.join(out, name), "wb") as f:
            f.write(build())
        print(name)
