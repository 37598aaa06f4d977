"""``lens.attribution``: gradient attribution as a view, and what ``lens.generate(...,
attribution=[...])`` computes for every generated token (kept by the lens, per trace, and reused
by ``lens.attribution(trace)``; nothing is stored on the Trace)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from ..capture import Trace, display_tokens, labels_for_text
from .defaults import VIEW_MAX_BYTES
from .live import finish

if TYPE_CHECKING:
    from ..analyses.attribution import AttributionResult
    from ..views import View
    from ..views.live import LiveActions
    from .core import LensCore

_BASELINE_NAMES = ("zero", "pad", "unk", "eos", "bos")
#: Options a method's result depends on (others, like internal_batch_size, only change speed).
_RESULT_OPTIONS = {
    "integrated_gradients": ("n_steps", "baseline", "ig_method", "tol", "max_steps"),
    "deeplift": ("baseline",),
    "attnlrp": (),
}
_OPTIONS = ("n_steps", "baseline", "ig_method", "internal_batch_size", "progress", "attr_target",
            "tol", "max_steps")


def _methods_arg(method: str | Sequence[str], name: str = "method") -> list[str]:
    from ..analyses.attribution import METHODS

    methods = [method] if isinstance(method, str) else list(method) if isinstance(method, Sequence) else None
    if not methods:
        raise ValueError(f"{name} must be a method name or a non-empty list of them, got {method!r}")
    out: list[str] = []
    for m in methods:
        if not isinstance(m, str) or m not in METHODS:
            raise ValueError(f"{name}: each method must be one of {list(METHODS)}, got {m!r}")
        if m not in out:
            out.append(m)
    return out


def _baseline_arg(lens: LensCore, baseline: Any) -> str | int | torch.Tensor:
    if baseline is None or (isinstance(baseline, str) and baseline == "zero"):
        return "zero"
    if isinstance(baseline, str):
        if baseline not in _BASELINE_NAMES:
            raise ValueError(
                f"baseline must be one of {list(_BASELINE_NAMES)}, a token id or a tensor, "
                f"got {baseline!r}"
            )
        tid = getattr(lens.tokenizer, f"{baseline}_token_id", None)
        if tid is None:
            raise ValueError(f"baseline={baseline!r}: this tokenizer has no {baseline} token")
        return int(tid)
    return baseline


def _attribution_inputs(lens: LensCore, x: Any, target: Any) -> dict:
    """Sequence ids (targets included), target positions and display data for ``x``."""
    if lens.kind != "causal":
        raise ValueError(
            f"attribution explains a causal LM's next-token predictions; this model is "
            f"{lens.kind!r}"
        )
    from ..analyses.attribution import (
        continuation_start,
        generated_positions,
        greedy_next_token,
    )

    trace = x if isinstance(x, Trace) else None
    if trace is not None:
        ids = trace.token_ids.detach().cpu().long()
        text = None
    else:
        ids = lens.tokenize(x)
        text = x if isinstance(x, str) else None
    n = int(ids.shape[0])
    generated = trace.generated.astype(bool) if trace is not None else np.zeros(n, bool)
    append: int | None = None
    from_generate = False
    if target is None:
        if trace is not None and generated.any():
            positions = generated_positions(generated)
            from_generate = True
        else:
            append = greedy_next_token(lens.model, ids)
    elif isinstance(target, (int, np.integer)) and not isinstance(target, bool):
        vocab = int(lens.anatomy.embed_module(lens.model).weight.shape[0])
        if not 0 <= int(target) < vocab:
            raise ValueError(f"target token id must lie in [0, {vocab}), got {target}")
        append = int(target)
    elif isinstance(target, str):
        if text is None:
            text = lens.tokenizer.decode(ids.tolist(), skip_special_tokens=True,
                                         clean_up_tokenization_spaces=False)
        k = continuation_start(lens.tokenizer, ids.tolist(), text, target)
        positions = np.arange(k, n, dtype=np.int64)
    else:
        raise TypeError(
            "target must be None (the model's next token), a token id, or a string that "
            f"ends the text; got {type(target).__name__}"
        )
    if append is not None:
        ids = torch.cat([ids, torch.tensor([append], dtype=torch.long)])
        try:  # the appended target must still fit the model's positions
            lens.tokenize(ids)
        except ValueError as e:
            raise ValueError(f"attribution appends the target token after the text, and then: {e}") from None
        positions = np.array([n], dtype=np.int64)
        generated = np.append(generated, False)
        tokens, pieces, starts = display_tokens(lens.tokenizer, ids.tolist())
        labels = labels_for_text(lens.tokenizer, pieces, tokens)
    elif trace is not None:
        tokens, starts = list(trace.tokens), np.asarray(trace.word_starts, bool)
        labels = list(trace.labels)
    else:
        tokens, pieces, starts = display_tokens(lens.tokenizer, ids.tolist())
        labels = labels_for_text(lens.tokenizer, pieces, tokens)
    return {
        "ids": ids, "positions": positions, "tokens": tokens, "word_starts": starts, "labels": labels,
        "generated": generated, "trace": trace if from_generate else None,
    }


def _attribute(lens: LensCore, inputs: dict, method: str, options: dict) -> AttributionResult:
    from ..analyses.attribution import attribute

    opts = dict(options)
    if opts.get("n_steps") is None:
        opts["n_steps"] = 50
    if opts.get("attr_target") is None:
        opts["attr_target"] = "log_prob"
    if opts.get("ig_method") is None:
        opts["ig_method"] = "gausslegendre"
    opts["baseline"] = _baseline_arg(lens, opts.get("baseline"))
    if method != "integrated_gradients":  # options only integrated gradients reads
        for key in ("tol", "max_steps"):
            opts.pop(key, None)
    elif opts.get("max_steps") is None:
        opts.pop("max_steps", None)
    return attribute(
        lens.model, inputs["ids"], inputs["positions"],
        embed=lens.anatomy.embed_module(lens.model), method=method,
        tokens=inputs["tokens"], token_labels=inputs["labels"], word_starts=inputs["word_starts"],
        generated=inputs["generated"], model_name=lens.name, **opts,
    )


def _reusable(stored: AttributionResult, method: str, options: dict) -> bool:
    for key in ("attr_target", *_RESULT_OPTIONS.get(method, ())):
        want = options.get(key)
        if want is None:
            continue
        if key == "baseline" and not isinstance(want, (str, int)):
            return False
        if stored.params.get(key) != want:
            return False
    return True

def _attribution_results(lens: LensCore, inputs: dict, methods: list[str], options: dict,
                         *, live: bool = False) -> dict[str, AttributionResult]:
    """Each method's result for ``inputs``' targets: reused from the lens' store when
    ``generate`` computed it, else computed (and stored). ``live``: only the last target is
    computed (nothing stored; a live widget computes the others on click)."""
    trace: Trace | None = inputs["trace"]
    store = lens.stored_attributions(trace) if trace is not None else {}
    results: dict[str, AttributionResult] = {}
    for m in methods:
        old = store.get(m)
        if old is not None and _reusable(old, m, options):
            results[m] = old
        elif live:
            results[m] = _attribute(lens, {**inputs, "positions": inputs["positions"][-1:]}, m, options)
        else:
            results[m] = store[m] = _attribute(lens, inputs, m, options)
    if trace is not None and not live:  # the view can switch to any other method computed for this trace
        for m, r in store.items():
            results.setdefault(m, r)
    return results


def _live_actions(lens: LensCore, inputs: dict, results: dict[str, AttributionResult],
                  methods: list[str], options: dict, build) -> LiveActions:
    """The action ``"attribute"``: a clicked position's attribution, computed for every method
    shown (with the same options) and merged with the targets computed so far; any token with a
    prefix may be asked for. ``build(results, focus)`` makes the view."""
    from ..analyses.attribution import merge_targets
    from ..views.live import LiveActions

    state = {m: results[m] for m in methods}
    inputs = {k: v for k, v in inputs.items() if k != "trace"}  # hold no trace
    n = int(inputs["ids"].shape[0])
    opts = {**options, "progress": False}

    def attribute(position: int) -> View:
        if isinstance(position, bool) or not isinstance(position, int) or not 1 <= position < n:
            raise ValueError(f"position must be a token position in [1, {n}) (a token after the "
                             f"first), got {position!r}")
        for m, r in state.items():
            if position not in r.target_positions:
                one = _attribute(lens, {**inputs, "positions": np.array([position])}, m, opts)
                state[m] = merge_targets([r, one])
        return build(state, position).with_live_actions(actions)

    actions = LiveActions({"attribute": attribute},
                          info={"attribute": {"positions": list(range(1, n))}})
    return actions

# ---- public ----------------------------------------------------------------------------


def attribution(
    lens: LensCore,
    x: str | Sequence[int] | torch.Tensor | Trace,
    *,
    method: str | Sequence[str] = "integrated_gradients",
    target: str | int | None = None,
    attr_target: str | None = None,
    group: str = "token",
    baseline: str | int | torch.Tensor | None = None,
    n_steps: int | None = None,
    tol: float | None = None,
    max_steps: int | None = None,
    ig_method: str | None = None,
    internal_batch_size: int | None = None,
    progress: bool | None = None,
    max_bytes: int | None = VIEW_MAX_BYTES,
    theme: str = "auto",
    live: bool = False,
) -> View:
    """Which input tokens a prediction leans on: gradient attribution on the input embeddings
    against the log-probability of each target token (ecco's hover view + a target × source
    heatmap). ``view.result`` is the ``AttributionResult`` of the first method.

    Targets:
        - ``target=None`` on a text: the model's greedy next token after it;
        - ``target=None`` on a trace from ``lens.generate``: every generated token (results
          that ``generate(..., attribution=[...])`` computed are reused, not recomputed);
        - ``target=" Paris"``: a continuation that ends the text, sliced from the
          tokenization of the whole text (one row per target token);
        - ``target=<token id>``: that token as the next one.

    Args:
        method: ``"integrated_gradients"``, ``"saliency"``, ``"input_x_gradient"``,
            ``"deeplift"``, ``"attnlrp"``, or a list of them (the view switches between them).
        attr_target: what is explained: ``"log_prob"`` (default) or ``"prob"`` (ecco's
            convention) of each target. On deep RMSNorm models (SmolLM2) integrated
            gradients of the log-probability from a zero baseline do not converge (the
            view shows the delta); those of the probability do.
        group: ``"token"`` or ``"word"`` (sources merged into words: ``Ġ``, ``▁``, ``##``).
        baseline: integrated gradients / DeepLift baseline: ``"zero"`` (default, zero
            embeddings as in captum and ecco), ``"pad"``, ``"unk"``, ``"eos"``, ``"bos"``
            (that token's embedding at every position), a token id or a tensor.
        n_steps, ig_method, internal_batch_size: integrated gradients' steps (default 50),
            captum's approximation method (default ``"gausslegendre"``), and path points per
            forward (bounds memory).
        tol, max_steps: integrated gradients by accuracy instead of a step count: each
            target's path is cut into panels of Gauss–Legendre points (a first mesh shared
            by all targets, placed by forward passes where their values move), split where a
            panel's own completeness check (forward values at its ends) fails, until the
            panels' gaps sum to at most half of ``tol`` × |f(x) − f(baseline)| (or ``max_steps``
            gradient points, default 24, are used); ``result.steps`` says how many each took.
        progress: tqdm bar (None: only for runs that last more than a few seconds).
        live: return a live widget (``view.live()``) that computes only the last target up front;
            clicking any other token computes its attribution in the kernel (equal to the
            batched one). Without it, ``view.live()`` on the returned view does the same on top
            of the targets already computed.

    DeepLift uses rules for every non-linearity (rescale for SiLU/GELU, Shapley for gated
    products, AttnLRP's held scale for the norms, a bounded rule for softmax), so its
    attributions add up to f(x) − f(baseline); a module without a rule is named in the result's
    ``notes``. ``"attnlrp"`` is AttnLRP (Achtibat et al. 2024): one forward and one backward.

    >>> view = lens.attribution("The capital of France is")  # doctest: +SKIP
    >>> view.result.norms.sum(1)  # doctest: +SKIP
    array([1.], dtype=float32)
    >>> lens.attribution("The capital of France is Paris", target=" Paris",
    ...                  method=["saliency", "integrated_gradients"])  # doctest: +SKIP
    """
    from ..analyses.attribution.core import GROUPINGS
    from ..views.attribution import attribution_view

    methods = _methods_arg(method)
    if group not in GROUPINGS:
        raise ValueError(f"group must be one of {list(GROUPINGS)}, got {group!r}")
    options = {
        "n_steps": n_steps, "baseline": baseline, "ig_method": ig_method,
        "internal_batch_size": internal_batch_size, "progress": progress,
        "attr_target": attr_target, "tol": tol, "max_steps": max_steps,
    }
    inputs = _attribution_inputs(lens, x, target)
    results = _attribution_results(lens, inputs, methods, options, live=live)

    def build(by_method: Mapping[str, AttributionResult], focus: int | None = None) -> View:
        ordered = [by_method[m] for m in methods] + [r for m, r in by_method.items() if m not in methods]
        if group == "word":
            ordered = [r.by_word() for r in ordered]
        return attribution_view(ordered, max_bytes=max_bytes, theme=theme, focus=focus)

    view = build(results)
    return finish(view, _live_actions(lens, inputs, results, methods, options, build), live)


def parse_attribution(
    attribution: str | Sequence[str] | Mapping[str, Mapping[str, Any]],
) -> dict[str, dict[str, Any]]:
    """``{method: options}`` from the ``attribution=`` argument of ``lens.generate``: a method
    name, a list of them, or ``{method: {option: value}}`` (options as ``lens.attribution``
    takes them: ``n_steps``, ``baseline``, ``attr_target``, ...)."""
    if isinstance(attribution, Mapping):
        methods = _methods_arg(list(attribution), "attribution")
        per = {}
        for m in methods:
            opts = attribution[m] or {}
            if not isinstance(opts, Mapping):
                raise TypeError(f"attribution[{m!r}] must be a dict of options, got {type(opts).__name__}")
            unknown = set(opts) - set(_OPTIONS)
            if unknown:
                raise ValueError(f"attribution[{m!r}]: unknown options {sorted(unknown)}; valid: {list(_OPTIONS)}")
            per[m] = dict(opts)
        return per
    return {m: {} for m in _methods_arg(attribution, "attribution")}


def attribute_generated(lens: LensCore, trace: Trace, methods: Mapping[str, Mapping[str, Any]]) -> None:
    """Attribute every generated token of ``trace`` with each method (batched over the
    generated tokens) and keep the results with the lens for ``lens.attribution(trace)``."""
    if not trace.generated.any():
        return
    inputs = _attribution_inputs(lens, trace, None)
    store = lens.stored_attributions(trace)
    for m, opts in methods.items():
        store[m] = _attribute(lens, inputs, m, dict(opts))
