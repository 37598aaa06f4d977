// @ts-check
"use strict";
/**
 * How a token reads. In running text (`inlineToken`): a newline shows as ↵ and still breaks the
 * line. In a chip (`tokenText`, `chip`): one line, a token of spaces only as ␣ marks (so a lone
 * space never looks like an empty box), control characters escaped ("\\x15"). Both build on
 * format.js `visibleToken` (↵ ⇥ ␍, ∅ for the empty string). Python mirrors `tokenText` as
 * lmlens.views.logit_lens_figures.token_text.
 */

const { h } = require("../dom.js");
const { visibleToken } = require("../format.js");

/**
 * A token inside running text: newlines show as ↵ and still break the line.
 * @param {string} s
 * @returns {string}
 */
function inlineToken(s) {
  if (s === "") return "∅";
  return s.replace(/\r/g, "␍").replace(/\t/g, "⇥").replace(/\n/g, "↵\n");
}

/**
 * A token as a chip shows it.
 * @param {string} s
 * @returns {string}
 */
function tokenText(s) {
  if (s !== "" && /^ +$/.test(s)) return "␣".repeat(s.length);
  // eslint-disable-next-line no-control-regex
  return visibleToken(s).replace(/[\u0000-\u001f\u007f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, "0")}`);
}

/**
 * A chip: `span.lm-chip` holding `tokenText(s)`.
 * @param {string} s
 * @param {string} [extraClass]
 * @returns {HTMLElement}
 */
function chip(s, extraClass) {
  return h("span", { className: extraClass ? `lm-chip ${extraClass}` : "lm-chip", text: tokenText(s) });
}

module.exports = { inlineToken, tokenText, chip };
