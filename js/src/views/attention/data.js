// @ts-check
"use strict";
/**
 * The attention view's data and the arithmetic every mode shares (pure: no DOM, node-tested).
 *
 * The spec holds one record per layer: uint8 codes of shape [H, n, n] (zlib-compressed) and the
 * layer's scale (value = code × scale). Codes are kept as they are (a 30-layer, 9-head view of
 * 200 tokens is 10.8 MB of codes, four times that as floats); `code / 255` is also the drawing
 * strength, since the largest value of a layer maps to 255 for value-weighted norms and 1 maps
 * to 255 for attention.
 */

const { recordBytes } = require("../../decode.js");
const { arr, strings, tokenLabels } = require("../../ui/spec.js");

/**
 * @typedef {object} AttData
 * @property {number} n  positions shown
 * @property {number} L  layers shown
 * @property {number} H  heads shown
 * @property {number[]} layers  block numbers
 * @property {number[]} heads  head numbers
 * @property {(Uint8Array|null)[]} codes  per layer, [H, n, n]: codes[l][(h * n + q) * n + k];
 *   null for a layer a live page has not received yet (see `missingLayers`)
 * @property {number[]} scales  per layer: value = code × scale
 * @property {(Uint8Array|null)[]|null} roll  per layer, [n, n] rollout codes (value = code / 255), or null
 * @property {Uint8Array} hidden  1 where a position is left out
 * @property {ArrayLike<number>} generated  1 where lens.generate produced the token
 * @property {boolean} causal
 * @property {number} sb  first position of sentence B (-1: one text)
 * @property {string[]} tokens
 * @property {string[]} labels  what a chip shows for each token (ui/spec.js tokenLabels: a byte
 *   piece's hex and the character it is part of, `"<E6 9D>(東)"`, else the token)
 * @property {string} weighting  "attention" | "norm"
 * @property {number} offset  position of the first shown token in the text
 * @property {number} total  tokens in the text
 */

/**
 * Read the spec's small parts synchronously (errors name the key), then inflate every layer.
 * A live widget's spec may hold `null` for the layers it has not asked for (`missingOk`).
 * @param {import("../../model.js").Model} model
 * @param {boolean} [missingOk]
 * @returns {{tokens: string[], labels: string[], n: number, layers: number[], heads: number[], records: any[], rollRecords: any[]|null, hidden: Uint8Array, generated: ArrayLike<number>}}
 */
function readSpec(model, missingOk) {
  const kind = model.get("kind");
  const tokens = strings(model, "tokens");
  const labels = tokenLabels(model);
  const n = tokens.length;
  /** @type {number[]} */
  const layers = model.get("layers") || [];
  /** @type {number[]} */
  const heads = model.get("heads") || [];
  const records = model.get("weights");
  if (!Array.isArray(records) || records.length !== layers.length || !layers.length) {
    throw new Error(`${kind} spec: "weights" must hold one record per layer (${layers.length})`);
  }
  for (const rec of records) {
    if (rec === null && missingOk) continue;
    if (rec === null) throw new Error(`${kind} spec: "weights" holds only some layers (a live widget's page); save the static view (view.save_html) for every layer`);
    const want = [heads.length, n, n];
    if (!rec || !Array.isArray(rec.shape) || rec.dtype !== "uint8" || rec.shape.join() !== want.join()) {
      throw new Error(`${kind} spec: "weights" records must be uint8 [${want}], got ${rec && rec.dtype} [${rec && rec.shape}]`);
    }
  }
  const rollRecords = model.get("rollout") || null;
  if (rollRecords && rollRecords.length !== layers.length) throw new Error(`${kind} spec: "rollout" must hold one record per layer`);
  const hidden = /** @type {Uint8Array} */ (arr(model, "hidden").data);
  if (hidden.length !== n) throw new Error(`${kind} spec: "hidden" must have ${n} entries`);
  const generated = model.get("generated") ? arr(model, "generated").data : new Uint8Array(n);
  return { tokens, labels, n, layers, heads, records, rollRecords, hidden, generated };
}

/**
 * Inflate the layers (the browser's DecompressionStream) into an AttData.
 * @param {import("../../model.js").Model} model
 * @param {ReturnType<typeof readSpec>} s
 * @returns {Promise<AttData>}
 */
async function loadData(model, s) {
  const codes = await Promise.all(s.records.map((r) => (r ? recordBytes(r) : null)));
  const roll = s.rollRecords ? await Promise.all(s.rollRecords.map((r) => (r ? recordBytes(r) : null))) : null;
  const sb = Number(model.get("sentence_b_start"));
  return {
    n: s.n, L: s.layers.length, H: s.heads.length, layers: s.layers, heads: s.heads, codes,
    scales: s.records.map((r) => (r ? Number(r.scale) : 0)), roll, hidden: s.hidden, generated: s.generated, causal: !!model.get("causal"),
    sb: Number.isInteger(sb) ? sb : -1, tokens: s.tokens, labels: s.labels, weighting: String(model.get("weighting") || "attention"),
    offset: Number(model.get("offset") || 0), total: Number(model.get("n_positions") || s.n),
  };
}

