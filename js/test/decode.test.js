"use strict";
// Tests of js/src/decode.js: the same file the Python side inlines into every view.
const test = require("node:test");
const assert = require("node:assert/strict");
const { decode, decodeAsync, recordBytes, row, halfToFloat, base64ToBytes } = require("../src/decode.js");

/** @param {ArrayBufferView} view */
function b64(view) {
  return Buffer.from(view.buffer, view.byteOffset, view.byteLength).toString("base64");
}

test("float32 round trip keeps shape and values", () => {
  const src = new Float32Array([1.5, -2.25, 0, 3e-8, NaN, Infinity]);
  const out = decode({ dtype: "float32", shape: [2, 3], b64: b64(src) });
  assert.deepEqual(out.shape, [2, 3]);
  assert.ok(out.data instanceof Float32Array);
  assert.deepEqual(Array.from(out.data.slice(0, 4)), [1.5, -2.25, 0, Math.fround(3e-8)]);
  assert.ok(Number.isNaN(out.data[4]));
  assert.equal(out.data[5], Infinity);
});

test("integer dtypes decode to their typed arrays", () => {
  const cases = [
    ["int8", Int8Array, [-128, 0, 127]],
    ["uint8", Uint8Array, [0, 1, 255]],
    ["int16", Int16Array, [-32768, 7, 32767]],
    ["uint16", Uint16Array, [0, 9, 65535]],
    ["int32", Int32Array, [-2147483648, 42, 2147483647]],
    ["uint32", Uint32Array, [0, 42, 4294967295]],
  ];
  for (const [dtype, Type, values] of cases) {
    const out = decode({ dtype, shape: [3], b64: b64(new Type(values)) });
    assert.ok(out.data instanceof Type, dtype);
    assert.deepEqual(Array.from(out.data), values, dtype);
  }
});

test("float16 bit patterns decode exactly", () => {
  const bits = [0x3c00, 0xc000, 0x3555, 0x0001, 0x0400, 0x7bff, 0x7c00, 0xfc00, 0x7e00, 0x0000, 0x8000];
  const want = [1, -2, 0.333251953125, 2 ** -24, 2 ** -14, 65504, Infinity, -Infinity, NaN, 0, -0];
  const out = decode({ dtype: "float16", shape: [bits.length], b64: b64(new Uint16Array(bits)) });
  assert.ok(out.data instanceof Float32Array);
  want.forEach((w, i) => {
    if (Number.isNaN(w)) assert.ok(Number.isNaN(out.data[i]));
    else assert.ok(Object.is(out.data[i], w), `bits ${bits[i].toString(16)}: ${out.data[i]} != ${w}`);
  });
  assert.equal(halfToFloat(0x3c00), 1);
});

test("quantized uint8 records scale, offset and map the nan code", () => {
  const out = decode({ dtype: "uint8", shape: [4], b64: b64(new Uint8Array([0, 127, 254, 255])), scale: 1 / 254, offset: 0, nan: 255 });
  assert.ok(out.data instanceof Float32Array);
  assert.equal(out.data[0], 0);
  assert.ok(Math.abs(out.data[1] - 0.5) < 0.003);
  assert.ok(Math.abs(out.data[2] - 1) < 1e-6);
  assert.ok(Number.isNaN(out.data[3]));
});

test("row() views one row of a 2-D array", () => {
  const out = decode({ dtype: "int32", shape: [2, 3], b64: b64(new Int32Array([1, 2, 3, 4, 5, 6])) });
  assert.deepEqual(Array.from(row(out, 1)), [4, 5, 6]);
  assert.throws(() => row({ data: new Int32Array(3), shape: [3] }, 0), /2-D/);
});

test("bad records fail with a clear message", () => {
  assert.throws(() => decode({ dtype: "complex64", shape: [1], b64: "AAAAAA==" }), /unknown dtype/);
  assert.throws(() => decode({ dtype: "float32", shape: [3], b64: b64(new Float32Array(2)) }), /needs 12 bytes, got 8/);
  // @ts-expect-error deliberately wrong
  assert.throws(() => decode({ shape: [1] }), /not an array record/);
});

test("empty arrays and base64 of all byte values", () => {
  assert.equal(decode({ dtype: "float32", shape: [0, 4], b64: "" }).data.length, 0);
  const all = new Uint8Array(256).map((_, i) => i);
  assert.deepEqual(Array.from(base64ToBytes(b64(all))), Array.from(all));
});

test("deflate records inflate through DecompressionStream; decode() refuses them", async () => {
  const { deflateSync } = require("node:zlib");
  const values = new Uint8Array(1000).map((_, i) => (i % 7 === 0 ? i % 251 : 0));
  const rec = { dtype: "uint8", shape: [10, 100], b64: deflateSync(Buffer.from(values)).toString("base64"), codec: "deflate" };
  assert.ok(rec.b64.length < b64(values).length / 2);
  const out = await decodeAsync(rec);
  assert.deepEqual(out.shape, [10, 100]);
  assert.deepEqual(Array.from(out.data), Array.from(values));
  assert.deepEqual(Array.from(await recordBytes(rec)), Array.from(values));
  const scaled = await decodeAsync({ ...rec, scale: 0.5, offset: 0 });
  assert.ok(scaled.data instanceof Float32Array && scaled.data[7] === 3.5);
  assert.throws(() => decode(rec), /decodeAsync/);
  await assert.rejects(decodeAsync({ ...rec, codec: "gzip2" }), /unknown codec/);
  // a plain record decodes the same way through the async path
  assert.deepEqual(Array.from((await decodeAsync({ dtype: "uint8", shape: [3], b64: b64(new Uint8Array([1, 2, 3])) })).data), [1, 2, 3]);
});
