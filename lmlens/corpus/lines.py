"""A text file as numbered lines, read in windows: one scan checks the file and indexes it,
then any process (this one, a Ray actor) reads a window of lines by byte offset.

A line ends at ``\\n`` (a trailing ``\\r`` is dropped); a last line without ``\\n`` counts. Lines are
numbered from 1. A line that is not valid UTF-8 or holds only whitespace comes back as an error
naming why, and the caller skips it; a file that is missing, empty or binary (a NUL byte anywhere)
is refused as a whole by ``scan``, before anything runs.

>>> import tempfile, os
>>> path = os.path.join(tempfile.mkdtemp(), "in.txt")
>>> _ = open(path, "wb").write("one\\n\\nthree \\xff\\n日本\\n".encode("utf-8", "surrogateescape"))
>>> s = scan(path, window_lines=2)
>>> s.n_lines, [(w.start, w.count) for w in s.windows]
(4, [(0, 2), (2, 2)])
>>> read_window(path, s.windows[0])
[('one', None), (None, 'empty line')]
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

#: Lines per window: the unit a run embeds, writes and resumes at (and a Ray actor's task).
WINDOW_LINES = 2048
_CHUNK = 1 << 20
_BOM = b"\xef\xbb\xbf"


class InputError(ValueError):
    """The input file as a whole cannot be read as lines of text (missing, empty, binary)."""


@dataclass(frozen=True)
class Window:
    """``count`` lines starting at line index ``start`` (0-based; line number ``start + 1``),
    at byte ``offset`` of the file."""

    start: int
    offset: int
    count: int


@dataclass(frozen=True)
class Scan:
    """What one pass over the input found: its size, line count, content hash and windows."""

    path: str
    size: int
    n_lines: int
    sha256: str
    windows: tuple[Window, ...]


def scan(path: str | os.PathLike, *, window_lines: int = WINDOW_LINES) -> Scan:
    """Check ``path`` and index it in windows of ``window_lines`` lines (one pass, O(1) memory
    per chunk). ``InputError`` for a missing, empty or binary file."""
    if isinstance(window_lines, bool) or not isinstance(window_lines, int) or window_lines < 1:
        raise ValueError(f"window_lines must be a positive int, got {window_lines!r}")
    p = Path(path).expanduser()
    if not p.exists():
        raise InputError(f"input: no file at {str(p)!r}")
    if not p.is_file():
        raise InputError(f"input: {str(p)!r} is not a file")
    size = p.stat().st_size
    if size == 0:
        raise InputError(f"input: {str(p)!r} is empty; give a UTF-8 text file with one text per line")
    digest = hashlib.sha256()
    starts = [0]  # byte offset of the first line of each window
    newlines = 0
    last = b""
    pos = 0
    with open(p, "rb") as fh:
        while chunk := fh.read(_CHUNK):
            nul = chunk.find(b"\x00")
            if nul >= 0:
                raise InputError(
                    f"input: {str(p)!r} looks binary (a NUL byte at byte {pos + nul:,}); give a "
                    "UTF-8 text file with one text per line"
                )
            digest.update(chunk)
            at = np.flatnonzero(np.frombuffer(chunk, dtype=np.uint8) == 10)
            # line index newlines + j + 1 starts after the j-th newline of this chunk
            first = newlines + 1
            k = -(-first // window_lines) * window_lines  # the next window boundary >= first
            while k <= newlines + len(at):
                starts.append(pos + int(at[k - first]) + 1)
                k += window_lines
            newlines += len(at)
            pos += len(chunk)
            last = chunk[-1:]
    n_lines = newlines + (0 if last == b"\n" else 1)
    starts = [s for s in starts if s < size]
    windows = tuple(
        Window(start=i * window_lines, offset=off, count=min(window_lines, n_lines - i * window_lines))
        for i, off in enumerate(starts)
    )
    return Scan(path=str(p.resolve()), size=size, n_lines=n_lines, sha256=digest.hexdigest(), windows=windows)


def decode_line(raw: bytes) -> tuple[str | None, str | None]:
    """``(text, None)`` for a usable line, else ``(None, why)``.

    >>> decode_line(b"caf\\xc3\\xa9\\r"), decode_line(b"ab\\xffc")
    (('café', None), (None, 'not valid UTF-8 (byte 0xff at column 3)'))
    """
    raw = raw[:-1] if raw.endswith(b"\r") else raw
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        column = len(raw[: e.start].decode("utf-8", errors="replace")) + 1
        return None, f"not valid UTF-8 (byte 0x{raw[e.start]:02x} at column {column})"
    if not text.strip():
        return None, "empty line"
    return text, None


def read_window(path: str | os.PathLike, window: Window) -> list[tuple[str | None, str | None]]:
    """The lines of ``window``, each ``(text, None)`` or ``(None, why it is skipped)``."""
    out: list[tuple[str | None, str | None]] = []
    with open(path, "rb") as fh:
        fh.seek(window.offset)
        for j in range(window.count):
            raw = fh.readline()
            if raw.endswith(b"\n"):
                raw = raw[:-1]
            if window.offset == 0 and j == 0 and raw.startswith(_BOM):
                raw = raw[len(_BOM):]
            out.append(decode_line(raw))
    return out
