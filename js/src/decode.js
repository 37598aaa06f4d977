// @ts-check
"use strict";
/**
 * Decode the base64 typed-array records that Python writes (lmlens/views/_encode.py):
 *
 *   {"dtype": "float16", "shape": [3, 4], "b64": "...", "scale"?: s, "offset"?: o, "nan"?: code}
 *
 * Bytes are little-endian, C order. float16 and quantized integers (a record with "scale")
 * decode to Float32Array; every other dtype decodes to its own typed array.
 */

/** @typedef {{dtype: string, shape: number[], b64: string, scale?: number, offset?: number, nan?: number}} ArrayRecord */
/** @typedef {Float32Array|Float64Array|Int8Array|Uint8Array|Int16Array|Uint16Array|Int32Array|Uint32Array} Typed */
/** @typedef {{data: Typed, shape: number[]}} Decoded */

/** @type {Record<string, {new (buffer: ArrayBuffer): Typed, BYTES_PER_ELEMENT: number}>} */
const TYPES = {
  float32: Float32Array,
  float64: Float64Array,
  int8: Int8Array,
  uint8: Uint8Array,
  int16: Int16Array,
  uint16: Uint16Array,
  int32: Int32Array,
  uint32: Uint32Array,
  float16: Uint16Array,
};

/**
 * Base64 → bytes (uses the global `atob`, present in browsers and in Node ≥ 16).
 * @param {string} b64
 * @returns {Uint8Array}
 */
function base64ToBytes(b64) {
  const bin = atob(b64);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

/**
 * One IEEE 754 half-precision value (as its 16 bits) → a JS number.
 * @param {number} h
 * @returns {number}
 */
function halfToFloat(h) {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 31) return frac ? NaN : sign * Infinity;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

/**
 * @param {number[]} shape
 * @returns {number}
 */
function size(shape) {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/**
 * Decode one record into `{data, shape}`.
 * @param {ArrayRecord} rec
 * @returns {Decoded}
 */
function decode(rec) {
  if (!rec || typeof rec.b64 !== "string" || !Array.isArray(rec.shape)) {
    throw new Error("lmlens: not an array record (needs dtype, shape, b64)");
  }
  const Type = TYPES[rec.dtype];
  if (!Type) throw new Error(`lmlens: unknown dtype ${JSON.stringify(rec.dtype)}`);
  const bytes = base64ToBytes(rec.b64);
  const n = size(rec.shape);
  if (bytes.length !== n * Type.BYTES_PER_ELEMENT) {
    throw new Error(
      `lmlens: ${rec.dtype} array of shape [${rec.shape}] needs ${n * Type.BYTES_PER_ELEMENT} bytes, got ${bytes.length}`
    );
  }
  const raw = new Type(/** @type {ArrayBuffer} */ (bytes.buffer));
  if (rec.dtype === "float16") {
    const out = new Float32Array(n);
    for (let i = 0; i < n; i++) out[i] = halfToFloat(raw[i]);
    return { data: out, shape: rec.shape.slice() };
  }
  if (typeof rec.scale === "number") {
    const scale = rec.scale;
    const offset = typeof rec.offset === "number" ? rec.offset : 0;
    const nan = typeof rec.nan === "number" ? rec.nan : null;
    const out = new Float32Array(n);
    for (let i = 0; i < n; i++) out[i] = raw[i] === nan ? NaN : offset + raw[i] * scale;
    return { data: out, shape: rec.shape.slice() };
  }
  return { data: raw, shape: rec.shape.slice() };
}

/**
 * Row `i` of a decoded 2-D array (a view, not a copy).
 * @param {Decoded} arr
 * @param {number} i
 * @returns {Typed}
 */
function row(arr, i) {
  if (arr.shape.length !== 2) throw new Error(`lmlens: row() needs a 2-D array, got [${arr.shape}]`);
  const k = arr.shape[1];
  return arr.data.subarray(i * k, (i + 1) * k);
}

module.exports = { decode, row, halfToFloat, base64ToBytes };
