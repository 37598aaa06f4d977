"use strict";
// Tests of js/src/format.js (text of numbers) and js/src/ui/token_text.js (how tokens read).
// Pure functions, no DOM. The Python twins (lmlens/views/_format.py, logit_lens_figures.py)
// are compared in tests/test_views_styles.py.
const test = require("node:test");
const assert = require("node:assert/strict");
const { formatProb, visibleToken, formatInt, rankText, probText, formatSigned } = require("../src/format.js");
const { inlineToken, tokenText } = require("../src/ui/token_text.js");

test("formatProb: 3 significant digits, floor and NaN", () => {
  assert.equal(formatProb(0.1234), "12.3%");
  assert.equal(formatProb(1), "100%");
  assert.equal(formatProb(0.012), "1.2%");
  assert.equal(formatProb(0.000456), "0.0456%");
  assert.equal(formatProb(1e-7), "<0.01%");
  assert.equal(formatProb(NaN), "–");
});

test("visibleToken and formatInt", () => {
  assert.equal(visibleToken(" a\nb\t"), " a↵b⇥");
  assert.equal(visibleToken(""), "∅");
  assert.equal(visibleToken("</script>"), "</script>");
  assert.equal(formatInt(1234567), "1,234,567");
  assert.equal(formatInt(12), "12");
});

test("rankText: exact below 1000, one decimal in thousands below 9.95k, then whole k", () => {
  const cases = [[1, "1"], [7, "7"], [999, "999"], [1000, "1.0k"], [1234, "1.2k"], [9949, "9.9k"],
    [9950, "10k"], [45678, "46k"], [49152, "49k"]];
  for (const [rank, want] of cases) assert.equal(rankText(rank), want, String(rank));
  for (let r = 1; r < 200000; r = Math.ceil(r * 1.3)) assert.ok(rankText(r).length <= 4, `rank ${r} fits a cell`);
});

test("probText: percent without the sign, at most 3 characters, NaN → dash", () => {
  const cases = [[1, "100"], [0.996, "100"], [0.995, "100"], [0.873, "87"], [0.5, "50"], [0.0995, "10"],
    [0.0345, "3.5"], [0.00995, "1.0"], [0.0004, ".04"], [0.0001, ".01"], [0.00009, "0"], [0, "0"]];
  for (const [p, want] of cases) assert.equal(probText(p), want, String(p));
  assert.equal(probText(NaN), "–");
  for (let e = -8; e <= 0; e += 0.1) assert.ok(probText(10 ** e).length <= 3, `1e${e.toFixed(1)}`);
});

test("formatSigned: 3 significant digits, explicit +, a real minus sign, tiny values in e-notation", () => {
  assert.equal(formatSigned(0.01234), "+0.0123");
  assert.equal(formatSigned(-2), "−2");
  assert.equal(formatSigned(0), "0");
  assert.equal(formatSigned(-0.347), "−0.347");
  assert.equal(formatSigned(0.0000123), "+1.2e-5");
  assert.equal(formatSigned(-0.0000123), "−1.2e-5");
  assert.equal(formatSigned(NaN), "–");
  assert.equal(formatSigned(/** @type {any} */ ("3")), "–");
});

test("inlineToken: newlines show as ↵ and still break the line; tabs, CRs and empty tokens visible", () => {
  assert.equal(inlineToken("a\nb"), "a↵\nb");
  assert.equal(inlineToken("\n\n"), "↵\n↵\n");
  assert.equal(inlineToken("\t\r"), "⇥␍");
  assert.equal(inlineToken(""), "∅");
  assert.equal(inlineToken(" Paris"), " Paris");
  assert.equal(inlineToken("<img src=x onerror=alert(1)>"), "<img src=x onerror=alert(1)>");
});

test("tokenText: spaces-only tokens as ␣, control characters escaped, everything else kept", () => {
  assert.equal(tokenText(" "), "␣");
  assert.equal(tokenText("   "), "␣␣␣");
  assert.equal(tokenText(""), "∅");
  assert.equal(tokenText("a\nb"), "a↵b");
  assert.equal(tokenText("\t\r"), "⇥␍");
  assert.equal(tokenText("\x15"), "\\x15");
  assert.equal(tokenText("\x00x\x7f"), "\\x00x\\x7f");
  for (const s of [" Paris", "▁東京", "Ġthe", "</script>", "<img src=x onerror=alert(1)>", " a "]) {
    assert.equal(tokenText(s), s, "kept as text");
  }
});
