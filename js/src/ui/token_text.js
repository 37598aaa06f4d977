// @ts-check
"use strict";
/**
 * How a token reads. In running text (`inlineToken`): a newline shows as ↵ and still breaks the
 * line. In a chip (`tokenText`, `chip`): one line, a token of spaces only as ␣ marks (so a lone
 * space never looks like an empty box), control characters escaped ("\\x15"). Both build on
 * format.js `visibleToken` (↵ ⇥ ␍, ∅ for the empty string). Python mirrors `tokenText` as
 * lmlens.views.logit_lens_figures.token_text. A context label (`contextLabel`) is the
 * "…the text before **token**" header of the detail panels.
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

/** Tokens of left context in a context label. */
const CONTEXT = 6;

/**
 * "…the text before **token**": up to `before` tokens of left context, then token `i` in bold
 * (its chip label when `labels` are given: a byte piece reads `<E6 9D>(東)`, not ∅).
 * @param {string[]} tokens
 * @param {number} i
 * @param {{before?: number, cut?: boolean, labels?: string[]}} [opts]  cut: the text was cut before tokens[0] (shows "…")
 * @returns {HTMLElement}
 */
function contextLabel(tokens, i, opts = {}) {
  const start = Math.max(0, i - (opts.before ?? CONTEXT));
  return h("span", { className: "lm-context" }, [
    start > 0 || opts.cut ? "…" : "",
    ((ctx) => (ctx === "" ? "" : visibleToken(ctx)))(tokens.slice(start, i).join("")),
    h("b", { text: visibleToken((opts.labels && opts.labels[i]) || tokens[i] || "") }),
  ]);
}

module.exports = { inlineToken, tokenText, chip, contextLabel, CONTEXT };
