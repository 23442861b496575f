"""The payload data of groups 12-13 (permessage-deflate), generated, deterministic.

Autobahn|Testsuite ships five files (a JSON document, the Lena bitmap, Goethe's
Faust from Project Gutenberg, an HTML page, a PDF) and sends windows of them. wsbench
generates stand-ins of the same kind and size from a fixed seed instead: what matters
for the cases is how compressible each is and whether it is text, and a stand-in
keeps both without shipping (or downloading) anyone's files. Text data sets are
ASCII, so that a window cut at any byte is still valid UTF-8.

Pure code; each data set is built once per process (about 0.1 s in all) on first use.
"""

from __future__ import annotations

import functools
import json
import math
import random
import struct
from dataclasses import dataclass

__all__ = ["DataSet", "DATA_SETS", "data", "window"]


@dataclass(frozen=True)
class DataSet:
    name: str
    description: str
    binary: bool
    size: int


#: In Autobahn's order of groups 12.1-12.5 (the order its Python 2 dict iterated in).
DATA_SETS: dict[str, DataSet] = {
    d.name: d
    for d in (
        DataSet("json", "Large JSON data file (generated stand-in)", False, 194_000),
        DataSet("bitmap", "Picture, bitmap 512x512 8-bit grey (generated stand-in for Lena)",
                True, 263_222),
        DataSet("prose", "Human readable text, German verse (generated stand-in for Faust I)",
                True, 222_218),
        DataSet("html", "Large HTML file (generated stand-in)", False, 83_600),
        DataSet("pdf", "A larger PDF (generated stand-in: text objects and binary streams)",
                True, 1_042_328),
    )
}

_SYLLABLES = ("an", "be", "ch", "de", "ein", "er", "ge", "hal", "ist", "ke", "lich", "mit",
              "nun", "or", "qu", "rei", "sch", "ten", "und", "ver", "wo", "zu", "ax", "ly")
_GERMAN = ("Habe", "nun", "ach", "Philosophie", "Juristerei", "und", "Medizin", "leider",
           "auch", "Theologie", "durchaus", "studiert", "mit", "heißem", "Bemühn", "da",
           "steh", "ich", "armer", "Tor", "bin", "so", "klug", "als", "wie", "zuvor", "Geist",
           "Natur", "Welt", "Erde", "Himmel", "Nacht", "Tag", "über", "für", "Mädchen",
           "schön", "Gretchen", "Herz", "Blut", "Zeit", "Ewigkeit", "Wort", "Tat", "Kraft")


def _word(rng: random.Random) -> str:
    return "".join(rng.choice(_SYLLABLES) for _ in range(rng.randint(1, 3)))


def _json(rng: random.Random, size: int) -> bytes:
    records = []
    total = 0
    while total < size + 64:
        record = {
            "id": len(records) + 1,
            "guid": f"{rng.getrandbits(64):016x}-{rng.getrandbits(32):08x}",
            "name": f"{_word(rng).title()} {_word(rng).title()}",
            "email": f"{_word(rng)}.{_word(rng)}@example.com",
            "isActive": rng.random() < 0.5,
            "balance": round(rng.uniform(0, 10_000), 2),
            "tags": [_word(rng) for _ in range(rng.randint(1, 5))],
            "location": {"lat": round(rng.uniform(-90, 90), 6), "lon": round(rng.uniform(-180, 180), 6)},
            "about": " ".join(_word(rng) for _ in range(rng.randint(8, 30))) + ".",
        }
        records.append(record)
        total += 300
    return json.dumps(records, indent=2).encode("ascii")


def _bitmap(rng: random.Random, size: int) -> bytes:
    width = height = 512
    palette = b"".join(bytes((g, g, g, 0)) for g in range(256))
    header_size = 14 + 40 + len(palette)
    file_header = b"BM" + struct.pack("<IHHI", header_size + width * height, 0, 0, header_size)
    info = struct.pack("<IiiHHIIiiII", 40, width, height, 1, 8, 0, width * height, 2835, 2835, 256, 0)
    column = [60 * math.sin(x / 23) + 25 * math.sin(x / 7.3) for x in range(width)]
    rows = []
    for y in range(height):
        base = 128 + 40 * math.cos(y / 31)
        noise = rng.randbytes(width)
        rows.append(bytes(max(0, min(255, int(base + c) + (n & 15) - 8))
                          for c, n in zip(column, noise, strict=True)))
    return (file_header + info + palette + b"".join(rows))[:size]


