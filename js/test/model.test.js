"use strict";
// The static model shim and the runtime entry's module lookup (no DOM needed).
const test = require("node:test");
const assert = require("node:assert/strict");
const fs = require("node:fs");
const path = require("node:path");
const { staticModel } = require("../src/model.js");
const index = require("../src/index.js");

test("staticModel reads the spec and keeps UI state apart from it", () => {
  const spec = { kind: "predictions", k: 3 };
  const m = staticModel(spec);
  assert.equal(m.get("kind"), "predictions");
  const seen = [];
  const cb = (v) => seen.push(v);
  m.on("change:locked", cb);
  m.set("locked", 4);
  assert.equal(m.get("locked"), 4);
  assert.deepEqual(seen, [4]);
  assert.equal(spec.locked, undefined, "the spec is never written");
  m.off("change:locked", cb);
  m.set("locked", 5);
  assert.deepEqual(seen, [4]);
  m.save_changes();
  m.send({});
});

test("render refuses unknown kinds and newer spec versions", () => {
  const el = { setAttribute() {}, textContent: "" };
  assert.throws(() => index.render({ model: staticModel({ kind: "no_such_view", version: 1 }), el }), /no "no_such_view" view/);
  assert.throws(() => index.render({ model: staticModel({ kind: "../x", version: 1 }), el }), /not a view name/);
  assert.throws(() => index.render({ model: staticModel({ kind: "predictions", version: 99 }), el }), /version 99/);
});

test("runtime version equals js/package.json", () => {
  const pkg = JSON.parse(fs.readFileSync(path.join(__dirname, "..", "package.json"), "utf8"));
  assert.equal(index.version, pkg.version);
});

test("every module in views/ is a view: it exports render and VERSION (shared pieces live in ui/)", () => {
  const dir = path.join(__dirname, "..", "src", "views");
  for (const f of fs.readdirSync(dir).filter((f) => f.endsWith(".js"))) {
    const mod = require(path.join(dir, f));
    assert.equal(typeof mod.render, "function", f);
    assert.ok(Number.isInteger(mod.VERSION) && mod.VERSION >= 1, f);
  }
});
