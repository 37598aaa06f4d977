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
 * Size `canvas` to `w` × `h` CSS pixels at the device's resolution (at most `maxDpr`, and less
 * when the canvas would pass 16k device pixels); returns the 2-D context scaled to CSS pixels and
 * the ratio.
 * @param {HTMLCanvasElement} canvas
 * @param {number} w
 * @param {number} h
 * @param {number} [maxDpr]
 * @returns {{ctx: CanvasRenderingContext2D|null, dpr: number}}
 */
function sizeCanvas(canvas, w, h, maxDpr = 2) {
  let dpr = Math.min(maxDpr, (typeof window !== "undefined" && window.devicePixelRatio) || 1);
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

/** Alpha of each code 0..255 for (top, gamma), kept for the last pair asked (a grid's ~300
 * thumbnails share one). */
let lutFor = "";
let lutAlpha = new Uint8Array(256);

/**
 * @param {number} top
 * @param {number} gamma
 * @returns {Uint8Array}
 */
function alphaTable(top, gamma) {
  const key = `${top}:${gamma}`;
  if (key !== lutFor) {
    lutAlpha = new Uint8Array(256);
    for (let v = 0; v < 256; v++) {
      const t = Math.min(1, v / top);
      lutAlpha[v] = Math.round(255 * (gamma === 1 ? t : t ** gamma));
    }
    lutFor = key;
  }
  return lutAlpha;
}

/**
 * RGBA pixels (w × h) of the matrix `vals` ([n × n] row-major, rows = queries) restricted to the
 * positions `rows` × `cols`: value v has colour `rgb` at alpha (v / top)^gamma; a block of several
 * cells per pixel shows its largest value. Cells at `hidden` positions are flat `maskRGB`, cells
 * under the causal mask (`causal`, a key after its query) striped. Written into `into` when it
 * has the right length (a grid of thumbnails reuses one buffer).
 *
 * The matrix is read row by row, in memory order: each pixel row folds its block of query rows
 * into one running maximum per pixel column. When `cols` is a run of consecutive positions with
 * none hidden (every key, or one sentence of a pair), a query's keys past the causal mask are cut
 * off as a whole, not tested one by one.
 * @param {ArrayLike<number>} vals
 * @param {number} n
 * @param {number[]} rows
 * @param {number[]} cols
 * @param {number} w
 * @param {number} h
 * @param {{rgb: number[], maskRGB: number[], top: number, gamma?: number, hidden: ArrayLike<number>, causal: boolean}} o
 * @param {Uint8ClampedArray} [into]
 * @returns {Uint8ClampedArray}
 */
function matrixPixels(vals, n, rows, cols, w, h, o, into) {
  const out = into && into.length === w * h * 4 ? into : new Uint8ClampedArray(w * h * 4);
  const R = rows.length;
  const C = cols.length;
  if (!R || !C) {
    out.fill(0);
    return out;
  }
  const top = o.top > 0 ? o.top : 1;
  const gamma = o.gamma || 1;
  const hid = o.hidden;
  const causal = o.causal;
  const [cr, cg, cb] = o.rgb;
  const [mr, mg, mb] = o.maskRGB;
  const cx0 = new Int32Array(w);
  const cx1 = new Int32Array(w);
  for (let x = 0; x < w; x++) {
    cx0[x] = Math.floor((x * C) / w);
    cx1[x] = Math.max(cx0[x] + 1, Math.floor(((x + 1) * C) / w));
  }
  const c0 = cols[0];
  let run = true;  // cols = c0, c0 + 1, …, none hidden
  for (let c = 0; c < C && run; c++) run = cols[c] === c0 + c && !hid[cols[c]];
  /** pixel column of each key when the pixel columns partition the keys (w ≤ C) */
  let colX = null;
  if (run && w <= C) {
    colX = new Int32Array(C);
    for (let x = 0; x < w; x++) colX.fill(x, cx0[x], cx1[x]);
  }
  const lut = alphaTable(top, gamma);
  const best = new Float64Array(w);
  const masked = new Uint8Array(w);
  for (let y = 0; y < h; y++) {
    const r0 = Math.floor((y * R) / h);
    const r1 = Math.max(r0 + 1, Math.floor(((y + 1) * R) / h));
    best.fill(-1);
    masked.fill(0);
    for (let r = r0; r < r1; r++) {
      const q = rows[r];
      if (hid[q]) continue;
      const base = q * n;
      if (run) {
        // keys c0 + c for c < lim are visible to query q
        const lim = causal ? Math.max(0, Math.min(C, q - c0 + 1)) : C;
        const at = base + c0;
        if (colX) {
          // fewer pixels than keys: every key in exactly one pixel column, one pass over the row
          for (let c = 0; c < lim; c++) {
            const v = vals[at + c];
            const x = colX[c];
            if (v > best[x]) best[x] = v;
          }
          if (lim < C) for (let x = colX[lim]; x < w; x++) masked[x] = 1;
          continue;
        }
        for (let x = 0; x < w; x++) {
          let end = cx1[x];
          if (end > lim) {
            masked[x] = 1;
            end = lim;
          }
          let m = best[x];
          for (let i = at + cx0[x], e = at + end; i < e; i++) if (vals[i] > m) m = vals[i];
          best[x] = m;
        }
        continue;
      }
      for (let x = 0; x < w; x++) {
        let m = best[x];
        for (let c = cx0[x], end = cx1[x]; c < end; c++) {
          const k = cols[c];
          if (hid[k]) continue;
          if (causal && k > q) {
            masked[x] = 1;
            continue;
          }
          const v = vals[base + k];
          if (v > m) m = v;
        }
        best[x] = m;
      }
    }
    for (let x = 0, at = y * w * 4; x < w; x++, at += 4) {
      const b = best[x];
      if (b >= 0) {
        out[at] = cr;
        out[at + 1] = cg;
        out[at + 2] = cb;
        out[at + 3] = top === 255 && b === (b | 0) ? lut[b] : Math.round(255 * (Math.min(1, b / top) ** gamma));
      } else {
        out[at] = mr;
        out[at + 1] = mg;
        out[at + 2] = mb;
        out[at + 3] = masked[x] ? ((x + y) % 6 < 2 ? 70 : 18) : 40;
      }
    }
  }
  return out;
}

/**
 * The largest value of `vals` over rows × cols, leaving out hidden positions and the causal mask.
 * @param {ArrayLike<number>} vals
 * @param {number} n
 * @param {number[]} rows
 * @param {number[]} cols
 * @param {ArrayLike<number>} hidden
 * @param {boolean} causal
 * @returns {number}
 */
function topValue(vals, n, rows, cols, hidden, causal) {
  let top = 0;
  for (const q of rows) {
    if (hidden[q]) continue;
    for (const k of cols) if (!hidden[k] && !(causal && k > q) && vals[q * n + k] > top) top = vals[q * n + k];
  }
  return top;
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

/**
 * A software rasteriser for the head view's lines: thousands of translucent straight lines from
 * the left edge to the right edge of a pixel buffer, and boxes. Canvas strokes cost ~0.2 ms a
 * line in a browser without GPU rasterisation (200 tokens × 12 heads is ~10^5 lines); here a line
 * is one pass over the columns where it is shallow (anti-aliased between two rows), over the rows
 * where it is steep (anti-aliased between two columns); what falls outside the buffer is clipped, never drawn along its
 * edge. Colours composite with "over" in premultiplied floats. (Stored column-major; 16 × 16
 * tiles, for locality both ways, measured no faster.)
 * @param {number} w  pixels
 * @param {number} h
 */
function lineRaster(w, h) {
  const n = w * h;
  /** premultiplied r, g, b and alpha of each pixel, interleaved, column by column (a line fills
   * spans of rows in each column: contiguous memory) */
  const buf = new Float32Array(n * 4);
  /**
   * Composite (r, g, b) at alpha a over the pixels of column x, rows lo..hi, alpha a.
   * @param {number} x @param {number} lo @param {number} hi
   * @param {number} r @param {number} g @param {number} b @param {number} a
   */
  function span(x, lo, hi, r, g, b, a) {
    const k = 1 - a;
    const ra = r * a;
    const ga = g * a;
    const ba = b * a;
    let i = (x * h + lo) * 4;
    for (let row = lo; row <= hi; row++, i += 4) {
      buf[i] = ra + buf[i] * k;
      buf[i + 1] = ga + buf[i + 1] * k;
      buf[i + 2] = ba + buf[i + 2] * k;
      buf[i + 3] = a + buf[i + 3] * k;
    }
  }
  return {
    clear() {
      buf.fill(0);
    },
    /**
     * A line from (x0, y0) to (x1, y1), x0 < x1, in pixels.
     * @param {number} x0 @param {number} y0 @param {number} x1 @param {number} y1
     * @param {number[]} rgb @param {number} a
     */
    line(x0, y0, x1, y1, rgb, a) {
      const r = rgb[0] * a;
      const g = rgb[1] * a;
      const b = rgb[2] * a;
      const xa = Math.max(0, Math.round(x0));
      const xb = Math.min(w - 1, Math.round(x1));
      const dy = (y1 - y0) / Math.max(1, xb - xa);
      const top = h - 1;
      let y = y0;
      if (dy > -1 && dy < 1) {
        for (let x = xa; x <= xb; x++, y += dy) {
          if (y <= -1 || y >= h) continue;  // outside the buffer: clipped
          const row = Math.floor(y);
          const f = y - row;
          let i = (x * h + row) * 4;
          const t = 1 - f;  // share of the upper row
          let k = 1 - a * t;
          if (row >= 0) {
            buf[i] = r * t + buf[i] * k;
            buf[i + 1] = g * t + buf[i + 1] * k;
            buf[i + 2] = b * t + buf[i + 2] * k;
            buf[i + 3] = a * t + buf[i + 3] * k;
          }
          if (row < top && f > 0) {
            i += 4;
            k = 1 - a * f;
            buf[i] = r * f + buf[i] * k;
            buf[i + 1] = g * f + buf[i + 1] * k;
            buf[i + 2] = b * f + buf[i + 2] * k;
            buf[i + 3] = a * f + buf[i + 3] * k;
          }
        }
        return;
      }
      // steep: one step per row, the coverage split between the two columns the line passes
      // between (as the shallow case splits it between two rows), so no column is a seam
      const ya = y0;
      const yb = y0 + (xb - xa) * dy;
      const r0 = Math.max(0, Math.ceil(Math.min(ya, yb)));
      const r1 = Math.min(top, Math.floor(Math.max(ya, yb)));
      const dx = 1 / dy;
      for (let row = r0; row <= r1; row++) {
        const x = xa + (row - ya) * dx;
        const col = Math.floor(x);
        const f = x - col;  // share of the right column
        const t = 1 - f;
        if (col >= xa && col <= xb) {
          const i = (col * h + row) * 4;
          const k = 1 - a * t;
          buf[i] = r * t + buf[i] * k;
          buf[i + 1] = g * t + buf[i + 1] * k;
          buf[i + 2] = b * t + buf[i + 2] * k;
          buf[i + 3] = a * t + buf[i + 3] * k;
        }
        if (f > 0 && col + 1 >= xa && col + 1 <= xb) {
          const i = ((col + 1) * h + row) * 4;
          const k = 1 - a * f;
          buf[i] = r * f + buf[i] * k;
          buf[i + 1] = g * f + buf[i + 1] * k;
          buf[i + 2] = b * f + buf[i + 2] * k;
          buf[i + 3] = a * f + buf[i + 3] * k;
        }
      }
    },
    /**
     * A filled box.
     * @param {number} x @param {number} y @param {number} bw @param {number} bh
     * @param {number[]} rgb @param {number} a
     */
    box(x, y, bw, bh, rgb, a) {
      const x0 = Math.max(0, Math.round(x));
      const x1 = Math.min(w, Math.round(x + bw));
      const y0 = Math.max(0, Math.round(y));
      const y1 = Math.min(h, Math.round(y + bh));
      for (let xx = x0; xx < x1; xx++) if (y1 > y0) span(xx, y0, y1 - 1, rgb[0], rgb[1], rgb[2], a);
    },
    /**
     * RGBA bytes of the buffer (un-premultiplied), into `out` when given (reused between drawings).
     * @param {Uint8ClampedArray} [into]
     * @returns {Uint8ClampedArray}
     */
    pixels(into) {
      const out = into || new Uint8ClampedArray(n * 4);
      if (into) out.fill(0);
      for (let x = 0; x < w; x++) {
        for (let row = 0, i = x * h * 4; row < h; row++, i += 4) {
          const al = buf[i + 3];
          if (al <= 0) continue;
          const o = (row * w + x) * 4;
          out[o] = buf[i] / al;
          out[o + 1] = buf[i + 1] / al;
          out[o + 2] = buf[i + 2] / al;
          out[o + 3] = al * 255;
        }
      }
      return out;
    },
  };
}

module.exports = { themeRGB, sizeCanvas, matrixPixels, topValue, putPixels, lineRaster };
