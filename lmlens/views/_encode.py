"""numpy arrays → base64 typed-array records, the only way numbers travel into a view.

A record is ``{"dtype": "float16", "shape": [n, k], "b64": "..."}``: little-endian C-order
bytes, decoded in the browser by ``js/src/decode.js`` into a typed array (float16 and quantized
integers decode to ``Float32Array``). Base64 is ~7x smaller than ``json.dumps(a.tolist())`` for
float32 and carries NaN, which JSON cannot.

A quantized record adds ``scale`` and ``offset`` (value = offset + code * scale) and optionally
``nan`` (the code that stands for NaN): ``quantize`` packs values in a known range into uint8.

A record with ``"codec": "deflate"`` holds the bytes zlib-compressed (``deflate=True``): large,
mostly-small arrays such as attention patterns shrink 4-7x. The browser inflates them with its
own ``DecompressionStream("deflate")`` (``decode.js`` ``decodeAsync``), so a view that ships one
draws once the promise resolves.

>>> rec = encode_array(np.array([0.5, 0.25], dtype=np.float32), "float16")
>>> rec["dtype"], rec["shape"]
('float16', [2])
>>> decode_array(rec).tolist()
[0.5, 0.25]
"""

from __future__ import annotations

import base64
import zlib
from typing import Any

import numpy as np

#: dtype name in a record → numpy little-endian dtype.
DTYPES: dict[str, str] = {
    "float32": "<f4",
    "float16": "<f2",
    "float64": "<f8",
    "int8": "i1",
    "uint8": "u1",
    "int16": "<i2",
    "uint16": "<u2",
    "int32": "<i4",
    "uint32": "<u4",
}


def _as_numpy(a: Any) -> np.ndarray:
    if hasattr(a, "detach"):  # a torch tensor; bfloat16 has no numpy dtype
        t = a.detach().cpu()
        if str(t.dtype) == "torch.bfloat16":
            t = t.float()
        return t.numpy()
    return np.asarray(a)


def _default_dtype(arr: np.ndarray) -> str:
    if arr.dtype == np.bool_:
        return "uint8"
    if arr.dtype.kind == "f":
        return "float16" if arr.dtype.itemsize == 2 else "float32"
    if arr.dtype.kind in "iu":
        if arr.dtype.itemsize <= 4:
            return arr.dtype.name
        return "int32"
    raise TypeError(f"cannot encode an array of dtype {arr.dtype} (numbers or bools only)")


def encode_array(a: Any, dtype: str | None = None, *, deflate: bool = False) -> dict:
    """Encode ``a`` (numpy, torch or nested lists) as a record of ``dtype``.

    ``dtype`` is one of ``DTYPES``; by default floats become float32 (float16 stays float16),
    bools uint8, and integers keep their type, 64-bit ones becoming int32. Integers that do not
    fit the target type raise ``ValueError`` instead of wrapping around. ``deflate=True``
    compresses the bytes (zlib, level 6) and marks the record ``"codec": "deflate"``.

    >>> encode_array([[1, 2], [3, 4]])["shape"]
    [2, 2]
    >>> decode_array(encode_array(np.zeros(1000, np.uint8), deflate=True)).sum()
    np.uint64(0)
    """
    arr = _as_numpy(a)
    name = dtype or _default_dtype(arr)
    if name not in DTYPES:
        raise ValueError(f"dtype must be one of {sorted(DTYPES)}, got {name!r}")
    target = np.dtype(DTYPES[name])
    if arr.dtype.kind == "c" or arr.dtype == object:
        raise TypeError(f"cannot encode an array of dtype {arr.dtype}")
    if target.kind in "iu" and arr.size:
        if arr.dtype.kind == "f" and not np.all(np.isfinite(arr)):
            raise ValueError(f"cannot encode NaN/inf as {name}")
        info = np.iinfo(target)
        lo, hi = arr.min(), arr.max()
        if lo < info.min or hi > info.max:
            raise ValueError(f"values {lo}..{hi} do not fit {name} ({info.min}..{info.max})")
    data = np.ascontiguousarray(arr, dtype=target).tobytes()
    rec = {
        "dtype": name,
        "shape": [int(d) for d in arr.shape],
        "b64": base64.b64encode(zlib.compress(data, 6) if deflate else data).decode("ascii"),
    }
    if deflate:
        rec["codec"] = "deflate"
    return rec


def quantize(a: Any, *, lo: float = 0.0, hi: float = 1.0, deflate: bool = False) -> dict:
    """uint8 record of values in ``[lo, hi]`` (255 levels, code 255 = NaN); error ≤ (hi-lo)/508.

    Values outside the range are clipped. Use for probabilities and other bounded values.

    >>> rec = quantize(np.array([0.0, 0.5, 1.0, np.nan]))
    >>> np.round(decode_array(rec), 3).tolist()
    [0.0, 0.5, 1.0, nan]
    """
    if not hi > lo:
        raise ValueError(f"quantize needs hi > lo, got lo={lo}, hi={hi}")
    arr = _as_numpy(a).astype(np.float64)
    nan = np.isnan(arr)
    scale = (hi - lo) / 254
    codes = np.rint((np.clip(np.where(nan, lo, arr), lo, hi) - lo) / scale).astype(np.uint8)
    codes[nan] = 255
    rec = encode_array(codes, "uint8", deflate=deflate)
    rec.update(scale=scale, offset=lo, nan=255)
    return rec


def decode_array(rec: dict) -> np.ndarray:
    """The inverse of ``encode_array`` / ``quantize`` (float16 and quantized → float32).

    >>> decode_array(encode_array(np.arange(3))).tolist()
    [0, 1, 2]
    """
    try:
        name, shape, b64 = rec["dtype"], rec["shape"], rec["b64"]
    except (KeyError, TypeError):
        raise ValueError("not an array record: needs dtype, shape and b64") from None
    if name not in DTYPES:
        raise ValueError(f"unknown dtype {name!r} in record")
    raw = base64.b64decode(b64)
    codec = rec.get("codec")
    if codec == "deflate":
        raw = zlib.decompress(raw)
    elif codec is not None:
        raise ValueError(f"unknown codec {codec!r} in record")
    arr = np.frombuffer(raw, dtype=DTYPES[name]).reshape(shape)
    if "scale" in rec:
        out = rec.get("offset", 0.0) + arr.astype(np.float32) * np.float32(rec["scale"])
        if rec.get("nan") is not None:
            out[arr == rec["nan"]] = np.nan
        return out.astype(np.float32)
    if name == "float16":
        return arr.astype(np.float32)
    return arr.astype(arr.dtype.newbyteorder("="))


def is_record(x: Any) -> bool:
    """Whether ``x`` looks like an array record."""
    return isinstance(x, dict) and {"dtype", "shape", "b64"} <= x.keys()
