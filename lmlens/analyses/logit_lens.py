"""The logit lens: what each layer would predict if it were the last.

Every layer's residual (the embeddings, then each block's output) goes through the model's own
final norm and head (``lm_head``, or the MLM head of a masked LM), each layer normed with its own
statistics. The last layer is the model's own logits (Hugging Face's last hidden state is already
normed: it is never normed twice). Work is chunked (``lmlens.analyses._decode``) so memory stays
bounded whatever the length, and ranks are counted, never sorted:
rank = ``1 + (logits > logits[token]).sum()``.

- ``rankings(trace)``: rank and probability of one token per position at every layer;
- ``rankings_watch(trace, watch=[...], position=-1)``: chosen tokens across layers at one position;
- ``layer_predictions(trace, position=-1, topk=10)``: the top tokens of every layer;
- ``layer_logits(trace, layer)``: one layer's full logits, for checks by hand.

>>> import lmlens  # doctest: +SKIP
>>> from lmlens.analyses.logit_lens import rankings  # doctest: +SKIP
>>> trace = lmlens.load("smollm2").trace("The capital of France is")  # doctest: +SKIP
>>> r = rankings(trace)  # doctest: +SKIP
>>> r.ranks.shape, r.layer_names[:2]  # doctest: +SKIP
((31, 5), ('embed', 'blocks.0.resid_post'))
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import torch

from .. import names as N
from ..capture import Trace
from ._decode import DEFAULT_CHUNK_BYTES, Decoded, decode_layers
from .logit_lens_results import LayerPredictionsResult, RankingsResult, WatchResult

__all__ = [
    "LayerPredictionsResult", "RankingsResult", "WatchResult", "check_lm_head", "check_position", "layer_logits", "layer_names",
    "layer_predictions", "rankings", "rankings_watch", "resolve_watch",
]

#: Points a logit-lens trace needs (``lens.trace(text, points=POINTS)``).
POINTS = [N.EMBED, "blocks.*.resid_post", N.LOGITS]

Progress = bool | None | Callable


# ---- argument checks --------------------------------------------------------------------------
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


def _check_int(name: str, value: object, lo: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}")
    if value < lo:
        raise ValueError(f"{name} must be >= {lo}, got {value}")
    return int(value)


def check_position(position: object, n: int) -> int:
    """``position`` as a non-negative index into ``n`` positions (negative counts from the end)."""
    if isinstance(position, bool) or not isinstance(position, (int, np.integer)):
        raise TypeError(f"position must be an int, got {type(position).__name__}")
    if not -n <= position < n:
        raise ValueError(
            f"position={position} is out of range for a text of {n} tokens "
            f"(valid: 0..{n - 1}, or -{n}..-1 from the end)"
        )
    return int(position) % n


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
        "kind": trace.kind,
        "model_name": trace.model_name,
    }


# ---- analyses ---------------------------------------------------------------------------------
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
    r = trace.readout
    p = next(r.head.parameters())
    with torch.no_grad():
        return r(h.to(p.device, p.dtype)).float().cpu()


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


def rankings(
    trace: Trace,
    *,
    target: str | Sequence[int] | np.ndarray = "output",
    topk: int = 5,
    chunk_bytes: int = DEFAULT_CHUNK_BYTES,
    progress: Progress = None,
) -> RankingsResult:
    """Rank (1 = top) and probability, at every layer and position, of one token per position.

    Args:
        trace: from ``lens.trace(text)`` or ``lens.generate(prompt)`` (it needs ``embed`` and
            every ``blocks.*.resid_post``; ``logits`` too, for the last layer).
        target: whose rank to show at each position: ``"output"`` (default, as ecco): the token
            the model finally outputs there; ``"next"``: the actual next token of the text
            (causal LMs; the last position has none and uses the output); ``"input"``: the token
            at the position itself (natural for masked LMs); or ``n_positions`` token ids.
        topk: top tokens kept per cell (``top_ids``, for hovering).
        chunk_bytes: memory for one chunk of logits; bounds the extra memory used.
        progress: tqdm bar: True, False, None (when the work is large), or a tqdm-like class.

    >>> r = rankings(lens.trace("The capital of France is"))  # doctest: +SKIP
    >>> r.ranks.shape, int(r.ranks[-1].max())  # doctest: +SKIP
    ((31, 5), 1)
    """
    trace = _check_trace(trace)
    topk = _check_int("topk", topk)
    names, layers = _layers(trace)
    notes: list[str] = []
    final = _final(trace, notes)
    n = trace.n_positions
    ids = trace.token_ids.detach().cpu().long()
    if isinstance(target, str):
        if target == "output":
            targets: torch.Tensor | str = "output"
        elif target == "next":
            if trace.kind != "causal":
                raise ValueError(f"target='next' needs a causal LM; this model is {trace.kind!r}: "
                                 "use target='input' or 'output'")
            last = _output_ids(trace, final, [n - 1])[0]
            targets = torch.cat([ids[1:], torch.tensor([last])])[:, None]
            notes.append("the last position has no next token: its target is the model's output")
        elif target == "input":
            targets = ids[:, None]
        else:
            raise ValueError(f"target must be 'output', 'next', 'input' or {n} token ids, got {target!r}")
        mode = target
    else:
        try:
            given = torch.as_tensor(np.asarray(target), dtype=torch.long)
        except (TypeError, ValueError):
            raise TypeError(f"target must be a string or a sequence of token ids, got {type(target).__name__}") from None
        if given.shape != (n,):
            raise ValueError(f"target ids must have shape ({n},) (one per position), got {tuple(given.shape)}")
        d_vocab = trace.readout.d_vocab
        if int(given.min()) < 0 or int(given.max()) >= d_vocab:
            raise ValueError(f"target ids must lie in [0, {d_vocab}), got {int(given.min())}..{int(given.max())}")
        targets, mode = given[:, None], "given"
    out = _decode(trace, layers, targets=targets, topk=topk, final=final,
                  chunk_bytes=chunk_bytes, progress=progress)
    token_ids = out.target_ids[:, 0].astype(np.int64)
    if trace.kind == "masked" and mode == "output":
        notes.append("masked LM: each position predicts its own token, which it can see")
    return RankingsResult(
        ranks=out.ranks[:, :, 0], probs=np.exp(out.logprobs[:, :, 0]),
        token_ids=token_ids, top_ids=out.top_ids, top_probs=np.exp(out.top_logprobs),
        layer_names=tuple(names), strings=_strings(trace, token_ids, out.top_ids),
        target=mode, notes=tuple(notes), **_common(trace),
    )


def _output_ids(trace: Trace, final: torch.Tensor | None, positions: list[int]) -> list[int]:
    """The model's final top-1 at ``positions``."""
    if final is not None:
        return final[positions].argmax(-1).tolist()
    h = trace[N.resid(trace.n_layers - 1)][positions]
    r = trace.readout
    p = next(r.head.parameters())
    with torch.no_grad():
        return r(h.to(p.device, p.dtype)).argmax(-1).tolist()


