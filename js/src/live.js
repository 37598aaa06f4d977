// @ts-check
"use strict";
/**
 * The live widget's page side (anywidget's `render({model, el})`; Python: lmlens/views/live).
 *
 * The widget's model holds `spec` (the view's spec, exactly what a static view inlines) and
 * `live` (`{actions: {name: info}, controls: [...]}`). This module draws, inside anywidget's
 * element:
 *
 *   div.lm-view.lm-live
 *     div.lm-live-bar      the inputs (ui/controls.js) and a status line ("computing …", errors)
 *     div.lm-live-host     the view itself, drawn by the same `render` a static page uses
 *
 * The view gets a model adapter: `get(key)` reads the spec (and `"live"`), `send` forwards a
 * request (ui/live.js), and `set`/`get` of other keys keep UI state (e.g. the chosen method) for
 * the next draw. When the kernel answers, the new spec arrives as `change:spec` and the view is
 * drawn again: its cleanup first, so no listener or node is left from the old one. Requests carry
 * an id; the kernel's `lmlens:reply` clears it. Without a kernel (a notebook reopened offline and
 * drawn from its saved widget state) the view still shows its last spec, and a request says that
 * no kernel answered.
 */

const { h, applyTheme, showError } = require("./dom.js");
const { mountView } = require("./ui/listeners.js");
const { controlsForm } = require("./ui/controls.js");

/** Seconds before a request without an answer says the kernel may be busy or gone. */
const NO_ANSWER_S = 20;

/**
 * @typedef {object} WidgetModel  the part of anywidget's model used here
 * @property {(key: string) => any} get
 * @property {(event: string, cb: (...args: any[]) => void) => void} on
 * @property {(event?: string, cb?: (...args: any[]) => void) => void} off
 * @property {(msg: any) => void} send
 */

/**
 * The model a view draws from: the spec's keys, `"live"`, and UI state kept across draws.
 * @param {WidgetModel} model
 * @param {Record<string, any>} ui
 * @param {(msg: any) => void} send
 * @returns {import("./model.js").Model}
 */
function viewModel(model, ui, send) {
  const spec = model.get("spec") || {};
  return {
    get(key) {
      if (key === "live") return model.get("live");
      if (Object.prototype.hasOwnProperty.call(ui, key)) return ui[key];
      return spec[key];
    },
    set(key, value) {
      ui[key] = value;
    },
    on() {},
    off() {},
    save_changes() {},
    send,
  };
}

/**
 * Draw a live widget into `el`.
 * @param {{model: WidgetModel, el: HTMLElement}} ctx
 * @param {(ctx: {model: import("./model.js").Model, el: HTMLElement}) => (() => void)} renderView
 *   index.js's `render`
 * @returns {() => void} cleanup
 */
function renderLive({ model, el }, renderView) {
  const kind = String((model.get("spec") || {}).kind || "");
  el.classList.add("lmlens-live");
  el.setAttribute("data-lmlens-kind", kind);
  applyTheme(el, (model.get("spec") || {}).theme);
  /** UI state a view keeps across draws (never synced to the kernel) */
  const ui = {};
  /** @type {(() => void)|null} */
  let drawn = null;
  /** @type {Set<ReturnType<typeof setTimeout>>} */
  const timers = new Set();
  let alive = true;
  const unmount = mountView(el, "lm-live", ({ view, listen }) => {
    /** @type {Map<number, {label: string, t0: number}>} */
    const pending = new Map();
    let seq = 0;
    let draws = 0;
    let replies = 0;
    const status = h("span", { className: "lm-live-status", attrs: { role: "status", "aria-live": "polite" } });
    const bar = h("div", { className: "lm-live-bar" });
    const host = h("div", { className: "lm-live-host" });
    view.append(bar, host);
    /** @type {ReturnType<typeof controlsForm>} */
    let form = controlsForm({ controls: [], listen, onRun() {} });

    function setPending() {
      view.setAttribute("data-lm-pending", String(pending.size));
      form.setBusy(pending.size > 0);
    }

    /** @param {string} text @param {boolean} [bad] */
    function say(text, bad) {
      status.textContent = text;
      status.classList.toggle("lm-live-bad", !!bad);
    }

    /** @param {any} msg */
    function send(msg) {
      const id = ++seq;
      const label = String(msg.label || msg.action);
      pending.set(id, { label, t0: performance.now() });
      setPending();
      say(`computing ${label}…`);
      const t = setTimeout(() => {
        timers.delete(t);
        if (pending.has(id)) say(`still computing ${label} after ${NO_ANSWER_S} s… (if the kernel is not running, run the cell again)`);
      }, NO_ANSWER_S * 1000);
      timers.add(t);
      model.send({ type: msg.type, id, action: msg.action, args: msg.args });
    }

    function draw() {
      if (drawn) {
        const undo = drawn;
        drawn = null;
        undo();
      }
      host.textContent = "";
      try {
        drawn = renderView({ model: viewModel(model, ui, send), el: host });
      } catch (err) {
        showError(host, err);
      }
      view.setAttribute("data-lm-draws", String(++draws));
    }

    function drawControls() {
      const live = model.get("live") || {};
      const old = form.el;
      form = controlsForm({
        controls: Array.isArray(live.controls) ? live.controls : [], listen,
        onRun(values) {
          send({ type: "lmlens:request", action: "run", args: values, label: "the view" });
        },
      });
      if (old) old.remove();
      if (form.el) bar.insertBefore(form.el, bar.firstChild);
      setPending();
    }

    /** @param {any} msg */
    function onMessage(msg) {
      if (!msg || msg.type !== "lmlens:reply") return;
      const p = pending.get(msg.id);
      if (!p) return;
      pending.delete(msg.id);
      setPending();
      view.setAttribute("data-lm-replies", String(++replies));
      if (msg.ok) {
        const ms = performance.now() - p.t0;
        say(pending.size ? `computing ${[...pending.values()].pop()?.label}…`
          : `${p.label}: computed in ${Number(msg.seconds || 0).toFixed(2)} s, drawn after ${(ms / 1000).toFixed(2)} s`);
      } else {
        say(`${p.label}: ${msg.error || "failed"}`, true);
      }
    }

    // spec and live change in one message: draw once, after both are set
    let scheduled = false;
    function redraw() {
      if (scheduled) return;
      scheduled = true;
      Promise.resolve().then(() => {
        scheduled = false;
        if (alive) draw();
      });
    }

    bar.appendChild(status);
    listen.model(model, "change:spec", redraw);
    listen.model(model, "change:live", () => {
      drawControls();
      redraw();
    });
    listen.model(model, "msg:custom", onMessage);
    drawControls();
    draw();
  });
  return () => {
    alive = false;
    for (const t of timers) clearTimeout(t);
    timers.clear();
    try {
      if (drawn) drawn();
    } finally {
      drawn = null;
      unmount();
      el.classList.remove("lmlens-live");
    }
  };
}

module.exports = { renderLive, viewModel };
