// @ts-check
"use strict";
/**
 * The attribution view (ecco's hover view, plus a heatmap): the text, where hovering a target
 * token (dashed underline) shades every token before it by its attribution to that target; a
 * click pins the target (click again, Unpin or Escape releases; arrow keys move between
 * targets). Buttons choose the method (when several were computed) and the scores: "share"
 * (L2 norm over the hidden dimension, each target's row summing to 100 %) or "signed" (sum over
 * the hidden dimension; blue pushes the target's log-probability up, orange down). Below, a
 * target × source heatmap of every step; hovering a cell reads it, clicking a row pins that
 * target. Integrated gradients show their convergence delta; DeepLift shows its note.
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
 */

const { decode, row } = require("../decode.js");
const { diverging, sequential, css, LIKELY } = require("../color.js");
const { formatProb, visibleToken, formatInt } = require("../format.js");
const { h, guard } = require("../dom.js");

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

/**
 * A token inside running text: newlines show as ↵ and still break the line.
 * @param {string} s
 * @returns {string}
 */
function inlineToken(s) {
  if (s === "") return "∅";
  return s.replace(/\r/g, "␍").replace(/\t/g, "⇥").replace(/\n/g, "↵\n");
}

/**
 * Signed number with 3 significant digits: 0.01234 → "+0.0123".
 * @param {number} x
 * @returns {string}
 */
function formatSigned(x) {
  if (typeof x !== "number" || Number.isNaN(x)) return "–";
  const s = Math.abs(x) >= 1e-3 || x === 0 ? Number(x.toPrecision(3)).toString() : x.toExponential(1);
  return x > 0 ? `+${s}` : s.replace("-", "−");
}

/**
 * Tint of a source for the unsigned mode: clear at 0, strongest at the row's largest share.
 * @param {number} t  in [0, 1]
 * @returns {string}
 */
function shareColor(t) {
  if (!(t > 0)) return "transparent";
  return css([LIKELY[0], LIKELY[1], LIKELY[2], 0.05 + 0.6 * Math.min(1, t) ** 0.85]);
}

/**
 * @param {import("../model.js").Model} model
 * @param {string} key
 * @returns {import("../decode.js").Decoded}
 */
function arr(model, key) {
  const rec = model.get(key);
  if (!rec) throw new Error(`attribution spec: missing "${key}"`);
  return decode(rec);
}

/**
 * @param {{model: import("../model.js").Model, el: HTMLElement}} ctx
 * @returns {() => void} cleanup
 */