/**
 * Slots of the layers mode `mode` needs that `d` lacks (a live page asks the kernel for them):
 * heads and matrix draw layer `layer`, model and pair every layer.
 * @param {AttData} d
 * @param {string} mode
 * @param {number} layer
 * @returns {number[]}
 */
function missingLayers(d, mode, layer) {
  const want = mode === "heads" || mode === "matrix" ? [layer] : d.layers.map((_, i) => i);
  return want.filter((l) => !d.codes[l] || (d.roll && !d.roll[l]));
}

/**
 * Codes of one attention row: head `h` of layer `l`, query `q` (a view, length n).
 * @param {AttData} d
 * @param {number} l
 * @param {number} h  head slot, or -1 for the rollout
 * @param {number} q
 * @returns {Uint8Array}
 */
function rowCodes(d, l, h, q) {
  const n = d.n;
  if (h < 0) {
    if (!d.roll) throw new Error("attention: this view has no rollout");
    return d.roll[l].subarray(q * n, (q + 1) * n);
  }
  const at = (h * n + q) * n;
  return d.codes[l].subarray(at, at + n);
}

/**
 * The value (not the code) of one cell.
 * @param {AttData} d
 * @param {number} l
 * @param {number} h  head slot, or -1 for the rollout
 * @param {number} q
 * @param {number} k
 * @returns {number}
 */
function value(d, l, h, q, k) {
  return rowCodes(d, l, h, q)[k] * (h < 0 ? 1 / 255 : d.scales[l]);
}

/**
 * Keys drawn for one row: among `keys`, the fewest with the largest codes whose sum reaches
 * `share` of the row's sum over `keys` (exBERT's cumulative-mass threshold); zeros never.
 * @param {ArrayLike<number>} codes  the row
 * @param {number[]} keys  candidate keys
 * @param {number} share  in (0, 1]
 * @returns {number[]}
 */
function massKeep(codes, keys, share) {
  const nz = keys.filter((k) => codes[k] > 0);
  if (share >= 1) return nz;
  let total = 0;
  for (const k of nz) total += codes[k];
  nz.sort((a, b) => codes[b] - codes[a] || a - b);
  const out = [];
  let sum = 0;
  for (const k of nz) {
    if (sum >= share * total) break;
    out.push(k);
    sum += codes[k];
  }
  return out;
}

/** The sentence filters of a pair: [value, label]. */
const FILTERS = /** @type {[string, string][]} */ ([
  ["all", "all"], ["AA", "A → A"], ["AB", "A → B"], ["BA", "B → A"], ["BB", "B → B"],
]);

/**
 * Query and key positions for a sentence filter ("all", "AA", "AB", "BA", "BB"; the first letter
 * is the queries' sentence); sentence B starts at `sb` (-1: one text, every filter is "all").
 * @param {number} n
 * @param {number} sb
 * @param {string} filter
 * @returns {{queries: number[], keys: number[]}}
 */
function sentenceSets(n, sb, filter) {
  const all = Array.from({ length: n }, (_, i) => i);
  if (sb < 0 || filter === "all" || filter.length !== 2) return { queries: all, keys: all };
  const part = (/** @type {string} */ c) => (c === "A" ? all.slice(0, sb) : all.slice(sb));
  return { queries: part(filter[0]), keys: part(filter[1]) };
}

/**
 * From query `q` to key `k` across the layers: per head (values, [L, H] row-major), the mean of
 * the active heads per layer, and the rollout (or null).
 * @param {AttData} d
 * @param {number} q
 * @param {number} k
 * @param {boolean[]} active
 * @returns {{perHead: Float32Array, mean: Float32Array, rollout: Float32Array|null}}
 */
function pairSeries(d, q, k, active) {
  const perHead = new Float32Array(d.L * d.H);
  const mean = new Float32Array(d.L);
  const on = active.filter(Boolean).length;
  for (let l = 0; l < d.L; l++) {
    let s = 0;
    for (let h = 0; h < d.H; h++) {
      const v = value(d, l, h, q, k);
      perHead[l * d.H + h] = v;
      if (active[h]) s += v;
    }
    mean[l] = on ? s / on : 0;
  }
  const rollout = d.roll ? Float32Array.from({ length: d.L }, (_, l) => value(d, l, -1, q, k)) : null;
  return { perHead, mean, rollout };
}

/**
 * Mean codes of the active heads over a whole layer ([n, n] floats, in code units), or the
 * rollout's codes (`rollout`), or one head's.
 * @param {AttData} d
 * @param {number} l
 * @param {boolean[]} active
 * @param {boolean} rollout
 * @returns {Float32Array}
 */
function layerMatrix(d, l, active, rollout) {
  const n = d.n;
  const out = new Float32Array(n * n);
  if (rollout) {
    if (!d.roll) throw new Error("attention: this view has no rollout");
    out.set(d.roll[l]);
    return out;
  }
  const on = [];
  for (let h = 0; h < d.H; h++) if (active[h]) on.push(h);
  const c = d.codes[l];
  for (const h of on) {
    const base = h * n * n;
    for (let i = 0; i < n * n; i++) out[i] += c[base + i];
  }
  if (on.length > 1) for (let i = 0; i < n * n; i++) out[i] /= on.length;
  return out;
}

module.exports = { readSpec, loadData, missingLayers, rowCodes, value, massKeep, sentenceSets, pairSeries, layerMatrix, FILTERS };
