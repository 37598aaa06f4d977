"use strict";
// Hand-made specs the node tests draw (views.test.js, live.test.js).

/** An array record, as lmlens.views.encode_array writes it.
 * @param {string} dtype @param {number[]} shape @param {ArrayBufferView} view */
function rec(dtype, shape, view) {
  return { dtype, shape, b64: Buffer.from(view.buffer, view.byteOffset, view.byteLength).toString("base64") };
}

/** Three tokens "A B C", vocabulary = the tokens, top-2 at each position. */
function predictionsSpec() {
  return {
    kind: "predictions", version: 1, title: "P", model_name: "m", summary: "", notices: [], mode: "next", k: 2,
    n_positions: 3, tokens: ["A", " B", " C"],
    token_ids: rec("int32", [3], new Int32Array([0, 1, 2])),
    probs: rec("float32", [3], new Float32Array([NaN, 0.25, 0.5])),
    ranks: rec("int32", [3], new Int32Array([0, 2, 1])),
    topk_ids: rec("int32", [3, 2], new Int32Array([2, 1, 2, 0, 1, 0])),
    topk_probs: rec("float32", [3, 2], new Float32Array([0.5, 0.25, 0.5, 0.1, 0.4, 0.3])),
    vocab_ids: rec("int32", [3], new Int32Array([0, 1, 2])),
    vocab_strings: ["A", " B", " C"],
    generated: rec("uint8", [3], new Uint8Array([0, 0, 1])),
  };
}

module.exports = { rec, predictionsSpec };
