// @ts-check
"use strict";
/**
 * The inputs a live widget draws above its view (described by Python's `Control`s): a text box
 * (Enter runs, Shift+Enter breaks the line), a "from … to …" range over labels (e.g. layers), a
 * number box, a choice; and a Run button. Run calls `onRun(values)` with every input's value by
 * name: `{text: "…", layers: [0, 12], n_factors: 8}`.
 */

const { h } = require("../dom.js");

/**
 * @typedef {object} ControlSpec
 * @property {string} name
 * @property {"text"|"range"|"int"|"choice"} type
 * @property {string} [label]
 * @property {any} value
 * @property {string[]} [options]  range: the labels of the positions; choice: the choices
 * @property {number} [min]
 * @property {number} [max]
 */

/**
 * @param {string[]} labels
 * @param {number} chosen
 * @param {string} name  accessible name
 * @returns {HTMLSelectElement}
 */
function select(labels, chosen, name) {
  const s = /** @type {HTMLSelectElement} */ (h("select", { attrs: { "aria-label": name } }));
  labels.forEach((text, i) => {
    const o = /** @type {HTMLOptionElement} */ (h("option", { text, attrs: { value: String(i) } }));
    if (i === chosen) o.selected = true;
    s.appendChild(o);
  });
  s.value = String(chosen);
  return s;
}

/**
 * @param {{controls: ControlSpec[], listen: import("./listeners.js").ListenerTable,
 *          onRun: (values: Record<string, any>) => void}} o
 * @returns {{el: HTMLElement|null, values: () => Record<string, any>, setBusy: (busy: boolean) => void}}
 */
function controlsForm(o) {
  if (!o.controls.length) return { el: null, values: () => ({}), setBusy() {} };
  /** @type {(() => [string, any])[]} */
  const readers = [];
  const el = h("div", { className: "lm-ctls", attrs: { role: "group", "aria-label": "inputs" } });
  const run = /** @type {HTMLButtonElement} */ (h("button", { className: "lm-run", text: "Run", attrs: { type: "button" } }));
  const submit = () => o.onRun(Object.fromEntries(readers.map((r) => r())));
  for (const c of o.controls) {
    const label = c.label || c.name;
    const name = h("span", { className: "lm-ctl-label", text: label });
    if (c.type === "text") {
      const box = /** @type {HTMLTextAreaElement} */ (h("textarea", {
        className: "lm-ctl-text", attrs: { rows: String(Math.min(4, 1 + Math.floor(String(c.value).length / 90))), "aria-label": label, spellcheck: "false" },
      }));
      box.value = String(c.value);
      o.listen.on(box, "keydown", (/** @type {KeyboardEvent} */ e) => {
        if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
          e.preventDefault();
          submit();
        }
      });
      readers.push(() => [c.name, box.value]);
      el.appendChild(h("label", { className: "lm-ctl lm-ctl-wide", attrs: { "data-name": c.name } }, [name, box]));
    } else if (c.type === "range") {
      const labels = c.options || [];
      const lo = select(labels, Number(c.value[0]), `${label}: from`);
      const hi = select(labels, Number(c.value[1]), `${label}: to`);
      o.listen.on(lo, "change", () => { if (Number(lo.value) > Number(hi.value)) hi.value = lo.value; });
      o.listen.on(hi, "change", () => { if (Number(hi.value) < Number(lo.value)) lo.value = hi.value; });
      readers.push(() => [c.name, [Number(lo.value), Number(hi.value)]]);
      el.appendChild(h("span", { className: "lm-ctl", attrs: { "data-name": c.name } }, [name, lo, h("span", { className: "lm-ctl-label", text: "to" }), hi]));
    } else if (c.type === "int") {
      const box = /** @type {HTMLInputElement} */ (h("input", {
        className: "lm-ctl-int",
        attrs: { type: "number", step: "1", min: String(c.min), max: String(c.max), "aria-label": label },
      }));
      box.value = String(c.value);
      readers.push(() => [c.name, Math.round(Number(box.value))]);
      el.appendChild(h("label", { className: "lm-ctl", attrs: { "data-name": c.name } }, [name, box]));
    } else if (c.type === "choice") {
      const opts = c.options || [];
      const s = select(opts, Math.max(0, opts.indexOf(String(c.value))), label);
      readers.push(() => [c.name, opts[Number(s.value)]]);
      el.appendChild(h("label", { className: "lm-ctl", attrs: { "data-name": c.name } }, [name, s]));
    } else {
      throw new Error(`live widget: unknown control type ${JSON.stringify(c.type)}`);
    }
  }
  el.appendChild(run);
  o.listen.on(run, "click", submit);
  return {
    el,
    values: () => Object.fromEntries(readers.map((r) => r())),
    setBusy(busy) {
      run.disabled = busy;
      run.textContent = busy ? "Running…" : "Run";
    },
  };
}

module.exports = { controlsForm };
