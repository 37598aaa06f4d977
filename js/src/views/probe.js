// @ts-check
"use strict";
/**
 * The probe view (LAMA-style knowledge probe): one table per relation with its P@1, P@k and MRR;
 * per fact the sentence with the object marked, the object's rank among the choices (the
 * vocabulary, or the relation's candidates), the top predictions, the layer at which the object
 * first becomes the top prediction under the logit lens, and a strip of its rank at every layer.
 * A click (or Enter) on a fact opens it below the row: its top-k and its rankings view (the fact's
 * embedded rankings spec drawn by views/rankings.js); a second click closes it. A switch shows all
 * facts, the missed ones or the hits.
 *
 * Spec (kind "probe", version 1), written by lmlens/views/probe.py:
 *   relations: string[R]; relation_stats: float32 [R, 3] (P@1, P@k, MRR);
 *   relation_counts: int32 [R, 3] (facts, ranked over the vocabulary, among candidates)
 *   relation_index: int32 [m]; sentences, objects: string[m]; object_starts: number[m]
 *   modes: uint8 [m] (0 vocabulary, 1 candidates); ranks, n_choices, n_object_tokens: int32 [m]
 *   object_probs: float32 [m]; top_strings: string[m][<=k]; top_probs: float32 [m, k]
 *   layer_labels: string[L] (empty without the logit lens); first_layer: int32 [m] (-1 never)
 *   layer_ranks: int32 [m, L]; rankings: (rankings spec | null)[m]
 *   k, n_facts (before any size-budget cut), overall, model_name, title, summary, notices
 */

const { h } = require("../dom.js");
const { rankColors, viridisGradient } = require("../color.js");
const { formatProb, formatInt } = require("../format.js");
const { staticModel } = require("../model.js");
const { mountView } = require("../ui/listeners.js");
const { arrOf, strings } = require("../ui/spec.js");
const { chip } = require("../ui/token_text.js");
const { topkList } = require("../ui/topk.js");
const { legend } = require("../ui/legend.js");
const { segmented } = require("../ui/switch.js");
const { viewHeader, controls } = require("../ui/header.js");
const rankingsView = require("./rankings.js");

/** Highest spec version this module reads. */
const VERSION = 1;
/** Predictions shown in a row (all k in the opened fact). */
const ROW_TOP = 3;

/** @param {import("../model.js").Model} model */
function read(model) {
  const relations = strings(model, "relations");
  const R = relations.length;
  const sentences = strings(model, "sentences");
  const m = sentences.length;
  const labels = strings(model, "layer_labels");
  const L = labels.length;
  const k = Number(model.get("k")) || 1;
  /** @type {string[][]} */
  const top = model.get("top_strings") || [];
  /** @type {(object|null)[]} */
  const rankings = model.get("rankings") || [];
  if (top.length !== m || rankings.length !== m) throw new Error("probe spec: top_strings and rankings need one entry per fact");
  return {
    relations, R, sentences, m, labels, L, k, top, rankings,
    objects: strings(model, "objects"),
    starts: /** @type {number[]} */ (model.get("object_starts") || []),
    stats: arrOf(model, "relation_stats", [R, 3]).data,
    counts: arrOf(model, "relation_counts", [R, 3]).data,
    rel: arrOf(model, "relation_index", [m]).data,
    modes: arrOf(model, "modes", [m]).data,
    ranks: arrOf(model, "ranks", [m]).data,
    nChoices: arrOf(model, "n_choices", [m]).data,
    nTokens: arrOf(model, "n_object_tokens", [m]).data,
    objProbs: arrOf(model, "object_probs", [m]).data,
    topProbs: arrOf(model, "top_probs", [m, k]).data,
    first: arrOf(model, "first_layer", [m]).data,
    layerRanks: arrOf(model, "layer_ranks", [m, L]).data,
    total: Number(model.get("n_facts")) || m,
  };
}

/** @param {number} x */
const pct = (x) => `${Math.round(100 * x)}%`;

/**
 * The sentence with the object marked.
 * @param {string} s @param {number} start @param {string} obj
 */