def _prose(rng: random.Random, size: int) -> bytes:
    lines = []
    total = 0
    while total < size + 64:
        if rng.random() < 0.08:
            line = f"\n{rng.choice(_GERMAN).upper()}:"
        else:
            words = [rng.choice(_GERMAN) for _ in range(rng.randint(4, 9))]
            line = " ".join(words) + rng.choice((",", ".", "!", ";", "?", ""))
        lines.append(line)
        total += len(line.encode("utf-8")) + 1
    return "\n".join(lines).encode("utf-8")


def _html(rng: random.Random, size: int) -> bytes:
    parts = ["<!DOCTYPE html>\n<html lang=\"en\">\n<head><meta charset=\"utf-8\">"
             "<title>wsbench test page</title>\n<link rel=\"stylesheet\" href=\"/style.css\">"
             "</head>\n<body>\n<div id=\"content\" class=\"container\">\n"]
    total = len(parts[0])
    while total < size + 64:
        if rng.random() < 0.3:
            cells = "".join(f"<td class=\"c{i}\">{_word(rng)}</td>" for i in range(rng.randint(3, 6)))
            part = f"  <table class=\"data\"><tr>{cells}</tr></table>\n"
        else:
            words = " ".join(_word(rng) for _ in range(rng.randint(10, 40)))
            link = f"<a href=\"/{_word(rng)}/{_word(rng)}.html\">{_word(rng)}</a>"
            part = f"  <p class=\"text\">{words} {link}.</p>\n"
        parts.append(part)
        total += len(part)
    parts.append("</div>\n</body>\n</html>\n")
    return "".join(parts).encode("ascii")


def _pdf(rng: random.Random, size: int) -> bytes:
    out = [b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n"]
    total = len(out[0])
    number = 1
    while total < size + 64:
        if rng.random() < 0.4:
            stream = rng.randbytes(rng.randint(2_000, 30_000))  # a compressed image: no gain
            head = f"{number} 0 obj\n<< /Length {len(stream)} /Filter /FlateDecode >>\nstream\n"
            part = head.encode() + stream + b"\nendstream\nendobj\n"
        else:
            text = " ".join(f"({_word(rng)}) Tj" for _ in range(rng.randint(20, 120)))
            part = (f"{number} 0 obj\n<< /Type /Page /Parent 2 0 R /Contents {number + 1} 0 R >>\n"
                    f"BT /F1 12 Tf 72 712 Td {text} ET\nendobj\n").encode()
        out.append(part)
        total += len(part)
        number += 1
    return b"".join(out)


_BUILDERS = {"json": _json, "bitmap": _bitmap, "prose": _prose, "html": _html, "pdf": _pdf}


@functools.cache
def data(name: str) -> bytes:
    """The bytes of data set ``name``, exactly ``DATA_SETS[name].size`` long."""
    spec = DATA_SETS[name]
    raw = _BUILDERS[name](random.Random(f"wsbench-{name}"), spec.size)
    if len(raw) < spec.size:  # pragma: no cover - every builder overshoots
        raise AssertionError(f"data set {name} came out short")
    if spec.binary:
        return raw[: spec.size]
    return raw[: spec.size].decode("ascii").encode("ascii")  # text sets stay ASCII


def window(name: str, index: int, length: int) -> bytes:
    """Message ``index`` of a run of messages of ``length`` bytes cut from data set ``name``,
    one after another and wrapping around at the end (Autobahn's ``sendOne``)."""
    if length == 0:
        return b""
    source = data(name)
    size = len(source)
    start = (index * length) % size
    if start + length <= size:
        return source[start : start + length]
    out = bytearray(source[start:])
    while len(out) < length:
        out += source[: length - len(out)]
    return bytes(out)
