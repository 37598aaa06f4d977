// @ts-check
"use strict";
/**
 * Small DOM helpers. Text always goes in through `textContent`, never `innerHTML`, so
 * tokens such as `<img src=x onerror=...>` stay text. Styles live in the `.css` files next to
 * the modules (see docs/views.md); JS sets classes, and inline styles only for values that come
 * from the data (a cell's colour, a bar's width).
 */

const { parseColor, luminance, css } = require("./color.js");

// The SVG namespace is an identifier, never fetched; it is split so the inlined runtime holds
// no URL-looking text (Python refuses "http(s)://" in scripts).
const SVG_NS = ["http:", "", "www.w3.org", "2000", "svg"].join("/");

/**
 * @typedef {object} Props
 * @property {string} [className]
 * @property {string} [text]
 * @property {string} [title]
 * @property {Record<string, string>} [attrs]
 */

/**
 * Create an element: `h("span", {className: "lm-chip", text: token})`.
 * @param {string} tag
 * @param {Props} [props]
 * @param {(Node|string|null|undefined|false)[]} [children]
 * @returns {HTMLElement}
 */
function h(tag, props = {}, children = []) {
  const el = document.createElement(tag);
  if (props.className) el.className = props.className;
  if (props.text !== undefined) el.textContent = props.text;
  if (props.title) el.title = props.title;
  if (props.attrs) for (const [k, v] of Object.entries(props.attrs)) el.setAttribute(k, v);
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    el.appendChild(typeof c === "string" ? document.createTextNode(c) : c);
  }
  return el;
}

/**
 * An SVG element with attributes: `svg("line", {x1: 0, x2: 10, class: "lm-wt-grid"})`.
 * @param {string} tag
 * @param {Record<string, string|number>} [attrs]
 * @param {string} [text]
 * @returns {SVGElement}
 */
function svg(tag, attrs = {}, text) {
  const el = /** @type {SVGElement} */ (document.createElementNS(SVG_NS, tag));
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  if (text !== undefined) el.textContent = text;
  return el;
}

/**
 * The first opaque background among `el` and its ancestors (JupyterLab, VS Code and Colab all
 * paint one), as [r, g, b, a], or null.
 * @param {Element} el
 * @returns {number[]|null}
 */
function hostBackground(el) {
  for (let n = /** @type {Element|null} */ (el); n; n = n.parentElement) {
    const c = parseColor(getComputedStyle(n).backgroundColor);
    if (c && c[3] > 0.5) return c;
  }
  return null;
}

/**
 * Whether `el` sits on a dark background: the host's background, else VS Code's body class,
 * else the OS preference.
 * @param {Element} el
 * @returns {boolean}
 */
function isDark(el) {
  const c = hostBackground(el);
  if (c) return luminance(c) < 0.4;
  const body = document.body;
  if (body && /vscode-(dark|high-contrast)(?!-light)/.test(body.className)) return true;
  return !!(window.matchMedia && window.matchMedia("(prefers-color-scheme: dark)").matches);
}

/**
 * Resolve a theme preference ("auto" | "light" | "dark") for `el`.
 * @param {Element} el
 * @param {string} [pref]
 * @returns {"light"|"dark"}
 */
function resolveTheme(el, pref) {
  if (pref === "light" || pref === "dark") return pref;
  return isDark(el) ? "dark" : "light";
}

/**
 * Mark `el` with its theme (`data-lm-theme`, which picks the --lm-* colour set) and the host's
 * background (`--lm-host-bg`, for sticky cells), before a view draws into it.
 * @param {HTMLElement} el
 * @param {string} [pref]
 */
function applyTheme(el, pref) {
  el.setAttribute("data-lm-theme", resolveTheme(el, pref));
  const bg = hostBackground(el);
  if (bg) el.style.setProperty("--lm-host-bg", css(bg.slice(0, 3)));
}

/**
 * Write an error into `root` (never a blank cell). Returns the message shown.
 * @param {Element} root
 * @param {unknown} err
 * @returns {string}
 */
function showError(root, err) {
  const msg = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
  let box = root.querySelector(":scope > .lmlens-error");
  if (!box) {
    box = h("div", { className: "lmlens-error", attrs: { role: "alert" } });
    root.insertBefore(box, root.firstChild);
  }
  box.textContent = `lmlens could not draw this view. ${msg}`;
  /** @type {HTMLElement} */ (box).hidden = false;
  return msg;
}

/**
 * Wrap an event handler so an exception shows inside the view instead of vanishing.
 * (ui/listeners.js wraps every handler it registers.)
 * @template {any[]} A
 * @param {Element} el  any element inside the view
 * @param {(...args: A) => void} fn
 * @returns {(...args: A) => void}
 */
function guard(el, fn) {
  return (...args) => {
    try {
      fn(...args);
    } catch (err) {
      showError(el.closest(".lmlens-root") || el, err);
    }
  };
}

module.exports = { h, svg, hostBackground, isDark, resolveTheme, applyTheme, showError, guard };
