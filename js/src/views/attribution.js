// @ts-check
"use strict";
/**
 * The attribution view (ecco's hover view, plus a heatmap): the text, where hovering a target
 * token (dashed underline) shades every token before it by its attribution to that target; a
 * click pins the target (click again, Unpin or Escape releases; arrow keys move between
 * targets). Switches choose the method (when several were computed) and the scores: "share"
 * (L2 norm over the hidden dimension, each target's row summing to 100 %) or "signed" (sum over
 * the hidden dimension; blue pushes the target's log-probability up, orange down). Below, a
 * target × source heatmap of every step; hovering a cell reads it, clicking a row pins that
 * target. Integrated gradients show their convergence delta; DeepLift shows its note.
 *
 * Live (a widget whose kernel offers the action "attribute", ui/live.js): every other token that
 * may be a target (`positions` in the action's info) is marked (dotted underline); a click asks
 * the kernel for that target's attribution, and the new spec comes back with it added and
 * `focus` on it, which is then shown pinned. The chosen method and scores stay across redraws.
 *
 * Spec (kind "attribution", version 1), written by lmlens/views/attribution.py:
 *   tokens: string[n]                 display strings of the whole sequence
 *   generated: uint8 [n]              1 where lens.generate produced the token
 *   targets: int32 [m]                position of each target token in `tokens`
 *   target_logprobs: float32 [m]      log p(target | tokens before it)
 *   spans: int32 [s, 2]               [start, end) token positions of each source (token or word)
 *   grouping: "token" | "word"
 *   methods: [{name, label, scores: float32 [m, s], norms: float32 [m, s],
 *              attr_target: "log_prob" | "prob" (what f is), values: float32 [m] f(x),
 *              delta: float32 [m] | null, baseline_values: float32 [m] | null f(baseline),
 *              note, params}]
 *   n_targets (before any size-budget cut), model_name, title, summary, notices: string[]
 *   focus: int (optional)            position of a target to show pinned first
 */

const { decode, row } = require("../decode.js");
const { diverging, sequential, shareColor, gradient } = require("../color.js");
const { formatProb, visibleToken, formatInt, formatSigned } = require("../format.js");
const { h } = require("../dom.js");
const { mountView } = require("../ui/listeners.js");
const { arrOf, expectShape, tokenLabels } = require("../ui/spec.js");
const { pinState } = require("../ui/pin.js");
const { tokenStrip } = require("../ui/token_strip.js");
const { chip } = require("../ui/token_text.js");
const { detailPanel } = require("../ui/detail.js");
const { legend } = require("../ui/legend.js");
const { segmented } = require("../ui/switch.js");
const { viewHeader, controls } = require("../ui/header.js");
const { liveAction, request } = require("../ui/live.js");

/** Highest spec version this module reads. */
const VERSION = 1;
/** Sources listed under the text for the shown target. */
const TOP = 6;
/** Heatmap: widest / narrowest cell, row height, and label widths (CSS px). */
const CELL_MAX = 22;
const CELL_MIN = 3;
const ROW_H = 16;
const LABEL_W = 96;
const HEADER_H = 64;

const SCALES = {
  share: { lo: "0", hi: "largest share", gradient: gradient((t) => shareColor(Math.max(0.001, t)), 3) },
  signed: { lo: "lowers", hi: "", gradient: gradient((t) => diverging(2 * t - 1), 3) },
};

/**
 * @param {import("../model.js").Model} model
 */
