"""Vector files written window by window: never half-written, resumable, with a JSON sidecar.

Row ``i`` of the output is line ``i + 1`` of the input. A ``.npy`` output is a memory-mapped
``(n_lines, dim)`` float32 array (a skipped line is a row of NaN); a ``.parquet`` output has a
``line`` column and ``vector`` (pooled: ``fixed_size_list<float32>[dim]``, null for a skipped line)
or ``vectors`` + ``offsets`` (``pooling="none"``: one vector and character span per token).

While a run is under way only partial files exist beside the output (``<output>.partial`` and
``<output>.partial.json``, the state: the run's options and the windows done). Each window is
written and flushed before the state names it, so a run that stops (Ctrl-C, a crash, a full disk)
resumes at the first window not done when started again with the same input and options. The
output and its sidecar ``<output>.json`` appear, by rename, only when every window is done.

>>> out = open_output("/tmp/v.npy", {"model": "m"}, n_rows=3)  # doctest: +SKIP
>>> out.write(0, np.ones((3, 4), np.float32), []); out.finish({})  # doctest: +SKIP
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

OUTPUT_SUFFIXES = {".npy": "npy", ".parquet": "parquet"}
STATE_VERSION = 1


def output_kind(path: str | os.PathLike) -> str:
    """``"npy"`` or ``"parquet"`` from the output's suffix; ``ValueError`` otherwise."""
    suffix = Path(path).suffix.lower()
    if suffix not in OUTPUT_SUFFIXES:
        raise ValueError(f"output must end in .npy or .parquet, got {Path(path).name!r}")
    return OUTPUT_SUFFIXES[suffix]


def sidecar_path(path: str | os.PathLike) -> Path:
    """``vectors.npy`` → ``vectors.npy.json`` (the options, the model and the skipped lines)."""
    p = Path(path)
    return p.with_name(p.name + ".json")


def _write_json(path: Path, data: Mapping[str, Any]) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(data, fh, ensure_ascii=False, indent=1)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def _pyarrow():
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        raise ImportError("Parquet output needs pyarrow: pip install 'lmlens[ray]' (or pyarrow), "
                          "or write a .npy") from None
    return pa, pq


