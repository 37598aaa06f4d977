// @ts-check
"use strict";
/**
 * Canvas helpers of the attention view: the theme's colours as RGB, a canvas sized for the
 * device's pixels, and `matrixPixels`, which turns an attention matrix into RGBA pixels of any
 * size (max-pooled when the matrix is larger than the pixels, so one strong cell never fades;
 * the causal mask striped, hidden positions flat). Pixels carry alpha only, so a heatmap sits on
 * whatever background the host has, light or dark.
 */

const { hexRGB, parseColor } = require("../../color.js");

/**
 * A theme colour of `el` (a `--lm-*` variable) as [r, g, b].
 * @param {Element} el
 * @param {string} name
 * @param {[number, number, number]} dflt
 * @returns {[number, number, number]}
 */
function themeRGB(el, name, dflt) {
  const v = getComputedStyle(el).getPropertyValue(name).trim();
  if (/^#[0-9a-f]{6}$/i.test(v)) return hexRGB(v);
  const c = parseColor(v);
  return c ? [c[0], c[1], c[2]] : dflt;
}

/**
 * Size `canvas` to `w` × `h` CSS pixels at the device's resolution (at most 2×, and less when the
 * canvas would pass 16k device pixels); returns the 2-D context scaled to CSS pixels and the ratio.
 * @param {HTMLCanvasElement} canvas
 * @param {number} w
 * @param {number} h
 * @returns {{ctx: CanvasRenderingContext2D|null, dpr: number}}
 */
function sizeCanvas(canvas, w, h) {
  let dpr = Math.min(2, (typeof window !== "undefined" && window.devicePixelRatio) || 1);
  while (dpr > 1 && Math.max(w, h) * dpr > 16000) dpr /= 2;
  if (Math.max(w, h) * dpr > 16000) dpr = 16000 / Math.max(w, h, 1);
  canvas.width = Math.max(1, Math.round(w * dpr));
  canvas.height = Math.max(1, Math.round(h * dpr));
  canvas.style.width = `${w}px`;
  canvas.style.height = `${h}px`;
  const ctx = canvas.getContext("2d");
  if (ctx) ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  return { ctx, dpr };
}

/** What a cell is: a value, under the causal mask, or at a hidden position. */
const VALUE = 0;
const MASKED = 1;
const HIDDEN = 2;

/**
 * RGBA pixels (w × h) of the matrix `vals` ([n × n] row-major, rows = queries) restricted to the
 * positions `rows` × `cols`: value v has colour `rgb` at alpha (v / top)^gamma; a block of several
 * cells per pixel shows its largest value. `kindOf(q, k)` says VALUE, MASKED or HIDDEN; masked
 * cells are striped in `maskRGB`, hidden ones flat.
 * @param {ArrayLike<number>} vals
 * @param {number} n
 * @param {number[]} rows
 * @param {number[]} cols
 * @param {number} w
 * @param {number} h
 * @param {{rgb: number[], maskRGB: number[], top: number, gamma?: number, kindOf: (q: number, k: number) => number}} o
 * @returns {Uint8ClampedArray}
 */
function matrixPixels(vals, n, rows, cols, w, h, o) {
  const out = new Uint8ClampedArray(w * h * 4);
  const R = rows.length;
  const C = cols.length;
  if (!R || !C) return out;
  const top = o.top > 0 ? o.top : 1;
  const gamma = o.gamma || 1;
  const cx0 = new Int32Array(w);
  const cx1 = new Int32Array(w);
  for (let x = 0; x < w; x++) {
    cx0[x] = Math.floor((x * C) / w);
    cx1[x] = Math.max(cx0[x] + 1, Math.floor(((x + 1) * C) / w));
  }
  for (let y = 0; y < h; y++) {
    const r0 = Math.floor((y * R) / h);
    const r1 = Math.max(r0 + 1, Math.floor(((y + 1) * R) / h));
    for (let x = 0; x < w; x++) {
      let best = -1;
      let kind = HIDDEN;
      for (let r = r0; r < r1; r++) {
        const q = rows[r];
        for (let c = cx0[x]; c < cx1[x]; c++) {
          const k = cols[c];
          const kd = o.kindOf(q, k);
          if (kd === VALUE) {
            const v = vals[q * n + k];
            if (v > best) best = v;
            kind = VALUE;
          } else if (kd === MASKED && kind === HIDDEN) {
            kind = MASKED;
          }
        }
      }
      const at = (y * w + x) * 4;
      if (kind === VALUE) {
        const t = Math.min(1, best / top);
        out[at] = o.rgb[0];
        out[at + 1] = o.rgb[1];
        out[at + 2] = o.rgb[2];
        out[at + 3] = Math.round(255 * (gamma === 1 ? t : t ** gamma));
      } else {
        out[at] = o.maskRGB[0];
        out[at + 1] = o.maskRGB[1];
        out[at + 2] = o.maskRGB[2];
        out[at + 3] = kind === MASKED ? ((x + y) % 6 < 2 ? 70 : 18) : 40;
      }
    }
  }
  return out;
}

/**
 * `kindOf` for a layer: hidden positions, then the causal mask (a key after its query).
 * @param {Uint8Array} hidden
 * @param {boolean} causal
 * @returns {(q: number, k: number) => number}
 */
function cellKinds(hidden, causal) {
  return (q, k) => (hidden[q] || hidden[k] ? HIDDEN : causal && k > q ? MASKED : VALUE);
}

/**
 * Put pixels on `ctx` at (x, y) in CSS pixels (the pixels are in device pixels).
 * @param {CanvasRenderingContext2D} ctx
 * @param {Uint8ClampedArray} px
 * @param {number} w  device pixels
 * @param {number} h
 * @param {number} x  CSS pixels
 * @param {number} y
 * @param {number} dpr
 */
function putPixels(ctx, px, w, h, x, y, dpr) {
  if (!w || !h) return;
  const img = ctx.createImageData(w, h);
  img.data.set(px);
  ctx.putImageData(img, Math.round(x * dpr), Math.round(y * dpr));
}

module.exports = { themeRGB, sizeCanvas, matrixPixels, cellKinds, putPixels, VALUE, MASKED, HIDDEN };
