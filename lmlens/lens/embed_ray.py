"""``engine="ray"``: embed windows of texts on a Ray Data actor pool.

The pipeline: the windows (a list's slices, or a file's line ranges found by one scan) become a
dataset (``ray.data.from_items``, one block per window) → ``map_batches`` on an
``ActorPoolStrategy`` of ``actors`` actors, each loading the model once in its constructor and
embedding a whole window per call (reading a file's lines itself, at the window's byte offset) →
the windows come back to this process in order, where they are written (``lens.embed_file``) or
stacked (``lens.embed``). Each actor runs ``embed_window``, the very code of the local engine, on
the same windows, so the rows equal the local ones.

Why not ``ray.data.read_text``: it reads each file as one block (one task, the whole file in
memory), decodes it strictly (one non-UTF-8 byte fails the job), splits on every Unicode line break,
and numbers nothing, so a bad line could neither be skipped nor reported by number, nor a run
resumed.

Actors load the model from ``lens.source`` (set by ``lmlens.load``: an embedded name, a hub id or a
folder; loaded on the CPU); a Lens built from objects in memory has no source and is refused. On a
cluster, lmlens and the model (or a network) must be available on every node, and a file input
at the same path.

Without a running Ray, a local one is started (``num_cpus=max(2, actors)``, no dashboard, no
metrics, on 127.0.0.1: when Ray is first imported here, ``RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0`` keeps
its node on the loopback address) and shut down at the end; a Ray already initialised
(``ray.init(...)`` by the caller) or the cluster at ``address`` is used and left running. Ray's
raylet gives its agent 15 s to start; on a very busy machine a local start can miss that (it is
tried twice): start Ray yourself then (``ray start --head``) and pass ``address``.
"""

from __future__ import annotations

import logging
import os
import pickle
import sys
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import numpy as np

from ..analyses.checks import check_int
from ..analyses.embed import EmbedOptions
from ..corpus import Window

if TYPE_CHECKING:
    from .core import LensCore
    from .embed_window import WindowOut


def _initialized() -> bool:
    ray = sys.modules.get("ray")
    return bool(ray is not None and ray.is_initialized())


def ray_source(lens: LensCore) -> dict[str, Any]:
    """How each actor loads the model (``lens.source``); ``ValueError`` for an in-memory Lens."""
    if not lens.source:
        raise ValueError(
            "engine='ray' loads the model in every Ray actor by name or folder, and this Lens was built "
            "from objects in memory (lmlens.Lens(model, tokenizer)). Load it with lmlens.load('<embedded "
            "name, hub id or folder>'), e.g. after model.save_pretrained(folder) and "
            "tokenizer.save_pretrained(folder), or use engine=None."
        )
    return dict(lens.source)


#: Read by Ray when it is imported: a local node uses the loopback address (Ray on Linux otherwise
#: binds a "127.0.0.1" node to the machine's own IP).
LOOPBACK_ENV = "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"


def _ray(local: bool):
    if local and "ray" not in sys.modules:
        os.environ.setdefault(LOOPBACK_ENV, "0")
    try:
        import ray
        import ray.data
    except ImportError:
        raise ImportError("engine='ray' needs Ray Data: pip install 'lmlens[ray]'") from None
    return ray


class EmbedActor:
    """One Ray actor: loads the model once, then embeds one window per call."""

    def __init__(self, source: dict[str, Any], opts: EmbedOptions) -> None:
        from ..loading import load_parts
        from .core import LensCore

        source = dict(source)
        name = source.pop("name_or_path")
        hf_kwargs = source.pop("hf_kwargs", {}) or {}
        model, tokenizer, display = load_parts(name, device="cpu", **source, **hf_kwargs)
        self.lens = LensCore(model, tokenizer, name=display, check=False)
        self.opts = opts

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        from .embed_window import embed_window, window_of_lines

        payloads = []
        for r in range(len(batch["start"])):
            start = int(batch["start"][r])
            if "path" in batch:
                window = Window(start=start, offset=int(batch["offset"][r]), count=int(batch["count"][r]))
                out = window_of_lines(self.lens, str(batch["path"][r]), window, self.opts)
            else:
                out = embed_window(self.lens, [str(t) for t in batch["texts"][r]], self.opts)
            payloads.append(pickle.dumps((start, out), protocol=pickle.HIGHEST_PROTOCOL))
        return {"start": np.asarray(batch["start"]), "payload": np.array(payloads, dtype=object)}


#: A local Ray collects no metrics (no dashboard shows them): its raylet then does not wait for the
#: metrics agent, which on a busy machine can start after the raylet's 15 s limit.
LOCAL_SYSTEM_CONFIG = {"enable_metrics_collection": False}


def _init_local(ray, **kwargs) -> None:
    """Start a local Ray on 127.0.0.1; once more if its node misses Ray's fixed 30 s start-up
    deadline (a busy machine)."""
    for attempt in (1, 2):
        try:
            ray.init(_node_ip_address="127.0.0.1", _system_config=LOCAL_SYSTEM_CONFIG, **kwargs)
            return
        except Exception as e:  # Ray raises a bare Exception for the start-up timeout
            ray.shutdown()
            if attempt == 2 or "timed out during startup" not in str(e):
                raise


def ray_windows(
    lens: LensCore,
    opts: EmbedOptions,
    items: list[dict[str, Any]],
    *,
    address: str | None = None,
    actors: int = 2,
) -> Iterator[tuple[int, WindowOut]]:
    """``(start, WindowOut)`` for each window of ``items`` (``{"start", "texts"}`` or ``{"start",
    "path", "offset", "count"}``), in order, computed on ``actors`` Ray actors."""
    source = ray_source(lens)
    actors = check_int("actors", actors)
    if address is not None and not isinstance(address, str):
        raise TypeError(f"address must be a Ray address string such as 'ray://host:10001' or 'auto', got {address!r}")
    if not items:
        return
    ray = _ray(local=not address and not _initialized())
    started = False
    if not ray.is_initialized():
        common = {"include_dashboard": False, "log_to_driver": False, "logging_level": logging.WARNING}
        if address:
            ray.init(address=address, **common)
        else:
            _init_local(ray, num_cpus=max(2, actors), **common)
        started = True
    ctx = ray.data.DataContext.get_current()
    saved = (ctx.execution_options.preserve_order, ctx.enable_progress_bars)
    data_log = logging.getLogger("ray.data")
    level = data_log.level
    try:
        ctx.execution_options.preserve_order = True
        ctx.enable_progress_bars = False
        data_log.setLevel(logging.WARNING)
        ds = ray.data.from_items(items, override_num_blocks=len(items))
        ds = ds.map_batches(
            EmbedActor, fn_constructor_kwargs={"source": source, "opts": opts}, batch_size=1,
            compute=ray.data.ActorPoolStrategy(size=min(actors, len(items))), num_cpus=1,
        )
        for row in ds.iter_rows():
            yield pickle.loads(row["payload"])
    finally:
        ctx.execution_options.preserve_order, ctx.enable_progress_bars = saved
        data_log.setLevel(level)
        if started:
            ray.shutdown()
