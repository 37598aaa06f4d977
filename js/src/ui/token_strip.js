// @ts-check
"use strict";
/**
 * The token strip: the text as one span per token (`.lm-tok`, newlines still break lines),
 * generated tokens marked, wired to a hover-and-pin state (ui/pin.js):
 *
 * - "hover" mode: pointer or focus on an item shows it; a click (or Enter / Space) pins it, a
 *   second one releases it; ←/→ move between items (a pin follows). Escape and the Unpin button
 *   belong to the detail panel (ui/detail.js).
 * - "select" mode: a click or ←/→ chooses the item; there is always one.
 *
 * Items are the tokens with a key (`keys[i] >= 0`; by default every token, key = index): the
 * attribution view makes only its targets items. Pointer over a token that is no item (or
 * over an item while another is pinned) calls `onOther(i)`, leaving the strip `onOther(-1)`.
 * The strip marks the shown item (`lm-active`, `lm-locked` when pinned) and gives it the
 * keyboard focus stop (roving tabindex); the view draws everything else in `pin`'s onShow.
 *
 * Byte pieces: tokens that hold only the first bytes of a character read `""` (the token that
 * completes it carries the character). The strip draws such a run with the token that follows as
 * one group (`.lm-tok-group`): the text once, over side-by-side slices, one `.lm-tok` per token,
 * so each token is still hovered, pinned and coloured on its own. `labels` (the chip labels,
 * `"<E6 9D>(東)"`) become each token's tooltip and accessible name.
 */

const { h } = require("../dom.js");
const { inlineToken } = require("./token_text.js");

/**
 * @typedef {object} StripOptions
 * @property {string[]} tokens
 * @property {ArrayLike<number>} [generated]  1 where lens.generate produced the token
 * @property {import("./pin.js").Pin} pin
 * @property {import("./listeners.js").ListenerTable} listen
 * @property {ArrayLike<number>} [keys]  item key of each token, -1 for none (default: its index)
 * @property {"hover"|"select"} [mode]
 * @property {string} [label]  accessible name of the strip
 * @property {string} [className]  extra class of the strip
 * @property {(i: number) => void} [onOther]
 * @property {string[]} [labels]  chip label of each token (ui/spec.js tokenLabels)
 */

/**
 * @typedef {object} Strip
 * @property {HTMLElement} el
 * @property {HTMLElement[]} spans  one per token
 * @property {(key: number, pinned: boolean) => void} mark  show `key` as the active item
 * @property {(key: number) => number} tokenOf  token index of an item key (-1: none)
 */

/**
 * @param {StripOptions} o
 * @returns {Strip}
 */
