// @ts-check
"use strict";
/**
 * The listener table: every event listener a view adds goes through `listen.on(...)` (DOM)
 * or `listen.model(...)` (anywidget model events), so the one cleanup `render` returns removes
 * all of them, and rendering again into the same element never doubles a handler.
 * Each DOM handler is wrapped in `guard`, so an exception shows inside the view.
 *
 *   function render({ model, el }) {
 *     const data = read(model);                 // spec checks first: nothing drawn yet
 *     return mountView(el, "lm-K", ({ view, listen }) => {
 *       listen.on(view, "click", (e) => ...);
 *     });                                       // → cleanup: listeners off, view removed
 *   }
 */

const { h, guard } = require("../dom.js");

/**
 * @typedef {object} ModelEvents  the part of an anywidget model a view listens on
 * @property {(event: string, cb: (...args: any[]) => void) => void} on
 * @property {(event?: string, cb?: (...args: any[]) => void) => void} off
 */

/**
 * @typedef {object} ListenerTable
 * @property {(target: EventTarget, type: string, fn: (e: any) => void, options?: AddEventListenerOptions) => void} on
 *   add a guarded DOM listener
 * @property {(model: ModelEvents, event: string, cb: (...args: any[]) => void) => void} model
 *   listen on a model event (e.g. "change:position")
 * @property {(fn: () => void) => void} atCleanup  run `fn` when the table is cleared (cancel a pending
 *   animation frame, disconnect an observer)
 * @property {(target: Element, fn: () => void) => void} resize  call `fn` when `target` changes size
 *   (a ResizeObserver; where there is none, window resizes)
 * @property {() => number} size  how many listeners are registered now
 * @property {() => void} clear  remove every listener, newest first
 */

/**
 * A fresh listener table whose handlers report errors inside `el`.
 * @param {Element} el
 * @returns {ListenerTable}
 */
function listenerTable(el) {
  /** @type {(() => void)[]} */
  const undo = [];
  return {
    on(target, type, fn, options) {
      const g = guard(el, fn);
      target.addEventListener(type, g, options);
      undo.push(() => target.removeEventListener(type, g, options));
    },
    model(model, event, cb) {
      const g = guard(el, cb);
      model.on(event, g);
      undo.push(() => model.off(event, g));
    },
    atCleanup(fn) {
      undo.push(fn);
    },
    resize(target, fn) {
      const g = guard(el, fn);
      if (typeof ResizeObserver === "function") {
        const ro = new ResizeObserver(() => g());
        ro.observe(target);
        undo.push(() => ro.disconnect());
      } else if (typeof window !== "undefined" && typeof window.addEventListener === "function") {
        window.addEventListener("resize", g);
        undo.push(() => window.removeEventListener("resize", g));
      }
    },
    size() {
      return undo.length;
    },
    clear() {
      while (undo.length) /** @type {() => void} */ (undo.pop())();
    },
  };
}

/**
 * Append a view's root element (`div.lm-view.<className>`) to `el`, let `build` fill it and add
 * its listeners, and return the cleanup that undoes both. If `build` throws, what it added is
 * removed before the error goes on.
 * @param {HTMLElement} el
 * @param {string} className
 * @param {(ctx: {view: HTMLElement, listen: ListenerTable}) => void} build
 * @returns {() => void} cleanup
 */
function mountView(el, className, build) {
  const listen = listenerTable(el);
  const view = h("div", { className: `lm-view ${className}` });
  el.appendChild(view);
  const cleanup = () => {
    listen.clear();
    view.remove();
  };
  try {
    build({ view, listen });
  } catch (err) {
    cleanup();
    throw err;
  }
  return cleanup;
}

module.exports = { listenerTable, mountView };
