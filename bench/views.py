"""Benchmark of the view path: HTML bytes and Chromium load-to-rendered time of the predictions
view at 20 and 500 tokens.

Uses SmolLM2-135M (``lmlens.load("smollm2")``) when its package is installed, else a tiny random
GPT-2 (it says which). Timings come from headless Chromium (Debian ``chromium``), offline, median
of several loads of the saved file: ``rendered`` is when the view's detail panel first exists
(runtime parsed, spec decoded, every token drawn), measured from navigation start.

    .venv/bin/python bench/views.py
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))

RUNS = 5
SIZES = (20, 500)
PARAGRAPH = (
    "The capital of France is Paris, a city on the Seine known for its museums, cafés and "
    "long boulevards. Tokyo, the capital of Japan, is one of the largest cities in the world. "
    "東京は日本の首都で、世界でも有数の大都市です。 Language models read text as tokens and "
    "predict, at every position, a probability for each possible next token. "
)

OBSERVER = """
new MutationObserver((_, obs) => {
  if (document.querySelector('.lmlens-root[data-lm-mounted] .lm-detail[data-lm-index]')) {
    window.__lmRendered = performance.now();
    obs.disconnect();
  }
}).observe(document, {subtree: true, childList: true, attributes: true});
"""


def load_lens():
    import lmlens

    try:
        return lmlens.load("smollm2"), "SmolLM2-135M-Instruct (lmlens.load('smollm2'))"
    except ModuleNotFoundError:
        from tiny import tiny_lens

        return tiny_lens("gpt2"), "tiny random GPT-2 (SmolLM2 package not installed)"


def token_ids(lens, n: int) -> list[int]:
    text = PARAGRAPH
    while len(lens.tokenize(text)) < n:
        text += PARAGRAPH
    return lens.tokenize(text)[:n].tolist()


def chromium_times(path: Path) -> tuple[float, float]:
    """Median (rendered, load event) in ms from navigation start, over RUNS fresh pages."""
    from _common import offline_pages, wait_until

    rendered, loaded = [], []
    for _, page in offline_pages(path, RUNS, OBSERVER):
        wait_until(page, "window.__lmRendered !== undefined", timeout=30)
        rendered.append(page.evaluate("window.__lmRendered"))
        loaded.append(page.evaluate("performance.getEntriesByType('navigation')[0].loadEventEnd"))
    return statistics.median(rendered[1:]), statistics.median(loaded[1:])  # first load: warm-up


def main() -> int:
    from browser import skip_reason

    from lmlens.views import _html

    lens, which = load_lens()
    print(f"model: {which}")
    print(f"runtime: {len(_html.runtime_js().encode()):,} bytes of JS, inlined once per output")
    reason = skip_reason()
    if reason:
        print(f"chromium timings skipped: {reason}")
    print(f"{'tokens':>6}  {'fragment B':>10}  {'page B':>9}  {'B/token':>7}  {'python ms':>9}  {'rendered ms':>11}  {'load ms':>7}")
    with tempfile.TemporaryDirectory() as tmp:
        for n in SIZES:
            ids = token_ids(lens, n)
            trace = lens.trace(ids, points=["logits"])
            t0 = time.perf_counter()
            view = lens.predictions(trace, topk=10)
            fragment = view.to_html()
            page = view.to_html(full_page=True)
            py_ms = (time.perf_counter() - t0) * 1000
            path = Path(tmp) / f"predictions_{n}.html"
            path.write_text(page, encoding="utf-8")
            rendered = loaded = float("nan")
            if not reason:
                rendered, loaded = chromium_times(path)
            nb = len(page.encode())
            print(
                f"{n:>6}  {len(fragment.encode()):>10,}  {nb:>9,}  {nb // n:>7,}  {py_ms:>9.0f}  "
                f"{rendered:>11.0f}  {loaded:>7.0f}"
            )
    print(f"(chromium: median of {RUNS} offline loads; python ms = analysis + spec + both HTML renders)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
