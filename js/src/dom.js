// @ts-check
"use strict";
/**
 * Small DOM helpers. Text always goes in through `textContent`, never `innerHTML`, so
 * tokens such as `<img src=x onerror=...>` stay text.
 */

/**
 * @typedef {object} Props
 * @property {string} [className]
 * @property {string} [text]
 * @property {string} [title]
 * @property {Record<string, string>} [attrs]
 * @property {Partial<CSSStyleDeclaration>} [style]
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
  if (props.style) Object.assign(el.style, props.style);
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    el.appendChild(typeof c === "string" ? document.createTextNode(c) : c);
  }
  return el;
}

/**
 * "rgb(r, g, b)" / "rgba(r, g, b, a)" → [r, g, b, a] or null.
 * @param {string} s
 * @returns {number[]|null}
 */
function parseColor(s) {
  const m = /rgba?\(([^)]+)\)/.exec(s || "");
  if (!m) return null;
  const parts = m[1].split(/[\s,/]+/).filter(Boolean).map(Number);
  if (parts.length < 3 || parts.some(Number.isNaN)) return null;
  return [parts[0], parts[1], parts[2], parts.length > 3 ? parts[3] : 1];
}

/**
 * Relative luminance (0 black … 1 white) of an sRGB colour.
 * @param {number[]} rgb
 * @returns {number}
 */
function luminance(rgb) {
  const lin = rgb.slice(0, 3).map((v) => {
    const c = v / 255;
    return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
  });
  return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2];
}

/**
 * Whether `el` sits on a dark background: the first opaque background among its ancestors
 * (JupyterLab, VS Code and Colab all paint one), else VS Code's body class, else the OS
 * preference.
 * @param {Element} el
 * @returns {boolean}
 */
function isDark(el) {
  for (let n = /** @type {Element|null} */ (el); n; n = n.parentElement) {
    const c = parseColor(getComputedStyle(n).backgroundColor);
    if (c && c[3] > 0.5) return luminance(c) < 0.4;
  }
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

module.exports = { h, parseColor, luminance, isDark, resolveTheme, showError, guard };
