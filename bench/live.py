"""Live attribution in a real JupyterLab page: click on a generated token → attribution drawn.

SmolLM2-135M (1 torch thread), a 20-token prompt and 8 generated tokens. A JupyterLab server
(127.0.0.1, this venv's kernel; tests/jupyter_app.py) runs a notebook with two live widgets,
``lens.attribution(gen, method=..., live=True)`` for saliency and integrated gradients (n_steps=50,
attr_target="prob" so δ stays small); each computes only the last generated token up front. In
Chromium, each other generated token is clicked in turn and timed inside the page, from the
click to the moment the view has drawn that token as a pinned target (a MutationObserver on the
widget). Reported per method: click-to-draw (median, min, max over the clicks), the kernel's own
compute time for the click (from the widget's reply), the rest (messages + drawing), and the
bytes the page received over the kernel websocket per click (every frame: the new spec, the
reply, busy/idle status), next to the size of the new spec as JSON. For scale: the static view
attributes every generated token up front, timed in the same kernel.

    .venv/bin/python bench/live.py            # ~3 min here
    .venv/bin/python bench/live.py --clicks 3

Target: saliency click-to-draw < 1 s on this machine.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests"), str(ROOT / "bench")]

from browser import chromium  # noqa: E402
from jupyter_app import (  # noqa: E402
    cell,
    jupyter_server,
    kernel_json,
    notebook_json,
    open_notebook,
    run_all,
    skip_reason,
    stdout_json,
)

N_PROMPT, N_NEW = 20, 8
SETUP = f"""\
import sys
sys.path.insert(0, {str(ROOT / "bench")!r})
import json, time, torch, transformers
torch.set_num_threads(1)
transformers.logging.set_verbosity_error()
import lmlens
from _common import ids_of_length
lens = lmlens.load("smollm2")
gen = lens.generate(ids_of_length(lens.tokenizer, {N_PROMPT}), max_new_tokens={N_NEW})
t0 = time.perf_counter(); lens.attribution(gen, method="saliency", progress=False); t_sal = time.perf_counter() - t0
t0 = time.perf_counter(); lens.attribution(gen, method="integrated_gradients", attr_target="prob", progress=False)
t_ig = time.perf_counter() - t0
lens.stored_attributions(gen).clear()  # the live widgets below start from the last token only
print(json.dumps({{"tokens": len(gen.tokens), "generated": [int(i) for i in gen.generated.nonzero()[0]],
                  "static_saliency_s": t_sal, "static_ig_s": t_ig, "torch_threads": torch.get_num_threads()}}))
