"""``attribute``: token ids + target positions → ``AttributionResult``.

>>> import torch, lmlens  # doctest: +SKIP
>>> lens = lmlens.load("smollm2")  # doctest: +SKIP
>>> ids = lens.tokenize("The capital of France is Paris")  # doctest: +SKIP
>>> r = attribute(lens.model, ids, [6], embed=lens.anatomy.embed_module(lens.model),
...               method="saliency")  # doctest: +SKIP
>>> r.norms.shape  # doctest: +SKIP
(1, 6)
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch import nn

from ...capture import forward_args, inference_mode
from ...capture.devices import dtype_name, execution_device, model_dtype
from ..precision import precision_notes
from .adaptive_ig import MAX_STEPS, check_tol, stored_panels
from .batched import ATTR_TARGETS, PLANS, TargetFunctions, gradients_on_inputs_only
from .methods import METHOD_FUNCTIONS
from .result import METHODS, AttributionResult, group_sources

GROUPINGS = ("token", "word")
#: Bytes the per-dimension attributions of one group of targets may take
#: (``n_targets × n_inputs × d_model`` float32); more targets run in several groups.
ACCUMULATOR_BYTES = 512 * 2**20


def check_method(method: object) -> str:
    """``method`` if it names an attribution method, else ``ValueError`` listing them."""
    if not isinstance(method, str) or method not in METHODS:
        raise ValueError(f"method must be one of {list(METHODS)}, got {method!r}")
    return method


def greedy_next_token(model: nn.Module, ids: torch.Tensor) -> int:
    """The model's most likely next token after ``ids`` (``(n,)``)."""
    embed = model.get_input_embeddings() if hasattr(model, "get_input_embeddings") else None
    device = execution_device(embed if embed is not None else model)
    with inference_mode(model), torch.no_grad():
        out = model(input_ids=ids[None].to(device), **forward_args(model).kwargs(use_cache=False))
    logits = out.logits if hasattr(out, "logits") else out[0]
    return int(logits[0, -1].argmax())


def baseline_embeddings(
    baseline: str | int | torch.Tensor, x: torch.Tensor, embed: nn.Module
) -> torch.Tensor:
    """Baseline ``(n, d)`` for inputs ``x`` ``(n, d)``: ``"zero"``, a token id (its embedding at
    every position) or a tensor ``(d,)`` / ``(n, d)``."""
    if isinstance(baseline, str):
        if baseline != "zero":
            raise ValueError(
                f"baseline must be 'zero', a token id, or a tensor (d_model,) or (n, d_model); "
                f"got {baseline!r}"
            )
        return torch.zeros_like(x)
    if isinstance(baseline, (int, np.integer)) and not isinstance(baseline, bool):
        vocab = int(embed.weight.shape[0])
        if not 0 <= int(baseline) < vocab:
            raise ValueError(f"baseline token id must lie in [0, {vocab}), got {baseline}")
        ids = torch.full((x.shape[0],), int(baseline), dtype=torch.long, device=x.device)
        with torch.no_grad():
            return embed(ids).detach().to(x.dtype)
    if isinstance(baseline, torch.Tensor):
        b = baseline.detach().to(x.device, x.dtype)
        if b.shape == x.shape[1:]:
            return b.expand_as(x).clone()
        if b.shape == x.shape:
            return b.clone()
        raise ValueError(
            f"baseline tensor must have shape {tuple(x.shape[1:])} or {tuple(x.shape)}, "
            f"got {tuple(b.shape)}"
        )
    raise TypeError(
        f"baseline must be 'zero', a token id or a tensor, got {type(baseline).__name__}"
    )