function read(model) {
  /** @type {string[]} */
  const tokens = model.get("tokens");
  const labels = tokenLabels(model);
  const n = tokens.length;
  const targets = arrOf(model, "targets", [-1]).data;
  const m = targets.length;
  const spans = arrOf(model, "spans", [-1, 2]);
  const s = spans.shape[0];
  /** @type {any[]} */
  const raw = model.get("methods") || [];
  if (!raw.length) throw new Error("attribution spec: no methods");
  const methods = raw.map((r) => ({
    name: String(r.name),
    label: String(r.label || r.name),
    scores: expectShape(model, `${r.name} scores`, decode(r.scores), [m, s]),
    norms: expectShape(model, `${r.name} norms`, decode(r.norms), [m, s]),
    delta: r.delta ? decode(r.delta).data : null,
    steps: r.steps ? decode(r.steps).data : null,
    f: r.attr_target === "prob" ? "p" : "log p",
    values: r.values ? decode(r.values).data : null,
    base: r.baseline_values ? decode(r.baseline_values).data : null,
    note: String(r.note || ""),
    params: r.params || {},
  }));
  /** source index of each token (-1: not a source) */
  const sourceOf = new Int32Array(n).fill(-1);
  const spanStart = new Int32Array(s);
  /** @type {string[]} */
  const spanText = [];
  for (let k = 0; k < s; k++) {
    const [a, b] = row(spans, k);
    spanStart[k] = a;
    spanText.push(b - a === 1 ? labels[a] : tokens.slice(a, b).join("") || labels.slice(a, b).join(""));
    for (let i = a; i < b && i < n; i++) sourceOf[i] = k;
  }
  /** target index of each token (-1: not a target) */
  const targetOf = new Int32Array(n).fill(-1);
  targets.forEach((p, j) => {
    if (p < 0 || p >= n) throw new Error(`attribution spec: target position ${p} outside ${n} tokens`);
    targetOf[p] = j;
  });
  const live = liveAction(model, "attribute");
  /** positions a click may ask the kernel to attribute (live widgets only) */
  const askable = new Uint8Array(n);
  if (live && Array.isArray(live.positions)) {
    for (const p of live.positions) if (p >= 1 && p < n && targetOf[p] < 0) askable[p] = 1;
  }
  const focus = Number(model.get("focus"));
  return {
    tokens, labels, n, targets, m, s, methods, sourceOf, spanStart, spanText, targetOf, askable,
    focusTarget: Number.isInteger(focus) && focus >= 0 && focus < n ? targetOf[focus] : -1,
    generated: arrOf(model, "generated", [n]).data,
    logprobs: arrOf(model, "target_logprobs", [m]).data,
    total: model.get("n_targets") || m,
    word: model.get("grouping") === "word",
  };
}

/**
 * @param {{model: import("../model.js").Model, el: HTMLElement}} ctx
 * @returns {() => void} cleanup
 */
