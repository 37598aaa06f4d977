// @ts-check
"use strict";
/**
 * What a view needs to ask the kernel for more, in a live widget (js/src/live.js); on a static
 * page both functions are inert, so a view module is the same file in both places.
 *
 *   const attr = liveAction(model, "attribute");      // null on a static page
 *   if (attr) request(model, "attribute", { position: 7 });
 *
 * `liveAction` returns the action's info from Python (`LiveActions(info={name: {...}})`, e.g.
 * the positions that may be asked for); `request` sends the action; the widget shows that it is
 * computing, and the kernel's answer arrives as a new spec, which the widget draws in place of
 * the old one (a view keeps state across that redraw with `model.set` / `model.get`, see live.js).
 */

/**
 * The info of live action `name`, or null when this view is not live or has no such action.
 * @param {import("../model.js").Model} model
 * @param {string} name
 * @returns {Record<string, any>|null}
 */
function liveAction(model, name) {
  const live = model.get("live");
  const info = live && live.actions && Object.prototype.hasOwnProperty.call(live.actions, name) ? live.actions[name] : null;
  return info && typeof info === "object" ? info : null;
}

/**
 * Ask the kernel to run live action `name` with `args` (JSON). No-op on a static page.
 * @param {import("../model.js").Model} model
 * @param {string} name
 * @param {Record<string, any>} args
 * @param {string} [label]  what the widget's status line says is being computed
 */
function request(model, name, args, label) {
  if (!liveAction(model, name)) return;
  model.send({ type: "lmlens:request", action: name, args, label: label || name });
}

module.exports = { liveAction, request };
