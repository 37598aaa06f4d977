// @ts-check
"use strict";
/**
 * A colour-scale legend: low label, the colour bar, high label, optional ticks
 * ("unlikely ▭ likely 0.01% · 1% · 100%"). The bar's gradient comes from color.js, so the legend
 * always shows the scale the cells are painted with. `set` changes it (a switch of scale).
 */

const { h } = require("../dom.js");

/**
 * @typedef {{lo: string, hi: string, gradient: string, ticks?: string}} Scale
 */

/**
 * @param {Scale} scale
 * @returns {{el: HTMLElement, set: (scale: Scale) => void}}
 */
function legend(scale) {
  const lo = h("span");
  const bar = h("span", { className: "lm-legend-bar" });
  const hi = h("span");
  const ticks = h("span", { className: "lm-legend-ticks" });
  const el = h("span", { className: "lm-legend", attrs: { "aria-hidden": "true" } }, [lo, bar, hi, ticks]);
  /** @param {Scale} s */
  function set(s) {
    lo.textContent = s.lo;
    hi.textContent = s.hi;
    bar.style.background = s.gradient;
    ticks.textContent = s.ticks || "";
    ticks.hidden = !s.ticks;
  }
  set(scale);
  return { el, set };
}

module.exports = { legend };
