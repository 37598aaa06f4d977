// @ts-check
"use strict";
/**
 * The embedding-similarity view: one heatmap per layer/pooling choice of the cosine similarity of
 * every pair of a few texts, side by side. Each matrix is coloured over its own range of values
 * between different texts (so its structure shows even when every pair is above 0.9, as mean-pooled
 * causal-LM states tend to be); a switch puts them on one scale (0 to 1). Hovering a cell marks the
 * pair in every matrix and lists its similarity under each choice with its distance from that
 * choice's mean in standard deviations; a click pins it (Escape or Unpin releases).
 *
 * Spec (kind "embedding_similarity", version 1), written by lmlens/views/embedding_similarity.py:
 *   texts: string[n]; labels, poolings: string[C]; layers: number[C]; n_layers
 *   similarity: float32 [C, n, n]; stats: float32 [C, 4] (mean, sd, min, max between different texts)
 *   model_name, title, summary, notices
 */

const { h } = require("../dom.js");
const { cellColors, viridisGradient } = require("../color.js");
const { mountView } = require("../ui/listeners.js");
const { arrOf, strings } = require("../ui/spec.js");
const { pinState } = require("../ui/pin.js");
const { detailPanel } = require("../ui/detail.js");
const { probBar } = require("../ui/topk.js");
const { legend } = require("../ui/legend.js");
const { segmented } = require("../ui/switch.js");
const { viewHeader, controls } = require("../ui/header.js");

/** Highest spec version this module reads. */
const VERSION = 1;

/** @param {import("../model.js").Model} model */
function read(model) {
  const texts = strings(model, "texts");
  const labels = strings(model, "labels");
  const n = texts.length;
  const C = labels.length;
  if (n < 2 || C < 1) throw new Error("embedding_similarity spec: needs at least 2 texts and 1 choice");
  return { texts, labels, n, C, sim: arrOf(model, "similarity", [C, n, n]).data, stats: arrOf(model, "stats", [C, 4]).data };
}

/** @param {number} x */
const fmt = (x) => x.toFixed(2);

/**
 * @param {{model: import("../model.js").Model, el: HTMLElement}} ctx
 * @returns {() => void} cleanup
 */