def _piece(tokenizer, token_id: int) -> str:
    """The decoded token, or its raw vocabulary piece when decoding alone gives no character
    (a byte of a multi-byte character)."""
    s = tokenizer.decode([token_id])
    if "\ufffd" in s and hasattr(tokenizer, "convert_ids_to_tokens"):
        return str(tokenizer.convert_ids_to_tokens([token_id])[0])
    return s


def resolve_watch(
    tokenizer, watch: str | int | Sequence[str | int], d_vocab: int
) -> tuple[list[int], list[str], list[str]]:
    """``(ids, labels, notes)`` for watch words or ids (an id is labelled by its decoded string).

    A word is tokenized without special tokens. A word that splits into several tokens is
    watched by its first token (a lone leading space piece, as sentencepiece writes before
    Japanese, is skipped), and a note says so. Unknown words and ids raise ``ValueError``.

    >>> resolve_watch(tokenizer, [" Paris", 42], 49152)  # doctest: +SKIP
    ([7042, 42], [' Paris', 'K'], [])
    """
    items = [watch] if isinstance(watch, (str, int, np.integer)) else watch
    if not isinstance(items, (list, tuple)) or not items:
        raise TypeError(f"watch must be a non-empty list of words (str) or token ids (int), got {watch!r}")
    unk = getattr(tokenizer, "unk_token_id", None)
    ids, labels, notes = [], [], []
    for w in items:
        if isinstance(w, bool) or not isinstance(w, (str, int, np.integer)):
            raise TypeError(f"watch items must be words (str) or token ids (int), got {w!r}")
        if not isinstance(w, str):
            if not 0 <= int(w) < d_vocab:
                raise ValueError(f"watch: token id {int(w)} is not in the vocabulary (ids 0..{d_vocab - 1})")
            ids.append(int(w))
            labels.append(_piece(tokenizer, int(w)))
            continue
        if not w:
            raise ValueError("watch: an empty string names no token")
        toks = list(tokenizer(w, add_special_tokens=False)["input_ids"])
        if len(toks) != 1:
            vocab_id = tokenizer.convert_tokens_to_ids(w) if hasattr(tokenizer, "convert_tokens_to_ids") else None
            if isinstance(vocab_id, int) and vocab_id != unk and 0 <= vocab_id < d_vocab:
                toks = [vocab_id]  # the word is itself a vocabulary piece, e.g. "ĠParis"
        if not toks:
            raise ValueError(f"watch: {w!r} gives no tokens")
        pieces = [_piece(tokenizer, t) for t in toks]
        if len(toks) > 1 and not pieces[0].strip():
            toks, pieces = toks[1:], pieces[1:]
        if unk is not None and toks[0] == unk:
            raise ValueError(f"watch: {w!r} is not in the vocabulary (the tokenizer maps it to the "
                             f"unknown token {getattr(tokenizer, 'unk_token', unk)!r})")
        if not 0 <= toks[0] < d_vocab:
            raise ValueError(f"watch: {w!r} maps to id {toks[0]}, outside the model's vocabulary of {d_vocab}")
        if len(toks) > 1:
            notes.append(f"{w!r} splits into {len(toks)} tokens ({', '.join(map(repr, pieces))}): "
                         f"watching the first, {pieces[0]!r}")
        ids.append(int(toks[0]))
        labels.append(w)
    return ids, labels, notes


