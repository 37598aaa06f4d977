"""Shared bench helpers: interleaved timing (min of rounds), peak-RSS sampling, and fresh offline
Chromium pages for load-time measurements."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

PASSAGE = (
    "The history of the city begins with a small settlement on the river, where traders met to "
    "exchange salt, grain and cloth. Over the centuries the town grew into a capital of art and "
    "science, and its libraries drew scholars from every part of the continent. "
)


def ids_of_length(tokenizer, n: int) -> list[int]:
    """``n`` real token ids from a repeated English passage."""
    ids: list[int] = []
    while len(ids) < n:
        ids += tokenizer(PASSAGE)["input_ids"]
    return ids[:n]


def interleaved(fns: dict[str, Callable[[], object]], rounds: int, warmup: int = 1) -> dict[str, float]:
    """Run each function once per round, in turn; return the min seconds of each."""
    for _ in range(warmup):
        for f in fns.values():
            f()
    best = {k: float("inf") for k in fns}
    for _ in range(rounds):
        for k, f in fns.items():
            t0 = time.perf_counter()
            f()
            best[k] = min(best[k], time.perf_counter() - t0)
    return best


def rss() -> int:
    """Resident set size of this process in bytes (Linux /proc)."""
    with open(f"/proc/{os.getpid()}/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def rss_anon() -> int:
    """Anonymous resident memory of this process in bytes (``RssAnon``: not memory-mapped files,
    not the page cache)."""
    with open(f"/proc/{os.getpid()}/status") as fh:
        for line in fh:
            if line.startswith("RssAnon:"):
                return int(line.split()[1]) * 1024
    return 0


def peak_extra_rss(fn: Callable[[], object], interval: float = 0.0005,
                   measure: Callable[[], int] = rss) -> tuple[object, int]:
    """``(result, peak of ``measure`` (default: RSS) above the start, in bytes)`` sampled in a
    thread while ``fn`` runs."""
    base = measure()
    peak = [base]
    stop = threading.Event()

    def sample():
        while not stop.is_set():
            peak[0] = max(peak[0], measure())
            time.sleep(interval)

    th = threading.Thread(target=sample, daemon=True)
    th.start()
    try:
        out = fn()
    finally:
        stop.set()
        th.join()
    return out, max(0, peak[0] - base)


def wait_until(page, expression: str, timeout: float = 60.0) -> None:
    """Poll ``expression`` in the page (``wait_for_function`` evaluates strings, which the view's
    Content-Security-Policy forbids); the times themselves are taken inside the page."""
    end = time.monotonic() + timeout
    while not page.evaluate(expression):
        if time.monotonic() > end:
            raise TimeoutError(f"timed out waiting for {expression}")
        time.sleep(0.01)


def offline_pages(path: Path, runs: int, init_script: str, viewport: dict | None = None) -> Iterator[tuple[int, object]]:
    """``runs + 1`` fresh offline Chromium pages on ``path`` (the first warms the browser: drop
    its timings), each with ``init_script`` added, every other request aborted, navigated and
    loaded; yields ``(i, page)`` and raises if the page threw. Needs tests/ on ``sys.path``.

        for i, page in offline_pages(html, 5, OBSERVER):
            times.append(page.evaluate("window.__lmRendered"))
    """
    from browser import CHROMIUM_ARGS, chromium_path
    from playwright.sync_api import sync_playwright

    url = Path(path).resolve().as_uri()
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS, headless=True)
        try:
            for i in range(runs + 1):
                ctx = b.new_context(offline=True, viewport=viewport or {"width": 1280, "height": 720})
                try:
                    page = ctx.new_page()
                    errors: list[str] = []
                    page.on("pageerror", lambda e, errors=errors: errors.append(str(e)))
                    page.route("**/*", lambda r: r.continue_() if r.request.url == url else r.abort())
                    page.add_init_script(init_script)
                    page.goto(url, wait_until="load")
                    yield i, page
                    if errors:
                        raise RuntimeError(f"page errors: {errors}")
                finally:
                    ctx.close()
        finally:
            b.close()
