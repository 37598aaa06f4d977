"""Every target's gradient from shared forward passes of a causal LM.

A causal model's output at position ``t`` depends only on tokens ``≤ t``. So one forward over the
whole sequence serves every target (the log-probability of token ``t + 1`` is read at row ``t``),
and for integrated gradients one interpolation of the whole sequence gives every target's path
(the part of the path past a target's position does not reach it). What remains per target is a
backward pass; they are taken together as a batched vector-Jacobian product
(``torch.autograd.grad(..., is_grads_batched=True)``), which shares the weight reads of each
backward matrix product between targets.

With the ``"segments"`` plan the forward runs in consecutive pieces through the model's KV cache
(still one forward in total, with gradients flowing through the cache), so the backward pass of
a target only walks the pieces up to its own position: a target at position 25 of 40 costs a
25-token backward, as it does in a per-target loop, instead of a 40-token one. The plan is checked
against one plain forward before use; a model whose cache does not reproduce the plain forward
uses the ``"full"`` plan.

>>> f = TargetFunctions(model, rows=torch.tensor([4, 5]), target_ids=torch.tensor([11, 7]))  # doctest: +SKIP
>>> f.values(x[None]).shape  # doctest: +SKIP
torch.Size([1, 2])
"""

from __future__ import annotations

import copy
import math
import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext

import torch
from torch import nn

from ...capture import forward_args, inference_mode, output_cache
from ...capture.devices import execution_device, model_dtype, rtol

#: Bytes the batched backward of one chunk may hold per activation (sets the target chunk size).
CHUNK_BYTES = 256 * 2**20
#: Token rows (path points × tokens) per integrated-gradients forward when ``internal_batch_size``
#: is None (fixed steps and by accuracy): large enough for efficient matrix products, small
#: enough to bound memory.
ROWS_PER_FORWARD = 512
#: Rows (alphas × tokens) a KV-cache segment should reach for efficient matrix products.
SEGMENT_ROWS = 48
#: Shortest segment the ``"segments"`` plan uses, in tokens.
MIN_SEGMENT = 4
PLANS = ("auto", "full", "segments")


@contextmanager
def gradients_on_inputs_only(model: nn.Module) -> Iterator[None]:
    """Freeze every parameter and switch to eval mode for the duration; restore both after.

    Restores each parameter's exact previous ``requires_grad`` flag and the model's (and each
    submodule's) training flag, also when the body raises. Flags are restored by parameter name:
    accelerate replaces an offloaded module's parameter objects at every call.
    """
    flags = {name: p.requires_grad for name, p in model.named_parameters()}
    with inference_mode(model):
        try:
            for p in model.parameters():
                p.requires_grad_(False)
            yield
        finally:
            for name, p in model.named_parameters():
                if name in flags:
                    p.requires_grad_(flags[name])


#: What each target function returns: its log-probability (default) or its probability.
ATTR_TARGETS = ("log_prob", "prob")


