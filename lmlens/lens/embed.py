"""``lens.embed`` (texts → vectors), ``lens.embed_file`` (a text file of any size → a ``.npy`` or
Parquet file) and ``lens.embedding_similarity`` (a view comparing layers and poolings).

Texts go through the batched capture (``capture.iter_batches``: sorted by length, padded, masked,
padding cut off) in windows of ``WINDOW_LINES`` texts; each batch is pooled at once and its hidden
states dropped, so memory stays O(batch) whatever the corpus. A window is also the unit of the Ray
engine (``engine="ray"``, ``lens/embed_ray.py``): every actor embeds whole windows with this same
code, so its rows equal the local ones.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from .._version import __version__
from ..analyses.embed import TokenVectors
from ..corpus import OutputFile, open_output, output_kind, scan, sidecar_path
from ..corpus.lines import WINDOW_LINES
from .defaults import VIEW_MAX_BYTES
from .embed_window import WindowOut, embed_options, embed_window, model_pooler, window_of_lines
from .progress import progress_bar

if TYPE_CHECKING:
    from ..views.view import View
    from .core import LensCore

ENGINES = (None, "local", "ray")


def _check_texts(texts) -> list[str]:
    if isinstance(texts, (str, bytes)):
        raise TypeError("texts must be a list of strings; for one text pass [text]")
    if not isinstance(texts, Sequence):
        raise TypeError(f"texts must be a list of strings, got {type(texts).__name__}")
    texts = list(texts)
    if not texts:
        raise ValueError("texts: no texts to embed (empty list)")
    for i, t in enumerate(texts):
        if not isinstance(t, str):
            raise TypeError(f"texts[{i}] must be a str, got {type(t).__name__}")
    return texts


def _windows(n: int, size: int) -> list[tuple[int, int]]:
    return [(s, min(size, n - s)) for s in range(0, n, size)]


def embed(
    lens: LensCore,
    texts: Sequence[str],
    *,
    layers: int | Sequence[int] = -1,
    pooling: str = "mean",
    batch_size: int = 32,
    normalize: bool = False,
    engine: str | None = None,
    address: str | None = None,
    actors: int = 2,
    progress=None,
) -> np.ndarray | TokenVectors:
    """One vector per text: ``(n_texts, dim)`` float32, row ``i`` for ``texts[i]``.

    ``layers``: which hidden states, as indices into Hugging Face's ``hidden_states`` (0 = the
    embeddings, ``-1`` = the last, normed like HF's where the model has a final norm, ``-2`` = the
    second-to-last); a list concatenates them (``dim = len(layers) * d_model``). ``pooling``:
    ``"mean"`` over the tokens (padding never counts), ``"cls"`` (the ``[CLS]`` token), ``"pooler"``
    (BERT's ``pooler_output``), ``"last"`` (the last token), or ``"none"``: a ``TokenVectors`` with
    one vector per token and its character offsets. ``normalize``: unit-length vectors.

    Texts are captured ``batch_size`` at a time, sorted by length within windows of 2,048, and
    pooled as each batch comes (memory O(batch)). ``engine="ray"`` runs the windows on a Ray actor
    pool (``actors`` actors, each loading the model once; a local Ray unless ``address`` names a
    cluster); the lens must come from ``lmlens.load`` (the actors load it by name or folder). A
    text that cannot be embedded (empty, too long) raises ``ValueError`` naming its index.

    >>> lens = lmlens.load("minilm")  # doctest: +SKIP
    >>> lens.embed(["A cat sat.", "A dog ran."], layers=-2, pooling="mean").shape  # doctest: +SKIP
    (2, 384)
    """
    texts = _check_texts(texts)
    opts = embed_options(lens, layers=layers, pooling=pooling, normalize=normalize, batch_size=batch_size)
    if engine not in ENGINES:
        raise ValueError(f"engine must be None, 'local' or 'ray', got {engine!r}")
    windows = _windows(len(texts), WINDOW_LINES)
    results: list[WindowOut] = []
    bar = progress_bar(progress, len(texts), desc="embed", unit="text")
    try:
        if engine == "ray":
            from .embed_ray import ray_windows

            items = [{"start": s, "texts": texts[s:s + c]} for s, c in windows]
            for start, out in ray_windows(lens, opts, items, address=address, actors=actors):
                _raise_first(out, start)
                results.append(out)
                if bar is not None:
                    bar.update(len(out.rows))
        else:
            advance = bar.update if bar is not None else None
            for s, c in windows:
                out = embed_window(lens, texts[s:s + c], opts, advance=advance)
                _raise_first(out, s)
                results.append(out)
    finally:
        if bar is not None:
            bar.close()
    if not opts.per_token:
        return np.concatenate([r.rows for r in results]) if len(results) > 1 else results[0].rows
    vecs = [v for r in results for v in r.rows]
    splits = np.concatenate([[0], np.cumsum([v.shape[0] for v in vecs])]).astype(np.int64)
    return TokenVectors(
        vectors=np.concatenate(vecs).astype(np.float32, copy=False),
        offsets=np.concatenate([o for r in results for o in r.offsets]),
        token_ids=np.concatenate([t for r in results for t in r.token_ids]),
        row_splits=splits, layers=opts.layers, model_name=lens.name,
    )


def _raise_first(out: WindowOut, start: int) -> None:
    if out.errors:
        i, why = out.errors[0]
        raise ValueError(f"texts[{start + i}]: {why}")


@dataclass(frozen=True)
class EmbedFileReport:
    """What ``lens.embed_file`` wrote: the output and its sidecar, how many lines, which were
    skipped (``[{"line": n, "error": why}, ...]``) and how many were already done by an earlier,
    interrupted run (``resumed_lines``)."""

    path: Path
    sidecar: Path
    rows: int
    skipped: tuple[dict, ...]
    resumed_lines: int


def embed_file(
    lens: LensCore,
    path: str | Path,
    output: str | Path,
    *,
    layers: int | Sequence[int] = -1,
    pooling: str = "mean",
    batch_size: int = 32,
    normalize: bool = False,
    engine: str | None = None,
    address: str | None = None,
    actors: int = 2,
    progress=None,
    window_lines: int = WINDOW_LINES,
) -> EmbedFileReport:
    """Embed every line of the text file at ``path`` into ``output`` (``.npy``: a memory-mapped
    ``(n_lines, dim)`` float32 array; ``.parquet``: columns ``line`` and ``vector``, or ``vectors`` +
    ``offsets`` for ``pooling="none"``), with a JSON sidecar ``<output>.json`` of the model, the
    options, the input's hash and the skipped lines. Row ``i`` is line ``i + 1``.

    A line that is not UTF-8, empty or too long is skipped (a NaN row / a null vector) and listed.
    The output appears only when complete; an interrupted run leaves ``<output>.partial*`` files,
    and running the same call again resumes at the first window not done. A missing, empty or
    binary input raises ``ValueError`` before anything is written. Options as ``lens.embed``.

    >>> report = lens.embed_file("sentences.txt", "vectors.npy", layers=-2)  # doctest: +SKIP
    >>> np.load("vectors.npy", mmap_mode="r").shape  # doctest: +SKIP
    (6343, 384)
    """
    opts = embed_options(lens, layers=layers, pooling=pooling, normalize=normalize, batch_size=batch_size)
    if engine not in ENGINES:
        raise ValueError(f"engine must be None, 'local' or 'ray', got {engine!r}")
    kind = output_kind(output)
    if opts.per_token and kind == "npy":
        raise ValueError("pooling='none' gives one vector per token, a different number per line: "
                         "write it to an output ending in .parquet")
    found = scan(path, window_lines=window_lines)
    meta = {
        "lmlens": __version__,
        "model": lens.name,
        "model_source": (lens.source or {}).get("name_or_path"),
        "input": {"path": found.path, "bytes": found.size, "lines": found.n_lines, "sha256": found.sha256},
        "options": {"layers": list(opts.layers), "n_layers": opts.n_layers, "pooling": opts.pooling,
                    "normalize": opts.normalize, "batch_size": opts.batch_size,
                    "window_lines": window_lines},
        "format": kind,
        "dtype": "float32",
    }
    out = open_output(output, meta, found.n_lines, per_token=opts.per_token)
    resumed = out.lines_done
    todo = [w for w in found.windows if w.start not in out.done]
    bar = progress_bar(progress, found.n_lines, desc="embed", unit="line", initial=resumed)
    try:
        if engine == "ray":
            from .embed_ray import ray_windows

            items = [{"start": w.start, "offset": w.offset, "count": w.count, "path": found.path} for w in todo]
            for start, got in ray_windows(lens, opts, items, address=address, actors=actors):
                _write(out, start, got)
                if bar is not None:
                    bar.update(len(got.rows))
        else:
            advance = bar.update if bar is not None else None
            for w in todo:
                got = window_of_lines(lens, found.path, w, opts, advance=advance)
                _write(out, w.start, got)
    finally:
        if bar is not None:
            bar.close()
    if len(out.skipped) == found.n_lines:
        first = min(out.skipped, key=lambda s: s["line"])
        out.discard()
        raise ValueError(f"input: none of the {found.n_lines:,} lines could be embedded (line "
                         f"{first['line']}: {first['error']})")
    written = out.finish({"engine": engine or "local", "lines_embedded": found.n_lines - len(out.skipped),
                       "lines_skipped": len(out.skipped)})
    return EmbedFileReport(path=written, sidecar=sidecar_path(written), rows=found.n_lines,
                           skipped=tuple(sorted(out.skipped, key=lambda s: s["line"])), resumed_lines=resumed)


def _write(out: OutputFile, start: int, got: WindowOut) -> None:
    out.write(start, got.rows, [(start + j, why) for j, why in got.errors], offsets=got.offsets)


def embedding_similarity(
    lens: LensCore,
    texts: Sequence[str],
    *,
    layers: Sequence[int] = (-1, -2),
    poolings: Sequence[str] | None = None,
    batch_size: int = 32,
    max_bytes: int | None = VIEW_MAX_BYTES,
    theme: str = "auto",
) -> View:
    """Which layer and pooling make good sentence vectors? The cosine similarity of every pair of a
    few ``texts`` (2 to 40) under each choice of ``layers`` × ``poolings`` (None: ``"mean"``, plus
    ``"cls"`` and ``"pooler"`` where the model has them, else ``"last"``), side by side; hover a cell
    to compare that pair across choices. ``view.result`` is an ``EmbeddingSimilarityResult``.

    >>> lens.embedding_similarity(["A cat sat.", "A dog sat.", "Stocks fell."],
    ...                           layers=[-1, -2, 0])  # doctest: +SKIP
    """
    from ..analyses.embed import check_layers, layer_label
    from ..analyses.embed import embedding_similarity as compute
    from ..analyses.embed.pooling import POOLINGS
    from ..views.embedding_similarity import embedding_similarity_view

    texts = _check_texts(texts)
    if not 2 <= len(texts) <= 40:
        raise ValueError(f"texts: compare 2 to 40 texts, got {len(texts)}")
    idx = check_layers(list(layers), lens.n_layers)
    if poolings is None:
        poolings = ["mean"]
        poolings += ["cls"] if getattr(lens.tokenizer, "cls_token_id", None) is not None else ["last"]
        poolings += ["pooler"] if model_pooler(lens.model) is not None else []
    if isinstance(poolings, str) or not poolings:
        raise TypeError("poolings must be a non-empty list of pooling names")
    vectors, labels, chosen_layers, chosen_poolings, notes = [], [], [], [], []
    for p in poolings:
        if p not in POOLINGS or p == "none":
            raise ValueError(f"poolings: {p!r} is not one of {[x for x in POOLINGS if x != 'none']}")
        use = [lens.n_layers] if p == "pooler" else idx
        if p == "pooler" and idx != use:
            notes.append("the pooler reads the last hidden state only: it is shown once, at layer -1")
        got = embed(lens, texts, layers=use, pooling=p, batch_size=batch_size, progress=False)
        width = got.shape[1] // len(use)
        for j, layer in enumerate(use):
            vectors.append(got[:, j * width:(j + 1) * width])
            labels.append(f"layer {layer_label(layer, lens.n_layers)} · {p}")
            chosen_layers.append(layer)
            chosen_poolings.append(p)
    result = compute(vectors, texts, layers=chosen_layers, poolings=chosen_poolings, labels=labels,
                     n_layers=lens.n_layers, kind=lens.kind, model_name=lens.name, notes=notes)
    return embedding_similarity_view(result, max_bytes=max_bytes, theme=theme)
