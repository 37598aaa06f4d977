"""The progress bar the lens methods share (tqdm.auto: a notebook bar in notebooks).

>>> progress_bar(False, 100, desc="x", unit="item") is None
True
"""

from __future__ import annotations


def progress_bar(progress, total: int, *, desc: str, unit: str, initial: int = 0):
    """A tqdm bar over ``total`` items, or None. ``progress``: None (shown only if the work lasts
    more than 3 s), True (always), False (never) or a tqdm-like class."""
    if progress is False or total <= 1:
        return None
    if progress is None or progress is True:
        from tqdm.auto import tqdm

        return tqdm(total=total, initial=initial, desc=desc, unit=unit, delay=0 if progress else 3.0)
    return progress(total=total, initial=initial, desc=desc, unit=unit)
