"use strict";
// A tiny DOM for node tests of js/src/ui (no jsdom, no dependencies): elements with attributes,
// classes, style, children, text, focus, and event listeners with bubbling. It counts every
// listener added and removed, so tests can check that a cleanup removes them all.
//
//   const dom = require("./dom_stub.js");
//   dom.install();                      // sets global document, window, Element, getComputedStyle
//   const el = document.createElement("div");
//   dom.fire(el, "click");              // bubbles to the ancestors' listeners
//   dom.listenerCount(el)               // listeners on el and everything under it
//   dom.uninstall();

class StubNode {
  constructor() {
    /** @type {StubNode[]} */
    this.childNodes = [];
    /** @type {StubNode|null} */
    this.parentNode = null;
  }
  get parentElement() {
    return this.parentNode instanceof StubElement ? this.parentNode : null;
  }
  get firstChild() {
    return this.childNodes[0] || null;
  }
  get children() {
    return this.childNodes.filter((c) => c instanceof StubElement);
  }
  appendChild(c) {
    return this.insertBefore(c, null);
  }
  insertBefore(c, ref) {
    const kids = c instanceof StubFragment ? c.childNodes.slice() : [c];
    for (const k of kids) {
      if (k.parentNode) k.parentNode._drop(k);
      const at = ref ? this.childNodes.indexOf(ref) : -1;
      if (at >= 0) this.childNodes.splice(at, 0, k);
      else this.childNodes.push(k);
      k.parentNode = this;
    }
    return c;
  }
  append(...nodes) {
    for (const n of nodes) this.appendChild(typeof n === "string" ? new StubText(n) : n);
  }
  _drop(c) {
    const i = this.childNodes.indexOf(c);
    if (i >= 0) this.childNodes.splice(i, 1);
    c.parentNode = null;
  }
  remove() {
    if (this.parentNode) this.parentNode._drop(this);
  }
  contains(n) {
    for (let x = n; x; x = x.parentNode) if (x === this) return true;
    return false;
  }
  get textContent() {
    return this.childNodes.map((c) => c.textContent).join("");
  }
  set textContent(v) {
    for (const c of this.childNodes) c.parentNode = null;
    this.childNodes = [];
    if (v !== "" && v !== null && v !== undefined) this.appendChild(new StubText(String(v)));
  }
}

class StubText extends StubNode {
  constructor(data) {
    super();
    this.data = data;
  }
  get textContent() {
    return this.data;
  }
  set textContent(v) {
    this.data = String(v);
  }
}

class StubFragment extends StubNode {}

