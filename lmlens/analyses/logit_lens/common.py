"""What every logit-lens analysis shares: the points it needs, argument checks, the decoded
layers of a trace, and one layer's logits.

>>> layer_logits(trace, "blocks.3.resid_post").shape  # doctest: +SKIP
torch.Size([5, 49152])
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import torch

from ... import names as N
from ...capture import Trace
from ..checks import check_int, check_position
from .decode import Decoded, decode_layers

#: Points a logit-lens trace needs (``lens.trace(text, points=POINTS)``).
POINTS = [N.EMBED, "blocks.*.resid_post", N.LOGITS]

Progress = bool | None | Callable

__all__ = ["POINTS", "Progress", "check_int", "check_lm_head", "check_position", "layer_logits",
           "layer_names"]


def check_lm_head(kind: str, model_name: str = "", has_readout: bool = True) -> None:
    """Raise ``ValueError`` unless the model has an unembedding to decode layers through."""
    if kind == "base" or not has_readout:
        raise ValueError(
            "the logit lens decodes layers through the model's unembedding, and this model has "
            f"none ({model_name or 'a base model'}, kind={kind!r}: it outputs hidden states only). "
            "Load a model with an LM head (…ForCausalLM or …ForMaskedLM)."
        )


def _check_trace(trace: object) -> Trace:
    if not isinstance(trace, Trace):
        raise TypeError(f"trace must be an lmlens Trace (from lens.trace), got {type(trace).__name__}")
    check_lm_head(trace.kind, trace.model_name, trace.readout is not None)
    return trace



def layer_names(trace: Trace) -> list[str]:
    """``["embed", "blocks.0.resid_post", ...]``: the layers the logit lens decodes, in order."""
    return [N.EMBED] + [N.resid(i) for i in range(trace.n_layers)]


def _layers(trace: Trace) -> tuple[list[str], list[torch.Tensor]]:
    names = layer_names(trace)
    missing = [n for n in names if n not in trace]
    if missing:
        raise ValueError(
            f"the logit lens needs the residual stream; the trace lacks {missing[:3]}"
            f"{'...' if len(missing) > 3 else ''}. Trace with points={POINTS!r} (or points=None)."
        )
    return names, [trace[n] for n in names]


def _final(trace: Trace, notes: list[str]) -> torch.Tensor | None:
    if N.LOGITS in trace:
        return trace[N.LOGITS]
    notes.append("the trace holds no 'logits': the last layer is decoded from the last block "
                 "through the final norm and head")
    return None


def _strings(trace: Trace, *arrays: np.ndarray) -> dict[int, str]:
    ids = np.unique(np.concatenate([np.asarray(a).ravel() for a in arrays])).tolist()
    return dict(zip(ids, trace.id_to_str(ids), strict=True))


def _decode(trace: Trace, layers: list[torch.Tensor], *, targets, topk: int, final,
            chunk_bytes: int, progress: Progress) -> Decoded:
    r = trace.readout
    return decode_layers(layers, norm=r.norm, head=r.head, targets=targets, topk=topk,
                         final_logits=final, chunk_bytes=chunk_bytes, progress=progress)


def _common(trace: Trace) -> dict:
    return {
        "input_ids": trace.token_ids.detach().cpu().numpy().astype(np.int64),
        "generated": np.asarray(trace.generated, dtype=bool).copy(),
        "tokens": tuple(trace.tokens),
        "token_labels": tuple(trace.labels),
        "kind": trace.kind,
        "model_name": trace.model_name,
        "model_dtype": trace.model_dtype,
    }


def layer_logits(trace: Trace, layer: int | str) -> torch.Tensor:
    """``(n_positions, d_vocab)`` logits of one layer: ``head(final_norm(h))``; for the last
    block, the model's own logits when the trace holds them.

    ``layer`` indexes ``layer_names(trace)`` (0 = embeddings, i + 1 = block i; negative counts
    from the end) or is a name like ``"blocks.3.resid_post"``.

    >>> layer_logits(trace, "blocks.3.resid_post").shape  # doctest: +SKIP
    torch.Size([5, 49152])
    """
    trace = _check_trace(trace)
    names = layer_names(trace)
    i = _layer_index(layer, names)
    if i == len(names) - 1 and N.LOGITS in trace:
        return trace[N.LOGITS]
    h = trace[names[i]]
    with torch.no_grad():
        return trace.readout(h).float().cpu()


def _layer_index(layer: object, names: list[str]) -> int:
    if isinstance(layer, str):
        if layer not in names:
            raise ValueError(f"layer {layer!r} is not a decoded layer; valid: {names[0]!r}, "
                             f"{names[1]!r} ... {names[-1]!r}")
        return names.index(layer)
    if isinstance(layer, bool) or not isinstance(layer, (int, np.integer)):
        raise TypeError(f"layer must be an int or a layer name, got {type(layer).__name__}")
    if not -len(names) <= layer < len(names):
        raise ValueError(f"layer={layer} is out of range: there are {len(names)} layers "
                         f"(0 = embeddings, i + 1 = block i; -{len(names)}..-1 from the end)")
    return int(layer) % len(names)



def select_layers(layers: object, names: list[str]) -> list[int]:
    """Sorted, distinct indices into ``names`` for ``layers`` (None: all; an index, a name, or a
    non-empty list of them; 0 = embeddings, i + 1 = block i, negative from the end)."""
    if layers is None:
        return list(range(len(names)))
    if isinstance(layers, (str, int, np.integer)):
        layers = [layers]
    if not isinstance(layers, (Sequence, np.ndarray)) or len(layers) == 0:
        raise TypeError(f"layers must be None or a non-empty list of layer indices/names, got {layers!r}")
    return sorted({_layer_index(x, names) for x in layers})


def _output_ids(trace: Trace, final: torch.Tensor | None, positions: list[int]) -> list[int]:
    """The model's final top-1 at ``positions``."""
    if final is not None:
        return final[positions].argmax(-1).tolist()
    h = trace[N.resid(trace.n_layers - 1)][positions]
    with torch.no_grad():
        return trace.readout(h).argmax(-1).tolist()