function tokenStrip(o) {
  const n = o.tokens.length;
  const mode = o.mode || "hover";
  const keys = o.keys || Int32Array.from({ length: n }, (_, i) => i);
  /** @type {Map<number, number>} item key → token index */
  const tokenOfKey = new Map();
  /** item keys in text order, for the arrow keys */
  const order = [];
  for (let i = 0; i < n; i++) {
    if (keys[i] >= 0) {
      tokenOfKey.set(keys[i], i);
      order.push(keys[i]);
    }
  }
  const el = h("div", {
    className: o.className ? `lm-text ${o.className}` : "lm-text",
    attrs: { role: "group", "aria-label": o.label || "tokens" },
  });
  /** @type {HTMLElement[]} */
  const spans = [];
  const frag = document.createDocumentFragment();
  /** @param {number} i @param {string} extra @returns {HTMLElement} */
  const tokenSpan = (i, extra) => {
    let cls = "lm-tok" + extra;
    if (o.generated && o.generated[i]) cls += " lm-gen";
    /** @type {Record<string, string>} */
    const attrs = { "data-i": String(i) };
    if (keys[i] >= 0) attrs.tabindex = "-1";
    const label = o.labels ? o.labels[i] : undefined;
    if (label !== undefined && label !== o.tokens[i]) {
      attrs.title = label;
      attrs["aria-label"] = label;
    }
    const text = extra ? "" : o.tokens[i] === "" && label ? label : inlineToken(o.tokens[i]);
    const s = h("span", { className: cls, text, attrs });
    spans[i] = s;
    return s;
  };
  for (let i = 0; i < n; i++) {
    let j = i;
    while (j < n - 1 && o.tokens[j] === "") j++;
    if (j === i || o.tokens[j] === "") {
      frag.appendChild(tokenSpan(i, ""));
      continue;
    }
    // tokens i..j make the text of token j: drawn once over j - i + 1 slices
    const group = h("span", { className: "lm-tok-group" }, [
      h("span", { className: "lm-tok-text", text: inlineToken(o.tokens[j]), attrs: { "aria-hidden": "true" } }),
    ]);
    group.style.setProperty("--lm-slices", String(j - i + 1));
    for (let k = i; k <= j; k++) {
      const s = tokenSpan(k, " lm-slice");
      s.style.setProperty("--lm-slice", String(k - i));
      group.appendChild(s);
    }
    frag.appendChild(group);
    i = j;
  }
  el.appendChild(frag);

  let active = -1;
  /** @param {number} key @param {boolean} pinned */
  function mark(key, pinned) {
    const i = tokenOfKey.has(key) ? /** @type {number} */ (tokenOfKey.get(key)) : -1;
    if (active >= 0) {
      spans[active].classList.remove("lm-active", "lm-locked");
      spans[active].tabIndex = -1;
    }
    active = i;
    if (i < 0) return;
    spans[i].classList.add("lm-active");
    spans[i].classList.toggle("lm-locked", pinned);
    spans[i].tabIndex = 0;
  }

  /**
   * Token index under an event target, -1 when none.
   * @param {EventTarget|null} t
   * @returns {number}
   */
  function indexAt(t) {
    const s = t instanceof Element ? t.closest(".lm-tok") : null;
    if (!s || !el.contains(s)) return -1;
    return Number(s.getAttribute("data-i"));
  }
  /** @param {number} i */
  const keyAt = (i) => (i >= 0 ? keys[i] : -1);
  const other = o.onOther || (() => {});

  o.listen.on(el, "mouseover", (/** @type {Event} */ e) => {
    const i = indexAt(e.target);
    if (i < 0) return;
    const k = keyAt(i);
    if (mode === "hover" && k >= 0 && o.pin.pinned() < 0) {
      other(-1);
      o.pin.hover(k);
    } else {
      other(i);
    }
  });
  o.listen.on(el, "mouseleave", () => other(-1));
  o.listen.on(el, "click", (/** @type {Event} */ e) => {
    const k = keyAt(indexAt(e.target));
    if (k < 0) return;
    if (mode === "hover") o.pin.toggle(k);
    else o.pin.select(k);
  });
  o.listen.on(el, "focusin", (/** @type {Event} */ e) => {
    const k = keyAt(indexAt(e.target));
    if (k >= 0 && mode === "hover") o.pin.hover(k);
  });
  o.listen.on(el, "keydown", (/** @type {KeyboardEvent} */ e) => {
    const k = keyAt(indexAt(e.target));
    if (k < 0) return;
    if (e.key === "Enter" || e.key === " ") {
      e.preventDefault();
      if (mode === "hover") o.pin.toggle(k);
      else o.pin.select(k);
    } else if (e.key === "ArrowRight" || e.key === "ArrowLeft") {
      e.preventDefault();
      const at = order.indexOf(k);
      const next = order[Math.max(0, Math.min(order.length - 1, at + (e.key === "ArrowRight" ? 1 : -1)))];
      if (mode === "hover") o.pin.move(next);
      else o.pin.select(next);
      spans[/** @type {number} */ (tokenOfKey.get(next))].focus();
    }
  });

  return { el, spans, mark, tokenOf: (key) => (tokenOfKey.has(key) ? /** @type {number} */ (tokenOfKey.get(key)) : -1) };
}

module.exports = { tokenStrip };
