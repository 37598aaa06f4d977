"""The load-time check of an anatomy against the model's own outputs.

- final norm + head applied to the last block reproduce the model's logits (else ``ValueError``:
  the anatomy is wrong);
- every layer's attention pattern has rows summing to 1, when the model can give patterns (a
  model that gives none is not refused: its ``attn.pattern`` points say why at use time);
- the optional value sites agree with each other: the output projection applied to the
  pattern-weighted values reproduces ``attn.out`` (else ``attn_v`` and ``attn_out`` are dropped from
  the anatomy with a warning, and those points say why at use time).
"""

from __future__ import annotations

import dataclasses
import warnings

import torch
from torch import nn

from .. import names as N
from ..anatomy import Anatomy
from .devices import execution_device, model_dtype, rtol
from .points import available
from .run import record
from .trace import Readout

_VALUES_WRONG = (
    "the load-time check could not reproduce the attention output from the captured values and "
    "pattern (the value layout or output projection was not recognised)"
)


def _values_agree(model: nn.Module, anatomy: Anatomy, got: dict[str, torch.Tensor], atol: float) -> bool:
    v, p, out = got[N.attn_v(0)], got[N.pattern(0)], got[N.attn_out(0)]
    ctx = p.to(v.dtype) @ v  # (n_heads, n_positions, d_head)
    merged = ctx.transpose(0, 1).reshape(ctx.shape[1], -1)
    proj = anatomy.part_module(model, "attn_out", 0)
    try:
        with torch.no_grad():
            mine = proj(merged.to(execution_device(proj))).float().cpu()
    except RuntimeError:  # shapes do not fit the projection
        return False
    scale = max(1.0, float(out.abs().max()))
    return mine.shape == out.shape and float((mine - out.float()).abs().max()) <= atol * scale


def self_check(model: nn.Module, anatomy: Anatomy, *, atol: float = 1e-3) -> Anatomy:
    """Check ``anatomy`` on a 6-token input; return it, without the optional value sites when
    they do not check out. Raises ``ValueError`` when the readout or a pattern is wrong.

    ``atol`` is relative to the largest logit (at least 1) and holds for float32; a float16 or
    bfloat16 model is held to its own precision (``devices.DTYPE_RTOL``) when that is coarser."""
    atol = rtol(model_dtype(model), atol)
    ok = set(available(model, anatomy)[0])
    last = N.resid(anatomy.n_layers - 1)
    patterns = [N.pattern(i) for i in range(anatomy.n_layers) if N.pattern(i) in ok]
    values = [N.attn_v(0), N.attn_out(0)] if {N.attn_v(0), N.attn_out(0), N.pattern(0)} <= ok else []
    head = [N.LOGITS] if anatomy.head is not None else []
    vocab = anatomy.embed_module(model).weight.shape[0]
    got = record(model, anatomy, torch.arange(1, 7) % vocab, [last, *patterns, *values, *head], max_bytes=None)
    for name in patterns:
        s = got[name].float().sum(-1)
        if not torch.allclose(s, torch.ones_like(s), atol=atol):
            raise ValueError(f"self-check: attention rows of layer {N.parse(name)[0]} do not sum to 1")
    if head:
        with torch.no_grad():
            readout = Readout(norm=anatomy.final_norm_module(model), head=anatomy.head_module(model),
                              unembed=anatomy.unembed_module(model))
            mine = readout(got[last]).float().cpu()
        ref = got[N.LOGITS].float()
        err = float((mine - ref).abs().max())
        if err > atol * max(1.0, float(ref.abs().max())):
            raise ValueError(
                f"self-check: final norm + unembedding of the last block differ from the model's "
                f"logits by {err:.3g}; the anatomy is wrong for {type(model).__name__} "
                f"({anatomy}). Pass anatomy= by hand, or check=False to skip."
            )
    if values and not _values_agree(model, anatomy, got, atol):
        warnings.warn(f"lmlens: {_VALUES_WRONG}; 'blocks.*.attn.v' and 'blocks.*.attn.out' are off "
                      "for this model", stacklevel=3)
        anatomy = dataclasses.replace(
            anatomy, attn_v=None, attn_out=None,
            missing=anatomy.missing + (("attn_v", _VALUES_WRONG), ("attn_out", _VALUES_WRONG)),
        )
    return anatomy
