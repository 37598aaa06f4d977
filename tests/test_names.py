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


def test_table_drives_names_and_shapes():
    keys = [s.key for s in N.SITES]
    assert N.all_names(1, optional=True) == ["embed"] + [f"blocks.0.{k}" for k in keys[1:-1]] + ["logits"]
    assert N.site("blocks.0.mlp.post").part == "mlp_down" and N.site("embed").hook == "pre"
    dims = {"n_positions": 7, "n_heads": 3, "d_head": 5, "d_model": 15}
    assert N.site("blocks.0.attn.v").numel(dims) == 3 * 7 * 5
    assert N.site("blocks.0.attn.pattern").numel(dims) == 3 * 7 * 7


@pytest.mark.parametrize("n_layers", [1, 6, 12, 30])
def test_summary_is_derived_from_what_is_available(n_layers):
    no_logits = N.all_names(n_layers)[:-1]  # an encoder without an LM head (MiniLM: 6 layers)
    last = n_layers - 1
    layers = f"0..{last}" if n_layers > 1 else "0"
    with pytest.raises(ValueError) as e:
        N.select(["logits"], no_logits)
    assert f"'blocks.{layers}.{{attn.pattern,mlp.post,resid_post}}'" in str(e.value)
    assert "'logits'" not in str(e.value).split("available:")[1]
    some = [n for n in N.all_names(n_layers, optional=True) if not n.endswith("mlp.post")]
    with pytest.raises(ValueError) as e:
        N.select(["blocks.99.*"], some)
    assert f"'blocks.{layers}.{{attn.v,attn.pattern,attn.out,mlp.out,resid_post}}'" in str(e.value)


def test_select_says_why_an_unavailable_point_is_missing():
    avail = [n for n in N.all_names(2) if "mlp.post" not in n]
    why = {N.mlp_post(i): "needs anatomy.mlp_down" for i in range(2)}
    with pytest.raises(ValueError, match="'blocks.1.mlp.post' cannot be captured: needs anatomy.mlp_down"):
        N.select("blocks.1.mlp.post", avail, unavailable=why)
    assert N.select("blocks.*", avail, unavailable=why) == [n for n in avail if n.startswith("blocks")]
    assert "blocks.0.mlp.post" not in N.select(None, avail, unavailable=why)
