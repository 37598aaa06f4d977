// @ts-check
"use strict";
/**
 * The detail panel under a view (`.lm-detail`): a head row with a title, a muted status hint and,
 * for a view with a hover-and-pin state (ui/pin.js), an Unpin button; then the view's own rows.
 * With a pin, the panel owns the ways to release it: the Unpin button and Escape anywhere in the
 * view (`scope`). `setPinned` shows the pinned look (accent border, Unpin instead of the hint).
 */

const { h } = require("../dom.js");

/**
 * @typedef {object} DetailOptions
 * @property {import("./listeners.js").ListenerTable} listen
 * @property {import("./pin.js").Pin} [pin]
 * @property {HTMLElement} [scope]  where Escape releases the pin (the view)
 * @property {string} [status]  hint shown while nothing is pinned
 * @property {(Node|string|null)[]} [children]  the panel's rows
 * @property {boolean} [live]  announce changes to screen readers (default true)
 * @property {string} [className]
 */

/**
 * @typedef {object} Detail
 * @property {HTMLElement} el
 * @property {(...nodes: (Node|string)[]) => void} setTitle
 * @property {(pinned: boolean) => void} setPinned
 */

/**
 * @param {DetailOptions} o
 * @returns {Detail}
 */
function detailPanel(o) {
  const title = h("span", { className: "lm-detail-title" });
  const status = o.status ? h("span", { className: "lm-status", text: o.status }) : null;
  const unpin = o.pin ? h("button", { className: "lm-unpin", text: "Unpin", attrs: { type: "button" } }) : null;
  if (unpin) unpin.hidden = true;
  const el = h("div", {
    className: o.className ? `lm-detail ${o.className}` : "lm-detail",
    attrs: o.live === false ? {} : { "aria-live": "polite" },
  }, [h("div", { className: "lm-detail-head" }, [title, status, unpin]), ...(o.children || [])]);
  const pin = o.pin;
  if (pin && unpin) {
    o.listen.on(unpin, "click", () => pin.release());
    o.listen.on(o.scope || el, "keydown", (/** @type {KeyboardEvent} */ e) => {
      if (e.key === "Escape" && pin.pinned() >= 0) pin.release();
    });
  }
  return {
    el,
    setTitle(...nodes) {
      title.textContent = "";
      title.append(...nodes);
    },
    setPinned(pinned) {
      el.classList.toggle("lm-is-locked", pinned);
      if (unpin) unpin.hidden = !pinned;
      if (status && unpin) status.hidden = pinned;
    },
  };
}

module.exports = { detailPanel };
