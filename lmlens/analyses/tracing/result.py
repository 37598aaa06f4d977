"""Results of activation patching and causal tracing (numpy arrays, frozen; shapes in each field's
docstring).

Shapes: ``n_sites`` traced sites, ``n_layers`` blocks, ``n_positions`` tokens of the text, ``k``
logit-lens tokens kept per cell, ``n_samples`` noise samples.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..result import Result

#: Short site names and the site-table keys they stand for (``lmlens.names.SITES``).
SITE_KEYS = {"resid": "resid_post", "mlp": "mlp.out", "attn": "attn.out"}


def _prob(name: str, p: float) -> None:
    if not (isinstance(p, (float, int)) and 0.0 <= float(p) <= 1.0 + 1e-5):
        raise ValueError(f"{name} must be a probability in [0, 1], got {p!r}")


def _text(obj: Result) -> int:
    n = len(obj.tokens)
    obj.expect("input_ids", (n,), "iu")
    obj.expect("generated", (n,), "b")
    if not 0 <= obj.answer_position < n:
        raise ValueError(f"answer_position must lie in [0, {n}), got {obj.answer_position}")
    if obj.target_id not in obj.strings:
        raise ValueError(f"strings lacks the target id {obj.target_id}")
    return n


@dataclass(frozen=True, eq=False, repr=False)
class CausalTraceResult(Result):
    """Where in the model a fact is computed (``lens.causal_trace``; ROME, Meng et al. 2022).

    The subject's embeddings are corrupted with Gaussian noise (``params["noise"]`` standard
    deviation, ``n_samples`` draws); then one site's clean activation is restored at one layer
    (or a window of layers) and one position, and the probability of the target after the text
    is read. ``scores[s, l, p]`` is that probability, averaged over the noise draws: near
    ``corrupted_prob`` where restoring changes nothing, near ``clean_prob`` where the cell carries
    what the answer needs.

    >>> r = lens.causal_trace("The Eiffel Tower is in the city of", subject="Eiffel Tower").result  # doctest: +SKIP
    >>> r.scores.shape, r.sites  # doctest: +SKIP
    ((3, 30, 10), ('resid', 'mlp', 'attn'))
    """

    scores: np.ndarray
    """``(n_sites, n_layers, n_positions)`` float32: probability of the target with that cell
    restored (mean over the noise samples)."""
    sites: tuple[str, ...]
    """``n_sites`` names as asked (``"resid"``, ``"mlp"``, ``"attn"``, or site keys)."""
    points: tuple[str, ...]
    """``n_sites`` site keys patched (``"resid_post"``, ``"mlp.out"``, ``"attn.out"``)."""
    clean_prob: float
    """Probability of the target in the clean run."""
    corrupted_prob: float
    """Its probability with the subject corrupted (mean over the samples)."""
    corrupted_probs: np.ndarray
    """``(n_samples,)`` float32: the corrupted probability of each noise sample."""
    target_id: int
    """The token whose probability is traced."""
    answer_position: int
    """The position whose prediction is read (a causal LM: the last; a masked LM: the mask)."""
    subject_positions: np.ndarray
    """``(n_subject,)`` int64: the corrupted positions (the subject's tokens), ascending."""
    lens_top_ids: np.ndarray
    """``(n_layers, n_positions, k)`` int64: the clean run's logit lens: each block's output
    decoded through the final norm and head, most likely tokens first."""
    lens_top_probs: np.ndarray
    """``(n_layers, n_positions, k)`` float32: their probabilities."""
    lens_target_ranks: np.ndarray
    """``(n_layers, n_positions)`` int64: rank of the target in that decoding (1 = top)."""
    lens_target_probs: np.ndarray
    """``(n_layers, n_positions)`` float32: its probability there."""
    input_ids: np.ndarray
    """``(n_positions,)`` int64: the text's tokens."""
    tokens: tuple[str, ...]
    """``n_positions`` display strings."""
    generated: np.ndarray
    """``(n_positions,)`` bool: True where ``lens.generate`` produced the token."""
    strings: Mapping[int, str]
    """Display string of the target and of every id in ``lens_top_ids``."""
    params: Mapping[str, Any] = field(default_factory=dict)
    """The settings: ``noise`` (the standard deviation used), ``noise_rule``, ``n_samples``,
    ``window``, ``seed``, ``resumed`` (whether resumed forwards ran; see ``engine.py``)."""
    kind: str = "causal"
    notes: tuple[str, ...] = ()
    model_name: str = ""
    token_labels: tuple[str, ...] = ()
    """``n_positions`` chip labels (``Trace.labels``): ``"<E6 9D>(東)"`` where a token holds part of a
    UTF-8 character, ``""`` for whole tokens; empty when not recorded."""

    def check(self) -> None:
        n = _text(self)
        if self.scores.ndim != 3:
            raise ValueError(f"scores must be (n_sites, n_layers, n_positions), got {self.scores.shape}")
        S, L = self.scores.shape[:2]
        self.expect("scores", (S, L, n), "f")
        if len(self.sites) != S or len(self.points) != S:
            raise ValueError(f"sites and points must name the {S} sites of scores")
        _prob("clean_prob", self.clean_prob)
        _prob("corrupted_prob", self.corrupted_prob)
        if self.corrupted_probs.ndim != 1 or self.corrupted_probs.size < 1:
            raise ValueError("corrupted_probs must be (n_samples,) with n_samples >= 1")
        if self.scores.size and not (np.nanmin(self.scores) >= 0 and np.nanmax(self.scores) <= 1 + 1e-5):
            raise ValueError("scores must be probabilities in [0, 1]")
        sub = self.subject_positions
        if sub.ndim != 1 or sub.size < 1 or sub.dtype.kind not in "iu" or sub.min() < 0 or sub.max() >= n:
            raise ValueError(f"subject_positions must be a non-empty 1-D array of positions in [0, {n})")
        if self.lens_top_ids.ndim != 3:
            raise ValueError(f"lens_top_ids must be (n_layers, n_positions, k), got {self.lens_top_ids.shape}")
        self.expect("lens_top_ids", (L, n, self.lens_top_ids.shape[2]), "iu")
        self.expect("lens_top_probs", self.lens_top_ids.shape, "f")
        self.expect("lens_target_ranks", (L, n), "iu")
        self.expect("lens_target_probs", (L, n), "f")
        self.expect_strings("lens_top_ids")

    @property
    def n_sites(self) -> int:
        return int(self.scores.shape[0])

    @property
    def n_layers(self) -> int:
        return int(self.scores.shape[1])

    @property
    def n_positions(self) -> int:
        return len(self.tokens)

    @property
    def target(self) -> str:
        """Display string of the target token."""
        return self.strings[self.target_id]

    @property
    def effects(self) -> np.ndarray:
        """``(n_sites, n_layers, n_positions)``: each cell's indirect effect, ``scores - corrupted_prob``."""
        return self.scores - np.float32(self.corrupted_prob)

    def strongest(self, site: str) -> tuple[int, int]:
        """``(layer, position)`` of the largest score of ``site`` (a name in ``sites``)."""
        if site not in self.sites:
            raise ValueError(f"site must be one of {list(self.sites)}, got {site!r}")
        s = self.scores[self.sites.index(site)]
        layer, pos = np.unravel_index(int(np.nanargmax(s)), s.shape)
        return int(layer), int(pos)


@dataclass(frozen=True, eq=False, repr=False)
class PatchResult(Result):
    """One activation patch (``lens.patch``): the clean run's value of one site at some layers and
    positions copied into the corrupted run, and what the model then predicts at
    ``answer_position``. Probabilities are means over the noise samples when the corruption is
    noise (one sample for a corrupted text).

    >>> r = lens.patch("The Eiffel Tower is in", "The Colosseum is in", site="resid", layer=5, position=-1)  # doctest: +SKIP
    >>> r.clean_prob, r.corrupted_prob, r.patched_prob  # doctest: +SKIP
    """

    clean_prob: float
    """Probability of the target in the clean run."""
    corrupted_prob: float
    """Its probability in the corrupted run."""
    patched_prob: float
    """Its probability in the corrupted run with the patch."""
    target_id: int
    """The token whose probability is read."""
    answer_position: int
    """The position whose prediction is read."""
    site: str
    """The site key patched (``"resid_post"``, ``"mlp.out"``, ...)."""
    layers: tuple[int, ...]
    """The layers patched (empty for ``"embed"``)."""
    positions: tuple[int, ...]
    """The positions patched."""
    top_ids: np.ndarray
    """``(k,)`` int64: the patched run's most likely tokens at ``answer_position``."""
    top_probs: np.ndarray
    """``(k,)`` float32: their probabilities."""
    input_ids: np.ndarray
    """``(n_positions,)`` int64: the corrupted run's tokens."""
    clean_ids: np.ndarray
    """``(n_positions,)`` int64: the clean run's tokens."""
    tokens: tuple[str, ...]
    """Display strings of ``input_ids``."""
    generated: np.ndarray
    """``(n_positions,)`` bool, all False (kept for the shared vocabulary)."""
    strings: Mapping[int, str]
    """Display string of the target and of every id in ``top_ids``."""
    params: Mapping[str, Any] = field(default_factory=dict)
    """The corruption: ``{"corruption": "text"}`` or the noise settings (``noise``, ``n_samples``,
    ``seed``, ``subject_positions``)."""
    kind: str = "causal"
    notes: tuple[str, ...] = ()
    model_name: str = ""

    def check(self) -> None:
        n = _text(self)
        self.expect("clean_ids", (n,), "iu")
        for name in ("clean_prob", "corrupted_prob", "patched_prob"):
            _prob(name, getattr(self, name))
        if self.top_ids.ndim != 1:
            raise ValueError(f"top_ids must be (k,), got {self.top_ids.shape}")
        self.expect("top_probs", self.top_ids.shape, "f")
        if not self.positions or min(self.positions) < 0 or max(self.positions) >= n:
            raise ValueError(f"positions must lie in [0, {n}), got {self.positions}")
        self.expect_strings("top_ids")

    @property
    def restored(self) -> float:
        """Share of the clean-minus-corrupted probability the patch brings back (NaN when the
        corruption changed nothing)."""
        gap = self.clean_prob - self.corrupted_prob
        return float("nan") if abs(gap) < 1e-12 else (self.patched_prob - self.corrupted_prob) / gap