def rankings_watch(
    trace: Trace,
    *,
    watch: Sequence[int],
    position: int = -1,
    labels: Sequence[str] | None = None,
    notes: Sequence[str] = (),
    topk: int = 5,
    progress: Progress = None,
) -> WatchResult:
    """Ranks and probabilities of the token ids ``watch`` at every layer, at one position.

    Args:
        trace: from ``lens.trace`` or ``lens.generate``.
        watch: token ids (``resolve_watch`` turns words into ids).
        position: the position (negative from the end; -1 = the last: for a causal LM, the
            prediction of the token after the text).
        labels: how to name each watched token (default: its display string).
        notes: carried into the result (e.g. from ``resolve_watch``).
        topk: top tokens kept per layer at the position.
        progress: see ``rankings``.

    >>> r = rankings_watch(trace, watch=[42, 7], position=-1)  # doctest: +SKIP
    >>> r.ranks.shape  # doctest: +SKIP
    (31, 2)
    """
    trace = _check_trace(trace)
    topk = _check_int("topk", topk)
    if isinstance(watch, (str, bytes)) or not isinstance(watch, (Sequence, np.ndarray)) or len(watch) == 0:
        raise TypeError(f"watch must be a non-empty sequence of token ids, got {watch!r} "
                        "(lens.rankings_watch also takes words)")
    d_vocab = trace.readout.d_vocab
    w_ids = []
    for w in watch:
        if isinstance(w, bool) or not isinstance(w, (int, np.integer)):
            raise TypeError(f"watch must hold token ids (int), got {w!r}; resolve words with resolve_watch")
        if not 0 <= int(w) < d_vocab:
            raise ValueError(f"watch: token id {int(w)} is not in the vocabulary (ids 0..{d_vocab - 1})")
        w_ids.append(int(w))
    if labels is not None and len(labels) != len(w_ids):
        raise ValueError(f"labels must name each of the {len(w_ids)} watched tokens, got {len(labels)}")
    n = trace.n_positions
    pos = check_position(position, n)
    names, layers = _layers(trace)
    notes = list(notes)
    final = _final(trace, notes)
    out_id = _output_ids(trace, final, [pos])[0]
    targets = torch.tensor([[*w_ids, out_id]])
    out = _decode(trace, [h[pos:pos + 1] for h in layers], targets=targets, topk=topk,
                  final=None if final is None else final[pos:pos + 1],
                  chunk_bytes=DEFAULT_CHUNK_BYTES, progress=progress)
    ranks, lp = out.ranks[:, 0], out.logprobs[:, 0]
    w = np.asarray(w_ids, dtype=np.int64)
    strings = _strings(trace, w, out.top_ids, np.array([out_id]))
    return WatchResult(
        ranks=ranks[:, :-1].copy(), probs=np.exp(lp[:, :-1]), watch_ids=w,
        watch_labels=tuple(labels) if labels is not None else tuple(strings[i] for i in w_ids),
        output_ranks=ranks[:, -1].copy(), output_probs=np.exp(lp[:, -1]),
        top_ids=out.top_ids[:, 0].copy(), top_probs=np.exp(out.top_logprobs[:, 0]),
        position=pos, output_id=int(out_id), layer_names=tuple(names), strings=strings,
        notes=tuple(notes), **_common(trace),
    )


