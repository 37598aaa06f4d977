"""Array records: numpy → base64 typed arrays → numpy (the JS side is tested in js/test)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from lmlens.views import decode_array, encode_array, quantize
from lmlens.views._encode import DTYPES, is_record


@pytest.mark.parametrize("dtype", sorted(DTYPES))
def test_round_trip_every_dtype(dtype):
    rng = np.random.default_rng(0)
    if dtype.startswith("float"):
        a = rng.normal(size=(3, 4)).astype(dtype)
    else:
        info = np.iinfo(dtype)
        a = rng.integers(info.min, info.max, size=(3, 4), endpoint=True).astype(dtype)
    rec = encode_array(a, dtype)
    assert rec["dtype"] == dtype and rec["shape"] == [3, 4] and is_record(rec)
    back = decode_array(rec)
    assert back.shape == (3, 4)
    np.testing.assert_array_equal(back, a.astype(np.float32) if dtype == "float16" else a)


def test_defaults_and_special_values():
    assert encode_array(np.zeros(2, dtype=np.float64))["dtype"] == "float32"
    assert encode_array(np.zeros(2, dtype=bool))["dtype"] == "uint8"
    assert encode_array(np.arange(3, dtype=np.int64))["dtype"] == "int32"
    assert encode_array(torch.ones(2, dtype=torch.bfloat16))["dtype"] == "float32"
    a = np.array([np.nan, np.inf, -np.inf, 1e-8], dtype=np.float32)
    np.testing.assert_array_equal(decode_array(encode_array(a)), a)
    f16 = decode_array(encode_array(np.array([0.1, 65504.0, np.nan]), "float16"))
    assert abs(f16[0] - 0.1) < 1e-4 and f16[1] == 65504 and np.isnan(f16[2])
    assert decode_array(encode_array(np.zeros((0, 5)))).shape == (0, 5)


def test_refuses_what_would_wrap_or_is_not_numbers():
    with pytest.raises(ValueError, match="do not fit int32"):
        encode_array(np.array([2**40]))
    with pytest.raises(ValueError, match="do not fit uint8"):
        encode_array(np.array([-1]), "uint8")
    with pytest.raises(ValueError, match="NaN"):
        encode_array(np.array([np.nan]), "int32")
    with pytest.raises(ValueError, match="dtype must be one of"):
        encode_array(np.zeros(2), "complex64")
    with pytest.raises(TypeError):
        encode_array(np.array(["a"]))
    with pytest.raises(ValueError, match="not an array record"):
        decode_array({"shape": [1]})


def test_quantize_bounded_values():
    a = np.linspace(0, 1, 1001)
    back = decode_array(quantize(a))
    assert back.dtype == np.float32
    assert np.abs(back - a).max() <= 1 / 508 + 1e-7
    q = decode_array(quantize(np.array([-1.0, 2.0, np.nan]), lo=-1, hi=1))
    assert q[0] == -1 and q[1] == 1 and np.isnan(q[2])
    with pytest.raises(ValueError, match="hi > lo"):
        quantize(a, lo=1, hi=1)


def test_base64_is_far_smaller_than_json_lists():
    import json

    a = np.random.default_rng(0).random((64, 64), dtype=np.float32)
    assert len(json.dumps(encode_array(a, "float16"))) * 4 < len(json.dumps(a.tolist()))
