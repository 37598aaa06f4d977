"""Helpers for the view tests: hand-made results with hostile tokens, independent HF math."""

from __future__ import annotations

import numpy as np
import torch

from lmlens.analyses.predictions import PredictionsResult

#: Tokens that must show as literal text everywhere.
HOSTILE = [
    "</script>", "<!--", "<img src=x onerror=alert(1)>", " & &amp;", " \"double\" 'single'",
    " 日本語のテキスト", " ]]> --> <script>alert(2)</script>", " {{ x }} ${y}",
]


def visible(s: str) -> str:
    """Mirror of js/src/format.js visibleToken."""
    if s == "":
        return "∅"
    return s.replace("\r", "␍").replace("\n", "↵").replace("\t", "⇥")


def hand_result(tokens: list[str] = HOSTILE, *, k: int = 3, kind: str = "causal", seed: int = 0) -> PredictionsResult:
    """A PredictionsResult over ``tokens`` (vocabulary = the tokens, id = index)."""
    rng = np.random.default_rng(seed)
    n = len(tokens)
    probs = rng.uniform(1e-4, 0.9, size=n).astype(np.float32)
    if kind == "causal":
        probs[0] = np.nan
    topk_ids = np.stack([np.roll(np.arange(n), -i - 1)[:k] for i in range(n)]).astype(np.int64)
    topk_probs = np.sort(rng.uniform(0, 0.3, size=(n, k)).astype(np.float32), axis=1)[:, ::-1].copy()
    return PredictionsResult(
        input_ids=np.arange(n, dtype=np.int64),
        tokens=list(tokens),
        probs=probs,
        ranks=np.where(np.isnan(probs), 0, rng.integers(1, 50, size=n)).astype(np.int64),
        top_ids=topk_ids,
        top_probs=topk_probs,
        top_tokens=[[tokens[j] for j in row] for row in topk_ids],
        generated=np.zeros(n, dtype=bool),
        kind=kind,
        model_name="hand <made> & 'model'",
    )


def independent(model, ids: torch.Tensor, k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(probs, topk_ids, topk_probs)`` straight from the HF model: logits → softmax (float64).

    ``probs[i]`` = p(token i | tokens < i) (NaN at 0), ``topk_*[i]`` = top-k after position i.
    """
    with torch.no_grad():
        logits = model(ids[None]).logits[0].double()
    p = torch.softmax(logits, dim=-1)
    top = p.topk(k, dim=-1)
    probs = np.full(ids.shape[0], np.nan)
    probs[1:] = p[:-1].gather(1, ids[1:, None])[:, 0].numpy()
    return probs, top.indices.numpy(), top.values.numpy()


def hand_trace_result(tokens: list[str] = HOSTILE, *, n_layers: int = 6, k: int = 3, seed: int = 0,
                      subject: tuple[int, ...] = (1, 2)):
    """A CausalTraceResult over ``tokens`` (vocabulary = the tokens, id = index): scores rising
    towards the subject's last token in the middle layers and the last position at the top."""
    from lmlens.analyses.tracing import CausalTraceResult

    rng = np.random.default_rng(seed)
    n = len(tokens)
    clean, corrupted = 0.8, 0.05
    scores = np.full((3, n_layers, n), corrupted, dtype=np.float32)
    scores += rng.uniform(0, 0.02, size=scores.shape).astype(np.float32)
    last = max(subject)
    scores[0, : n_layers // 2, last] = 0.7
    scores[0, n_layers // 2:, n - 1] = 0.75
    scores[1, n_layers // 3, last] = 0.4
    scores[2, n_layers - 2, n - 1] = 0.5
    scores[:, :, : min(subject)] = corrupted
    top_ids = rng.integers(0, n, size=(n_layers, n, k)).astype(np.int64)
    top_probs = np.sort(rng.uniform(0, 0.5, size=(n_layers, n, k)).astype(np.float32), axis=-1)[..., ::-1].copy()
    return CausalTraceResult(
        scores=scores, sites=("resid", "mlp", "attn"), points=("resid_post", "mlp.out", "attn.out"),
        clean_prob=clean, corrupted_prob=corrupted, corrupted_probs=np.full(4, corrupted, np.float32),
        target_id=n - 1, answer_position=n - 1, subject_positions=np.array(subject, dtype=np.int64),
        lens_top_ids=top_ids, lens_top_probs=top_probs,
        lens_target_ranks=rng.integers(1, 500, size=(n_layers, n)).astype(np.int64),
        lens_target_probs=rng.uniform(0, 0.3, size=(n_layers, n)).astype(np.float32),
        input_ids=np.arange(n, dtype=np.int64), tokens=list(tokens), generated=np.zeros(n, bool),
        strings={i: t for i, t in enumerate(tokens)},
        params={"noise": 0.3, "n_samples": 4, "window": 1, "seed": 0},
        model_name="hand <made> & 'model'",
    )
