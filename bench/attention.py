"""Benchmark of the attention view: HTML bytes and Chromium load-to-rendered time for MiniLM and
SmolLM2 at 20 and 200 tokens, all layers and heads, model and head views; the head view's hover
redraw time measured in the page; BertViz's ``model_view(..., html_action="return")`` size on the
same MiniLM input when bertviz is importable.

Timings come from headless Chromium (Debian ``chromium``), offline, median of several loads of the
saved file, from navigation start: ``rendered`` is when the view has inflated its data and drawn
its first mode (``.lm-attention[data-lm-ready]``; for the model view that is every thumbnail of
every layer and head on the canvas, drawn before the view says ready, and the grid canvas says
``data-lm-drawn``); ``complete`` is when the head view has also finished its first drawing of every
line (drawn in slices between events on a long text; the model view is complete when rendered).
``hover`` dispatches a mouseover on each query token of the head view in turn and times the
redraw (lines + boxes + detail panel) with the style and layout it causes, median / worst;
``keys`` the median over the key tokens (lines into the key from every query); ``leave`` the
pointer leaving the tokens after a hover (every line shown again: the view keeps its drawing of
every line, so this puts it back rather than drawing ~10^4 lines anew). ``ref`` is a fixed CPU loop
timed in the same page (4M float multiply-adds): ``hover/ref`` stays comparable when the shared
machine is loaded (its load average is printed).

    .venv/bin/python bench/attention.py
    # BertViz beside it without touching the env:
    pip install --no-deps --target /tmp/bertviz_pkg bertviz==1.4.1
    PYTHONPATH=$PWD:/tmp/bertviz_pkg .venv/bin/python bench/attention.py
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))
sys.path.insert(0, str(HERE))

RUNS = 5
SIZES = (20, 200)
MODELS = ("minilm", "smollm2")
VIEWS = ("model", "heads")
BERTVIZ_MB = 131  # measured for issue 10: model_view HTML of a 200-token MiniLM input

OBSERVER = """
new MutationObserver((_, obs) => {
  // rendered: the view has inflated its data and drawn its first mode; the model view draws every
  // thumbnail before it says data-lm-ready, and its grid canvas says data-lm-drawn once they are
  const ready = document.querySelector('.lm-attention[data-lm-ready]');
  const grid = document.querySelector('.lm-att-grid');
  if (window.__lmRendered === undefined && ready && (!grid || grid.hasAttribute('data-lm-drawn'))) {
    window.__lmRendered = performance.now();
  }
  const done = ready && !document.querySelector('.lm-att-lines:not([data-lm-drawn])');
  if (done) {
    window.__lmComplete = performance.now();
    obs.disconnect();
  }
}).observe(document, {subtree: true, childList: true, attributes: true});
"""

HOVER = """() => {
  // one hover: the mouseover handler (lines + boxes + detail panel) and the style and layout it
  // causes (forced here, so they count), for every query token and then every key token
  // a hover whose lines were not all drawn when the handler returned (a slice left for later)
  // would time only part of its work: counted, and printed when any
  let unfinished = 0;
  const lines = document.querySelector('.lm-att-lines');
  const hover = (s) => {
    const t0 = performance.now();
    s.dispatchEvent(new MouseEvent('mouseover', {bubbles: true}));
    void document.body.offsetHeight;
    const t = performance.now() - t0;
    if (!lines.hasAttribute('data-lm-drawn')) unfinished++;
    return t;
  };
  const median = (xs) => xs.slice().sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const queries = Array.from(document.querySelectorAll('.lm-att-left .lm-tok'));
  const keys = Array.from(document.querySelectorAll('.lm-att-right .lm-tok'));
  const q = queries.map(hover);
  const k = keys.map(hover);
  // the pointer leaving the tokens after a hover: every line shown again
  const col = document.querySelector('.lm-att-left');
  const leave = [];
  for (let i = 0; i < 5; i++) {
    queries[i % queries.length].dispatchEvent(new MouseEvent('mouseover', {bubbles: true}));
    const t0 = performance.now();
    col.dispatchEvent(new MouseEvent('mouseleave'));
    void document.body.offsetHeight;
    leave.push(performance.now() - t0);
  }
  // a fixed CPU reference in the same page: 4M sequential float multiply-adds; hover / ref is
  // what stays comparable on a shared, loaded machine
  const buf = new Float32Array(1 << 20);
  const refs = [];
  for (let r = 0; r < 5; r++) {
    const t0 = performance.now();
    for (let j = 0; j < 4; j++) for (let i = 0; i < buf.length; i++) buf[i] = buf[i] * 0.5 + 1;
    refs.push(performance.now() - t0);
  }
  return {median: median(q), worst: Math.max(...q), keys: median(k), leave: median(leave), ref: median(refs), unfinished};
}"""


def chromium_times(path: Path, hover: bool) -> tuple[float, float, dict | None]:
    """Median ms from navigation start to the view's first drawing and to its complete drawing
    (the head view draws every line of a long text in slices), over RUNS fresh pages, and (head
    view) the hover times of the last page (``HOVER``)."""
    from _common import offline_pages, wait_until

    rendered: list[float] = []
    complete: list[float] = []
    redraw = None
    for i, page in offline_pages(path, RUNS, OBSERVER, {"width": 1100, "height": 900}):
        wait_until(page, "window.__lmComplete !== undefined")
        rendered.append(page.evaluate("window.__lmRendered"))
        complete.append(page.evaluate("window.__lmComplete"))
        if hover and i == RUNS:
            redraw = page.evaluate(HOVER)
    # the first load warms the browser: dropped
    return statistics.median(rendered[1:]), statistics.median(complete[1:]), redraw


def bertviz_bytes(lens, ids: list[int]) -> tuple[float | None, str]:
    """BertViz's model_view HTML size in bytes for the same input (None and why when skipped)."""
    try:
        from bertviz import model_view
    except ImportError:
        return None, f"skipped: bertviz is not installed here (issue 10 measured {BERTVIZ_MB} MB at 200 MiniLM tokens)"
    with torch.no_grad():
        out = lens.model(torch.tensor([ids]), output_attentions=True)
    html = model_view(out.attentions, lens.tokenizer.convert_ids_to_tokens(ids), html_action="return")
    size = len(html.data.encode())
    return size, f"{size / 1e6:.1f} MB"


