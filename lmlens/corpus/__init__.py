"""Corpora on disk: a text file read as numbered lines in windows, and the vector files written
from them (a memory-mapped ``.npy`` or Parquet, a JSON sidecar, resumable, never half-written).

This part imports nothing else of lmlens: ``lens.embed_file`` (and ``lmlens embed``) read with
``lines`` and write with ``writers``; the Ray engine's actors read their windows with ``lines`` too.

>>> from lmlens.corpus import scan  # doctest: +SKIP
>>> scan("input.txt").n_lines  # doctest: +SKIP
6343
"""

from .lines import InputError, Scan, Window, read_window, scan
from .writers import OUTPUT_SUFFIXES, OutputFile, open_output, output_kind, sidecar_path

__all__ = [
    "OUTPUT_SUFFIXES", "InputError", "OutputFile", "Scan", "Window", "open_output", "output_kind",
    "read_window", "scan", "sidecar_path",
]
