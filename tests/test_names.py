"""Canonical names: golden lists, numeric ordering, globs and errors."""

import pytest

from lmlens import names as N


def test_numeric_order_beyond_ten_layers():
    names = N.all_names(12)
    layers = [N.parse(n)[0] for n in names if n.endswith("resid_post")]
    assert layers == list(range(12))
    shuffled = sorted(names, reverse=True)
    assert sorted(shuffled, key=N.sort_key) == names


def test_select_globs_and_errors():
    avail = N.all_names(3)
    assert N.select("blocks.*.mlp.post", avail) == [N.mlp_post(i) for i in range(3)]
    assert N.select(["logits", "embed"], avail) == ["embed", "logits"]
    assert N.select(None, avail) == avail
    with pytest.raises(ValueError, match="points: 'blocks.9.resid_post' matches no capture point"):
        N.select(["blocks.9.resid_post"], avail)
    with pytest.raises(ValueError, match="at least one"):
        N.select([], avail)
    with pytest.raises(TypeError):
        N.select([3], avail)


def test_parse_rejects_unknown():
    assert N.parse("blocks.10.attn.pattern") == (10, "attn.pattern")
    with pytest.raises(ValueError, match="unknown point name"):
        N.parse("blocks.1.mlp.pre")