function render({ model, el }) {
  const d = read(model);
  const { labels, n, targets, m, s, methods, sourceOf, spanStart, targetOf } = d;
  return mountView(el, "lm-attribution", ({ view, listen }) => {
    // the method and scores chosen stay when a live widget draws a new spec
    let mi = Math.max(0, methods.findIndex((mm) => mm.name === model.get("ui_method")));
    /** @type {"share"|"signed"} */
    let mode = model.get("ui_mode") === "signed" ? "signed" : "share";
    let hoverSource = -1;

    const scale = legend(SCALES.share);
    const { nodes, setMeta } = viewHeader(model, { title: "Input attribution", meta: [], legend: scale.el });
    const methodSwitch = segmented({
      label: "method", showLabel: true, listen, value: methods[mi].name,
      options: methods.map((mm) => /** @type {[string, string]} */ ([mm.name, mm.label])),
      onChange(v) {
        mi = Math.max(0, methods.findIndex((mm) => mm.name === v));
        model.set("ui_method", v);
        updateHeader();
        pin.redraw();
      },
    });
    const modeSwitch = segmented({
      label: "scores", showLabel: true, listen, value: mode,
      options: [
        ["share", "share", "L2 norm over the hidden dimension, each target's row sums to 100%"],
        ["signed", "signed", "sum over the hidden dimension: blue raises the target's log-probability, orange lowers it"],
      ],
      onChange(v) {
        mode = v === "signed" ? "signed" : "share";
        model.set("ui_mode", mode);
        updateHeader();
        pin.redraw();
      },
    });
    const noteBox = h("div", { className: "lm-notices lm-method-note", attrs: { role: "note" } });

    const pin = pinState((j, pinned) => show(j, pinned));
    const strip = tokenStrip({
      tokens: d.tokens, labels, generated: d.generated, pin, listen, keys: targetOf,
      onOther(i) {
        const k = i >= 0 ? sourceOf[i] : -1;
        if (k !== hoverSource && (k >= 0 || i < 0)) {
          hoverSource = k;
          updateFoot();
          drawHeatmap();
        }
      },
    });
    for (const p of targets) strip.spans[p].classList.add("lm-target");
    const anyAskable = d.askable.some((a) => a > 0);
    for (let i = 0; i < n; i++) {
      if (d.askable[i]) {
        strip.spans[i].classList.add("lm-askable");
        strip.spans[i].title = "click: compute this token's attribution in the kernel";
      }
    }
    // live: a click on another token asks the kernel for its attribution
    listen.on(strip.el, "click", (/** @type {Event} */ e) => {
      const t = e.target instanceof Element ? e.target.closest(".lm-tok") : null;
      const i = t && strip.el.contains(t) ? Number(t.getAttribute("data-i")) : -1;
      if (i < 0 || !d.askable[i] || strip.spans[i].classList.contains("lm-asked")) return;
      strip.spans[i].classList.add("lm-asked");
      request(model, "attribute", { position: i }, `the attribution of “${visibleToken(labels[i])}”`);
    });
    const self = h("div", { className: "lm-self" });
    const topList = h("div", { className: "lm-top" });
    const foot = h("div", { className: "lm-foot" });
    const detail = detailPanel({
      listen, pin, scope: view, children: [self, topList, foot],
      status: anyAskable ? "hover a target token (underlined) · click to pin · click any other token to compute its attribution"
        : "hover a target token (underlined) · click to pin",
    });

    const canvas = /** @type {HTMLCanvasElement} */ (h("canvas", {
      className: "lm-heatmap", attrs: { role: "img", "aria-label": "target by source heatmap" },
    }));
    const heatInfo = h("div", { className: "lm-foot lm-heat-info", text: "\u00a0" });
    const heat = detailPanel({ listen, live: false, className: "lm-heat", children: [h("div", { className: "lm-heat-scroll" }, [canvas]), heatInfo] });
    heat.setTitle(`Every step: targets (rows) × ${d.word ? "words" : "tokens"} before them (columns)`);

    view.append(
      ...nodes.filter(Boolean),
      controls([methods.length > 1 && methodSwitch.el, modeSwitch.el]),
      noteBox, strip.el, detail.el, heat.el,
    );

    /**
     * Values of target j's row in the current method/mode, and the scale that maps them to [-1, 1].
     * @param {number} j
     * @returns {{v: import("../decode.js").Typed, scale: number}}
     */
    function rowValues(j) {
      const mm = methods[mi];
      const v = row(mode === "share" ? mm.norms : mm.scores, j);
      let sc = 0;
      const p = targets[j];
      for (let k = 0; k < s; k++) if (spanStart[k] < p) sc = Math.max(sc, Math.abs(v[k]));
      return { v, scale: sc || 1 };
    }
    /** @param {number} x @param {number} sc */
    const tint = (x, sc) => (mode === "share" ? shareColor(x / sc) : diverging(x / sc));
    /** @param {number} x */
    const valueText = (x) => (mode === "share" ? `${(x * 100).toFixed(x >= 0.1 ? 0 : 1)}%` : formatSigned(x));

    function updateHeader() {
      const mm = methods[mi];
      if (nodes[1]) nodes[1].hidden = mi !== 0; // the spec's summary speaks of the first method
      setMeta([model.get("model_name"), mm.label, `of ${mm.f}`, `${formatInt(d.total)} target${d.total === 1 ? "" : "s"}`,
        d.word && "grouped by word", mm.params.n_steps && `${mm.params.n_steps} steps`,
        mm.params.tol && `to ${formatProb(mm.params.tol)} accuracy (≤ ${mm.params.max_steps} steps)`,
        mm.params.baseline !== undefined && `baseline: ${mm.params.baseline}`]);
      scale.set(mode === "share" ? SCALES.share : { ...SCALES.signed, hi: `raises ${mm.f}` });
      noteBox.textContent = "";
      if (mm.note) noteBox.appendChild(h("p", { text: `${mm.label}: ${mm.note}` }));
      if (mm.delta) {
        let worst = 0;
        let rel = 0;
        for (let j = 0; j < m; j++) {
          const dj = Math.abs(mm.delta[j]);
          if (dj > Math.abs(worst)) worst = mm.delta[j];
          if (mm.values && mm.base) rel = Math.max(rel, dj / Math.max(1e-6, Math.abs(mm.values[j] - mm.base[j])));
        }
        const tries = [mm.steps ? "a larger max_steps" : "more n_steps (or tol=)", "another baseline"];
        if (mm.f !== "p") tries.push("attr_target=\"prob\"");
        const advice = rel > 0.1 && mm.name === "integrated_gradients"
          ? ` Gaps this large mean the path integral has not converged: try ${tries.slice(0, -1).join(", ")} or ${tries[tries.length - 1]}.`
          : "";
        let stepsText = "";
        if (mm.steps) {
          let lo = Infinity, hi = 0, sum = 0;
          for (let j = 0; j < m; j++) { lo = Math.min(lo, mm.steps[j]); hi = Math.max(hi, mm.steps[j]); sum += mm.steps[j]; }
          stepsText = ` Steps chosen per target for the accuracy asked: ${lo === hi ? formatInt(lo) : `${formatInt(lo)}–${formatInt(hi)}`} (mean ${(sum / m).toFixed(1)}).`;
        }
        noteBox.appendChild(h("p", {
          text: `Completeness: each target's attributions should add up to f(input) − f(baseline), with f = ${mm.f}(target); the largest gap here is δ = ${formatSigned(worst)} (${formatProb(rel)} of f(x) − f(baseline)).${stepsText}${advice}`,
        }));
      }
      noteBox.hidden = !noteBox.firstChild;
    }

    /** @param {number} j @param {boolean} pinned */
    function show(j, pinned) {
      const p = targets[j];
      const mm = methods[mi];
      const { v, scale: sc } = rowValues(j);
      strip.mark(j, pinned);
      for (let i = 0; i < n; i++) {
        const t = strip.spans[i];
        const k = sourceOf[i];
        const valid = k >= 0 && spanStart[k] < p;
        t.style.backgroundColor = valid ? tint(v[k], sc) : "transparent";
        t.classList.toggle("lm-after", i > p);
        t.title = valid ? `${valueText(v[k])} of the attribution to “${visibleToken(labels[p])}”` : "";
      }
      detail.setPinned(pinned);
      detail.el.setAttribute("data-lm-target", String(j));
      detail.setTitle(m > 1 ? `Target ${j + 1} of ${m}: ` : "Target: ", chip(labels[p]));
      self.textContent = "";
      self.append(`p = ${formatProb(Math.exp(d.logprobs[j]))} (log p = ${formatSigned(d.logprobs[j])}) given the ${formatInt(p)} tokens before it`);
      if (mm.delta && mm.values && mm.base) {
        const gap = mm.values[j] - mm.base[j];
        self.append(` · attributions sum to ${formatSigned(gap + mm.delta[j])}, f(x) − f(baseline) = ${formatSigned(gap)} (f = ${mm.f})`);
        self.appendChild(h("span", { className: "lm-delta", text: ` · δ = ${formatSigned(mm.delta[j])}` }));
        if (mm.steps) self.appendChild(h("span", { className: "lm-steps", text: ` · ${formatInt(mm.steps[j])} steps` }));
      }
      topList.textContent = "";
      /** @type {number[]} */
      const order = [];
      for (let k = 0; k < s; k++) if (spanStart[k] < p) order.push(k);
      order.sort((a, b) => Math.abs(v[b]) - Math.abs(v[a]));
      for (const k of order.slice(0, TOP)) {
        const c = chip(d.spanText[k]);
        c.style.backgroundColor = tint(v[k], sc);
        topList.appendChild(h("span", { className: "lm-top-item" }, [c, ` ${valueText(v[k])}`]));
      }
      updateFoot();
      drawHeatmap();
    }

    function updateFoot() {
      foot.textContent = "";
      const j = pin.shown();
      if (j < 0) return;
      const p = targets[j];
      if (hoverSource >= 0 && spanStart[hoverSource] < p) {
        foot.append(chip(d.spanText[hoverSource]), " → ", chip(labels[p]),
          `: ${valueText(rowValues(j).v[hoverSource])} (${mode === "share" ? "share of the L2 norm" : "signed, summed over the hidden dimension"})`);
      } else if (d.total > m) {
        foot.textContent = `Showing ${formatInt(m)} of ${formatInt(d.total)} targets.`;
      }
    }

    // ---- heatmap (canvas: its size and colours come from the data) -------------------------
    const avail = Math.max(320, (el.clientWidth || view.clientWidth || 720) - 40);
    const cw = Math.max(CELL_MIN, Math.min(CELL_MAX, Math.floor((avail - LABEL_W) / Math.max(1, s))));
    const top = cw >= 9 ? HEADER_H : 6;
    const W = LABEL_W + s * cw + 4;
    const H = top + m * ROW_H + 4;
    const dpr = Math.min(2, window.devicePixelRatio || 1);
    canvas.width = Math.round(W * dpr);
    canvas.height = Math.round(H * dpr);
    canvas.style.width = `${W}px`;
    canvas.style.height = `${H}px`;

    /** @param {string} name @param {string} dflt */
    const cssVar = (name, dflt) => getComputedStyle(view).getPropertyValue(name).trim() || dflt;

    function drawHeatmap() {
      const ctx = canvas.getContext("2d");
      if (!ctx) return;
      const shown = pin.shown();
      ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
      ctx.clearRect(0, 0, W, H);
      const fg = cssVar("--lm-fg", "#1f2328");
      const muted = cssVar("--lm-muted", "#656d76");
      ctx.font = `11px ${cssVar("--lm-mono", "monospace")}`;
      ctx.textBaseline = "middle";
      for (let j = 0; j < m; j++) {
        const { v, scale: sc } = rowValues(j);
        const p = targets[j];
        const y = top + j * ROW_H;
        for (let k = 0; k < s; k++) {
          if (spanStart[k] >= p) break;
          const t = v[k] / sc;
          ctx.fillStyle = mode === "share" ? sequential(Math.max(0, t)) : diverging(t);
          ctx.fillRect(LABEL_W + k * cw, y, Math.max(1, cw - (cw > 4 ? 1 : 0)), ROW_H - 1);
        }
        ctx.fillStyle = j === shown ? fg : muted;
        ctx.textAlign = "right";
        ctx.fillText(visibleToken(labels[p]).slice(0, 12), LABEL_W - 6, y + ROW_H / 2);
      }
      if (cw >= 9) {
        ctx.fillStyle = muted;
        ctx.textAlign = "left";
        for (let k = 0; k < s; k++) {
          ctx.save();
          ctx.translate(LABEL_W + k * cw + cw / 2, top - 4);
          ctx.rotate(-Math.PI / 3);
          ctx.fillText(visibleToken(d.spanText[k]).slice(0, 10), 0, 0);
          ctx.restore();
        }
      }
      if (shown >= 0) {
        ctx.strokeStyle = fg;
        ctx.lineWidth = pin.pinned() >= 0 ? 2 : 1;
        ctx.strokeRect(LABEL_W - 0.5, top + shown * ROW_H - 0.5, s * cw + 1, ROW_H);
        if (hoverSource >= 0) ctx.strokeRect(LABEL_W + hoverSource * cw - 0.5, top - 0.5, cw, m * ROW_H);
      }
    }

    /**
     * Heatmap cell under a mouse event: [target, source] or [-1, -1].
     * @param {MouseEvent} e
     * @returns {[number, number]}
     */
    function cellAt(e) {
      const r = canvas.getBoundingClientRect();
      const j = Math.floor((e.clientY - r.top - top) / ROW_H);
      const k = Math.floor((e.clientX - r.left - LABEL_W) / cw);
      if (j < 0 || j >= m) return [-1, -1];
      return [j, k >= 0 && k < s ? k : -1];
    }

    listen.on(canvas, "mousemove", (/** @type {MouseEvent} */ e) => {
      const [j, k] = cellAt(e);
      if (j < 0) return;
      pin.hover(j);
      const hs = j === pin.shown() && k >= 0 && spanStart[k] < targets[j] ? k : -1;
      if (hs !== hoverSource) {
        hoverSource = hs;
        updateFoot();
        drawHeatmap();
      }
      heatInfo.textContent = hs >= 0
        ? `${visibleToken(d.spanText[hs])} → ${visibleToken(labels[targets[j]])}: ${valueText(rowValues(j).v[hs])}`
        : "\u00a0";
    });
    listen.on(canvas, "click", (/** @type {MouseEvent} */ e) => {
      const [j] = cellAt(e);
      if (j >= 0) pin.toggle(j);
    });

    updateHeader();
    if (d.focusTarget >= 0) pin.toggle(d.focusTarget);
    else if (m > 0) pin.hover(m - 1);
  });
}

module.exports = { render, VERSION };
