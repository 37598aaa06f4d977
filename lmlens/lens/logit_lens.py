"""``lens.rankings``, ``lens.rankings_watch``, ``lens.layer_predictions``: the logit lens, as
views. Each takes a text or a ``Trace``; given a text it traces only what the logit lens needs
(embeddings, every block's output and the logits); given a ``Trace`` from ``lens.generate``,
prompt and generated tokens are analysed together and the generated ones are marked."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import torch

from ..capture import Trace
from .defaults import VIEW_MAX_BYTES
from .live import finish, rerun_actions

if TYPE_CHECKING:
    from ..views.figure_view import FigureView
    from .core import LensCore


TextOrTrace = str | Sequence[int] | torch.Tensor | Trace


def _lens_trace(lens: LensCore, x: TextOrTrace) -> Trace:
    from ..analyses.logit_lens import POINTS

    if not isinstance(x, Trace):
        lens.require_unembedding("the logit lens")
    return lens.as_trace(x, points=POINTS)


def _progress(trace: Trace, rows: int, progress):
    """tqdm.auto (a notebook bar in notebooks) when the decode is large and ``progress`` is None."""
    if progress is not None:
        return progress
    from ..analyses.logit_lens.decode import show_progress

    r = trace.readout
    d_model = int(r.unembed.weight.shape[1]) if r is not None else 0
    if r is None or not show_progress(rows, r.d_vocab, d_model):
        return False
    from tqdm.auto import tqdm

    return tqdm


def rankings(
    lens: LensCore,
    x: TextOrTrace,
    *,
    target: str | Sequence[int] | np.ndarray = "output",
    topk: int = 5,
    layers: Sequence[int | str] | None = None,
    progress=None,
    max_bytes: int | None = VIEW_MAX_BYTES,
    theme: str = "auto",
    live: bool = False,
) -> FigureView:
    """Logit lens: a layer × token grid of the rank (1 = top) of each position's target at
    every layer, coloured on a log scale; hover a cell for its top-``topk``, toggle to
    probabilities. ``target="output"`` (default) ranks the token the model finally outputs
    at each position (as ecco); ``"next"`` the actual next token; ``"input"`` the token
    itself (masked LMs). ``layers``: which layers (indices, 0 = embeddings and i + 1 = block i,
    or names; default all). ``view.result`` is a ``RankingsResult``; ``view.figure()`` a
    matplotlib figure.

    ``live=True`` returns the view as a live widget (``view.live()``): a text box and a layer
    range above it re-run the lens in the kernel.

    >>> lens.rankings("The capital of France is").save_html("rankings.html")  # doctest: +SKIP
    >>> lens.rankings("The capital of France is", live=True)  # doctest: +SKIP
    """
    from ..analyses.logit_lens import rankings as compute
    from ..views.rankings import rankings_view

    trace = _lens_trace(lens, x)
    n_layers = trace.n_layers + 1 if layers is None else (1 if isinstance(layers, (str, int)) else len(layers))
    p = _progress(trace, n_layers * trace.n_positions, progress)
    result = compute(trace, target=target, topk=topk, layers=layers, progress=p)
    view = rankings_view(result, max_bytes=max_bytes, theme=theme)
    options = {"topk": topk, "progress": False, "max_bytes": max_bytes, "theme": theme,
               **({"target": target} if isinstance(target, str) else {})}
    return finish(view, rerun_actions(lens, rankings, x, options, layers=layers, with_layers=True), live)


def rankings_watch(
    lens: LensCore,
    x: TextOrTrace,
    watch: Sequence[str | int] | str | int | None = None,
    position: int = -1,
    *,
    topk: int = 5,
    max_bytes: int | None = VIEW_MAX_BYTES,
    theme: str = "auto",
    live: bool = False,
) -> FigureView:
    """Logit lens for chosen tokens: the rank and probability of each word or id in
    ``watch`` at every layer, at ``position`` (-1: the last; for a causal LM, what comes
    after the text), one line per token. A word that splits into several tokens is watched
    by its first token, and the view says so. ``watch=None`` watches the model's final top 3
    there. ``view.result`` is a ``RankingsWatchResult``. ``live=True``: a live widget with a
    text box that re-runs it (same watched tokens and position).

    >>> lens.rankings_watch("The keys to the cabinet", watch=[" is", " are"])  # doctest: +SKIP
    """
    from ..analyses.logit_lens import (
        check_lm_head,
        check_position,
        layer_logits,
        resolve_watch,
    )
    from ..analyses.logit_lens import rankings_watch as compute
    from ..views.rankings_watch import watch_view

    trace = _lens_trace(lens, x)
    if trace.readout is None:
        check_lm_head(trace.kind, trace.model_name, False)
    if watch is None:
        pos = check_position(position, trace.n_positions)
        watch = layer_logits(trace, -1)[pos].topk(min(3, trace.readout.d_vocab)).indices.tolist()
    ids, labels, notes = resolve_watch(lens.tokenizer, watch, trace.readout.d_vocab)
    result = compute(trace, watch=ids, position=position, labels=labels, notes=notes,
                     topk=topk, progress=False)
    view = watch_view(result, max_bytes=max_bytes, theme=theme)
    options = {"watch": [int(i) for i in ids], "position": position, "topk": topk,
               "max_bytes": max_bytes, "theme": theme}
    return finish(view, rerun_actions(lens, rankings_watch, x, options), live)


def layer_predictions(
    lens: LensCore,
    x: TextOrTrace,
    position: int = -1,
    topk: int = 10,
    layers: Sequence[int | str] | None = None,
    *,
    progress=None,
    max_bytes: int | None = VIEW_MAX_BYTES,
    theme: str = "auto",
    live: bool = False,
) -> FigureView:
    """Logit lens, per layer: the top-``topk`` tokens and their probabilities at every layer
    (``layers``: indices, 0 = embeddings and i + 1 = block i, or names), at ``position``;
    click another token in the view to move. ``view.result`` is a
    ``LayerPredictionsResult``. ``live=True``: a live widget whose text box and layer range
    re-run it in the kernel.

    >>> lens.layer_predictions("The capital of France is", position=-1, topk=10)  # doctest: +SKIP
    """
    from ..analyses.logit_lens import layer_predictions as compute
    from ..views.layer_predictions import layer_predictions_view

    trace = _lens_trace(lens, x)
    if layers is None:
        n_layers = trace.n_layers + 1
    else:
        n_layers = 1 if isinstance(layers, (str, int)) else len(layers)
    p = _progress(trace, n_layers * trace.n_positions, progress)
    result = compute(trace, position=position, topk=topk, layers=layers, progress=p)
    view = layer_predictions_view(result, max_bytes=max_bytes, theme=theme)
    options = {"position": position, "topk": topk, "progress": False, "max_bytes": max_bytes,
               "theme": theme}
    return finish(view, rerun_actions(lens, layer_predictions, x, options, layers=layers,
                                      with_layers=True), live)