"""
CELLS = [
    SETUP,
    "ws = lens.attribution(gen, method='saliency', live=True)\nws",
    "wi = lens.attribution(gen, method='integrated_gradients', attr_target='prob', live=True)\nwi",
]
METHODS = {"saliency": 1, "integrated_gradients": 2}

#: In the page: click token `p` of the widget in cell `i`; resolve with the ms until the view has
#: drawn it as a pinned target, and the kernel's seconds from the status line (bounded wait).
CLICK = """([i, p, limitMs]) => new Promise((resolve, reject) => {
  const cell = document.querySelectorAll('.jp-Notebook .jp-Cell')[i];
  const live = cell.querySelector('.lm-live');
  const replies = Number(live.getAttribute('data-lm-replies') || 0);
  const done = () => {
    const tok = live.querySelector('.lm-tok[data-i="' + p + '"]');
    return tok && tok.classList.contains('lm-target') && tok.classList.contains('lm-locked')
      && Number(live.getAttribute('data-lm-replies') || 0) > replies;
  };
  const tok = live.querySelector('.lm-tok[data-i="' + p + '"]');
  if (!tok || !tok.classList.contains('lm-askable')) { reject(new Error('token ' + p + ' is not askable')); return; }
  let t0 = 0;
  const obs = new MutationObserver(() => {
    const status = live.querySelector('.lm-live-status');
    if (status && status.classList.contains('lm-live-bad')) {
      obs.disconnect(); clearTimeout(timer); reject(new Error(status.textContent));
    }
    if (!done()) return;
    const ms = performance.now() - t0;
    obs.disconnect(); clearTimeout(timer);
    const m = /computed in ([\\d.]+) s/.exec(live.querySelector('.lm-live-status').textContent);
    resolve({ms, kernel_s: m ? Number(m[1]) : null});
  });
  const timer = setTimeout(() => { obs.disconnect(); reject(new Error('no draw in ' + limitMs + ' ms')); }, limitMs);
  obs.observe(live, {subtree: true, attributes: true, childList: true, characterData: true});
  t0 = performance.now();
  tok.click();
})"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--clicks", type=int, default=N_NEW - 1, help="generated tokens clicked per method")
    ap.add_argument("--shots", type=Path, default=None, help="folder for screenshots of the widgets")
    args = ap.parse_args()
    reason = skip_reason("lab")
    if reason:
        sys.exit(f"bench/live.py cannot run: {reason}")
    import anywidget
    import ipywidgets
    import jupyterlab
    import torch

    with tempfile.TemporaryDirectory(prefix="lmlens-bench-live-") as tmp:
        with jupyter_server("lab", Path(tmp)) as server, chromium() as browser:
            (server.root / "bench.ipynb").write_text(json.dumps(notebook_json(CELLS)))
            print(f"JupyterLab {jupyterlab.__version__}, anywidget {anywidget.__version__}, ipywidgets "
                  f"{ipywidgets.__version__}, Chromium {browser.version}, torch {torch.__version__}")
            with open_notebook(browser, server, "bench.ipynb") as (page, log):
                run_all(page, timeout=600_000)
                info = stdout_json(page, 0)
                gen = info["generated"]
                print(f"SmolLM2-135M, {N_PROMPT}-token prompt + {len(gen)} generated tokens "
                      f"({info['tokens']} in all), kernel torch threads: {info['torch_threads']}")
                print(f"static view, every generated token up front: saliency {info['static_saliency_s']:.2f} s, "
                      f"integrated gradients {info['static_ig_s']:.2f} s\n")
                print(f"{'method':22s} {'click→draw median':>17s} {'min':>6s} {'max':>6s} "
                      f"{'kernel':>7s} {'rest':>6s} {'bytes/click':>11s} {'spec JSON':>9s}")
                rows = []
                for method, i in METHODS.items():
                    live = cell(page, i).locator(".lm-live")
                    live.locator(".lm-attribution").wait_for(timeout=300_000)
                    ms, kernel, received = [], [], []
                    for p in gen[:-1][: args.clicks]:
                        before = len(log.frames_received)
                        r = page.evaluate(CLICK, [i, p, 300_000])
                        page.wait_for_timeout(300)  # the idle status after the reply
                        ms.append(r["ms"])
                        kernel.append(r["kernel_s"] * 1000 if r["kernel_s"] is not None else float("nan"))
                        received.append(sum(log.frames_received[before:]))
                    rows.append((method, ms, kernel, received))
                    if args.shots:
                        args.shots.mkdir(parents=True, exist_ok=True)
                        live.scroll_into_view_if_needed()
                        page.screenshot(path=str(args.shots / f"live-{method}.png"))
                sizes = kernel_json(page, "print(json.dumps({'saliency': len(json.dumps(ws.spec)),"
                                    " 'integrated_gradients': len(json.dumps(wi.spec))}))", len(CELLS))
                for method, ms, kernel, received in rows:
                    med = statistics.median(ms)
                    k = statistics.median(kernel)
                    print(f"{method:22s} {med:14.0f} ms {min(ms):6.0f} {max(ms):6.0f} {k:5.0f}ms "
                          f"{med - k:4.0f}ms {statistics.median(received):11,.0f} {sizes[method]:9,d}")
                assert log.requests == [], log.requests
                print(f"\nrequests outside 127.0.0.1: {len(log.requests)}; page errors: {len(log.errors)}")
    print("target: saliency click-to-draw < 1 s")


if __name__ == "__main__":
    t0 = time.perf_counter()
    main()
    print(f"({time.perf_counter() - t0:.0f} s)")
