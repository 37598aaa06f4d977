// @ts-check
"use strict";
/**
 * Decode the base64 typed-array records that Python writes (lmlens/views/_encode.py):
 *
 *   {"dtype": "float16", "shape": [3, 4], "b64": "...", "scale"?: s, "offset"?: o, "nan"?: code}
 *
 * Bytes are little-endian, C order. float16 and quantized integers (a record with "scale")
 * decode to Float32Array; every other dtype decodes to its own typed array.
 *
 * A record with "codec": "deflate" holds zlib-compressed bytes: `decodeAsync` (and `recordBytes`)
 * inflate them with the browser's own DecompressionStream; `decode` refuses them.
 */

/** @typedef {{dtype: string, shape: number[], b64: string, scale?: number, offset?: number, nan?: number, codec?: string}} ArrayRecord */
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
 * Base64 → bytes (`Uint8Array.fromBase64` where the platform has it, else the global `atob`,
 * present in browsers and in Node ≥ 16).
 * @param {string} b64
 * @returns {Uint8Array}
 */
function base64ToBytes(b64) {
  // the platform's decoder where there is one (Chromium 140+, Firefox 133+, Safari 18.2+): a
  // 2 MB view's data in ~1 ms instead of a character loop
  const U8 = /** @type {any} */ (Uint8Array);
  if (typeof U8.fromBase64 === "function") return U8.fromBase64(b64);
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
 * @param {ArrayRecord} rec
 * @returns {{new (buffer: ArrayBuffer): Typed, BYTES_PER_ELEMENT: number}}
 */
function checkRecord(rec) {
  if (!rec || typeof rec.b64 !== "string" || !Array.isArray(rec.shape)) {
    throw new Error("lmlens: not an array record (needs dtype, shape, b64)");
  }
  const Type = TYPES[rec.dtype];
  if (!Type) throw new Error(`lmlens: unknown dtype ${JSON.stringify(rec.dtype)}`);
  if (rec.codec !== undefined && rec.codec !== "deflate") throw new Error(`lmlens: unknown codec ${JSON.stringify(rec.codec)}`);
  return Type;
}

/**
 * A record's values from its (inflated) bytes.
 * @param {ArrayRecord} rec
 * @param {Uint8Array} bytes
 * @returns {Decoded}
 */
function fromBytes(rec, bytes) {
  const Type = checkRecord(rec);
  const n = size(rec.shape);
  if (bytes.length !== n * Type.BYTES_PER_ELEMENT) {
    throw new Error(
      `lmlens: ${rec.dtype} array of shape [${rec.shape}] needs ${n * Type.BYTES_PER_ELEMENT} bytes, got ${bytes.length}`
    );
  }
  const whole = bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength;
  const buf = whole ? bytes.buffer : bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
  const raw = new Type(/** @type {ArrayBuffer} */ (buf));
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
 * Decode one (uncompressed) record into `{data, shape}`.
 * @param {ArrayRecord} rec
 * @returns {Decoded}
 */
function decode(rec) {
  checkRecord(rec);
  if (rec.codec) throw new Error("lmlens: a compressed record needs decodeAsync");
  return fromBytes(rec, base64ToBytes(rec.b64));
}

/**
 * Inflate zlib-compressed bytes ("deflate" format) with the platform's DecompressionStream.
 * @param {Uint8Array} bytes
 * @returns {Promise<Uint8Array>}
 */
async function inflate(bytes) {
  if (typeof DecompressionStream === "undefined") {
    throw new Error("lmlens: this browser cannot inflate compressed view data (no DecompressionStream); open the view in a current browser");
  }
  // a stream over the bytes themselves: a Blob's stream reads them back through the browser's
  // blob store, which took twice as long for a 30-layer attention view
  const source = new ReadableStream({
    start(c) {
      c.enqueue(bytes);
      c.close();
    },
  });
  const stream = source.pipeThrough(new DecompressionStream("deflate"));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

/**
 * A record's raw element bytes, inflated when compressed (e.g. uint8 codes without their scale).
 * @param {ArrayRecord} rec
 * @returns {Promise<Uint8Array>}
 */
async function recordBytes(rec) {
  checkRecord(rec);
  const bytes = base64ToBytes(rec.b64);
  return rec.codec === "deflate" ? inflate(bytes) : bytes;
}

/**
 * Decode any record, compressed or not.
 * @param {ArrayRecord} rec
 * @returns {Promise<Decoded>}
 */
async function decodeAsync(rec) {
  return fromBytes(rec, await recordBytes(rec));
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

module.exports = { decode, decodeAsync, recordBytes, inflate, row, halfToFloat, base64ToBytes };