def _reduce(attr: torch.Tensor, positions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(n_targets, n, d)`` → signed sums and row-normalised L2 norms ``(n_targets, n)``."""
    n = attr.shape[1]
    valid = np.arange(n)[None, :] < positions[:, None]
    v = torch.as_tensor(valid, device=attr.device)
    attr = attr.detach().float() * v[..., None]
    scores = attr.sum(-1)
    norms = attr.norm(dim=-1)
    total = norms.sum(-1, keepdim=True)
    norms = torch.where(total > 0, norms / total.clamp_min(torch.finfo(norms.dtype).tiny), norms)
    return scores.cpu().numpy(), norms.cpu().numpy()


def attribute(
    model: nn.Module,
    ids: Sequence[int] | torch.Tensor,
    target_positions: Sequence[int] | np.ndarray,
    *,
    embed: nn.Module,
    method: str = "integrated_gradients",
    attr_target: str = "log_prob",
    baseline: str | int | torch.Tensor = "zero",
    n_steps: int = 50,
    ig_method: str = "gausslegendre",
    internal_batch_size: int | None = None,
    tol: float | None = None,
    max_steps: int = MAX_STEPS,
    group: str = "token",
    tokens: Sequence[str] | None = None,
    token_labels: Sequence[str] = (),
    word_starts: np.ndarray | None = None,
    generated: np.ndarray | None = None,
    plan: str = "auto",
    target_batch_size: int | None = None,
    progress: bool | None = None,
    model_name: str = "",
) -> AttributionResult:
    """Attribute each target token ``ids[p]`` (``p`` in ``target_positions``) to every token
    before it, on the input embeddings, against ``log p(ids[p] | ids[:p])`` (or ``p(...)``).

    All targets share their forward passes (see ``batched``); the numbers equal captum's
    method run once per target on that target's prefix.

    Args:
        model: a causal LM accepting ``inputs_embeds``.
        ids: ``(n_tokens,)`` the whole sequence, targets included.
        target_positions: positions of the targets in ``ids`` (each ``>= 1``, distinct).
        embed: the model's input-embedding module (gradients are taken on its output).
        method: one of ``METHODS``.
        attr_target: ``"log_prob"`` (default, as captum's LLM attribution) or ``"prob"`` (ecco).
            On deep RMSNorm models (SmolLM2) integrated gradients of the log-probability from a
            zero baseline do not converge (|delta| ≫ 1 even at 800 steps): the path crosses
            tiny-norm inputs where the log-probability varies on every scale. The probability
            does converge there.
        baseline: integrated gradients / DeepLift baseline: ``"zero"`` (zero embeddings, as
            captum and ecco), a token id (that token's embedding at every position) or a tensor.
        n_steps, ig_method, internal_batch_size: integrated gradients' steps, captum's
            approximation method, and path points per forward (bounds memory).
        tol, max_steps: integrated gradients by accuracy: with ``tol`` (e.g. 0.01) each target
            gets panels of Gauss–Legendre path points (first a mesh shared by all targets,
            placed by forward passes where their values move), split where a panel's own
            completeness check fails, until its relative completeness gap
            ``|delta| / |f(x) − f(baseline)|`` is at most ``tol`` or it has ``max_steps``
            gradient points (default 24); ``n_steps`` is then unused and ``result.steps`` says
            how many each target used.
        group: ``"token"`` or ``"word"`` (sources grouped by ``word_starts``).
        tokens, word_starts, generated: display strings, word starts and generated mask of
            ``ids`` (defaults: the ids as text, every token a word, nothing generated).
        token_labels: chip labels of the tokens (``Trace.labels``), or empty.
        plan: ``"auto"``, ``"full"`` or ``"segments"`` (see ``TargetFunctions``).
        target_batch_size: targets per batched backward (None: bounded by memory).
        progress: show a tqdm bar (None: only when a run lasts more than a few seconds).

    Parameters' ``requires_grad`` flags and training modes are restored afterwards.
    """
    method = check_method(method)
    if tol is not None and method == "integrated_gradients":
        check_tol(tol, max_steps)
    if group not in GROUPINGS:
        raise ValueError(f"group must be one of {list(GROUPINGS)}, got {group!r}")
    if plan not in PLANS:
        raise ValueError(f"plan must be one of {list(PLANS)}, got {plan!r}")
    if attr_target not in ATTR_TARGETS:
        raise ValueError(f"attr_target must be one of {list(ATTR_TARGETS)}, got {attr_target!r}")
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    if isinstance(ids, np.ndarray) and not ids.flags.writeable:  # results hold read-only arrays
        ids = ids.copy()
    ids_t = torch.as_tensor(ids, dtype=torch.long).flatten().cpu()
    n_tokens = int(ids_t.numel())
    pos = np.asarray(target_positions, dtype=np.int64).reshape(-1)
    if pos.size == 0:
        raise ValueError("target_positions must name at least one target")
    if pos.min() < 1 or pos.max() >= n_tokens or len(set(pos.tolist())) != pos.size:
        raise ValueError(
            f"target_positions must be distinct positions in [1, {n_tokens}), got {pos.tolist()}"
        )
    pos = np.sort(pos)
    tokens = [str(t) for t in ids_t.tolist()] if tokens is None else [str(t) for t in tokens]
    if len(tokens) != n_tokens:
        raise ValueError(f"tokens must have {n_tokens} entries, got {len(tokens)}")
    word_starts = np.ones(n_tokens, bool) if word_starts is None else np.asarray(word_starts, bool)
    generated = np.zeros(n_tokens, bool) if generated is None else np.asarray(generated, bool)
    for name, a in (("word_starts", word_starts), ("generated", generated)):
        if a.shape != (n_tokens,):
            raise ValueError(f"{name} must have shape ({n_tokens},), got {a.shape}")

    n_inputs = int(pos.max())
    m = int(pos.size)
    device = execution_device(embed)  # gradients are taken on the embeddings, where they live
    scores = np.zeros((m, n_inputs), np.float32)
    norms = np.zeros((m, n_inputs), np.float32)
    values = np.zeros(m, np.float32)
    delta = base_values = steps = None
    notes: list[str] = precision_notes(dtype_name(model_dtype(model)))
    plan_notes: list[str] = []
    plans_run: set[str] = set()
    options: dict = {"progress": progress}
    adaptive = method == "integrated_gradients" and tol is not None
    if method == "integrated_gradients":
        options.update(n_steps=n_steps, method=ig_method, internal_batch_size=internal_batch_size)
        if adaptive:
            options.update(tol=tol, max_steps=max_steps)
    with gradients_on_inputs_only(model):
        with torch.no_grad():
            x = embed(ids_t[:n_inputs].to(device)).detach()
        b = baseline_embeddings(baseline, x, embed)
        # adaptive IG also keeps one attribution per panel
        copies = 2 + (stored_panels(max_steps) if adaptive else 0)
        per_target = max(1, n_inputs * int(x.shape[-1]) * 4 * copies)
        size = max(1, ACCUMULATOR_BYTES // per_target)
        for lo in range(0, m, size):  # bounded memory: a group of targets at a time
            g = pos[lo:lo + size]
            n_g = int(g.max())
            f = TargetFunctions(
                model, torch.as_tensor(g - 1), ids_t[g], plan=plan,
                target_batch_size=target_batch_size, attr_target=attr_target,
            )
            out = METHOD_FUNCTIONS[method](f, x[:n_g], b[:n_g], **options)
            sc, nr = _reduce(out.attr, g)
            scores[lo:lo + len(g), :n_g] = sc
            norms[lo:lo + len(g), :n_g] = nr
            values[lo:lo + len(g)] = out.values.detach().float().cpu().numpy()
            if out.delta is not None:
                if delta is None:
                    delta, base_values = np.zeros(m, np.float32), np.zeros(m, np.float32)
                delta[lo:lo + len(g)] = out.delta.detach().float().cpu().numpy()
                base_values[lo:lo + len(g)] = out.baseline_values.detach().float().cpu().numpy()
            if out.steps is not None:
                if steps is None:
                    steps = np.zeros(m, np.int64)
                steps[lo:lo + len(g)] = out.steps.cpu().numpy()
            notes += [n for n in out.notes if n not in notes]
            plans_run.add("segments" if len(f.pieces_used) > 1 else "full")
            if f.fallback and f.fallback not in plan_notes:
                plan_notes.append(f.fallback)
            out = None  # free this group's (targets, n, d) attributions before the next
    valid = np.arange(n_inputs)[None, :] < pos[:, None]
    # which forward plan ran ("segments", "full", or both across target groups); speed only
    params: dict = {"attr_target": attr_target, "plan": "+".join(sorted(plans_run))}
    if method in ("integrated_gradients", "deeplift"):
        params["baseline"] = baseline if isinstance(baseline, (str, int)) else "tensor"
    if method == "integrated_gradients":
        params["ig_method"] = ig_method
        if adaptive:  # n_steps unused: result.steps says how many each target took
            params.update(tol=float(tol), max_steps=max_steps)
        else:
            params["n_steps"] = n_steps

    result = AttributionResult(
        method=method,
        scores=scores,
        norms=norms,
        delta=delta,
        valid=valid,
        target_ids=ids_t[pos].numpy().astype(np.int64),
        target_tokens=[tokens[p] for p in pos],
        target_positions=pos,
        target_values=values,
        baseline_values=base_values,
        attr_target=attr_target,
        tokens=tokens,
        token_labels=tuple(token_labels),
        source_tokens=tokens[:n_inputs],
        source_spans=np.stack([np.arange(n_inputs), np.arange(1, n_inputs + 1)], 1).astype(np.int64),
        word_starts=word_starts,
        generated=generated,
        input_ids=ids_t.numpy().astype(np.int64),
        steps=steps,
        notes=tuple(n for n in (*notes, *plan_notes) if n),
        params=params,
        model_name=model_name,
        model_dtype=dtype_name(model_dtype(model)),
    )
    return group_sources(result, word_starts) if group == "word" else result