function sentenceCell(s, start, obj) {
  const ok = start >= 0 && s.slice(start, start + obj.length) === obj;
  if (!ok) return [s];
  return [s.slice(0, start), h("mark", { className: "lm-pr-obj", text: obj }), s.slice(start + obj.length)];
}

/**
 * @param {{model: import("../model.js").Model, el: HTMLElement}} ctx
 * @returns {() => void} cleanup
 */
function render({ model, el }) {
  const d = read(model);
  const k = d.k;
  /** @type {(() => void)|null} */
  let sub = null; // cleanup of the open fact's rankings view
  const closeSub = () => {
    if (sub) sub();
    sub = null;
  };
  const cleanup = mountView(el, "lm-probe", ({ view, listen }) => {
    const o = model.get("overall") || {};
    const { nodes } = viewHeader(model, {
      title: "Knowledge probe",
      meta: [model.get("model_name"), `${formatInt(d.total)} facts`, `${d.R} relations`,
        o.precision_at_1 !== undefined && `P@1 ${pct(o.precision_at_1)}`],
    });
    let filter = "all";
    const table = h("div", { className: "lm-pr-tables lm-pr-show-all" });
    const toggle = segmented({
      label: "show", options: [["all", "all facts"], ["missed", "missed"], ["hit", "top-1 hits"]], value: filter, listen,
      onChange(v) {
        table.classList.remove(`lm-pr-show-${filter}`);
        filter = v;
        table.classList.add(`lm-pr-show-${filter}`);
        close();
      },
    });
    const scale = d.L ? legend({ lo: "rank 10k+", hi: "rank 1", gradient: viridisGradient() }) : null;
    view.append(...nodes.filter(Boolean), controls([toggle.el, scale && h("span", { className: "lm-pr-key", text: "object's rank by layer:" }), scale && scale.el]), table);

    /** @type {HTMLElement[]} */
    const rows = new Array(d.m);
    for (let r = 0; r < d.R; r++) {
      const facts = [];
      for (let i = 0; i < d.m; i++) if (d.rel[i] === r) facts.push(i);
      if (!facts.length) continue;
      const [nF, nV, nC] = [d.counts[3 * r], d.counts[3 * r + 1], d.counts[3 * r + 2]];
      const how = [nV && `${nV} over the vocabulary`, nC && `${nC} among candidates`].filter(Boolean).join(", ");
      const head = h("div", { className: "lm-pr-relhead" }, [
        h("span", { className: "lm-pr-relname", text: d.relations[r] }),
        h("span", { className: "lm-pr-stat", text: `P@1 ${pct(d.stats[3 * r])}` }),
        h("span", { className: "lm-pr-stat", text: `P@${k} ${pct(d.stats[3 * r + 1])}` }),
        h("span", { className: "lm-pr-stat", text: `MRR ${d.stats[3 * r + 2].toFixed(2)}` }),
        h("span", { className: "lm-status", text: `${nF} facts (${how})` }),
      ]);
      const body = h("tbody");
      for (const i of facts) {
        const hit = d.ranks[i] === 1;
        const cand = d.modes[i] === 1;
        const strip = h("span", { className: "lm-pr-strip" });
        for (let l = 0; l < d.L; l++) {
          const rank = d.layerRanks[i * d.L + l];
          const c = h("span", { className: l === d.first[i] ? "lm-pr-cell lm-pr-first" : "lm-pr-cell", title: `layer ${d.labels[l]}: rank ${formatInt(rank)}` });
          c.style.backgroundColor = rankColors(rank).bg;
          strip.appendChild(c);
        }
        const tops = d.top[i].slice(0, ROW_TOP).map((s) => chip(s, s.trim() === d.objects[i].trim() ? "lm-pr-right" : ""));
        rows[i] = h("tr", {
          className: `lm-pr-fact ${hit ? "lm-pr-hit" : "lm-pr-miss"}`,
          attrs: { tabindex: "0", "data-f": String(i), "aria-expanded": "false" },
        }, [
          h("td", { className: "lm-pr-sent" }, sentenceCell(d.sentences[i], d.starts[i], d.objects[i])),
          h("td", { className: "lm-pr-rank" }, [
            h("span", { className: hit ? "lm-pr-one" : "", text: formatInt(d.ranks[i]) }),
            h("span", { className: "lm-pr-of", text: ` of ${formatInt(d.nChoices[i])}${cand ? " cand." : ""}` }),
          ]),
          h("td", { className: "lm-pr-top" }, tops),
          h("td", { className: "lm-pr-layer", text: !d.L ? "—" : d.first[i] >= 0 ? d.labels[d.first[i]] : "never" }),
          h("td", {}, [strip]),
        ]);
        body.appendChild(rows[i]);
      }
      // fixed column widths, the same in every relation's table (the strip's from the layer count)
      const stripHead = h("th", { className: "lm-pr-c-strip", text: d.L ? "rank by layer" : "" });
      stripHead.style.width = `${d.L ? d.L * 6 + 16 : 12}px`;
      const thead = h("thead", {}, [h("tr", {}, [
        h("th", { text: "fact (object marked)" }), h("th", { className: "lm-pr-c-rank", text: "rank" }),
        h("th", { className: "lm-pr-c-top", text: "top predictions" }),
        h("th", { className: "lm-pr-c-layer", text: "top-1 from layer", title: "the first layer at which the object's first token is the top prediction at the slot (logit lens)" }),
        stripHead,
      ])]);
      table.append(h("div", { className: "lm-pr-rel" }, [head, h("table", { className: "lm-pr-table" }, [thead, body])]));
    }

    let open = -1;
    /** @type {HTMLElement|null} */
    let openRow = null;
    function close() {
      closeSub();
      if (openRow) openRow.remove();
      if (open >= 0) {
        rows[open].classList.remove("lm-pr-open");
        rows[open].setAttribute("aria-expanded", "false");
      }
      open = -1;
      openRow = null;
    }
    /** @param {number} i */
    function show(i) {
      close();
      open = i;
      rows[i].classList.add("lm-pr-open");
      rows[i].setAttribute("aria-expanded", "true");
      const cand = d.modes[i] === 1;
      const list = topkList();
      /** @type {import("../ui/topk.js").TopkRow[]} */
      const items = d.top[i].map((s, j) => ({ text: s, p: d.topProbs[i * k + j], tag: s.trim() === d.objects[i].trim() ? "object" : "" }));
      list.fill(items);
      const how = cand
        ? `ranked among ${formatInt(d.nChoices[i])} candidate objects by sentence log-likelihood`
        : "ranked over the whole vocabulary";
      const line = h("div", { className: "lm-pr-line" }, [
        "object ", chip(d.objects[i]), ` (${d.nTokens[i]} token${d.nTokens[i] === 1 ? "" : "s"}): rank ${formatInt(d.ranks[i])}, `,
        `${formatProb(d.objProbs[i])} — ${how}`,
      ]);
      const host = h("div", { className: "lm-pr-rankings" });
      const cell = h("td", { attrs: { colspan: "5" } }, [line, list.el, host]);
      openRow = h("tr", { className: "lm-pr-detail" }, [cell]);
      rows[i].after(openRow);
      const spec = d.rankings[i];
      if (spec) sub = rankingsView.render({ model: staticModel(spec), el: host });
      else host.appendChild(h("p", { className: "lm-status", text: "no logit lens for this fact (lens.probe(..., logit_lens=True) adds it)" }));
    }
    /** @param {EventTarget|null} t */
    const factAt = (t) => {
      const tr = t instanceof Element ? t.closest("tr.lm-pr-fact") : null;
      return tr && table.contains(tr) ? Number(tr.getAttribute("data-f")) : -1;
    };
    listen.on(table, "click", (/** @type {Event} */ e) => {
      const i = factAt(e.target);
      if (i < 0) return;
      if (i === open) close();
      else show(i);
    });
    listen.on(table, "keydown", (/** @type {KeyboardEvent} */ e) => {
      if (e.key !== "Enter" && e.key !== " ") return;
      if (!(e.target instanceof Element) || !e.target.matches("tr.lm-pr-fact")) return;
      e.preventDefault();
      const i = factAt(e.target);
      if (i === open) close();
      else show(i);
    });
  });
  return () => {
    closeSub();
    cleanup();
  };
}

module.exports = { render, VERSION };
