// @ts-check
"use strict";
/**
 * The attention view: where each head attends, four ways, over one spec (a switch moves between
 * them; the spec's "mode" picks the first):
 *
 * - heads (views/attention/heads.js): BertViz's head view on a canvas;
 * - model (views/attention/model_grid.js): every layer × head as a thumbnail, detail on hover;
 * - matrix (views/attention/matrix.js): one query × key heatmap with the causal mask shaded;
 * - pair (views/attention/pair.js): attention from one position to another across the layers.
 *
 * The controls (views/attention/controls.js) are shared: layer, head toggles, sentence filter,
 * mass threshold, rollout. The layers' data arrive compressed; they are inflated (the browser's
 * DecompressionStream) before anything is drawn, and the view marks itself `data-lm-ready`.
 *
 * Live (lmlens/views/attention_live.py): the widget's spec holds only the layers shown (the
 * others null). Picking a layer (or a mode) that needs a missing one asks the kernel's "slice"
 * action for it (ui/live.js `request`); the answer is drawn again with the layers received before
 * (kept with `model.set`, like the view's state: mode, layer, heads, filter, mass, rollout, pair).
 *
 * Spec (kind "attention", version 1), written by lmlens/views/attention.py:
 *   tokens: string[n]; generated: uint8 [n]; hidden: uint8 [n] (left out)
 *   weights: one record per layer, uint8 [H, n, n] (codec "deflate"), value = code × scale
 *   rollout: null | one record per layer, uint8 [n, n] (codec "deflate"), value = code / 255
 *   mode, layers: int[L] (block numbers), heads: int[H], n_heads_total, weighting ("attention" | "norm"),
 *   causal, offset (first shown position), n_positions (all), sentence_b_start (-1: one text),
 *   mass (0, 1], pair: [query, key], model_name, title, summary, notices
 */

const { h, showError } = require("../dom.js");
const { formatInt } = require("../format.js");
const { mountView, listenerTable } = require("../ui/listeners.js");
const { segmented } = require("../ui/switch.js");
const { viewHeader, controls } = require("../ui/header.js");
const { readSpec, loadData, missingLayers } = require("./attention/data.js");
const { liveAction, request } = require("../ui/live.js");
const { attentionControls } = require("./attention/controls.js");
const { headView } = require("./attention/heads.js");
const { modelView } = require("./attention/model_grid.js");
const { matrixView } = require("./attention/matrix.js");
const { pairView } = require("./attention/pair.js");

/** Highest spec version this module reads. */
const VERSION = 1;
const MODES = /** @type {[string, string, string][]} */ ([
  ["heads", "heads", "lines from each query to each key, one colour per head"],
  ["model", "model", "every layer × head as a thumbnail"],
  ["matrix", "matrix", "query × key heatmap of one layer"],
  ["pair", "pair", "attention from one token to another across the layers"],
]);

/**
 * A value as the view writes it: attention and rollout as percentages, norms as numbers.
 * @param {string} weighting
 * @returns {(v: number, rollout?: boolean) => string}
 */
function formatter(weighting) {
  return (v, rollout) => {
    if (weighting === "attention" || rollout) {
      const p = v * 100;
      return p === 0 ? "0%" : p < 0.1 ? "<0.1%" : `${p.toFixed(p < 10 ? 1 : 0)}%`;
    }
    return v === 0 ? "0" : v < 0.01 ? v.toExponential(1) : v.toPrecision(3);
  };
}

/**
 * @param {{model: import("../model.js").Model, el: HTMLElement}} ctx
 * @returns {() => void} cleanup
 */
