"""``AttributionResult``: which input tokens each target token leans on (numpy, frozen).

Shapes: ``n_targets`` target tokens (the next token, a continuation, or every generated token),
``n_sources`` source tokens (every token before the last target; words when grouped) and
``n_tokens`` tokens of the whole sequence (sources, then any target that is not itself a source).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from ..result import Result

#: Attribution methods, in the order the view lists them.
METHODS = ("integrated_gradients", "saliency", "input_x_gradient", "deeplift", "attnlrp")

#: What each method's per-dimension attribution is (``scores`` sums it over ``d_model``).
METHOD_LABELS = {
    "integrated_gradients": "Integrated Gradients",
    "saliency": "Saliency (gradient)",
    "input_x_gradient": "Input × Gradient",
    "deeplift": "DeepLift",
    "attnlrp": "AttnLRP",
}


def _check_shape(name: str, a: np.ndarray, shape: tuple[int, ...]) -> None:
    if a.shape != shape:
        raise ValueError(f"{name} must have shape {shape}, got {a.shape}")


@dataclass(frozen=True, eq=False, repr=False)
class AttributionResult(Result):
    """Gradient attribution of target tokens to the input tokens before them.

    Every attribution is taken on the input embeddings (the output of the embedding module,
    i.e. ``inputs_embeds``) against ``f``: the **log-probability** of each target token given the
    tokens before it (its probability with ``attr_target="prob"``, ecco's convention). A cell ``[j, s]`` is meaningful only where source ``s`` precedes target ``j``
    (``valid[j, s]``); elsewhere ``scores`` and ``norms`` are exactly 0 (a causal model's output
    cannot depend on later tokens, and the gradient there is exactly zero).

    >>> import lmlens  # doctest: +SKIP
    >>> r = lmlens.load("smollm2").attribution("The capital of France is").result  # doctest: +SKIP
    >>> r.scores.shape, r.norms.sum(1)  # doctest: +SKIP
    ((1, 6), array([1.], dtype=float32))
    """

    method: str
    """One of ``METHODS``."""
    scores: np.ndarray
    """``(n_targets, n_sources)`` float32, signed: the attribution summed over ``d_model``.
    Saliency: the gradient itself; input × gradient: ``x·∇f``; integrated gradients and DeepLift:
    ``(x − baseline)·(averaged) ∇f``, whose row sums approximate ``f(x) − f(baseline)`` (DeepLift's
    rules make them add up exactly); AttnLRP: ``x·∇̃f`` with its rules' modified gradient."""
    norms: np.ndarray
    """``(n_targets, n_sources)`` float32 ≥ 0: the L2 norm over ``d_model`` of the attribution,
    normalised so each row sums to 1 over its valid sources (ecco's "primary attributions")."""
    delta: np.ndarray | None
    """``(n_targets,)`` float32 convergence delta ``scores[j].sum() − (f(x) − f(baseline))``
    (integrated gradients, DeepLift), or None for saliency, input × gradient and AttnLRP."""
    valid: np.ndarray
    """``(n_targets, n_sources)`` bool: source ``s`` precedes target ``j``."""
    target_ids: np.ndarray
    """``(n_targets,)`` int64 token id of each target."""
    target_tokens: list[str]
    """``n_targets`` display strings of the targets."""
    target_positions: np.ndarray
    """``(n_targets,)`` int64 position of each target in ``tokens`` (``n_tokens − 1`` at most)."""
    target_values: np.ndarray
    """``(n_targets,)`` float32 ``f(x)``: log-probability (or probability) of each target given
    its prefix."""
    baseline_values: np.ndarray | None
    """``(n_targets,)`` float32 ``f(baseline)`` (integrated gradients, DeepLift), or None."""
    tokens: list[str]
    """``n_tokens`` display strings of the whole sequence (sources, then trailing targets)."""
    source_tokens: list[str]
    """``n_sources`` display strings of the sources (tokens, or words when grouped)."""
    source_spans: np.ndarray
    """``(n_sources, 2)`` int64 ``[start, end)`` token positions each source covers."""
    word_starts: np.ndarray
    """``(n_tokens,)`` bool, True where a token starts a word (used by ``by_word``)."""
    generated: np.ndarray
    """``(n_tokens,)`` bool, True where ``lens.generate`` produced the token."""
    input_ids: np.ndarray
    """``(n_tokens,)`` int64 token ids of the whole sequence (targets included)."""
    attr_target: str = "log_prob"
    """``"log_prob"`` or ``"prob"``: what ``f`` is."""
    steps: np.ndarray | None = None
    """``(n_targets,)`` int64 gradient path points integrated gradients used for each target
    when run by accuracy (``tol``; see ``params["tol"]``; the forward-only points at panel ends
    are in ``notes``), or None (a fixed ``n_steps``, other methods)."""
    grouping: str = "token"
    """``"token"`` or ``"word"`` (sources are whole words: scores and norms summed over the
    word's tokens, so rows still sum to 1 and completeness still holds)."""
    notes: tuple[str, ...] = ()
    """What to know when reading the numbers (e.g. what DeepLift reduces to on this model, or
    that a faster forward plan could not run); the view shows them."""
    kind: str = "causal"
    """The model kind: attribution explains a causal LM's next-token predictions."""
    params: dict = field(default_factory=dict)
    """The options the result was computed with (``n_steps``, ``baseline``, ...)."""
    model_name: str = ""
    model_dtype: str = ""
    """The dtype the model ran in (``"float32"``, ``"bfloat16"``, ...; ``""``: not recorded)."""

    token_labels: tuple[str, ...] = ()
    """``n_positions`` chip labels (``Trace.labels``): ``""`` where the token is whole characters,
    else its partial UTF-8 bytes as hex with their character, ``"<E6 9D>(東)"``; may be empty."""

    def check(self) -> None:
        if self.method not in METHODS:
            raise ValueError(f"method must be one of {METHODS}, got {self.method!r}")
        if self.attr_target not in ("log_prob", "prob"):
            raise ValueError(f"attr_target must be 'log_prob' or 'prob', got {self.attr_target!r}")
        if self.grouping not in ("token", "word"):
            raise ValueError(f"grouping must be 'token' or 'word', got {self.grouping!r}")
        if self.scores.ndim != 2:
            raise ValueError(f"scores must be 2-D (n_targets, n_sources), got {self.scores.shape}")
        m, s = self.scores.shape
        n = len(self.tokens)
        _check_shape("norms", self.norms, (m, s))
        _check_shape("valid", self.valid, (m, s))
        _check_shape("target_ids", self.target_ids, (m,))
        _check_shape("target_positions", self.target_positions, (m,))
        _check_shape("target_values", self.target_values, (m,))
        _check_shape("source_spans", self.source_spans, (s, 2))
        _check_shape("word_starts", self.word_starts, (n,))
        _check_shape("generated", self.generated, (n,))
        _check_shape("input_ids", self.input_ids, (n,))
        for name in ("delta", "baseline_values", "steps"):
            a = getattr(self, name)
            if a is not None:
                _check_shape(name, a, (m,))
        if len(self.target_tokens) != m:
            raise ValueError(f"target_tokens must have {m} entries, got {len(self.target_tokens)}")
        if len(self.source_tokens) != s:
            raise ValueError(f"source_tokens must have {s} entries, got {len(self.source_tokens)}")
        if m and (self.target_positions.min() < 1 or self.target_positions.max() >= n):
            raise ValueError(f"target_positions must lie in [1, {n}), got {self.target_positions}")
        if s and (self.source_spans[:, 1].max() > n or self.source_spans[:, 0].min() < 0):
            raise ValueError(f"source_spans must lie in [0, {n}]")

    # ---- sizes ---------------------------------------------------------------------------
    @property
    def n_targets(self) -> int:
        """Number of target tokens (rows)."""
        return int(self.scores.shape[0])

    @property
    def n_sources(self) -> int:
        """Number of sources (columns)."""
        return int(self.scores.shape[1])

    @property
    def target_logprobs(self) -> np.ndarray:
        """``(n_targets,)`` log-probability of each target given its prefix."""
        if self.attr_target == "log_prob":
            return self.target_values
        with np.errstate(divide="ignore"):
            return np.log(self.target_values)

    @property
    def completeness_gap(self) -> np.ndarray | None:
        """``|delta|`` per target, or None where the method has no completeness property."""
        return None if self.delta is None else np.abs(self.delta)

    # ---- transforms ----------------------------------------------------------------------
    def by_word(self) -> AttributionResult:
        """The same attribution with sources grouped into words (``Ġ``, ``▁``, ``##``; see
        ``Trace.word_starts``). Scores and norms of a word are sums over its tokens.

        >>> r.by_word().source_tokens  # doctest: +SKIP
        ['The', ' capital', ' of', ' France', ' is']
        """
        if self.grouping == "word":
            return self
        return group_sources(self, self.word_starts)


def group_sources(result: AttributionResult, starts: np.ndarray) -> AttributionResult:
    """Group ``result``'s token sources into spans starting where ``starts`` is True.

    ``starts`` is ``(n_tokens,)`` bool; position 0 always starts a span.
    """
    if result.grouping != "token":
        raise ValueError("group_sources needs a token-level result")
    starts = np.asarray(starts, dtype=bool).copy()
    if starts.shape != (len(result.tokens),):
        raise ValueError(f"starts must have shape ({len(result.tokens)},), got {starts.shape}")
    n_src = result.n_sources
    starts = starts[:n_src]
    if n_src:
        starts[0] = True
    first = np.flatnonzero(starts)
    ends = np.append(first[1:], n_src)
    group = np.cumsum(starts) - 1  # token → group
    g = len(first)
    m = result.n_targets

    def summed(a: np.ndarray) -> np.ndarray:
        out = np.zeros((m, g), dtype=np.float64)
        np.add.at(out, (slice(None), group), a.astype(np.float64))
        return out.astype(np.float32)

    valid = np.zeros((m, g), dtype=bool)
    np.logical_or.at(valid, (slice(None), group), result.valid)
    words = ["".join(result.tokens[a:b]) for a, b in zip(first, ends, strict=True)]
    return replace(
        result,
        scores=summed(result.scores),
        norms=summed(result.norms),
        valid=valid,
        source_tokens=words,
        source_spans=np.stack([first, ends], axis=1).astype(np.int64) if g else np.zeros((0, 2), np.int64),
        grouping="word",
    )