function render({ model, el }) {
  const d = read(model);
  const { n, C } = d;
  return mountView(el, "lm-es", ({ view, listen }) => {
    let scaleMode = "own";
    const scale = legend({ lo: "least similar pair", hi: "most", gradient: viridisGradient() });
    const toggle = segmented({
      label: "colour", options: [["own", "each over its own range"], ["shared", "one scale (0–1)"]], value: scaleMode, listen,
      onChange(v) {
        scaleMode = v;
        scale.set(v === "own" ? { lo: "least similar pair", hi: "most", gradient: viridisGradient() } : { lo: "0", hi: "1", gradient: viridisGradient() });
        paint();
      },
    });
    const { nodes } = viewHeader(model, {
      title: "Sentence similarity", meta: [model.get("model_name"), `${n} texts`, `${C} choices`],
    });
    const list = h("ol", { className: "lm-es-texts" }, d.texts.map((t, i) => h("li", { attrs: { "data-i": String(i) }, text: t })));
    /** @type {HTMLElement[]} */
    const cells = new Array(C * n * n);
    const cards = [];
    for (let c = 0; c < C; c++) {
      const grid = h("div", { className: "lm-es-grid", attrs: { role: "grid", "aria-label": d.labels[c] } });
      grid.style.gridTemplateColumns = `1.6em repeat(${n}, 1fr)`;
      grid.appendChild(h("span", { className: "lm-es-lab" }));
      for (let j = 0; j < n; j++) grid.appendChild(h("span", { className: "lm-es-lab", text: String(j + 1) }));
      for (let i = 0; i < n; i++) {
        grid.appendChild(h("span", { className: "lm-es-lab", text: String(i + 1) }));
        for (let j = 0; j < n; j++) {
          const cell = h("span", {
            className: i === j ? "lm-es-cell lm-es-diag" : "lm-es-cell",
            attrs: { "data-c": String(c), "data-i": String(i), "data-j": String(j), role: "gridcell" },
          });
          cells[(c * n + i) * n + j] = cell;
          grid.appendChild(cell);
        }
      }
      const s = c * 4;
      cards.push(h("div", { className: "lm-es-card" }, [
        h("div", { className: "lm-es-title", text: d.labels[c] }),
        h("div", { className: "lm-status", text: `mean ${fmt(d.stats[s])} · sd ${fmt(d.stats[s + 1])} · ${fmt(d.stats[s + 2])}–${fmt(d.stats[s + 3])}` }),
        grid,
      ]));
    }
    const board = h("div", { className: "lm-es-board" }, cards);
    const pin = pinState((key, pinned) => show(key, pinned));
    const rows = h("div", { className: "lm-es-rows" });
    const detail = detailPanel({ listen, pin, scope: view, status: "hover a cell · click to pin", children: [rows] });
    view.append(...nodes.filter(Boolean), controls([toggle.el, scale.el]), list, board, detail.el);

    function paint() {
      for (let c = 0; c < C; c++) {
        const lo = scaleMode === "own" ? d.stats[c * 4 + 2] : 0;
        const hi = scaleMode === "own" ? d.stats[c * 4 + 3] : 1;
        for (let i = 0; i < n; i++) {
          for (let j = 0; j < n; j++) {
            if (i === j) continue;
            const v = d.sim[(c * n + i) * n + j];
            const t = hi > lo ? (v - lo) / (hi - lo) : 1;
            const col = cellColors(Math.max(0, Math.min(1, t)));
            const cell = cells[(c * n + i) * n + j];
            cell.style.backgroundColor = col.bg;
            cell.title = `${i + 1} · ${j + 1}: ${fmt(v)}`;
          }
        }
      }
    }

    let on = -1;
    /** @param {number} key  i * n + j @param {boolean} pinned */
    function show(key, pinned) {
      const i = Math.floor(key / n);
      const j = key % n;
      if (on >= 0) {
        for (let c = 0; c < C; c++) cells[c * n * n + on].classList.remove("lm-es-on", "lm-es-pinned");
        for (const li of list.children) li.classList.remove("lm-es-hl");
      }
      on = key;
      for (let c = 0; c < C; c++) {
        cells[c * n * n + key].classList.add("lm-es-on");
        cells[c * n * n + key].classList.toggle("lm-es-pinned", pinned);
      }
      list.children[i].classList.add("lm-es-hl");
      list.children[j].classList.add("lm-es-hl");
      detail.el.setAttribute("data-lm-pair", `${i},${j}`);
      detail.setPinned(pinned);
      detail.setTitle(h("b", { text: `${i + 1} · ${j + 1}` }), ` ${d.texts[i]}  ↔  ${d.texts[j]}`);
      rows.textContent = "";
      for (let c = 0; c < C; c++) {
        const v = d.sim[c * n * n + key];
        const s = c * 4;
        const z = d.stats[s + 1] > 0 ? (v - d.stats[s]) / d.stats[s + 1] : 0;
        const span = d.stats[s + 3] - d.stats[s + 2];
        rows.appendChild(h("div", { className: "lm-es-row" }, [
          h("span", { className: "lm-es-rowlab", text: d.labels[c] }),
          probBar(span > 0 ? (v - d.stats[s + 2]) / span : 1),
          h("span", { className: "lm-es-val", text: fmt(v) }),
          h("span", { className: "lm-status", text: i === j ? "same text" : `${z >= 0 ? "+" : ""}${z.toFixed(1)} sd from the mean` }),
        ]));
      }
    }

    /** @param {EventTarget|null} t */
    function keyAt(t) {
      const c = t instanceof Element ? t.closest(".lm-es-cell") : null;
      if (!c || !board.contains(c)) return -1;
      return Number(c.getAttribute("data-i")) * n + Number(c.getAttribute("data-j"));
    }
    listen.on(board, "mouseover", (/** @type {Event} */ e) => {
      const k = keyAt(e.target);
      if (k >= 0) pin.hover(k);
    });
    listen.on(board, "click", (/** @type {Event} */ e) => {
      const k = keyAt(e.target);
      if (k >= 0) pin.toggle(k);
    });

    paint();
    pin.hover(1);
  });
}

module.exports = { render, VERSION };