class TargetFunctions:
    """``f_j(x) = log p(target_ids[j] | x[:rows[j] + 1])`` for every target ``j`` of a causal LM
    (``p(...)`` itself with ``attr_target="prob"``, ecco's convention).

    ``x`` are input embeddings ``(batch, n_inputs, d_model)`` with ``n_inputs = rows.max() + 1``;
    target ``j`` is read from the logits at row ``rows[j]`` (its position minus one).

    Args:
        model: a causal LM taking ``inputs_embeds`` (parameters should be frozen by the caller,
            see ``gradients_on_inputs_only``).
        rows: ``(n_targets,)`` int, the logit row of each target (distinct).
        target_ids: ``(n_targets,)`` int, the token id of each target.
        plan: ``"auto"``, ``"full"`` (one forward over the whole sequence) or ``"segments"``
            (KV-cache pieces; see the module docstring).
        target_batch_size: targets per batched backward (None: from ``CHUNK_BYTES``).
        attr_target: ``"log_prob"`` or ``"prob"``.
    """

    def __init__(
        self,
        model: nn.Module,
        rows: torch.Tensor,
        target_ids: torch.Tensor,
        *,
        plan: str = "auto",
        target_batch_size: int | None = None,
        attr_target: str = "log_prob",
    ) -> None:
        if attr_target not in ATTR_TARGETS:
            raise ValueError(f"attr_target must be one of {list(ATTR_TARGETS)}, got {attr_target!r}")
        if plan not in PLANS:
            raise ValueError(f"plan must be one of {PLANS}, got {plan!r}")
        rows = torch.as_tensor(rows, dtype=torch.long).flatten()
        target_ids = torch.as_tensor(target_ids, dtype=torch.long).flatten()
        if rows.numel() == 0 or rows.shape != target_ids.shape:
            raise ValueError("rows and target_ids must be non-empty and of the same length")
        if int(rows.min()) < 0 or len(set(rows.tolist())) != rows.numel():
            raise ValueError(f"rows must be distinct and >= 0, got {rows.tolist()}")
        if target_batch_size is not None and (not isinstance(target_batch_size, int) or target_batch_size < 1):
            raise ValueError(f"target_batch_size must be a positive int or None, got {target_batch_size!r}")
        self.model = model
        self.rows = rows
        self.target_ids = target_ids
        self.n_inputs = self._inputs_needed(rows)
        self.plan = plan
        self.attr_target = attr_target
        self.target_batch_size = target_batch_size
        self._args = forward_args(model)
        embed = model.get_input_embeddings() if hasattr(model, "get_input_embeddings") else None
        #: where the input embeddings live (accelerate may put the head on another device)
        self._device = execution_device(embed if embed is not None else model)
        self._rtol = rtol(model_dtype(model), 1e-4)  # the segments check; half: its precision
        self._checked: dict[int, str] = {}
        #: Why the last gradient pass ran one full forward where the plan asked for segments
        #: ("" when it did not fall back); ``attribute`` puts it in the result's notes.
        self.fallback = ""
        #: The pieces the last gradient pass ran (``plan_for``'s answer).
        self.pieces_used: list[tuple[int, int]] = []
        #: A context the forward of each gradient pass runs in (None: none). DeepLift and
        #: AttnLRP put their ``RuleTracer.explain`` here; the backward runs outside it.
        self.forward_context: Callable[[], AbstractContextManager] | None = None

    def subset(self, js: Sequence[int]) -> TargetFunctions:
        """The same functions for targets ``js`` only (a shorter input when the last targets
        are left out); shares the plan checks already made."""
        js = list(js)
        if not js:
            raise ValueError("subset needs at least one target")
        sub = copy.copy(self)
        sub.rows = self.rows[js]
        sub.target_ids = self.target_ids[js]
        sub.n_inputs = self._inputs_needed(sub.rows)
        sub.fallback, sub.pieces_used = "", []
        return sub

    def _inputs_needed(self, rows: torch.Tensor) -> int:
        """Input positions the targets at ``rows`` depend on (a causal LM: up to the last)."""
        return int(rows.max()) + 1

    @property
    def n_targets(self) -> int:
        """Number of targets."""
        return int(self.rows.numel())

    # ---- forward pieces --------------------------------------------------------------------
    def _outputs(self, x: torch.Tensor, lo: int, js: Sequence[int], cache=None):
        """``f`` ``(batch, len(js))`` of targets ``js`` from the segment ``x`` starting at ``lo``."""
        local = self.rows[list(js)] - lo  # on the CPU: it indexes the last hidden state, wherever it is
        kwargs = self._args.kwargs(
            cache=cache, use_cache=cache is not None, logits_to_keep=local if len(js) else 1
        )
        out = self.model(inputs_embeds=x, **kwargs)
        logits = out.logits if hasattr(out, "logits") else out[0]
        new_cache = output_cache(out)
        if not len(js):
            return None, new_cache
        if logits.shape[1] != len(js):  # logits_to_keep not honoured: the model returned every row
            logits = logits[:, local]
        if self.attr_target == "prob":
            lp = torch.softmax(logits.float(), dim=-1)
        else:
            lp = torch.log_softmax(logits.float(), dim=-1)
        ids = self.target_ids[list(js)].to(lp.device)
        picked = lp[:, torch.arange(len(js), device=lp.device), ids]
        return picked.to(x.device), new_cache  # the head may sit on another device than x

    def values(self, x: torch.Tensor) -> torch.Tensor:
        """``(batch, n_targets)`` ``f`` of every target, no gradient (one plain forward)."""
        self._check_x(x)
        with torch.no_grad():
            out, _ = self._outputs(x[:, : self.n_inputs], 0, range(self.n_targets))
        return out

    def _check_x(self, x: torch.Tensor) -> None:
        if x.dim() != 3 or x.shape[1] < self.n_inputs:
            raise ValueError(
                f"x must be (batch, n_inputs >= {self.n_inputs}, d_model), got {tuple(x.shape)}"
            )

    # ---- plans -----------------------------------------------------------------------------
    def segments(self, batch: int) -> list[tuple[int, int]]:
        """``[(lo, hi), ...]`` pieces of ``[0, n_inputs)`` the ``"segments"`` plan runs for a
        forward of ``batch`` sequences (one piece when segmenting would not pay)."""
        first = int(self.rows.min())
        n = self.n_inputs
        size = max(MIN_SEGMENT, math.ceil(SEGMENT_ROWS / max(1, batch)))
        bounds = [0] + ([first] if first > 0 else []) + list(range(first + size, n, size)) + [n]
        bounds = sorted(set(bounds))
        pieces = list(zip(bounds[:-1], bounds[1:], strict=True))
        return pieces if len(pieces) >= 3 else [(0, n)]

    def _segments_problem(self, x: torch.Tensor, pieces: list[tuple[int, int]]) -> str:
        """Why the KV-cache plan cannot run on this model ("" when it reproduces one plain
        forward; checked once per piece layout)."""
        key = hash(tuple(pieces))
        if key not in self._checked:
            problem = ""
            if not self._args.takes_cache:
                problem = (
                    f"{type(self.model).__name__}.forward takes no KV cache argument "
                    f"(looked for {' or '.join(repr(n) for n in ('cache', 'past_key_values'))} "
                    "and 'use_cache')"
                )
            else:
                try:
                    with torch.no_grad():
                        ref = self.values(x[:1])
                        got = self._run(x[:1], pieces)
                    got_all = torch.zeros_like(ref)
                    for js, v in got:
                        got_all[:, js] = v
                    err = float((got_all - ref).abs().max())
                    if err > self._rtol * max(1.0, float(ref.abs().max())):
                        problem = f"its KV cache differs from a plain forward by {err:.2g}"
                except Exception as e:  # noqa: BLE001 - a cache that cannot run this way
                    problem = f"its KV cache failed ({type(e).__name__}: {e})"
            self._checked[key] = problem
        return self._checked[key]

    def _run(self, x: torch.Tensor, pieces: list[tuple[int, int]]):
        """Forward ``x`` piece by piece; ``[(target indices, f (batch, k)), ...]``."""
        cache = None
        if len(pieces) > 1:
            from transformers import DynamicCache

            cache = DynamicCache(config=getattr(self.model, "config", None))
        outs = []
        rows = self.rows.tolist()
        for lo, hi in pieces:
            js = [j for j, r in enumerate(rows) if lo <= r < hi]
            lp, new = self._outputs(x[:, lo:hi], lo, js, cache)
            if cache is not None and new is not None:
                cache = new
            if js:
                outs.append((js, lp))
        return outs

    def plan_for(self, x: torch.Tensor) -> list[tuple[int, int]]:
        """The pieces a gradient pass over ``x`` (``(batch, n, d)``) will use.

        Sets ``fallback`` to the reason when segments would pay but the model's cache cannot
        give them (the pass then runs one full forward, slower for many targets).
        """
        self.fallback = ""
        if self.plan == "full" or self.n_targets == 1:
            return [(0, self.n_inputs)]
        pieces = self.segments(int(x.shape[0]))
        if len(pieces) == 1 or self.plan == "segments":
            return pieces
        problem = self._segments_problem(x, pieces)
        if not problem:
            return pieces
        self.fallback = (
            f"ran one full forward per gradient pass instead of {len(pieces)} KV-cache segments: "
            f"{problem}. The numbers are the same; only speed differs."
        )
        return [(0, self.n_inputs)]

    # ---- gradients -------------------------------------------------------------------------
    def _chunk(self, batch: int, d_model: int, k_rows: int) -> int:
        """Targets per batched backward: each holds ~4 ``(batch, n, d_model)`` buffers and,
        through the softmax, ~2 ``(batch, k_rows, d_vocab)`` ones."""
        if self.target_batch_size is not None:
            return self.target_batch_size
        vocab = int(getattr(getattr(self.model, "config", None), "vocab_size", 0) or 0)
        per_target = max(1, batch * 4 * (self.n_inputs * d_model * 4 + k_rows * vocab * 2))
        return max(1, min(self.n_targets, CHUNK_BYTES // per_target))

    def weighted_grads(self, points: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
        """``(n_targets, n_inputs, d_model)``: ``Σ_k weights[k] · ∇f_j(points[k])`` for every ``j``.

        ``points`` is ``(s, n, d)`` (``n ≥ n_inputs``; later positions are ignored), ``weights``
        is ``(s,)``. Saliency is ``points = x[None], weights = [1]``; integrated gradients pass
        the path points and the quadrature weights.
        """
        return self.grads_and_values(points, weights)[0]

    def grads_and_values(
        self, points: torch.Tensor, weights: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """``(weighted_grads(points, weights), values at points (s, n_targets))`` from the same
        forward pass."""
        groups = torch.zeros(points.shape[0], dtype=torch.long)
        total, values = self.grouped_grads_and_values(points, weights, groups, 1)
        return total[:, 0], values

    def grouped_grads_and_values(
        self, points: torch.Tensor, weights: torch.Tensor, groups: torch.Tensor, n_groups: int
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """``(n_targets, n_groups, n_inputs, d_model)`` sums ``Σ_{k in group g} weights[k] ·
        ∇f_j(points[k])`` and the values at the points ``(s, n_targets)``, from one forward.

        ``groups`` ``(s,)`` assigns each point to a group in ``[0, n_groups)`` (adaptive
        integrated gradients keeps each quadrature panel apart, to check and replace it alone).
        """
        self._check_x(points)
        s, _, d = points.shape
        weights = torch.as_tensor(weights, dtype=torch.float32, device=points.device)
        if weights.shape != (s,):
            raise ValueError(f"weights must have shape ({s},), got {tuple(weights.shape)}")
        groups = torch.as_tensor(groups, dtype=torch.long, device=points.device)
        if groups.shape != (s,) or (s and (int(groups.min()) < 0 or int(groups.max()) >= n_groups)):
            raise ValueError(f"groups must be ({s},) ints in [0, {n_groups})")
        x = points[:, : self.n_inputs].detach().clone().requires_grad_(True)
        total = torch.zeros(self.n_targets, n_groups, self.n_inputs, d, dtype=torch.float32,
                            device=x.device)
        values = torch.zeros(s, self.n_targets, dtype=torch.float32, device=x.device)
        pieces = self.pieces_used = self.plan_for(x)
        context = self.forward_context() if self.forward_context is not None else nullcontext()
        with torch.enable_grad():
            with context:
                outs = self._run(x, pieces)
            for js, lp in outs:
                values[:, js] = lp.detach().float()
                chunk = self._chunk(s, d, len(js))
                for c in range(0, len(js), chunk):
                    sub = list(range(c, min(c + chunk, len(js))))
                    g = _batched_vjp(lp, x, sub, weights).float()
                    rows = [js[i] for i in sub]
                    if n_groups == 1:
                        total[rows, 0] += g.sum(1)
                    else:
                        per = torch.zeros(len(sub), n_groups, *g.shape[2:], dtype=g.dtype, device=g.device)
                        total[rows] += per.index_add_(1, groups, g)
        return total, values


def _batched_vjp(
    out: torch.Tensor, x: torch.Tensor, cols: list[int], weights: torch.Tensor
) -> torch.Tensor:
    """``(len(cols), s, n, d)``: for each column ``c`` of ``out`` ``(s, k)``, the gradient of
    ``Σ_k weights[k] · out[k, c]`` with respect to ``x`` (one batched backward)."""
    k = len(cols)
    go = torch.zeros(k, *out.shape, dtype=out.dtype, device=out.device)
    idx = torch.arange(k, device=out.device)
    go[idx, :, torch.as_tensor(cols, device=out.device)] = weights.to(out.dtype)[None, :]
    if k == 1:
        (g,) = torch.autograd.grad(out, x, grad_outputs=go[0], retain_graph=True)
        return g[None]
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # vmap's "performance drop" fallbacks
            (g,) = torch.autograd.grad(
                out, x, grad_outputs=go, retain_graph=True, is_grads_batched=True
            )
    except RuntimeError:  # an op without a batching rule: one backward per target instead
        g = torch.stack([
            torch.autograd.grad(out, x, grad_outputs=go[i], retain_graph=True)[0] for i in range(k)
        ])
    return g