class StubElement extends StubNode {
  constructor(tag, ns) {
    super();
    this.tagName = tag.toUpperCase();
    this.namespaceURI = ns || null;
    /** @type {Map<string, string>} */
    this.attrs = new Map();
    /** @type {Map<string, Set<Function>>} */
    this.listeners = new Map();
    const props = {};
    this.style = new Proxy(props, {
      get: (t, k) => (k === "setProperty" ? (name, v) => { t[name] = v; } : k === "getPropertyValue" ? (name) => t[name] || "" : t[k] ?? ""),
      set: (t, k, v) => { t[k] = v; return true; },
    });
    const self = this;
    this.classList = {
      add: (...c) => self._classes(new Set([...self._classList(), ...c])),
      remove: (...c) => self._classes(new Set(self._classList().filter((x) => !c.includes(x)))),
      toggle: (c, on) => {
        const has = self._classList().includes(c);
        const want = on === undefined ? !has : !!on;
        if (want) self.classList.add(c);
        else self.classList.remove(c);
        return want;
      },
      contains: (c) => self._classList().includes(c),
    };
  }
  _classList() {
    return (this.attrs.get("class") || "").split(/\s+/).filter(Boolean);
  }
  _classes(set) {
    this.attrs.set("class", [...set].join(" "));
  }
  get className() {
    return this.attrs.get("class") || "";
  }
  set className(v) {
    this.attrs.set("class", v);
  }
  get id() {
    return this.attrs.get("id") || "";
  }
  get title() {
    return this.attrs.get("title") || "";
  }
  set title(v) {
    this.attrs.set("title", String(v));
  }
  get hidden() {
    return this.attrs.has("hidden");
  }
  set hidden(v) {
    if (v) this.attrs.set("hidden", "");
    else this.attrs.delete("hidden");
  }
  get tabIndex() {
    return this.attrs.has("tabindex") ? Number(this.attrs.get("tabindex")) : -1;
  }
  set tabIndex(v) {
    this.attrs.set("tabindex", String(v));
  }
  setAttribute(k, v) {
    this.attrs.set(k, String(v));
  }
  getAttribute(k) {
    return this.attrs.has(k) ? this.attrs.get(k) : null;
  }
  hasAttribute(k) {
    return this.attrs.has(k);
  }
  removeAttribute(k) {
    this.attrs.delete(k);
  }
  matches(sel) {
    return sel.split(",").some((one) => {
      const m = /^([a-z0-9]*)((?:\.[\w-]+)*)(?:\[([\w-]+)(?:="([^"]*)")?\])?$/i.exec(one.trim());
      if (!m) throw new Error(`dom_stub: unsupported selector ${one}`);
      const [, tag, classes, attr, val] = m;
      if (tag && tag.toUpperCase() !== this.tagName) return false;
      for (const c of classes.split(".").filter(Boolean)) if (!this.classList.contains(c)) return false;
      if (attr && (!this.attrs.has(attr) || (val !== undefined && this.attrs.get(attr) !== val))) return false;
      return true;
    });
  }
  closest(sel) {
    for (let x = this; x instanceof StubElement; x = x.parentNode) if (x.matches(sel)) return x;
    return null;
  }
  querySelectorAll(sel) {
    const out = [];
    const walk = (n) => {
      for (const c of n.childNodes) {
        if (c instanceof StubElement) {
          if (c.matches(sel)) out.push(c);
          walk(c);
        }
      }
    };
    walk(this);
    return out;
  }
  querySelector(sel) {
    return this.querySelectorAll(sel.replace(/^:scope\s*>\s*/, ""))[0] || null;
  }
  addEventListener(type, fn) {
    if (!this.listeners.has(type)) this.listeners.set(type, new Set());
    this.listeners.get(type).add(fn);
  }
  removeEventListener(type, fn) {
    this.listeners.get(type)?.delete(fn);
  }
  focus() {
    const prev = global.document.activeElement;
    global.document.activeElement = this;
    if (prev !== this) fire(this, "focusin");
  }
  scrollIntoView() {}
  getBoundingClientRect() {
    return { left: 0, top: 0, width: 0, height: 0, right: 0, bottom: 0, x: 0, y: 0 };
  }
  get clientWidth() {
    return 0;
  }
}

/**
 * Dispatch an event of `type` at `target`, bubbling to its ancestors (mouseleave does not bubble).
 * @returns {{defaultPrevented: boolean}}
 */
function fire(target, type, props = {}) {
  const e = { type, target, defaultPrevented: false, bubbles: type !== "mouseleave", ...props };
  e.preventDefault = () => { e.defaultPrevented = true; };
  for (let n = target; n; n = e.bubbles ? n.parentNode : null) {
    if (!(n instanceof StubElement)) continue;
    e.currentTarget = n;
    for (const fn of Array.from(n.listeners.get(type) || [])) fn(e);
  }
  return e;
}

/** Listeners on `el` and every element under it. */
function listenerCount(el) {
  let count = 0;
  for (const set of el.listeners.values()) count += set.size;
  for (const c of el.childNodes) if (c instanceof StubElement) count += listenerCount(c);
  return count;
}

const saved = {};
const NAMES = ["document", "window", "Element", "getComputedStyle"];

function install() {
  for (const k of NAMES) saved[k] = global[k];
  const body = new StubElement("body");
  global.document = {
    body,
    activeElement: null,
    createElement: (tag) => new StubElement(tag),
    createElementNS: (ns, tag) => new StubElement(tag, ns),
    createTextNode: (s) => new StubText(s),
    createDocumentFragment: () => new StubFragment(),
  };
  global.window = { devicePixelRatio: 1, matchMedia: () => ({ matches: false }) };
  global.Element = StubElement;
  global.getComputedStyle = () => ({ backgroundColor: "", getPropertyValue: () => "" });
}

function uninstall() {
  for (const k of NAMES) {
    if (saved[k] === undefined) delete global[k];
    else global[k] = saved[k];
  }
}

module.exports = { install, uninstall, fire, listenerCount, StubElement };