class OutputFile:
    """An output being written (``open_output`` makes one): ``write`` each window, then ``finish``.

    ``done`` maps each finished window's first line index to its line count; ``skipped`` lists
    ``{"line": n, "error": why}`` for the lines written so far that were skipped.
    """

    def __init__(self, path: Path, meta: dict, n_rows: int, *, per_token: bool, state: dict | None) -> None:
        self.path = path
        self.kind = output_kind(path)
        self.meta = meta
        self.n_rows = int(n_rows)
        self.per_token = per_token
        if per_token and self.kind == "npy":
            raise ValueError("pooling='none' gives one vector per token, a different number per line: "
                             "write it to an output ending in .parquet")
        self.partial = path.with_name(path.name + ".partial")
        self.state_path = path.with_name(path.name + ".partial.json")
        self.resumed = state is not None
        st = state or {}
        self.done: dict[int, int] = {int(k): int(v) for k, v in st.get("done", {}).items()}
        self.skipped: list[dict] = list(st.get("skipped", []))
        self.dim: int | None = st.get("dim")
        self._mm: np.memmap | None = None
        if not self.resumed:
            self._clear()
            self._save_state()

    # ---- state ---------------------------------------------------------------------------
    @property
    def lines_done(self) -> int:
        """Lines of the finished windows."""
        return sum(self.done.values())

    def _save_state(self) -> None:
        _write_json(self.state_path, {
            "version": STATE_VERSION, "meta": self.meta, "rows": self.n_rows, "dim": self.dim,
            "done": {str(k): v for k, v in sorted(self.done.items())}, "skipped": self.skipped,
        })

    def _clear(self) -> None:
        if self.partial.is_dir():
            shutil.rmtree(self.partial)
        elif self.partial.exists():
            self.partial.unlink()

    def discard(self) -> None:
        """Remove every partial file (the output is left as it was before the run)."""
        self._mm = None
        self._clear()
        if self.state_path.exists():
            self.state_path.unlink()

    # ---- rows ----------------------------------------------------------------------------
    def write(self, start: int, rows: np.ndarray | Sequence, errors: Sequence[tuple[int, str]],
              offsets: Sequence | None = None) -> None:
        """Write the window of lines ``start .. start + len(rows) - 1`` (0-based) and record it done.

        ``rows``: pooled, a ``(count, dim)`` float array with NaN rows for skipped lines; per token,
        a list of ``(n_tokens, dim)`` arrays (None for a skipped line) with ``offsets`` alike.
        ``errors``: ``(line index, why)`` of the skipped lines."""
        count = len(rows)
        if start < 0 or start + count > self.n_rows:
            raise ValueError(f"rows {start}..{start + count - 1} lie outside the output's {self.n_rows} rows")
        if self.kind == "npy":
            self._write_npy(start, np.asarray(rows, dtype=np.float32))
        else:
            self._write_parquet(start, rows, offsets, {i for i, _ in errors})
        self.done[int(start)] = count
        self.skipped.extend({"line": int(i) + 1, "error": str(why)} for i, why in errors)
        self._save_state()

    def _write_npy(self, start: int, rows: np.ndarray) -> None:
        if rows.ndim != 2:
            raise ValueError(f"rows must be (count, dim), got shape {rows.shape}")
        if self._mm is None:
            if self.dim is None:
                self.dim = int(rows.shape[1])
                self._mm = np.lib.format.open_memmap(self.partial, mode="w+", dtype=np.float32,
                                                     shape=(self.n_rows, self.dim))
            else:
                self._mm = np.load(self.partial, mmap_mode="r+")
        if rows.shape[1] != self.dim:
            raise ValueError(f"rows have {rows.shape[1]} columns, the output {self.dim}")
        self._mm[start:start + len(rows)] = rows
        self._mm.flush()

    def _write_parquet(self, start: int, rows, offsets, skipped: set[int]) -> None:
        pa, pq = _pyarrow()
        lines = pa.array(np.arange(start + 1, start + len(rows) + 1, dtype=np.int64))
        if self.per_token:
            dim = next((int(np.asarray(r).shape[1]) for r in rows if r is not None), self.dim)
            vec_t = pa.list_(pa.list_(pa.float32(), dim or 1))
            off_t = pa.list_(pa.list_(pa.int32(), 2))
            vecs = pa.array([None if r is None else np.asarray(r, np.float32).tolist() for r in rows], type=vec_t)
            offs = pa.array([None if o is None else np.asarray(o, np.int32).tolist() for o in offsets], type=off_t)
            table = pa.table({"line": lines, "vectors": vecs, "offsets": offs})
        else:
            rows = np.asarray(rows, dtype=np.float32)
            dim = int(rows.shape[1])
            flat = pa.array(rows.reshape(-1))
            mask = pa.array([start + j in skipped for j in range(len(rows))])
            vec = pa.FixedSizeListArray.from_arrays(flat, dim, mask=mask)
            table = pa.table({"line": lines, "vector": vec})
        if self.dim is None:
            self.dim = dim
        elif dim and dim != self.dim:
            raise ValueError(f"rows have {dim} columns, the output {self.dim}")
        self.partial.mkdir(exist_ok=True)
        part = self.partial / f"part-{start:012d}.parquet"
        tmp = self.partial / f".{part.name}.tmp"
        pq.write_table(table, tmp)
        os.replace(tmp, part)

    # ---- the end -------------------------------------------------------------------------
    def missing(self) -> int:
        """Rows not written yet."""
        return self.n_rows - self.lines_done

    def finish(self, extra: Mapping[str, Any]) -> Path:
        """Put the output and its sidecar in place (renames) and remove the partial files."""
        if self.missing():
            raise RuntimeError(f"{self.missing()} rows of {self.n_rows} are not written yet")
        side = {**self.meta, **extra, "rows": self.n_rows, "dim": self.dim,
                "rows_are": "row i is line i + 1 of the input; a skipped line is "
                            + ("a row of NaN" if self.kind == "npy" else "a null vector"),
                "skipped": sorted(self.skipped, key=lambda s: s["line"])}
        side_tmp = sidecar_path(self.path).with_name(f".{sidecar_path(self.path).name}.tmp")
        _write_json(side_tmp, side)
        try:
            if self.kind == "npy":
                if self._mm is not None:
                    self._mm.flush()
                    self._mm = None
                os.replace(self.partial, self.path)
            else:
                self._merge_parquet()
            os.replace(side_tmp, sidecar_path(self.path))
        finally:
            if side_tmp.exists():
                side_tmp.unlink()
        self.discard()
        return self.path

    def _merge_parquet(self) -> None:
        pa, pq = _pyarrow()
        parts = sorted(self.partial.glob("part-*.parquet"))
        fd, tmp = tempfile.mkstemp(prefix=f".{self.path.name}.", dir=self.path.parent)
        os.close(fd)
        try:
            writer = None
            for part in parts:  # one window in memory at a time
                table = pq.read_table(part)
                if writer is None:
                    writer = pq.ParquetWriter(tmp, table.schema)
                writer.write_table(table)
            if writer is not None:
                writer.close()
            os.replace(tmp, self.path)
        finally:
            if os.path.exists(tmp):
                os.remove(tmp)


def open_output(path: str | os.PathLike, meta: Mapping[str, Any], n_rows: int, *,
                per_token: bool = False) -> OutputFile:
    """The output at ``path`` for a run described by ``meta`` (JSON-able: input, model, options):
    resumed when partial files of a run with the same ``meta`` exist, else started afresh (older
    partial files are removed). ``n_rows``: the input's line count."""
    p = Path(path).expanduser()
    output_kind(p)
    state_path = p.with_name(p.name + ".partial.json")
    state = None
    if state_path.exists():
        try:
            st = json.loads(state_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            st = None
        partial = p.with_name(p.name + ".partial")
        if (isinstance(st, dict) and st.get("version") == STATE_VERSION
                and st.get("meta") == json.loads(json.dumps(dict(meta))) and st.get("rows") == n_rows
                and (partial.exists() or not st.get("done"))):
            state = st
    return OutputFile(p, json.loads(json.dumps(dict(meta))), n_rows, per_token=per_token, state=state)
