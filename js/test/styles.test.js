"use strict";
// The one styling mechanism, checked on the sources: styles live in .css files next to the JS
// module that draws them (every selector starting with "&", the scope Python fills in); JS sets
// classes, and inline styles only for values that come from the data. Nothing in js/src can
// close a <script>/<style> or name a URL (Python inlines every file).
const test = require("node:test");
const assert = require("node:assert/strict");
const fs = require("node:fs");
const path = require("node:path");

const SRC = path.join(__dirname, "..", "src");

/** @returns {string[]} paths relative to js/src */
function files(dir = SRC) {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((d) =>
    d.isDirectory() ? files(path.join(dir, d.name)) : [path.relative(SRC, path.join(dir, d.name))]);
}
const read = (/** @type {string} */ f) => fs.readFileSync(path.join(SRC, f), "utf8");
const js = files().filter((f) => f.endsWith(".js"));
const css = files().filter((f) => f.endsWith(".css"));

test("js/src holds only .js modules and their .css stylesheets", () => {
  assert.deepEqual(files().filter((f) => !f.endsWith(".js") && !f.endsWith(".css")), []);
  for (const f of css) assert.ok(js.includes(f.replace(/\.css$/, ".js")), `${f} has no module next to it`);
  for (const want of ["index.css", "ui/token_strip.css", "ui/detail.css", "ui/switch.css", "ui/legend.css",
    "ui/topk.css", "ui/header.css", "ui/token_text.css"]) assert.ok(css.includes(want), want);
});

test("no JS writes CSS text: no <style> elements, cssText, insertRule or CSS template strings", () => {
  for (const f of js) {
    const src = read(f);
    assert.ok(!/createElement\(\s*["']style["']|h\(\s*["']style["']|cssText|insertRule|adoptedStyleSheets/.test(src), f);
    assert.ok(!/\{\s*[a-z-]+\s*:\s*[^;{}]+;\s*[a-z-]+\s*:/.test(src.replace(/\/\*[\s\S]*?\*\//g, "")), `${f} holds CSS rules`);
  }
});

test("inline styles only for data-driven values (colours, sizes, grid tracks, the host background)", () => {
  const allowed = new Set(["backgroundColor", "background", "color", "width", "height", "gridTemplateColumns"]);
  for (const f of js) {
    const src = read(f);
    for (const m of src.matchAll(/\.style\.([A-Za-z]+)/g)) {
      if (m[1] === "setProperty") continue;
      assert.ok(allowed.has(m[1]), `${f}: .style.${m[1]}: use a class and a rule in a .css file`);
    }
    for (const m of src.matchAll(/\.style\.setProperty\(\s*"([^"]+)"/g)) assert.match(m[1], /^--lm-/, f);
  }
});

test("every stylesheet rule is scoped: each selector starts with & ; no at-rules, no url()", () => {
  for (const f of css) {
    const text = read(f).replace(/\/\*[\s\S]*?\*\//g, "");
    assert.ok(!/@|url\(|<\//i.test(text), f);
    const preludes = text.split("}").map((r) => r.split("{")[0].trim()).filter(Boolean);
    assert.ok(preludes.length > 0, f);
    for (const p of preludes) for (const sel of p.split(",")) assert.match(sel.trim(), /^&/, `${f}: ${sel.trim()}`);
  }
});

test("colours in stylesheets come from the --lm-* variables (index.css defines both themes)", () => {
  const shell = read("index.css");
  assert.match(shell, /\[data-lm-theme="dark"\]/);
  for (const f of css.filter((f) => f !== "index.css")) {
    const text = read(f).replace(/\/\*[\s\S]*?\*\//g, "");
    assert.deepEqual(text.match(/#[0-9a-f]{3,8}\b|rgba?\(/gi) || [], [], f);
  }
});

test("no file can close a script or style, open a comment, or name a URL", () => {
  for (const f of files()) {
    const src = read(f);
    assert.ok(!/<\/script|<\/style|<!--|https?:\/\//i.test(src), f);
  }
});
