"""What an FFN neuron writes: the tokens its output direction promotes and suppresses.

Neuron ``n`` of block ``l`` adds ``a · w`` to the residual stream (``a`` its activation, ``w`` its
column of the down-projection). ``neuron_tokens`` decodes ``W_U (γ ⊙ C w)`` — ``γ`` the final
norm's scale, ``C`` LayerNorm's centring (identity for RMSNorm), ``W_U`` the unembedding — and
keeps the ``k`` highest and lowest logits (see ``NeuronTokensResult`` for what is left out).

The final norm's scale and centring are read from the norm module itself, by calling it, so any
norm works the same (LayerNorm, RMSNorm, Gemma's ``1 + weight``): for ``z`` of unit RMS (after
centring), ``norm(z) − norm(0) = γ ⊙ C z / √(1 + ε)``.

>>> import torch
>>> from torch import nn
>>> norm = nn.LayerNorm(4)
>>> with torch.no_grad():
...     _ = norm.weight.copy_(torch.tensor([1.0, 2.0, 3.0, 4.0]))
>>> w = torch.tensor([[1.0, 0.0, 0.0, 0.0]])
>>> norm_scale(norm, w)  # γ ⊙ (w − mean(w))
tensor([[ 0.7500, -0.5000, -0.7500, -1.0000]])
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from ...capture import Readout
from ...capture.devices import dtype_name, execution_device, materialized, model_dtype
from ..checks import check_int
from .result import NeuronTokensResult

#: Neurons decoded per matmul (``chunk × d_vocab`` floats of logits at a time).
CHUNK = 64


@dataclass(frozen=True)
class NeuronReadout:
    """What decoding neurons needs, by reference: each block's down-projection, the final norm +
    unembedding, and the tokenizer's id → string.

    Fields:
        down: one module per block (``anatomy.mlp_down_module(model, i)``), index = block number.
        readout: the model's final norm and unembedding (``lens.readout``).
        id_to_str: token ids → display strings.
        kind: ``"causal"`` or ``"masked"`` (a masked LM's head has a transform before ``W_U``).
        model_name: shown in results.
    """

    down: Sequence[nn.Module]
    readout: Readout
    id_to_str: Callable[[Sequence[int]], list[str]]
    kind: str = "causal"
    model_name: str = ""

    @property
    def n_layers(self) -> int:
        """Blocks."""
        return len(self.down)

    def d_mlp(self, layer: int) -> int:
        """Neurons of block ``layer`` (the down-projection's input width)."""
        mod = self.down[layer]
        if isinstance(mod, nn.Linear):
            return int(mod.in_features)
        w = _conv1d_weight(mod)
        return int(w.shape[0]) if w is not None else _probe_width(mod)


def _conv1d_weight(mod: nn.Module) -> torch.Tensor | None:
    """GPT-2's ``Conv1D`` (``y = x @ weight + bias``, weight ``(in, out)``), else None."""
    w = getattr(mod, "weight", None)
    nf = getattr(mod, "nf", None)
    if isinstance(w, torch.Tensor) and w.dim() == 2 and isinstance(nf, int) and w.shape[1] == nf:
        return w
    return None


def _probe_width(mod: nn.Module) -> int:
    """Input width of a down-projection that is neither ``nn.Linear`` nor ``Conv1D``: its 2-D
    ``weight``'s second axis, else the ``in_features`` of its first submodule that has one."""
    w = getattr(mod, "weight", None)
    if isinstance(w, torch.Tensor) and w.dim() == 2:
        return int(w.shape[1])
    for m in mod.modules():
        if isinstance(getattr(m, "in_features", None), int):
            return int(m.in_features)
    raise ValueError(f"cannot tell the input width of the down-projection {type(mod).__name__}")


def down_columns(mod: nn.Module, neurons: Sequence[int]) -> torch.Tensor:
    """``(len(neurons), d_model)`` float32: each neuron's output direction ``w`` (``W_down[:, n]``).

    ``nn.Linear`` stores ``W_down`` as ``(d_model, d_mlp)``; GPT-2's ``Conv1D`` as
    ``(d_mlp, d_model)``; any other module is probed: ``mod(e_n) − mod(0)``.
    """
    idx = torch.as_tensor(list(neurons), dtype=torch.long)
    with torch.no_grad(), materialized(mod):  # an offloaded (accelerate) module's weights, loaded
        if isinstance(mod, nn.Linear):
            return mod.weight[:, idx.to(mod.weight.device)].T.detach().float().cpu()
        w = _conv1d_weight(mod)
        if w is not None:
            return w[idx.to(w.device)].detach().float().cpu()
        eye = torch.zeros(len(idx) + 1, _probe_width(mod), dtype=model_dtype(mod), device=execution_device(mod))
        eye[torch.arange(len(idx)), idx] = 1
        out = mod(eye).float()
        return (out[:-1] - out[-1:]).cpu()


def _probe(norm: nn.Module) -> tuple[torch.dtype, torch.device]:
    return model_dtype(norm), execution_device(norm)


def norm_centres(norm: nn.Module | None, d_model: int) -> bool:
    """Whether ``norm`` subtracts the mean (a LayerNorm maps every constant vector to its bias;
    an RMSNorm does not)."""
    if norm is None:
        return False
    dtype, device = _probe(norm)
    with torch.no_grad():
        zero, const = norm(torch.stack([torch.zeros(d_model), torch.ones(d_model)]).to(device, dtype)).float()
    return bool(torch.allclose(const, zero, atol=1e-4 * max(1.0, float(zero.abs().max()))))


def norm_scale(norm: nn.Module | None, w: torch.Tensor) -> torch.Tensor:
    """``γ ⊙ C w`` for rows ``w`` ``(n, d_model)``: what the final norm's affine part makes of a
    direction (``C`` centres when the norm is a LayerNorm), read by calling ``norm``."""
    w = w.float()
    if norm is None:
        return w
    dtype, device = _probe(norm)
    with torch.no_grad():
        zero = norm(torch.zeros(1, w.shape[1]).to(device, dtype)).float().cpu()
        cw = w - w.mean(1, keepdim=True) if norm_centres(norm, w.shape[1]) else w
        rms = cw.pow(2).mean(1, keepdim=True).sqrt().clamp_min(1e-30)
        return (norm((w / rms).to(device, dtype)).float().cpu() - zero) * rms


def decode_directions(readout: Readout, directions: torch.Tensor, k: int
                      ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``(top_ids, top_logits, bottom_ids, bottom_logits)``, each ``(n, k)``, of
    ``W_U (γ ⊙ C w)`` for rows ``w`` of ``directions`` ``(n, d_model)``."""
    with materialized(readout.unembed):  # loaded once when accelerate offloads it
        W = readout.unembed.weight.detach()
    out = [np.zeros((directions.shape[0], k), dtype=t) for t in (np.int64, np.float32) * 2]
    with torch.no_grad():
        for a in range(0, directions.shape[0], CHUNK):
            v = norm_scale(readout.norm, directions[a:a + CHUNK])
            logits = (v.to(W.device, W.dtype) @ W.T).float()
            top = logits.topk(k, dim=1)
            bottom = logits.topk(k, dim=1, largest=False)
            for arr, t in zip(out, (top.indices, top.values, bottom.indices, bottom.values), strict=True):
                arr[a:a + CHUNK] = t.cpu().numpy()
    return out[0], out[1], out[2], out[3]


def _notes(parts: NeuronReadout) -> tuple[str, ...]:
    norm = parts.readout.norm
    d_model = int(parts.readout.unembed.weight.shape[1])
    if norm is None:
        what = ("W_U w, the neuron's down-projection column w through the unembedding alone (this "
                "model has no final norm before its head)")
    elif norm_centres(norm, d_model):
        what = ("W_U (γ ⊙ (w − mean(w))): the neuron's down-projection column w, centred and scaled "
                "as the final LayerNorm does, through the unembedding W_U; the LayerNorm's division "
                "by the residual's spread and its bias β are left out")
    else:
        what = ("W_U (γ ⊙ w): the neuron's down-projection column w, scaled by the final RMSNorm's "
                "weight γ, through the unembedding W_U; the norm's division by the residual's RMS "
                "is left out")
    notes = [f"Writes: logits per unit of activation, {what} (a positive factor per position and "
             "a shift shared by every neuron: the ranking is exact)."]
    if parts.kind == "masked":
        notes.append("Writes: a masked LM's head transforms the hidden state (dense, activation, "
                     "LayerNorm) before W_U; w is decoded through W_U alone, an approximation.")
    return tuple(notes)


def check_neurons(parts: NeuronReadout, layer: object, neuron: object) -> np.ndarray:
    """``(n, 2)`` int64 ``(layer, neuron)`` pairs from ints or equal-length sequences of ints
    (negative layers count from the end); ``ValueError`` naming what is out of range."""
    layers = [layer] if np.ndim(layer) == 0 else list(layer)  # type: ignore[arg-type]
    neurons = [neuron] if np.ndim(neuron) == 0 else list(neuron)  # type: ignore[arg-type]
    if len(layers) == 1 and len(neurons) > 1:
        layers = layers * len(neurons)
    if len(layers) != len(neurons) or not layers:
        raise ValueError(f"layer and neuron must be ints or sequences of one length, got "
                         f"{len(layers)} layers and {len(neurons)} neurons")
    L = parts.n_layers
    out = np.zeros((len(layers), 2), dtype=np.int64)
    for j, (lay, n) in enumerate(zip(layers, neurons, strict=True)):
        lay = check_int("layer", lay, -L, L - 1) % L
        out[j] = lay, check_int("neuron", n, 0, parts.d_mlp(lay) - 1)
    return out


def neuron_tokens(parts: NeuronReadout, neurons: np.ndarray, *, k: int = 10) -> NeuronTokensResult:
    """What each ``(layer, neuron)`` row of ``neurons`` writes: the ``k`` tokens its direction
    promotes and the ``k`` it suppresses, with their logits per unit of activation.

    >>> parts = NeuronReadout(down=[...], readout=lens.readout, id_to_str=...)  # doctest: +SKIP
    >>> neuron_tokens(parts, np.array([[3, 17]]), k=5).top_tokens  # doctest: +SKIP
    ((' Paris', ' Tokyo', ...),)
    """
    neurons = np.asarray(neurons, dtype=np.int64).reshape(-1, 2)
    k = check_int("k", k, 1, parts.readout.d_vocab)
    directions = torch.zeros(len(neurons), parts.readout.unembed.weight.shape[1])
    for layer in np.unique(neurons[:, 0]):
        rows = np.flatnonzero(neurons[:, 0] == layer)
        directions[torch.as_tensor(rows)] = down_columns(parts.down[int(layer)], neurons[rows, 1].tolist())
    top_ids, top_logits, bottom_ids, bottom_logits = decode_directions(parts.readout, directions, k)
    ids = np.unique(np.concatenate([top_ids.ravel(), bottom_ids.ravel()])).tolist()
    return NeuronTokensResult(
        neurons=neurons, top_ids=top_ids, top_logits=top_logits, bottom_ids=bottom_ids,
        bottom_logits=bottom_logits, strings=dict(zip(ids, parts.id_to_str(ids), strict=True)),
        notes=_notes(parts), model_name=parts.model_name,
        model_dtype=dtype_name(model_dtype(parts.readout.unembed)),
    )
