// @ts-check
"use strict";
/**
 * The lmlens runtime entry.
 *
 * `render({model, el})` draws the view named by `model.get("kind")` into `el` and returns a
 * cleanup function (anywidget's contract, so a live widget can reuse it). `mount(root)` is
 * what a saved page or a notebook output calls: it reads the spec from the root's
 * `<script type="application/json" class="lmlens-spec">`, hands `render` a read-only model,
 * hides the no-JS fallback, and writes any error into the view.
 *
 * A view of kind K is the module `views/K.js` exporting `render(ctx)` and `VERSION` (the
 * highest spec version it reads). Nothing else registers it. Views are built from the shared
 * pieces in `ui/`; every listener goes through `ui/listeners.js`, so the cleanup a view returns
 * removes all of them, and rendering again into the same element starts clean.
 */

const { staticModel } = require("./model.js");
const { applyTheme, showError } = require("./dom.js");
const { renderLive } = require("./live.js");

/** Runtime version; equals lmlens.__version__ and js/package.json (a test checks). */
const version = "0.1.0";

const KIND = /^[a-z][a-z0-9_]*$/;

/**
 * @typedef {object} ViewModule
 * @property {(ctx: {model: import("./model.js").Model, el: HTMLElement}) => (() => void)} render
 * @property {number} VERSION
 */

/**
 * @param {unknown} kind
 * @returns {ViewModule}
 */
function viewModule(kind) {
  if (typeof kind !== "string" || !KIND.test(kind)) {
    throw new Error(`the spec's kind ${JSON.stringify(kind)} is not a view name`);
  }
  try {
    return require(`./views/${kind}.js`);
  } catch (err) {
    if (err && /** @type {{code?: string}} */ (err).code === "MODULE_NOT_FOUND") {
      throw new Error(`this lmlens runtime (${version}) has no "${kind}" view; update lmlens`);
    }
    throw err;
  }
}

/**
 * Draw the view described by `model` into `el`.
 * @param {{model: import("./model.js").Model, el: HTMLElement}} ctx
 * @returns {() => void} cleanup: removes listeners and clears `el`
 */
function render({ model, el }) {
  const kind = model.get("kind");
  const mod = viewModule(kind);
  const v = model.get("version");
  if (typeof v !== "number" || v < 1 || v > mod.VERSION) {
    throw new Error(
      `the "${kind}" spec has version ${JSON.stringify(v)}; this runtime reads up to ${mod.VERSION}; update lmlens`
    );
  }
  applyTheme(el, model.get("theme"));
  const cleanup = mod.render({ model, el });
  return () => {
    try {
      if (typeof cleanup === "function") cleanup();
    } finally {
      el.textContent = "";
    }
  };
}

/**
 * Mount the view inside an lmlens root element (idempotent). Errors show in the view.
 * @param {HTMLElement|null} root
 * @returns {() => void}
 */
function mount(root) {
  const noop = () => {};
  if (!root) return noop;
  if (root.getAttribute("data-lm-mounted")) return noop;
  root.setAttribute("data-lm-mounted", "1");
  try {
    const specEl = root.querySelector(":scope > script.lmlens-spec");
    const target = /** @type {HTMLElement|null} */ (root.querySelector(":scope > .lmlens-mount"));
    if (!specEl || !target) throw new Error("the view's data or mount point is missing");
    const spec = JSON.parse(specEl.textContent || "null");
    if (!spec || typeof spec !== "object") throw new Error("the view's data is not an object");
    const cleanup = render({ model: staticModel(spec), el: target });
    const fallback = /** @type {HTMLElement|null} */ (root.querySelector(":scope > .lmlens-fallback"));
    if (fallback) fallback.hidden = true;
    target.hidden = false;
    return cleanup;
  } catch (err) {
    showError(root, err);
    return noop;
  }
}

/**
 * Draw a live widget (anywidget's entry point; see live.js): the same `render`, inside a bar
 * with the widget's inputs and status, drawn again when the kernel sends a new spec.
 * @param {{model: any, el: HTMLElement}} ctx
 * @returns {() => void} cleanup
 */
function live(ctx) {
  return renderLive(ctx, render);
}

module.exports = { version, render, mount, staticModel, live };