function render({ model, el }) {
  const live = liveAction(model, "slice");
  const spec = readSpec(model, !!live);
  if (live) keepRecords(model, spec);
  let disposed = false;
  /** @type {import("../ui/listeners.js").ListenerTable[]} */
  const subs = [];
  const mode0 = String(model.get("mode") || "heads");
  if (!MODES.some(([m]) => m === mode0)) throw new Error(`attention spec: "mode" must be one of heads, model, matrix, pair; got ${JSON.stringify(mode0)}`);
  const cleanup = mountView(el, "lm-attention", ({ view, listen }) => {
    const weighting = String(model.get("weighting") || "attention");
    const n = spec.n;
    const total = Number(model.get("n_positions") || n);
    const { nodes } = viewHeader(model, {
      title: "Attention",
      meta: [model.get("model_name"), `${spec.layers.length} layers × ${spec.heads.length} heads`,
        `${formatInt(n)}${total > n ? ` of ${formatInt(total)}` : ""} tokens`,
        weighting === "norm" ? "value-weighted ‖α f(x)‖" : "attention weights α"],
    });
    const status = h("p", { className: "lm-foot", text: "Decoding the attention data…" });
    view.append(...nodes.filter(Boolean), status);
    loadData(model, spec).then((d) => {
      if (disposed) return;
      status.remove();
      build(view, listen, d, weighting);
    }).catch((err) => {
      if (!disposed) showError(el.closest(".lmlens-root") || el, err);
    });
  });

  /**
   * @param {HTMLElement} view
   * @param {import("../ui/listeners.js").ListenerTable} listen
   * @param {import("./attention/data.js").AttData} d
   * @param {string} weighting
   */
  function build(view, listen, d, weighting) {
    const pair = /** @type {number[]} */ (model.get("pair") || [d.n - 1, 0]);
    /** @type {import("./attention/controls.js").AttState} */
    const state = {
      mode: mode0, layer: 0, active: d.heads.map(() => true), filter: "all",
      mass: Math.min(1, Math.max(0.05, Number(model.get("mass") || 1))), rollout: false,
      pair: [Math.min(d.n - 1, Math.max(0, pair[0] | 0)), Math.min(d.n - 1, Math.max(0, pair[1] | 0))],
    };
    const kept = live ? model.get("att_state") : null;
    if (kept && kept.active && kept.active.length === d.H && kept.layer >= 0 && kept.layer < d.L) {
      Object.assign(state, kept, { active: [...kept.active], pair: [...kept.pair] });
    }
    /**
     * In a live widget: true when the data for `want` are here; else ask the kernel for the
     * missing layers (the view stays as drawn until the answer redraws it with `want`).
     * @param {typeof state} want
     */
    function have(want) {
      const miss = live ? missingLayers(d, want.mode, want.layer) : [];
      if (!miss.length) return true;
      model.set("att_state", { ...want, active: [...want.active], pair: [...want.pair] });
      const blocks = miss.map((l) => d.layers[l]);
      request(model, "slice", { layers: blocks }, blocks.length > 1 ? `${blocks.length} layers` : `layer ${blocks[0]}`);
      view.setAttribute("data-lm-asked", blocks.join(","));
      return false;
    }
    const fmt = formatter(weighting);
    const width = Math.max(320, Math.round(view.getBoundingClientRect().width) || 900);
    const subTable = () => {
      const t = listenerTable(view);
      subs.push(t);
      return t;
    };
    /** @type {Record<string, {el: HTMLElement, update: (what: string) => void}>} */
    const panels = {};
    const host = h("div", { className: "lm-att-body" });
    /** @type {typeof state} */
    let drawnState = { ...state };
    const ctl = attentionControls({
      d, state, listen,
      onChange(what) {
        if (what === "layer" && !have(state)) {
          state.layer = drawnState.layer;
          ctl.refresh();
          return;
        }
        drawnState = { ...state };
        current().update(what);
      },
    });
    const modeSwitch = segmented({
      label: "view", listen, value: state.mode, options: MODES,
      onChange(v) {
        if (!have({ ...state, mode: v })) {
          modeSwitch.set(state.mode);
          return;
        }
        state.mode = v;
        drawnState = { ...state };
        showMode();
      },
    });
    view.append(controls([modeSwitch.el]), ctl.el, host);

    function current() {
      let p = panels[state.mode];
      if (!p) {
        const o = { d, state, listen, view, fmt, width };
        p = state.mode === "heads" ? headView({ ...o, subTable })
          : state.mode === "model" ? modelView(o)
            : state.mode === "matrix" ? matrixView(o)
              : pairView(o);
        panels[state.mode] = p;
        host.appendChild(p.el);
        return p;
      }
      return p;
    }

    function showMode() {
      ctl.setMode(state.mode);
      const fresh = !panels[state.mode];
      const p = current();
      for (const [m, q] of Object.entries(panels)) q.el.hidden = m !== state.mode;
      if (!fresh) p.update("show");
      view.setAttribute("data-lm-mode", state.mode);
    }
    if (!have(state)) {
      // a saved state whose layers never arrived: draw what is here, ask again for the rest
      state.mode = d.codes.some((c) => !c) ? "matrix" : state.mode;
      state.layer = Math.max(0, d.codes.findIndex((c) => !!c));
      modeSwitch.set(state.mode);
    }
    drawnState = { ...state };
    showMode();
    view.setAttribute("data-lm-ready", "1");
  }

  return () => {
    disposed = true;
    for (const t of subs) t.clear();
    cleanup();
  };
}

/**
 * Live: fill the spec's missing layers from those received before, and keep the ones it holds
 * (UI state of the live widget, never synced; keyed by block number).
 * @param {import("../model.js").Model} model
 * @param {ReturnType<typeof readSpec>} spec
 */
function keepRecords(model, spec) {
  const key = `${spec.n}:${spec.heads.join(",")}`;
  const old = model.get("att_records");
  /** @type {Record<string, {w: any, r: any}>} */
  const got = old && old.key === key ? old.byBlock : {};
  spec.layers.forEach((b, i) => {
    const w = spec.records[i];
    const r = spec.rollRecords ? spec.rollRecords[i] : null;
    if (w) got[b] = { w, r };
    else if (got[b]) {
      spec.records[i] = got[b].w;
      if (spec.rollRecords) spec.rollRecords[i] = got[b].r;
    }
  });
  model.set("att_records", { key, byBlock: got });
}

module.exports = { render, VERSION, formatter, keepRecords };
