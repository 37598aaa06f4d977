// @ts-check
"use strict";
/**
 * Top-k bars (`ol.lm-topk`): one row per prediction with its rank, the token as a chip, a bar
 * as long as its probability, the percentage, and an optional tag ("actual", "target",
 * "watched"); a tagged row is outlined.
 */

const { h } = require("../dom.js");
const { formatProb } = require("../format.js");
const { chip } = require("./token_text.js");

/**
 * @typedef {{text: string, p: number, tag?: string}} TopkRow  text: the token (raw string)
 */

/**
 * A bar's CSS width for probability `p`: "37.5%" (clamped to [0, 1]; NaN → "0%").
 * @param {number} p
 * @returns {string}
 */
function barWidth(p) {
  return `${Math.max(0, Math.min(1, p || 0)) * 100}%`;
}

/**
 * The bar of a probability: `span.lm-bar > span` as wide as `p`.
 * @param {number} p
 * @returns {HTMLElement}
 */
function probBar(p) {
  const fill = h("span");
  fill.style.width = barWidth(p);
  return h("span", { className: "lm-bar" }, [fill]);
}

/**
 * An empty top-k list; `fill(rows)` replaces its rows.
 * @returns {{el: HTMLElement, fill: (rows: TopkRow[]) => void}}
 */
function topkList() {
  const el = h("ol", { className: "lm-topk" });
  return {
    el,
    fill(rows) {
      el.textContent = "";
      rows.forEach((r, j) => {
        el.appendChild(h("li", { className: r.tag ? "lm-row lm-actual" : "lm-row" }, [
          h("span", { className: "lm-rank", text: String(j + 1) }),
          chip(r.text),
          probBar(r.p),
          h("span", { className: "lm-pct", text: formatProb(r.p) }),
          r.tag ? h("span", { className: "lm-tag", text: r.tag }) : null,
        ]));
      });
    },
  };
}

module.exports = { topkList, probBar, barWidth };