def layer_predictions(
    trace: Trace,
    *,
    position: int = -1,
    topk: int = 10,
    layers: Sequence[int | str] | None = None,
    chunk_bytes: int = DEFAULT_CHUNK_BYTES,
    progress: Progress = None,
) -> LayerPredictionsResult:
    """The ``topk`` most likely tokens with probabilities at every layer.

    ``token_ids``/``probs`` hold ``position``; ``all_token_ids``/``all_probs`` hold every
    position (the view lets you click another token).

    Args:
        trace: from ``lens.trace`` or ``lens.generate``.
        position: the position of ``token_ids`` (negative from the end).
        topk: tokens per layer.
        layers: which layers (default all): indices into ``layer_names(trace)`` (0 = embeddings,
            i + 1 = block i, negative from the end) or names like ``"blocks.3.resid_post"``.
        chunk_bytes, progress: see ``rankings``.

    >>> r = layer_predictions(trace, position=-1, topk=10)  # doctest: +SKIP
    >>> r.top_tokens()[-1][:3]  # doctest: +SKIP
    [' Paris', ' the', ' a']
    """
    trace = _check_trace(trace)
    topk = _check_int("topk", topk)
    n = trace.n_positions
    pos = check_position(position, n)
    names, hidden = _layers(trace)
    if layers is None:
        chosen = list(range(len(names)))
    else:
        if isinstance(layers, (str, int, np.integer)):
            layers = [layers]
        if not isinstance(layers, (Sequence, np.ndarray)) or len(layers) == 0:
            raise TypeError(f"layers must be None or a non-empty list of layer indices/names, got {layers!r}")
        chosen = sorted({_layer_index(x, names) for x in layers})
    notes: list[str] = []
    last = len(names) - 1
    final = _final(trace, notes) if last in chosen else None
    out = _decode(trace, [hidden[i] for i in chosen], targets=None, topk=topk, final=final,
                  chunk_bytes=chunk_bytes, progress=progress)
    all_ids = out.top_ids.astype(np.int64)
    all_probs = np.exp(out.top_logprobs)
    return LayerPredictionsResult(
        token_ids=all_ids[:, pos].copy(), probs=all_probs[:, pos].copy(), all_token_ids=all_ids,
        all_probs=all_probs, position=pos, layer_names=tuple(names[i] for i in chosen),
        strings=_strings(trace, all_ids), notes=tuple(notes), **_common(trace),
    )
