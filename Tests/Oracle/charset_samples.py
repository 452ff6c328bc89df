#!/usr/bin/env python3
"""Charset oracle: for each Specific Character Set value, encode a sample text
with pydicom's encoder (which writes the ISO 2022 escape sequences) and print
one JSON line {"charset", "vr", "text", "hex"}. The Swift test decodes "hex"
with the same character set and must get "text" back."""
import json
import warnings

warnings.filterwarnings("ignore")
from pydicom.charset import encode_string, convert_encodings

SAMPLES = [
    ("ISO_IR 6", "LO", "Plain ASCII^Name"),
    ("ISO_IR 100", "PN", "Bäcker^Åsa"),
    ("ISO_IR 101", "LO", "Dvořák Łódź"),
    ("ISO_IR 109", "LO", "Ħal Għargħur"),
    ("ISO_IR 110", "LO", "Ļaudis ŗ"),
    ("ISO_IR 126", "PN", "Διονυσιος"),
    ("ISO_IR 127", "PN", "قباني^لنزار"),
    ("ISO_IR 138", "PN", "שרון^דבורה"),
    ("ISO_IR 144", "PN", "Люкceмбypг"),
    ("ISO_IR 148", "LO", "Çiğdem Öztürk"),
    ("ISO_IR 166", "LO", "นามสกุล"),
    ("ISO_IR 192", "PN", "Wang^XiaoDong=王^小東="),
    ("GB18030", "PN", "Wang^XiaoDong=王^小东="),
    ("GBK", "LO", "中文测试"),
    ("ISO_IR 13", "LO", "ﾔﾏﾀﾞ^ﾀﾛｳ"),
    (["", "ISO 2022 IR 87"], "PN", "Yamada^Tarou=山田^太郎=やまだ^たろう"),
    (["ISO 2022 IR 13", "ISO 2022 IR 87"], "PN", "ﾔﾏﾀﾞ^ﾀﾛｳ=山田^太郎=やまだ^たろう"),
    (["", "ISO 2022 IR 87", "ISO 2022 IR 159"], "LO", "鷗外"),
    # PS3.5 Annex K.2: the escape sequence is repeated after each delimiter.
    (["", "ISO 2022 IR 149"], "PN", "Hong^Gildong=洪^吉洞=홍^길동"),
    (["", "ISO 2022 IR 100"], "LO", "Ärzte"),
]

KS = b"\x1b$)C"


def korean(text):
    """Each ideographic/hangul run after a delimiter gets its own escape (PS3.5 K.2)."""
    out = b""
    for i, group in enumerate(text.split("=")):
        if i:
            out += b"="
        parts = group.split("^")
        enc = [p.encode("ascii") if p.isascii() else KS + p.encode("euc_kr") for p in parts]
        out += b"^".join(enc)
    return out


# Python's own codecs, where pydicom's encoder cannot write the set.
EXPLICIT = {
    "ISO_IR 13": lambda t: t.encode("shift_jis"),
    "\\ISO 2022 IR 159": lambda t: t.encode("iso2022_jp_2"),
    "\\ISO 2022 IR 149": korean,
}

for charset, vr, text in SAMPLES:
    terms = charset if isinstance(charset, list) else [charset]
    key = "\\".join(terms)
    encoded = EXPLICIT[key](text) if key in EXPLICIT else encode_string(text, convert_encodings(terms))
    print(json.dumps({"charset": "\\".join(terms), "vr": vr, "text": text, "hex": encoded.hex()},
                     ensure_ascii=False))
