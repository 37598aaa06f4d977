// @ts-check
"use strict";
/**
 * A segmented switch: a group of buttons of which one is on (`aria-pressed`), e.g. rank |
 * probability, or one button per attribution method. Each button carries its value in
 * `data-v`. A click on another button sets it and calls `onChange(value)`.
 */

const { h } = require("../dom.js");

/**
 * @typedef {object} SwitchOptions
 * @property {string} label  the group's accessible name (shown before the buttons with showLabel)
 * @property {[string, string, string?][]} options  [value, text, tooltip?]
 * @property {string} value  the value on at first
 * @property {(value: string) => void} onChange
 * @property {import("./listeners.js").ListenerTable} listen
 * @property {boolean} [showLabel]
 */

/**
 * @param {SwitchOptions} o
 * @returns {{el: HTMLElement, set: (value: string) => void, value: () => string}}
 */
function segmented(o) {
  let value = o.value;
  const group = h("span", { className: "lm-seg", attrs: { role: "group", "aria-label": o.label } });
  /** @type {HTMLElement[]} */
  const buttons = o.options.map(([v, text, tip]) =>
    h("button", { text, title: tip, attrs: { type: "button", "data-v": v, "aria-pressed": String(v === value) } })
  );
  for (const b of buttons) group.appendChild(b);
  /** @param {string} v */
  function set(v) {
    value = v;
    for (const b of buttons) b.setAttribute("aria-pressed", String(b.getAttribute("data-v") === v));
  }
  o.listen.on(group, "click", (/** @type {Event} */ e) => {
    const b = e.target instanceof Element ? e.target.closest("button") : null;
    if (!b || !group.contains(b)) return;
    const v = b.getAttribute("data-v") || "";
    if (v === value) return;
    set(v);
    o.onChange(v);
  });
  const el = o.showLabel
    ? h("span", { className: "lm-seg-field" }, [h("span", { className: "lm-seg-label", text: o.label }), group])
    : group;
  return { el, set, value: () => value };
}

module.exports = { segmented };
