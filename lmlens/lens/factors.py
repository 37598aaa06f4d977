"""``lens.neuron_factors`` (a view) and ``lens.neuron_tokens`` (a result): which FFN neurons fire
together over a text, and what one neuron writes.

Both need the model's FFN site (``anatomy.mlp_down``, the down-projection whose input is
``blocks.{i}.mlp.post``); a model without a unique one (a mixture-of-experts block) gets a
``ValueError`` naming it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import torch

from .. import names as N
from ..analyses.factors.nmf import MAX_ITER
from ..capture import Trace
from .defaults import VIEW_MAX_BYTES
from .live import finish, input_text, span

if TYPE_CHECKING:
    from ..analyses.factors import NeuronFactorsResult, NeuronReadout, NeuronTokensResult
    from ..views.figure_view import FigureView
    from ..views.live import LiveActions
    from .core import LensCore

TextOrTrace = str | Sequence[int] | torch.Tensor | Trace


def _require_ffn(lens: LensCore, what: str) -> None:
    if lens.anatomy.mlp_down is None:
        raise ValueError(
            f"{what} reads the FFN neurons (blocks.{{i}}.mlp.post, the input of each block's "
            f"down-projection), and {lens.name} ({type(lens.model).__name__}) has no single FFN "
            "down-projection: anatomy.mlp_down is None (a mixture-of-experts block has one per "
            "expert). Pass anatomy=lmlens.Anatomy(..., mlp_down='<path inside a block>') to name one."
        )


def token_string(tokenizer, token_id: int) -> str:
    """One token id as a string on its own (``lmlens.capture.token_label``: partial UTF-8 bytes
    as hex, ``"<E6 9D>"``)."""
    from ..capture import token_label

    return token_label(tokenizer, token_id)


def _decoder(lens: LensCore) -> NeuronReadout | None:
    """The model's down-projections, final norm, unembedding and token strings (None without
    an LM head)."""
    from ..analyses.factors import NeuronReadout

    readout = lens.readout
    if readout is None:
        return None
    tok = lens.tokenizer

    def id_to_str(ids: Sequence[int]) -> list[str]:
        return [token_string(tok, int(i)) for i in ids]

    down = [lens.anatomy.mlp_down_module(lens.model, i) for i in range(lens.n_layers)]
    return NeuronReadout(down=down, readout=readout, id_to_str=id_to_str, kind=lens.kind,
                         model_name=lens.name)


def _progress(progress: Any, entries: int) -> Any:
    """tqdm.auto (a notebook bar in notebooks) when the matrix is large and ``progress`` is None."""
    from ..analyses.factors.progress import PROGRESS_ENTRIES

    if progress is not None or entries < PROGRESS_ENTRIES:
        return False if progress is None else progress
    from tqdm.auto import tqdm

    return tqdm


def neuron_factors(
    lens: LensCore,
    x: TextOrTrace,
    *,
    n_factors: int = 8,
    layers: int | Sequence[int] | range | None = None,
    positive: str = "clip",
    components: NeuronFactorsResult | None = None,
    init: str = "nndsvda",
    max_iter: int = MAX_ITER,
    tol: float | None = None,
    random_state: int = 0,
    solver: str = "hals",
    top_neurons: int = 10,
    k: int = 10,
    progress=None,
    group: str = "token",
    max_bytes: int | None = VIEW_MAX_BYTES,
    theme: str = "auto",
    live: bool = False,
) -> FigureView:
    """Neuron factors (ecco's ``run_nmf`` + ``explore``): ``n_factors`` groups of FFN neurons
    that fire together over the text, found by NMF (accelerated HALS, Frobenius loss: scikit-
    learn's error or lower in about a third of its time) of the activations of ``layers`` (None:
    every block; numeric order). The view shades the text by a factor (or all
    at once), draws a sparkline per factor, and for a clicked factor lists its top neurons,
    the tokens that fire it most and what each neuron writes (tokens it promotes/suppresses).

    ``positive`` says what happens to negative activations (NMF needs X ≥ 0): ``"clip"`` (to 0,
    as ecco), ``"abs"``, or ``"split"`` (a column per sign); the result says how much mass that
    touched. ``solver="sklearn"`` runs scikit-learn's coordinate descent instead (exactly
    ``sklearn.decomposition.NMF``'s factorisation, slower). ``components=earlier.result`` applies an earlier text's factors to this one.
    ``view.result`` is a ``NeuronFactorsResult``; ``view.figure()`` a matplotlib figure.
    ``group="word"`` shows words instead of tokens (``Trace.word_starts``: in Japanese text,
    morphemes or script runs; a factor's activation at a word is its largest over the word's
    tokens; the factorisation itself is over tokens).

    ``live=True`` returns a live widget (``view.live()``): a text box, the number of factors and a
    block range above the view re-fit in the kernel (with ``components``: only the text box; the
    same factors are applied to the new text).

    >>> view = lens.neuron_factors("The capital of France is Paris.", n_factors=6)  # doctest: +SKIP
    >>> other = lens.neuron_factors("Tokyo is in Japan.", components=view.result)  # doctest: +SKIP
    >>> lens.neuron_factors("The capital of France is Paris.", live=True)  # doctest: +SKIP
    """
    from ..analyses.factors import neuron_factors as compute
    from ..analyses.factors import select_layers
    from ..views.neuron_factors import neuron_factors_view

    if group not in ("token", "word"):
        raise ValueError(f"group must be 'token' or 'word', got {group!r}")
    _require_ffn(lens, "neuron_factors")
    if components is not None and hasattr(components, "layers") and layers is None:
        chosen = [int(i) for i in components.layers]
    else:
        chosen = select_layers(layers, lens.n_layers)
    trace = lens.as_trace(x, points=[N.mlp_post(i) for i in chosen])
    entries = trace.n_positions * sum(int(trace[N.mlp_post(i)].shape[-1]) for i in chosen
                                      if N.mlp_post(i) in trace)
    result = compute(
        trace, n_factors=n_factors, layers=layers, positive=positive, components=components,
        init=init, max_iter=max_iter, tol=tol, random_state=random_state, solver=solver,
        top_neurons=top_neurons, decoder=_decoder(lens), k=k,
        progress=_progress(progress, entries * (2 if positive == "split" else 1)),
    )
    if group == "word":
        result = result.by_word(trace.word_starts)
    view = neuron_factors_view(result, max_bytes=max_bytes, theme=theme)
    options = {"group": group, "positive": positive, "init": init, "max_iter": max_iter, "tol": tol,
               "random_state": random_state, "solver": solver, "top_neurons": top_neurons, "k": k, "progress": False,
               "max_bytes": max_bytes, "theme": theme}
    return finish(view, _refit_actions(lens, x, result, components, options), live)


#: The most factors a live widget's number box offers (the analysis also caps it at
#: min(n_positions, n_neurons) and says so).
LIVE_MAX_FACTORS = 64


def _refit_actions(lens: LensCore, x: TextOrTrace, result: NeuronFactorsResult,
                   components: NeuronFactorsResult | None, options: dict[str, Any]) -> LiveActions:
    """A live widget's inputs: the text, ``n_factors`` and a block range, whose Run re-fits with
    ``lens.neuron_factors`` (so the View it returns carries the next inputs); with
    ``components``, the text only (the same factors on the new text)."""
    from ..views.live import Control, LiveActions

    text = Control.text("text", input_text(lens, x), "text")
    if components is not None:
        return LiveActions({"run": lambda text: neuron_factors(lens, text, components=components, **options)},
                           controls=[text])
    layers = [int(i) for i in result.layers]
    n = int(result.n_factors)
    controls = [text,
                Control.integer("n_factors", n, 1, max(LIVE_MAX_FACTORS, n), "factors"),
                Control.range("layers", [str(i) for i in range(lens.n_layers)],
                              [min(layers), max(layers)], "blocks")]

    def refit(text: str, n_factors: int, layers: Sequence[int]) -> FigureView:
        return neuron_factors(lens, text, n_factors=n_factors, layers=span(layers), **options)

    return LiveActions({"run": refit}, controls=controls)


def neuron_tokens(
    lens: LensCore, layer: int | Sequence[int], neuron: int | Sequence[int], k: int = 10
) -> NeuronTokensResult:
    """What FFN neuron ``neuron`` of block ``layer`` writes: the ``k`` tokens its output
    direction promotes (``top_ids``, ``top_logits``) and suppresses (``bottom_ids``,
    ``bottom_logits``), one row per neuron (ints, or equal-length lists for several).

    The direction is the neuron's column of the down-projection through the final norm's scale
    and the unembedding, ``W_U (γ ⊙ C w)`` per unit of activation (``NeuronTokensResult`` says
    what is left out).

    >>> r = lens.neuron_tokens(12, 345, k=10)  # doctest: +SKIP
    >>> r.top_tokens[0], r.top_logits[0, :3]  # doctest: +SKIP
    """
    from ..analyses.factors import check_neurons
    from ..analyses.factors import neuron_tokens as compute

    _require_ffn(lens, "neuron_tokens")
    lens.require_unembedding("neuron_tokens")
    decoder = _decoder(lens)
    return compute(decoder, check_neurons(decoder, layer, neuron), k=k)
