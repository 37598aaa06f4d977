// @ts-check
"use strict";
/**
 * Reading a view's spec: its typed arrays (base64 records, decode.js), shape checks, the
 * id → string vocabulary and the layer axis. Every error names the view kind and the key, so a
 * broken spec says what is wrong inside the view.
 */

const { decode } = require("../decode.js");

/** @typedef {import("../model.js").Model} Model */
/** @typedef {import("../decode.js").Decoded} Decoded */

/**
 * Decode the required array record `key` of the spec.
 * @param {Model} model
 * @param {string} key
 * @returns {Decoded}
 */
function arr(model, key) {
  const rec = model.get(key);
  if (!rec) throw new Error(`${model.get("kind")} spec: missing "${key}"`);
  return decode(rec);
}

/**
 * Check that the decoded array `a` (spec key `key`) has `shape` (-1 matches any length).
 * @param {Model} model
 * @param {string} key
 * @param {Decoded} a
 * @param {number[]} shape
 * @returns {Decoded} a
 */
function expectShape(model, key, a, shape) {
  const ok = a.shape.length === shape.length && shape.every((d, i) => d < 0 || a.shape[i] === d);
  if (!ok) {
    const want = shape.map((d) => (d < 0 ? "*" : d)).join(",");
    throw new Error(`${model.get("kind")} spec: "${key}" is [${a.shape}], expected [${want}]`);
  }
  return a;
}

/**
 * Decode `key` and check its shape in one step.
 * @param {Model} model
 * @param {string} key
 * @param {number[]} shape
 * @returns {Decoded}
 */
function arrOf(model, key, shape) {
  return expectShape(model, key, arr(model, key), shape);
}

/**
 * A list of strings from the spec (missing → []).
 * @param {Model} model
 * @param {string} key
 * @returns {string[]}
 */
function strings(model, key) {
  const v = model.get(key);
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw new Error(`${model.get("kind")} spec: "${key}" is not a list`);
  return v.map(String);
}

/**
 * id → display string, from the spec's vocab_ids / vocab_strings (unknown ids read "#id").
 * @param {Model} model
 * @returns {(id: number) => string}
 */
function vocabLookup(model) {
  const ids = arr(model, "vocab_ids").data;
  const strs = strings(model, "vocab_strings");
  if (strs.length !== ids.length) throw new Error(`${model.get("kind")} spec: vocab_ids and vocab_strings differ in length`);
  /** @type {Map<number, string>} */
  const m = new Map();
  ids.forEach((id, j) => m.set(id, strs[j]));
  return (id) => m.get(id) ?? `#${id}`;
}

/**
 * What a chip shows for each text token: the spec's `token_labels` entry where a token holds part
 * of a UTF-8 character (`"<E6 9D>(東)"`: its bytes in hex, the character they belong to), else
 * the token itself.
 * @param {Model} model
 * @returns {string[]}
 */
function tokenLabels(model) {
  const tokens = strings(model, "tokens");
  const labels = strings(model, "token_labels");
  if (labels.length && labels.length !== tokens.length) {
    throw new Error(`${model.get("kind")} spec: token_labels and tokens differ in length`);
  }
  return tokens.map((t, i) => labels[i] || t);
}

/**
 * The layer axis of a logit-lens spec: row labels ("embed", "0", ...), the layers' capture
 * names, and how many there are.
 * @param {Model} model
 * @returns {{layerLabels: string[], layerNames: string[], nL: number}}
 */
function layerAxis(model) {
  const layerLabels = strings(model, "layer_labels");
  const layerNames = strings(model, "layer_names");
  if (layerNames.length !== layerLabels.length) {
    throw new Error(`${model.get("kind")} spec: layer_names and layer_labels differ in length`);
  }
  return { layerLabels, layerNames, nL: layerLabels.length };
}

module.exports = { arr, arrOf, expectShape, strings, vocabLookup, tokenLabels, layerAxis };
