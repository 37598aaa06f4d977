// @ts-check
"use strict";
/**
 * A read-only model shim shaped like anywidget's model, for static pages.
 *
 * Views read their spec with `model.get(key)`. They may keep UI state with `set` and listen
 * with `on("change:key", cb)`: that state lives only in this object (the spec is never
 * changed), so a live widget can later hand `render` its real model instead.
 */

/**
 * @typedef {object} Model
 * @property {(key: string) => any} get
 * @property {(key: string, value: any) => void} set
 * @property {(event: string, cb: (...args: any[]) => void) => void} on
 * @property {(event?: string, cb?: (...args: any[]) => void) => void} off
 * @property {() => void} save_changes
 * @property {(msg: any) => void} send
 */

/**
 * @param {Record<string, any>} spec
 * @returns {Model}
 */
function staticModel(spec) {
  /** @type {Record<string, any>} */
  const state = {};
  /** @type {Map<string, Set<(...args: any[]) => void>>} */
  const listeners = new Map();
  return {
    get(key) {
      return Object.prototype.hasOwnProperty.call(state, key) ? state[key] : spec[key];
    },
    set(key, value) {
      state[key] = value;
      const cbs = listeners.get(`change:${key}`);
      if (cbs) for (const cb of Array.from(cbs)) cb(value);
    },
    on(event, cb) {
      if (!listeners.has(event)) listeners.set(event, new Set());
      /** @type {Set<(...args: any[]) => void>} */ (listeners.get(event)).add(cb);
    },
    off(event, cb) {
      if (event === undefined) listeners.clear();
      else if (cb === undefined) listeners.delete(event);
      else listeners.get(event)?.delete(cb);
    },
    save_changes() {},
    send() {},
  };
}

module.exports = { staticModel };
