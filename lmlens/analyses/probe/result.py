"""``ProbeResult``: every fact's rank and top predictions, precision per relation, and the logit
lens of every fact's sentence (flat arrays; ``result.rankings(i)`` gives fact ``i``'s as a
``RankingsResult``)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from ..logit_lens.result import RankingsResult
from ..result import Result


def _check(obj, name: str, shape: tuple, kinds: str) -> None:
    a = getattr(obj, name)
    if not isinstance(a, np.ndarray) or a.shape != shape or a.dtype.kind not in kinds:
        got = (a.shape, str(a.dtype)) if isinstance(a, np.ndarray) else type(a).__name__
        raise ValueError(f"{name} must be an array of shape {shape} (dtype kind {kinds!r}), got {got}")


@dataclass(frozen=True, eq=False, repr=False)
class ProbeResult(Result):
    """A LAMA-style probe of one model (``lens.probe(facts)``).

    ``n_facts`` facts in ``n_relations`` relations; ``k`` predictions kept per fact; the logit lens
    decodes ``n_layers`` layers (``embed`` first) at ``n_cells`` positions in all (every fact's
    sentence, one after the other; fact ``i`` owns ``lens_offsets[i]:lens_offsets[i + 1]``).

    >>> r = lens.probe(lmlens.probes.shipped("en")).result  # doctest: +SKIP
    >>> r.overall["precision_at_1"], r.relations[0], r.precision_at_1[0]  # doctest: +SKIP
    """

    relations: tuple[str, ...]
    """``n_relations`` relation names, in order of first appearance."""
    relation_index: np.ndarray
    """``(n_facts,)`` int64: each fact's relation (index into ``relations``)."""
    subjects: tuple[str, ...]
    objects: tuple[str, ...]
    templates: tuple[str, ...]
    sentences: tuple[str, ...]
    """``n_facts`` sentences with subject and object filled in."""
    modes: tuple[str, ...]
    """``n_facts`` × ``"vocab"`` (object ranked over the whole vocabulary) or ``"candidates"`` (ranked
    among the relation's candidate objects by sentence log-likelihood)."""
    ranks: np.ndarray
    """``(n_facts,)`` int64: the object's rank among the choices (1 = the model's top choice)."""
    n_choices: np.ndarray
    """``(n_facts,)`` int64: how many choices (the vocabulary size, or the number of candidates)."""
    n_object_tokens: np.ndarray
    """``(n_facts,)`` int64: tokens the object takes in the sentence."""
    object_probs: np.ndarray
    """``(n_facts,)`` float32: the object's probability among the choices."""
    top_ids: np.ndarray
    """``(n_facts, k)`` int64: the top tokens ("vocab" facts; -1 for candidates and missing)."""
    top_probs: np.ndarray
    """``(n_facts, k)`` float32: the top choices' probabilities (NaN where fewer than k)."""
    top_strings: tuple[tuple[str, ...], ...]
    """``n_facts`` tuples of up to ``k`` display strings of the top choices (tokens or candidates)."""
    precision_at_1: np.ndarray
    """``(n_relations,)`` float64: share of the relation's facts whose object ranks first."""
    precision_at_k: np.ndarray
    """``(n_relations,)`` float64: share ranked within the top ``k``."""
    mrr: np.ndarray
    """``(n_relations,)`` float64: mean reciprocal rank."""
    k: int
    layer_names: tuple[str, ...]
    """The logit lens's ``n_layers`` layers (empty when it was not run)."""
    first_layer: np.ndarray
    """``(n_facts,)`` int64: the first layer (index into ``layer_names``) at which the object's first
    token is the top prediction at the slot; -1: at no layer (or no logit lens)."""
    slots: np.ndarray
    """``(n_facts,)`` int64: the slot in each sentence: the position whose output is the object's first
    token (causal LM: the token before the object; masked LM: its first ``[MASK]``)."""
    lens_offsets: np.ndarray
    """``(n_facts + 1,)`` int64: where each fact's positions start in the ``lens_*`` arrays."""
    lens_input_ids: np.ndarray
    """``(n_cells,)`` int64: the sentences' tokens, fact after fact."""
    lens_target_ids: np.ndarray
    """``(n_cells,)`` int64: the token ranked at each position (causal: the next token; masked: the
    token itself, the object's at ``[MASK]``)."""
    lens_tokens: tuple[str, ...]
    """``n_cells`` display strings of ``lens_input_ids``."""
    lens_ranks: np.ndarray
    """``(n_layers, n_cells)`` int64: the target's rank at every layer and position."""
    lens_probs: np.ndarray
    """``(n_layers, n_cells)`` float32: its probability."""
    lens_top_ids: np.ndarray
    """``(n_layers, n_cells)`` int64: each layer's top token there."""
    lens_top_probs: np.ndarray
    """``(n_layers, n_cells)`` float32: its probability."""
    strings: Mapping[int, str]
    """Display string of every token id in ``top_ids`` and the ``lens_*`` id arrays."""
    kind: str = "causal"
    model_name: str = ""
    notes: tuple[str, ...] = ()

    def check(self) -> None:
        n, r, k = len(self.subjects), len(self.relations), int(self.k)
        for name in ("objects", "templates", "sentences", "modes", "top_strings"):
            if len(getattr(self, name)) != n:
                raise ValueError(f"{name} must have one entry per fact ({n}), got {len(getattr(self, name))}")
        if n < 1 or r < 1:
            raise ValueError("a probe result needs at least one fact and one relation")
        _check(self, "relation_index", (n,), "iu")
        if self.relation_index.min() < 0 or self.relation_index.max() >= r:
            raise ValueError(f"relation_index must lie in [0, {r})")
        for name in ("ranks", "n_choices", "n_object_tokens", "first_layer", "slots"):
            _check(self, name, (n,), "iu")
        _check(self, "object_probs", (n,), "f")
        _check(self, "top_ids", (n, k), "iu")
        _check(self, "top_probs", (n, k), "f")
        for name in ("precision_at_1", "precision_at_k", "mrr"):
            _check(self, name, (r,), "f")
        if self.ranks.min() < 1 or np.any(self.ranks > self.n_choices):
            raise ValueError("ranks must lie in [1, n_choices]")
        bad = set(self.modes) - {"vocab", "candidates"}
        if bad:
            raise ValueError(f"modes must be 'vocab' or 'candidates', got {sorted(bad)}")
        L = len(self.layer_names)
        _check(self, "lens_offsets", (n + 1,), "iu")
        cells = int(self.lens_offsets[-1])
        if int(self.lens_offsets[0]) != 0 or np.any(np.diff(self.lens_offsets) < 0):
            raise ValueError("lens_offsets must rise from 0")
        for name in ("lens_input_ids", "lens_target_ids"):
            _check(self, name, (cells,), "iu")
        if len(self.lens_tokens) != cells:
            raise ValueError(f"lens_tokens must have {cells} entries, got {len(self.lens_tokens)}")
        for name, kinds in (("lens_ranks", "iu"), ("lens_probs", "f"), ("lens_top_ids", "iu"), ("lens_top_probs", "f")):
            _check(self, name, (L, cells), kinds)
        if L and np.any((self.first_layer < -1) | (self.first_layer >= L)):
            raise ValueError(f"first_layer must lie in [-1, {L})")

    # ---- reading -----------------------------------------------------------------------------
    @property
    def n_facts(self) -> int:
        """Facts probed."""
        return len(self.subjects)

    @property
    def n_relations(self) -> int:
        """Relations."""
        return len(self.relations)

    @property
    def has_logit_lens(self) -> bool:
        """Whether the per-layer ranks were computed (``lens.probe(..., logit_lens=True)``)."""
        return len(self.layer_names) > 0

    @property
    def layer_ranks(self) -> np.ndarray:
        """``(n_facts, n_layers)``: the rank of the object's first token at the slot, at every layer."""
        return self.lens_ranks[:, self.lens_offsets[:-1] + self.slots].T

    @property
    def overall(self) -> dict[str, float]:
        """Means over relations (as LAMA reports) of P@1, P@k and MRR, and P@1 over all facts."""
        return {
            "precision_at_1": float(self.precision_at_1.mean()),
            "precision_at_k": float(self.precision_at_k.mean()),
            "mrr": float(self.mrr.mean()),
            "precision_at_1_facts": float((self.ranks == 1).mean()),
        }

    def relation_table(self) -> list[dict]:
        """One dict per relation: name, facts, P@1, P@k, MRR, facts ranked over the vocabulary and
        among candidates."""
        out = []
        for j, name in enumerate(self.relations):
            mine = np.flatnonzero(self.relation_index == j)
            modes = [self.modes[i] for i in mine]
            out.append({
                "relation": name, "facts": int(mine.size),
                "precision_at_1": float(self.precision_at_1[j]), "precision_at_k": float(self.precision_at_k[j]),
                "mrr": float(self.mrr[j]), "vocab": modes.count("vocab"), "candidates": modes.count("candidates"),
            })
        return out

    def rankings(self, i: int) -> RankingsResult:
        """Fact ``i``'s logit lens as a ``RankingsResult`` (``lmlens.views.rankings.rankings_view``
        draws it): the rank of each position's target (top-1 kept) at every layer."""
        if not self.has_logit_lens:
            raise ValueError("this probe ran without the logit lens (logit_lens=False)")
        if isinstance(i, bool) or not isinstance(i, (int, np.integer)) or not 0 <= i < self.n_facts:
            raise IndexError(f"fact index must lie in [0, {self.n_facts}), got {i!r}")
        a, b = int(self.lens_offsets[i]), int(self.lens_offsets[i + 1])
        ids = np.concatenate([self.lens_target_ids[a:b], self.lens_top_ids[:, a:b].ravel()])
        return RankingsResult(
            ranks=self.lens_ranks[:, a:b].copy(), probs=self.lens_probs[:, a:b].copy(),
            token_ids=self.lens_target_ids[a:b].copy(), top_ids=self.lens_top_ids[:, a:b, None].copy(),
            top_probs=self.lens_top_probs[:, a:b, None].copy(), input_ids=self.lens_input_ids[a:b].copy(),
            generated=np.zeros(b - a, dtype=bool), layer_names=self.layer_names,
            tokens=self.lens_tokens[a:b], strings={int(t): self.strings[int(t)] for t in np.unique(ids)},
            target="next" if self.kind == "causal" else "given", kind=self.kind,
            notes=(f"fact {i + 1}: {self.sentences[i]}",), model_name=self.model_name,
        )
