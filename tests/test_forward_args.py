"""The KV-cache argument is found by inspection in one place (transformers renamed
``past_key_values`` → ``cache`` in 5.24), and nothing lmlens runs triggers a deprecation."""

from __future__ import annotations

import logging
import warnings
from contextlib import contextmanager

import numpy as np
import pytest
import torch
import transformers
from torch import nn

from lmlens.analyses.attribution import TargetFunctions, attribute, gradients_on_inputs_only
from lmlens.capture import forward_args, output_cache


@contextmanager
def transformers_messages():
    """Every warning and every transformers log record raised inside, as strings."""
    seen: list[str] = []

    class Grab(logging.Handler):
        def emit(self, record):
            seen.append(record.getMessage())

    logger = logging.getLogger("transformers")
    handler = Grab(level=logging.WARNING)
    logger.addHandler(handler)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            yield seen
        finally:
            logger.removeHandler(handler)
    seen.extend(str(w.message) for w in caught)


def _signature_cache_name(model) -> str | None:
    import inspect

    params = inspect.signature(type(model).forward).parameters
    return "cache" if "cache" in params else "past_key_values" if "past_key_values" in params else None


@pytest.mark.parametrize("kind", ["gpt2", "llama"])
def test_finds_the_installed_releases_cache_name(kind, request):
    lens = request.getfixturevalue(f"{kind}_lens")
    fa = forward_args(lens.model)
    assert fa.cache == _signature_cache_name(lens.model) is not None
    assert fa.use_cache and fa.logits_to_keep and fa.takes_cache
    # the returned cache comes back under the release's field name, without touching the old one
    ids = torch.tensor([[1, 2, 3]])
    with transformers_messages() as seen:
        out = lens.model(input_ids=ids, **fa.kwargs(use_cache=True))
        cache = output_cache(out)
        assert cache is not None
        out2 = lens.model(input_ids=torch.tensor([[4]]), **fa.kwargs(cache=cache, use_cache=True))
    assert not [m for m in seen if "deprecated" in m], seen
    with torch.no_grad():
        full = lens.model(input_ids=torch.tensor([[1, 2, 3, 4]]), use_cache=False).logits[0, -1]
    torch.testing.assert_close(out2.logits[0, -1], full, atol=1e-5, rtol=1e-5)


class OldStyle(nn.Module):
    """A forward with the pre-5.24 name, as a model from transformers 5.0–5.23 has it."""

    def forward(self, input_ids=None, past_key_values=None, use_cache=None):  # noqa: D401
        return input_ids


class NoCache(nn.Module):
    def forward(self, input_ids=None, inputs_embeds=None):
        return input_ids


def test_old_name_and_no_cache():
    fa = forward_args(OldStyle())
    assert fa.cache == "past_key_values" and fa.use_cache and not fa.logits_to_keep
    assert fa.kwargs(cache="C", use_cache=True, logits_to_keep=1) == {
        "past_key_values": "C", "use_cache": True,
    }
    nc = forward_args(NoCache())
    assert nc.cache is None and not nc.takes_cache and nc.kwargs(use_cache=False) == {}
    with pytest.raises(ValueError, match="no KV cache"):
        nc.kwargs(cache="C")


def test_output_cache_reads_either_field():
    from dataclasses import dataclass

    @dataclass
    class Old:
        logits: object = None
        past_key_values: object = "old"

    @dataclass
    class New:
        logits: object = None
        cache: object = "new"

    assert output_cache(Old()) == "old" and output_cache(New()) == "new"
    assert output_cache((1, 2)) is None


def test_segments_plan_runs_and_says_when_it_falls_back(llama_lens):
    """On the installed transformers the KV-cache plan really segments; a model whose forward
    takes no cache falls back to one forward, and the result's note says so (no silent loss)."""
    from test_attribution import _targets

    ids, positions = _targets(llama_lens)
    embed = llama_lens.anatomy.embed_module(llama_lens.model)
    with transformers_messages() as seen:
        r = attribute(llama_lens.model, ids, positions, embed=embed, method="integrated_gradients",
                      n_steps=12, internal_batch_size=6, progress=False)
    assert r.params["plan"] == "segments", r.params
    assert not any("instead of" in n for n in r.notes)
    assert not [m for m in seen if "deprecated" in m], seen

    class Wrapped(nn.Module):  # same numbers, but its forward hides the cache argument
        def __init__(self, inner):
            super().__init__()
            self.inner = inner

        def forward(self, inputs_embeds=None, logits_to_keep=0):
            return self.inner(inputs_embeds=inputs_embeds, use_cache=False,
                              logits_to_keep=logits_to_keep)

    w = Wrapped(llama_lens.model)
    r2 = attribute(w, ids, positions, embed=embed, method="integrated_gradients", n_steps=12,
                   internal_batch_size=6, progress=False)
    assert r2.params["plan"] == "full"
    assert any("instead of" in n and "takes no KV cache" in n for n in r2.notes), r2.notes
    np.testing.assert_allclose(r2.scores, r.scores, atol=1e-4, rtol=1e-4)

    f = TargetFunctions(w, torch.as_tensor(positions) - 1, ids[positions])
    with gradients_on_inputs_only(w):
        assert f.plan_for(embed(ids[None]).expand(6, -1, -1)) == [(0, f.n_inputs)]
    assert "Wrapped.forward takes no KV cache" in f.fallback


def test_nothing_lmlens_runs_triggers_a_deprecation(gpt2_lens, llama_lens):
    for lens in (gpt2_lens, llama_lens):
        with transformers_messages() as seen:
            lens.trace("The capital of France is")
            gen = lens.generate("The capital of France is", max_new_tokens=3,
                                attribution=["saliency", "integrated_gradients"])
            lens.attribution(gen, method="deeplift")
            lens.attribution("The capital of France is", method="saliency")
            lens.rankings(gen)
        bad = [m for m in seen if "deprecat" in m.lower()]
        assert not bad, (type(lens.model).__name__, bad)
    assert transformers.__version__  # the release this ran on is in the pytest header