function render({ model, el }) {
  /** @type {string[]} */
  const tokens = model.get("tokens");
  const n = tokens.length;
  const generated = arr(model, "generated").data;
  const targets = arr(model, "targets").data;
  const logprobs = arr(model, "target_logprobs").data;
  const spans = arr(model, "spans");
  const m = targets.length;
  const s = spans.shape[0];
  /** @type {any[]} */
  const rawMethods = model.get("methods") || [];
  if (!rawMethods.length) throw new Error("attribution spec: no methods");
  if (generated.length !== n) throw new Error(`attribution spec: generated has ${generated.length} entries for ${n} tokens`);
  if (logprobs.length !== m) throw new Error(`attribution spec: target_logprobs has ${logprobs.length} entries for ${m} targets`);
  const methods = rawMethods.map((r) => {
    const scores = decode(r.scores);
    const norms = decode(r.norms);
    for (const [name, a] of /** @type {[string, import("../decode.js").Decoded][]} */ ([["scores", scores], ["norms", norms]])) {
      if (a.shape[0] !== m || a.shape[1] !== s) {
        throw new Error(`attribution spec: ${r.name} ${name} is [${a.shape}], expected [${m},${s}]`);
      }
    }
    return {
      name: String(r.name),
      label: String(r.label || r.name),
      scores,
      norms,
      delta: r.delta ? decode(r.delta).data : null,
      f: r.attr_target === "prob" ? "p" : "log p",
      values: r.values ? decode(r.values).data : null,
      base: r.baseline_values ? decode(r.baseline_values).data : null,
      note: String(r.note || ""),
      params: r.params || {},
    };
  });
  /** source index of each token (-1: not a source) */
  const sourceOf = new Int32Array(n).fill(-1);
  const spanStart = new Int32Array(s);
  for (let k = 0; k < s; k++) {
    const [a, b] = row(spans, k);
    spanStart[k] = a;
    for (let i = a; i < b && i < n; i++) sourceOf[i] = k;
  }
  /** target index of each token (-1: not a target) */
  const targetOf = new Int32Array(n).fill(-1);
  targets.forEach((p, j) => {
    if (p < 0 || p >= n) throw new Error(`attribution spec: target position ${p} outside ${n} tokens`);
    targetOf[p] = j;
  });
  const total = model.get("n_targets") || m;
  /** @type {string[]} */
  const notices = model.get("notices") || [];
  const word = model.get("grouping") === "word";

  // ---- layout --------------------------------------------------------------------------
  const meta = h("span", { className: "lm-meta" });
  const legendBar = h("span", { className: "lm-legend-bar" });
  const legendLo = h("span");
  const legendHi = h("span");
  const head = h("div", { className: "lm-head" }, [
    h("span", { className: "lm-title", text: model.get("title") || "Input attribution" }),
    meta,
    h("div", { className: "lm-legend", attrs: { "aria-hidden": "true" } }, [legendLo, legendBar, legendHi]),
  ]);
  const noticeBox = notices.length
    ? h("div", { className: "lm-notices", attrs: { role: "note" } }, notices.map((t) => h("p", { text: t })))
    : null;

  /**
   * A row of toggle buttons.
   * @param {string} label
   * @param {{key: string, text: string, title?: string}[]} items
   * @returns {{box: HTMLElement, buttons: HTMLButtonElement[]}}
   */
  function toggles(label, items) {
    const buttons = items.map((it) => {
      const b = /** @type {HTMLButtonElement} */ (h("button", {
        className: "lm-unpin lm-choice",
        text: it.text,
        title: it.title,
        attrs: { type: "button", "data-key": it.key, "aria-pressed": "false" },
        style: { marginRight: "4px" },
      }));
      return b;
    });
    const box = h("span", { attrs: { role: "group", "aria-label": label }, style: { whiteSpace: "nowrap" } }, [
      h("span", { text: `${label} `, style: { color: "var(--lm-muted)", fontSize: "12px" } }),
      ...buttons,
    ]);
    return { box, buttons };
  }
  const methodToggles = toggles("method", methods.map((mm, k) => ({ key: String(k), text: mm.label })));
  const modeToggles = toggles("scores", [
    { key: "share", text: "share", title: "L2 norm over the hidden dimension, each target's row sums to 100%" },
    { key: "signed", text: "signed", title: "sum over the hidden dimension: blue raises the target's log-probability, orange lowers it" },
  ]);
  const controls = h("div", {
    className: "lm-controls",
    style: { display: "flex", flexWrap: "wrap", gap: "6px 16px", alignItems: "center", margin: "0 0 8px" },
  }, [methods.length > 1 ? methodToggles.box : null, modeToggles.box]);
  const noteBox = h("div", { className: "lm-notices lm-method-note", attrs: { role: "note" } });

  const text = h("div", { className: "lm-text", attrs: { role: "group", "aria-label": "tokens" } });
  /** @type {HTMLElement[]} */
  const tokEls = [];
  const frag = document.createDocumentFragment();
  for (let i = 0; i < n; i++) {
    let cls = "lm-tok";
    if (generated[i]) cls += " lm-gen";
    if (targetOf[i] >= 0) cls += " lm-target";
    const attrs = { "data-i": String(i) };
    if (targetOf[i] >= 0) Object.assign(attrs, { tabindex: targetOf[i] === m - 1 ? "0" : "-1", role: "button" });
    const t = h("span", { className: cls, text: inlineToken(tokens[i]), attrs });
    tokEls.push(t);
    frag.appendChild(t);
  }
  text.appendChild(frag);

  const title = h("span", { className: "lm-detail-title" });
  const status = h("span", { className: "lm-status", text: "hover a target token (underlined) · click to pin" });
  const unpin = h("button", { className: "lm-unpin", text: "Unpin", attrs: { type: "button" } });
  unpin.hidden = true;
  const self = h("div", { className: "lm-self" });
  const topList = h("div", { className: "lm-top", style: { display: "flex", flexWrap: "wrap", gap: "4px 10px" } });
  const foot = h("div", { className: "lm-foot" });
  const detail = h("div", { className: "lm-detail", attrs: { "aria-live": "polite" } }, [
    h("div", { className: "lm-detail-head" }, [title, status, unpin]),
    self,
    topList,
    foot,
  ]);

  const canvas = /** @type {HTMLCanvasElement} */ (h("canvas", {
    className: "lm-heatmap",
    attrs: { role: "img", "aria-label": "target by source heatmap" },
    style: { display: "block", cursor: "pointer" },
  }));
  const heatInfo = h("div", { className: "lm-foot lm-heat-info", text: "\u00a0" });
  const heat = h("div", { className: "lm-detail lm-heat" }, [
    h("div", { className: "lm-detail-head" }, [
      h("span", { className: "lm-detail-title", text: `Every step: targets (rows) × ${word ? "words" : "tokens"} before them (columns)` }),
    ]),
    h("div", { style: { overflowX: "auto", maxHeight: "32em", overflowY: "auto" } }, [canvas]),
    heatInfo,
  ]);

  const view = h("div", { className: "lm-view lm-attribution" }, [head, noticeBox, controls, noteBox, text, detail, heat]);
  el.appendChild(view);

  // ---- state ---------------------------------------------------------------------------
  let mi = 0;
  /** @type {"share"|"signed"} */
  let mode = "share";
  let locked = -1;
  let shown = -1;
  let hoverSource = -1;

  /**
   * Values of target j's row in the current method/mode, and the scale that maps them to [-1, 1].
   * @param {number} j
   * @returns {{v: Float32Array|import("../decode.js").Typed, scale: number}}
   */
  function rowValues(j) {
    const mm = methods[mi];
    const v = row(mode === "share" ? mm.norms : mm.scores, j);
    let scale = 0;
    const p = targets[j];
    for (let k = 0; k < s; k++) if (spanStart[k] < p) scale = Math.max(scale, Math.abs(v[k]));
    return { v, scale: scale || 1 };
  }

  /**
   * @param {number} x  value
   * @param {number} scale
   * @returns {string}
   */
  function tint(x, scale) {
    return mode === "share" ? shareColor(x / scale) : diverging(x / scale);
  }

  /**
   * @param {number} x
   * @returns {string}
   */
  function valueText(x) {
    return mode === "share" ? `${(x * 100).toFixed(x >= 0.1 ? 0 : 1)}%` : formatSigned(x);
  }

  function updateHeader() {
    const mm = methods[mi];
    const bits = [model.get("model_name") || "", mm.label, `of ${mm.f}`, `${formatInt(total)} target${total === 1 ? "" : "s"}`];
    if (word) bits.push("grouped by word");
    if (mm.params && mm.params.n_steps) bits.push(`${mm.params.n_steps} steps`);
    if (mm.params && mm.params.baseline !== undefined) bits.push(`baseline: ${mm.params.baseline}`);
    meta.textContent = bits.filter(Boolean).join(" · ");
    if (mode === "share") {
      legendLo.textContent = "0";
      legendHi.textContent = "largest share";
      legendBar.style.background = `linear-gradient(to right, ${shareColor(0.001)}, ${shareColor(0.5)}, ${shareColor(1)})`;
    } else {
      legendLo.textContent = "lowers";
      legendHi.textContent = `raises ${mm.f}`;
      legendBar.style.background = `linear-gradient(to right, ${diverging(-1)}, ${diverging(0)}, ${diverging(1)})`;
    }
    methodToggles.buttons.forEach((b, k) => b.setAttribute("aria-pressed", String(k === mi)));
    modeToggles.buttons.forEach((b) => b.setAttribute("aria-pressed", String(b.getAttribute("data-key") === mode)));
    for (const b of [...methodToggles.buttons, ...modeToggles.buttons]) {
      const on = b.getAttribute("aria-pressed") === "true";
      b.style.background = on ? "var(--lm-accent)" : "transparent";
      b.style.color = on ? "var(--lm-surface-fg, #fff)" : "var(--lm-accent)";
    }
    noteBox.textContent = "";
    if (mm.note) noteBox.appendChild(h("p", { text: `${mm.label}: ${mm.note}` }));
    if (mm.delta) {
      let worst = 0;
      let rel = 0;
      for (let j = 0; j < m; j++) {
        const d = Math.abs(mm.delta[j]);
        if (d > Math.abs(worst)) worst = mm.delta[j];
        if (mm.values && mm.base) rel = Math.max(rel, d / Math.max(1e-6, Math.abs(mm.values[j] - mm.base[j])));
      }
      const advice = rel > 0.1 && mm.name === "integrated_gradients"
        ? " Gaps this large mean the path integral has not converged: try more n_steps, another baseline, or attr_target=\"prob\"."
        : "";
      noteBox.appendChild(h("p", {
        text: `Completeness: each target's attributions should add up to f(input) − f(baseline), with f = ${mm.f}(target); the largest gap here is δ = ${formatSigned(worst)}.${advice}`,
      }));
    }
    noteBox.hidden = !noteBox.firstChild;
  }

  /** @param {number} j */
  function show(j) {
    if (j < 0 || j >= m) return;
    shown = j;
    const p = targets[j];
    const mm = methods[mi];
    const { v, scale } = rowValues(j);
    for (let i = 0; i < n; i++) {
      const t = tokEls[i];
      const k = sourceOf[i];
      const valid = k >= 0 && spanStart[k] < p;
      t.style.backgroundColor = valid ? tint(v[k], scale) : "transparent";
      t.style.opacity = i > p ? "0.45" : "";
      t.classList.toggle("lm-active", i === p);
      t.classList.toggle("lm-locked", i === p && locked === j);
      t.title = valid ? `${valueText(v[k])} of the attribution to “${visibleToken(tokens[p])}”` : "";
    }
    detail.classList.toggle("lm-is-locked", locked >= 0);
    detail.setAttribute("data-lm-target", String(j));
    unpin.hidden = locked < 0;
    status.hidden = locked >= 0;

    title.textContent = "";
    title.append(
      `${m > 1 ? `Target ${j + 1} of ${m}: ` : "Target: "}`,
      h("span", { className: "lm-chip", text: visibleToken(tokens[p]) }),
    );
    self.textContent = "";
    self.append(`p = ${formatProb(Math.exp(logprobs[j]))} (log p = ${formatSigned(logprobs[j])}) given the ${formatInt(p)} tokens before it`);
    if (mm.delta && mm.values && mm.base) {
      const gap = mm.values[j] - mm.base[j];
      self.append(` · attributions sum to ${formatSigned(gap + mm.delta[j])}, f(x) − f(baseline) = ${formatSigned(gap)} (f = ${mm.f})`);
      self.appendChild(h("span", { className: "lm-delta", text: ` · δ = ${formatSigned(mm.delta[j])}`, style: { fontWeight: "600" } }));
    }

    topList.textContent = "";
    /** @type {number[]} */
    const order = [];
    for (let k = 0; k < s; k++) if (spanStart[k] < p) order.push(k);
    order.sort((a, b) => Math.abs(v[b]) - Math.abs(v[a]));
    for (const k of order.slice(0, TOP)) {
      const [a, b] = row(spans, k);
      const chip = h("span", { className: "lm-chip", text: visibleToken(tokens.slice(a, b).join("")) });
      chip.style.backgroundColor = tint(v[k], scale);
      topList.appendChild(h("span", { className: "lm-top-item" }, [chip, ` ${valueText(v[k])}`]));
    }
    updateFoot();
    drawHeatmap();
  }

  function updateFoot() {
    foot.textContent = "";
    if (shown < 0) return;
    const p = targets[shown];
    if (hoverSource >= 0 && spanStart[hoverSource] < p) {
      const { v } = rowValues(shown);
      const [a, b] = row(spans, hoverSource);
      foot.append(
        h("span", { className: "lm-chip", text: visibleToken(tokens.slice(a, b).join("")) }),
        ` → `,
        h("span", { className: "lm-chip", text: visibleToken(tokens[p]) }),
        `: ${valueText(v[hoverSource])} (${mode === "share" ? "share of the L2 norm" : "signed, summed over the hidden dimension"})`,
      );
    } else if (total > m) {
      foot.textContent = `Showing ${formatInt(m)} of ${formatInt(total)} targets.`;
    }
  }

  // ---- heatmap ---------------------------------------------------------------------------
  const avail = Math.max(320, (el.clientWidth || view.clientWidth || 720) - 40);
  const cw = Math.max(CELL_MIN, Math.min(CELL_MAX, Math.floor((avail - LABEL_W) / Math.max(1, s))));
  const labels = cw >= 9;
  const top = labels ? HEADER_H : 6;
  const W = LABEL_W + s * cw + 4;
  const H = top + m * ROW_H + 4;
  const dpr = Math.min(2, window.devicePixelRatio || 1);
  canvas.width = Math.round(W * dpr);
  canvas.height = Math.round(H * dpr);
  canvas.style.width = `${W}px`;
  canvas.style.height = `${H}px`;

  /**
   * @param {string} name
   * @param {string} dflt
   * @returns {string}
   */
  function cssVar(name, dflt) {
    const v = getComputedStyle(view).getPropertyValue(name).trim();
    return v || dflt;
  }

  function drawHeatmap() {
    const ctx = canvas.getContext("2d");
    if (!ctx) return;
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, W, H);
    const fg = cssVar("--lm-fg", "#1f2328");
    const muted = cssVar("--lm-muted", "#656d76");
    const font = "11px ui-monospace, SFMono-Regular, Menlo, Consolas, monospace";
    ctx.font = font;
    ctx.textBaseline = "middle";
    for (let j = 0; j < m; j++) {
      const { v, scale } = rowValues(j);
      const p = targets[j];
      const y = top + j * ROW_H;
      for (let k = 0; k < s; k++) {
        if (spanStart[k] >= p) break;
        const t = v[k] / scale;
        ctx.fillStyle = mode === "share" ? sequential(Math.max(0, t)) : diverging(t);
        ctx.fillRect(LABEL_W + k * cw, y, Math.max(1, cw - (cw > 4 ? 1 : 0)), ROW_H - 1);
      }
      ctx.fillStyle = j === shown ? fg : muted;
      ctx.textAlign = "right";
      ctx.fillText(visibleToken(tokens[p]).slice(0, 12), LABEL_W - 6, y + ROW_H / 2);
    }
    if (labels) {
      ctx.save();
      ctx.fillStyle = muted;
      ctx.textAlign = "left";
      for (let k = 0; k < s; k++) {
        const [a, b] = row(spans, k);
        ctx.save();
        ctx.translate(LABEL_W + k * cw + cw / 2, top - 4);
        ctx.rotate(-Math.PI / 3);
        ctx.fillText(visibleToken(tokens.slice(a, b).join("")).slice(0, 10), 0, 0);
        ctx.restore();
      }
      ctx.restore();
    }
    if (shown >= 0) {
      ctx.strokeStyle = fg;
      ctx.lineWidth = locked >= 0 ? 2 : 1;
      const y = top + shown * ROW_H;
      ctx.strokeRect(LABEL_W - 0.5, y - 0.5, s * cw + 1, ROW_H);
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
    const x = e.clientX - r.left;
    const y = e.clientY - r.top;
    const j = Math.floor((y - top) / ROW_H);
    const k = Math.floor((x - LABEL_W) / cw);
    if (j < 0 || j >= m) return [-1, -1];
    return [j, k >= 0 && k < s ? k : -1];
  }

  // ---- events ----------------------------------------------------------------------------
  /** @param {number} j */
  function lock(j) {
    locked = j;
    show(j);
  }
  function release() {
    locked = -1;
    show(shown >= 0 ? shown : m - 1);
  }
  /**
   * @param {EventTarget|null} t
   * @returns {number} token index or -1
   */
  function tokenAt(t) {
    const e = t instanceof Element ? t.closest(".lm-tok") : null;
    if (!e || !text.contains(e)) return -1;
    return Number(e.getAttribute("data-i"));
  }
  /** @param {number} j */
  function focusTarget(j) {
    if (j < 0 || j >= m) return;
    for (const p of targets) tokEls[p].tabIndex = -1;
    tokEls[targets[j]].tabIndex = 0;
    tokEls[targets[j]].focus();
  }

  const onOver = guard(el, (/** @type {Event} */ e) => {
    const i = tokenAt(e.target);
    if (i < 0) return;
    if (targetOf[i] >= 0 && locked < 0) {
      hoverSource = -1;
      show(targetOf[i]);
    } else if (sourceOf[i] >= 0 && sourceOf[i] !== hoverSource) {
      hoverSource = sourceOf[i];
      updateFoot();
      drawHeatmap();
    }
  });
  const onLeave = guard(el, () => {
    if (hoverSource < 0) return;
    hoverSource = -1;
    updateFoot();
    drawHeatmap();
  });
  const onClick = guard(el, (/** @type {Event} */ e) => {
    const i = tokenAt(e.target);
    if (i < 0 || targetOf[i] < 0) return;
    if (locked === targetOf[i]) release();
    else lock(targetOf[i]);
  });
  const onKey = guard(el, (/** @type {KeyboardEvent} */ e) => {
    const i = tokenAt(e.target);
    const j = i >= 0 ? targetOf[i] : -1;
    if (e.key === "Escape" && locked >= 0) {
      release();
    } else if (j >= 0 && (e.key === "Enter" || e.key === " ")) {
      e.preventDefault();
      if (locked === j) release();
      else lock(j);
    } else if (j >= 0 && (e.key === "ArrowRight" || e.key === "ArrowLeft")) {
      e.preventDefault();
      const next = Math.max(0, Math.min(m - 1, j + (e.key === "ArrowRight" ? 1 : -1)));
      if (locked >= 0) lock(next);
      else show(next);
      focusTarget(next);
    }
  });
  const onFocus = guard(el, (/** @type {Event} */ e) => {
    const i = tokenAt(e.target);
    if (i >= 0 && targetOf[i] >= 0 && locked < 0) show(targetOf[i]);
  });
  const onHeatMove = guard(el, (/** @type {MouseEvent} */ e) => {
    const [j, k] = cellAt(e);
    if (j < 0) return;
    if (locked < 0 && j !== shown) show(j);
    const hs = j === shown && k >= 0 && spanStart[k] < targets[j] ? k : -1;
    if (hs !== hoverSource) {
      hoverSource = hs;
      updateFoot();
      drawHeatmap();
    }
    heatInfo.textContent = hs >= 0
      ? `${visibleToken(tokens.slice(...row(spans, hs)).join(""))} → ${visibleToken(tokens[targets[j]])}: ${valueText(rowValues(j).v[hs])}`
      : "\u00a0";
  });
  const onHeatClick = guard(el, (/** @type {MouseEvent} */ e) => {
    const [j] = cellAt(e);
    if (j < 0) return;
    if (locked === j) release();
    else lock(j);
  });
  const onMethod = guard(el, (/** @type {Event} */ e) => {
    const b = e.currentTarget instanceof Element ? e.currentTarget : null;
    if (!b) return;
    mi = Number(b.getAttribute("data-key"));
    updateHeader();
    show(shown);
  });
  const onMode = guard(el, (/** @type {Event} */ e) => {
    const b = e.currentTarget instanceof Element ? e.currentTarget : null;
    if (!b) return;
    mode = b.getAttribute("data-key") === "signed" ? "signed" : "share";
    updateHeader();
    show(shown);
  });
  const onUnpin = guard(el, () => release());

  /** @type {[EventTarget, string, EventListener][]} what cleanup unhooks, in the order hooked */
  const listeners = [
    [text, "mouseover", onOver],
    [text, "mouseleave", onLeave],
    [text, "click", onClick],
    [text, "focusin", onFocus],
    [view, "keydown", onKey],
    [canvas, "mousemove", onHeatMove],
    [canvas, "click", onHeatClick],
    ...methodToggles.buttons.map((b) => /** @type {[EventTarget, string, EventListener]} */ ([b, "click", onMethod])),
    ...modeToggles.buttons.map((b) => /** @type {[EventTarget, string, EventListener]} */ ([b, "click", onMode])),
    [unpin, "click", onUnpin],
  ];
  for (const [target, type, fn] of listeners) target.addEventListener(type, fn);

  updateHeader();
  if (m > 0) show(m - 1);

  return () => {
    for (const [target, type, fn] of listeners) target.removeEventListener(type, fn);
    view.remove();
  };
}

module.exports = { render, VERSION, formatSigned, shareColor };
