"""``rankings_watch``: chosen tokens across layers at one position; ``resolve_watch`` turns
words into the token ids to watch.

>>> r = rankings_watch(trace, watch=[42, 7], position=-1)  # doctest: +SKIP
>>> r.ranks.shape  # doctest: +SKIP
(31, 2)
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from ...capture import Trace
from ...capture.byte_pieces import token_label
from ..precision import precision_notes
from .common import (
    Progress,
    _check_trace,
    _common,
    _decode,
    _final,
    _layers,
    _output_ids,
    _strings,
    check_int,
    check_position,
)
from .decode import DEFAULT_CHUNK_BYTES
from .result import RankingsWatchResult


def _piece(tokenizer, token_id: int) -> str:
    """The decoded token, or, when decoding alone gives no character (a byte of a multi-byte
    character), its whole characters and its partial bytes as hex (``"<E6 9D>"``)."""
    if hasattr(tokenizer, "convert_ids_to_tokens"):
        return token_label(tokenizer, token_id)
    return tokenizer.decode([token_id])


def _bytes_note(word: str, piece: str) -> str:
    """`` (the first bytes of '東')`` when ``piece`` is a partial byte token that begins ``word``'s
    first character, else ``""``."""
    if not piece.endswith(">") or "<" not in piece:
        return ""
    head = piece[: piece.rindex("<")]
    rest = word.lstrip()[len(head.lstrip()):]
    return f" (the first bytes of {rest[:1]!r})" if rest else ""


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
                         f"watching the first, {pieces[0]!r}{_bytes_note(w, pieces[0])}")
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
) -> RankingsWatchResult:
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
    topk = check_int("topk", topk)
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
    notes = precision_notes(trace.model_dtype) + list(notes)
    final = _final(trace, notes)
    out_id = _output_ids(trace, final, [pos])[0]
    targets = torch.tensor([[*w_ids, out_id]])
    out = _decode(trace, [h[pos:pos + 1] for h in layers], targets=targets, topk=topk,
                  final=None if final is None else final[pos:pos + 1],
                  chunk_bytes=DEFAULT_CHUNK_BYTES, progress=progress)
    ranks, lp = out.ranks[:, 0], out.logprobs[:, 0]
    w = np.asarray(w_ids, dtype=np.int64)
    strings = _strings(trace, w, out.top_ids, np.array([out_id]))
    return RankingsWatchResult(
        ranks=ranks[:, :-1].copy(), probs=np.exp(lp[:, :-1]), watch_ids=w,
        watch_labels=tuple(labels) if labels is not None else tuple(strings[i] for i in w_ids),
        output_ranks=ranks[:, -1].copy(), output_probs=np.exp(lp[:, -1]),
        top_ids=out.top_ids[:, 0].copy(), top_probs=np.exp(out.top_logprobs[:, 0]),
        position=pos, output_id=int(out_id), layer_names=tuple(names), strings=strings,
        notes=tuple(notes), **_common(trace),
    )

