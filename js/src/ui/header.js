// @ts-check
"use strict";
/**
 * The top of every view: a head line (title, a muted meta line, optionally a legend at the
 * right), the spec's summary sentence, its notices (e.g. "Showing the first 1,200 of 5,000
 * tokens"), and a row for controls (switches, legends).
 */

const { h } = require("../dom.js");
const { strings } = require("./spec.js");

/**
 * @param {import("../model.js").Model} model
 * @param {{title: string, meta: (string|false|null|undefined)[], legend?: HTMLElement}} o
 *   title: used when the spec has none; meta: the meta line's parts (empty ones dropped)
 * @returns {{nodes: (HTMLElement|null)[], setMeta: (meta: (string|false|null|undefined)[]) => void}}
 *   nodes: head, summary, notices (null when absent), in page order
 */
function viewHeader(model, o) {
  const meta = h("span", { className: "lm-meta" });
  /** @param {(string|false|null|undefined)[]} bits */
  const setMeta = (bits) => {
    meta.textContent = bits.filter(Boolean).join(" · ");
  };
  setMeta(o.meta);
  const head = h("div", { className: "lm-head" }, [
    h("span", { className: "lm-title", text: model.get("title") || o.title }),
    meta,
    o.legend || null,
  ]);
  const summary = model.get("summary") ? h("p", { className: "lm-summary", text: String(model.get("summary")) }) : null;
  return { nodes: [head, summary, noticeBox(strings(model, "notices"))], setMeta };
}

/**
 * A box of notices (`.lm-notices`, one paragraph each), or null for none.
 * @param {string[]} texts
 * @param {string} [extraClass]
 * @returns {HTMLElement|null}
 */
function noticeBox(texts, extraClass) {
  if (!texts.length) return null;
  return h("div", { className: extraClass ? `lm-notices ${extraClass}` : "lm-notices", attrs: { role: "note" } },
    texts.map((t) => h("p", { text: t })));
}

/**
 * A row of controls (switches, legends, keys), wrapping on narrow outputs.
 * @param {(Node|null|false)[]} children
 * @returns {HTMLElement}
 */
function controls(children) {
  return h("div", { className: "lm-controls" }, children);
}

module.exports = { viewHeader, noticeBox, controls };