def main() -> int:
    from _common import ids_of_length
    from browser import skip_reason

    import lmlens

    torch.set_num_threads(1)
    reason = skip_reason()
    if reason:
        print(f"chromium timings skipped: {reason}")
    print(f"load average before: {' '.join(f'{x:.1f}' for x in os.getloadavg())} ({os.cpu_count()} cores)")
    print(f"{'model':>8} {'tokens':>6} {'view':>6} {'page MB':>8} {'python s':>8} {'rendered ms':>11} "
          f"{'complete ms':>11} {'hover ms (median / worst)':>26} {'keys ms':>7} {'leave ms':>8} {'ref ms':>6} {'hover/ref':>9}")
    bertviz, bertviz_text, ours = None, "not measured", 0
    with tempfile.TemporaryDirectory() as tmp:
        for name in MODELS:
            lens = lmlens.load(name)
            for n in SIZES:
                ids = ids_of_length(lens.tokenizer, n)
                if name == "minilm" and n == max(SIZES):
                    bertviz, bertviz_text = bertviz_bytes(lens, ids)
                for view in VIEWS:
                    t0 = time.perf_counter()
                    v = lens.attention(ids, view=view)
                    page = v.to_html(full_page=True)
                    py = time.perf_counter() - t0
                    path = Path(tmp) / f"{name}_{n}_{view}.html"
                    path.write_text(page, encoding="utf-8")
                    if name == "minilm" and n == max(SIZES) and view == "model":
                        ours = len(page.encode())
                    rendered, complete, redraw = float("nan"), float("nan"), None
                    if not reason:
                        rendered, complete, redraw = chromium_times(path, hover=view == "heads")
                    hov = f"{redraw['median']:.1f} / {redraw['worst']:.1f}" if redraw else "-"
                    keys = f"{redraw['keys']:.1f}" if redraw else "-"
                    leave = f"{redraw['leave']:.1f}" if redraw else "-"
                    ref = f"{redraw['ref']:.1f}" if redraw else "-"
                    ratio = f"{redraw['median'] / redraw['ref']:.1f}" if redraw else "-"
                    print(f"{name:>8} {n:>6} {view:>6} {len(page.encode()) / 1e6:>8.2f} {py:>8.2f} {rendered:>11.0f} "
                          f"{complete:>11.0f} {hov:>26} {keys:>7} {leave:>8} {ref:>6} {ratio:>9}", flush=True)
                    if redraw and redraw["unfinished"]:
                        print(f"         ({redraw['unfinished']} hovers left lines to draw after their handler: "
                              "their times above are partial)")
    ratio = f" ({bertviz / ours:.0f}× the lmlens model view's {ours / 1e6:.2f} MB)" if bertviz else ""
    print(f"BertViz model_view, MiniLM, {max(SIZES)} tokens: {bertviz_text}{ratio}")
    print(f"load average after: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    print(f"(chromium: median of {RUNS} offline loads, 1100×900 viewport; python s = capture + analysis + spec + page; "
          "targets at 200 tokens: ≤ 3 MB, < 1 s rendered, hover < 50 ms)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
