// @ts-check
"use strict";
/**
 * The attention view's controls, shared by its four modes (each shows the ones it uses):
 * layer selector, head toggles (one colour per head; a click toggles it, a double click keeps only
 * it, "all" brings every head back), the sentence-pair filter (A→A, A→B, B→A, B→B), the share of
 * each row's mass the drawn edges make up, and the rollout switch.
 */

const { h } = require("../../dom.js");
const { HEAD_COLORS } = require("../../color.js");
const { FILTERS } = require("./data.js");

/**
 * @typedef {object} AttState
 * @property {string} mode  "heads" | "model" | "matrix" | "pair"
 * @property {number} layer  index into the shown layers
 * @property {boolean[]} active  per head slot
 * @property {string} filter  "all" | "AA" | "AB" | "BA" | "BB"
 * @property {number} mass  share of each row's mass drawn, (0, 1]
 * @property {boolean} rollout  show the rollout instead of the heads
 * @property {[number, number]} pair  query and key positions of the pair view
 */

/** Which modes show each control. */
const USED = {
  layer: ["heads", "matrix"],
  heads: ["heads", "matrix", "pair"],
  filter: ["heads", "model", "matrix"],
  mass: ["heads"],
  rollout: ["heads", "matrix", "pair"],
};

/**
 * Colour of head slot `i` (repeats after 12).
 * @param {number} i
 * @returns {string}
 */
function headColor(i) {
  return HEAD_COLORS[i % HEAD_COLORS.length];
}

/**
 * @param {{d: import("./data.js").AttData, state: AttState, listen: import("../../ui/listeners.js").ListenerTable,
 *          onChange: (what: string) => void}} o
 * @returns {{el: HTMLElement, setMode: (mode: string) => void, refresh: () => void}}
 */
function attentionControls(o) {
  const { d, state, listen } = o;
  /** @type {[string, HTMLElement][]} */
  const parts = [];

  const layerSel = /** @type {HTMLSelectElement} */ (h("select", { className: "lm-att-layer", attrs: { "aria-label": "layer" } },
    d.layers.map((b, i) => h("option", { text: `layer ${b}`, attrs: { value: String(i) } }))));
  layerSel.value = String(state.layer);
  listen.on(layerSel, "change", () => {
    state.layer = Number(layerSel.value);
    o.onChange("layer");
  });
  parts.push(["layer", h("label", { className: "lm-att-field" }, [layerSel])]);

  /** @type {HTMLElement[]} */
  const headButtons = d.heads.map((head, i) => {
    const sw = h("span", { className: "lm-att-swatch" });
    sw.style.backgroundColor = headColor(i);
    return h("button", {
      className: "lm-att-head", title: `head ${head}: click to show or hide, double-click to show only this head`,
      attrs: { type: "button", "data-h": String(i), "aria-pressed": String(state.active[i]) },
    }, [sw, String(head)]);
  });
  const allButton = h("button", { className: "lm-att-head lm-att-all", text: "all", attrs: { type: "button", title: "show every head" } });
  const headsEl = h("span", { className: "lm-att-heads", attrs: { role: "group", "aria-label": "heads" } },
    [h("span", { className: "lm-seg-label", text: "heads" }), ...headButtons, allButton]);
  /** @param {Event} e */
  const headAt = (e) => {
    const b = e.target instanceof Element ? e.target.closest("button") : null;
    return b && headsEl.contains(b) ? b : null;
  };
  listen.on(headsEl, "click", (/** @type {MouseEvent} */ e) => {
    const b = headAt(e);
    if (!b) return;
    if (b === allButton) state.active.fill(true);
    else {
      const i = Number(b.getAttribute("data-h"));
      state.active[i] = !state.active[i];
    }
    refresh();
    o.onChange("heads");
  });
  listen.on(headsEl, "dblclick", (/** @type {MouseEvent} */ e) => {
    const b = headAt(e);
    if (!b || b === allButton) return;
    const i = Number(b.getAttribute("data-h"));
    state.active.fill(false);
    state.active[i] = true;
    refresh();
    o.onChange("heads");
  });
  parts.push(["heads", headsEl]);

  if (d.sb >= 0) {
    const filterSel = /** @type {HTMLSelectElement} */ (h("select", { className: "lm-att-filter", attrs: { "aria-label": "sentences" } },
      FILTERS.map(([v, t]) => h("option", { text: t, attrs: { value: v } }))));
    filterSel.value = state.filter;
    listen.on(filterSel, "change", () => {
      state.filter = filterSel.value;
      o.onChange("filter");
    });
    parts.push(["filter", h("label", { className: "lm-att-field" }, [h("span", { className: "lm-seg-label", text: "sentences" }), filterSel])]);
  }

  const massIn = /** @type {HTMLInputElement} */ (h("input", {
    className: "lm-att-mass", attrs: { type: "range", min: "0.3", max: "1", step: "0.05", value: String(state.mass), "aria-label": "share of each row's mass drawn" },
  }));
  const massText = h("span", { className: "lm-att-mass-text" });
  const setMassText = () => {
    massText.textContent = state.mass >= 1 ? "every edge" : `edges making ${Math.round(state.mass * 100)}% of each row`;
  };
  setMassText();
  listen.on(massIn, "input", () => {
    state.mass = Number(massIn.value);
    setMassText();
    o.onChange("mass");
  });
  parts.push(["mass", h("label", { className: "lm-att-field", title: "draw only the strongest edges of each row that together make up this share of its total (exBERT's threshold)" }, [massIn, massText])]);

  if (d.roll) {
    const box = /** @type {HTMLInputElement} */ (h("input", { attrs: { type: "checkbox" } }));
    box.checked = state.rollout;
    listen.on(box, "change", () => {
      state.rollout = box.checked;
      refresh();
      o.onChange("rollout");
    });
    parts.push(["rollout", h("label", {
      className: "lm-att-field", title: "attention rollout (Abnar & Zuidema 2020): head-mean attention with the residual, multiplied through the layers up to this one",
    }, [box, "rollout"])]);
  }

  const el = h("div", { className: "lm-controls lm-att-controls" }, parts.map(([, p]) => p));

  function refresh() {
    headButtons.forEach((b, i) => b.setAttribute("aria-pressed", String(state.active[i])));
    headsEl.classList.toggle("lm-off", state.rollout && state.mode !== "pair");
    layerSel.value = String(state.layer);
  }
  return {
    el,
    setMode(mode) {
      for (const [name, p] of parts) p.hidden = !USED[/** @type {keyof USED} */ (name)].includes(mode);
      refresh();
    },
    refresh,
  };
}

module.exports = { attentionControls, headColor, USED };
