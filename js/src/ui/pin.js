// @ts-check
"use strict";
/**
 * Hover-and-pin: which item a view shows (`shown`) and whether it is pinned. Items are
 * integer keys (a token, a target, a grid cell), -1 for none. Pure state, no DOM: the token
 * strip, a grid or a heatmap call it, and `onShow(key, pinned)` redraws.
 *
 * - `hover(k)`: show k, unless something is pinned (pointer over an item, or focus on it)
 * - `toggle(k)`: pin k, or release it when it is the pinned one (click, Enter, Space)
 * - `move(k)`: show k and keep a pin on it if there was one (arrow keys)
 * - `release()`: unpin and keep showing the same item (Escape, the Unpin button)
 * - `select(k)`: pin k for good (a view whose items are chosen, not hovered)
 */

/**
 * @typedef {object} Pin
 * @property {() => number} shown
 * @property {() => number} pinned  -1 when nothing is pinned
 * @property {(k: number) => void} hover
 * @property {(k: number) => void} toggle
 * @property {(k: number) => void} move
 * @property {(k: number) => void} select
 * @property {() => void} release
 * @property {() => void} redraw  call onShow again (e.g. after a switch changed what is drawn)
 */

/**
 * @param {(key: number, pinned: boolean) => void} onShow
 * @returns {Pin}
 */
function pinState(onShow) {
  let shown = -1;
  let pinned = -1;
  /** @param {number} k */
  function show(k) {
    shown = k;
    onShow(k, pinned >= 0);
  }
  return {
    shown: () => shown,
    pinned: () => pinned,
    hover(k) {
      if (pinned < 0 && k !== shown) show(k);
    },
    toggle(k) {
      pinned = pinned === k ? -1 : k;
      show(k);
    },
    move(k) {
      if (pinned >= 0) pinned = k;
      show(k);
    },
    select(k) {
      pinned = k;
      show(k);
    },
    release() {
      if (pinned < 0) return;
      pinned = -1;
      show(shown);
    },
    redraw() {
      if (shown >= 0) show(shown);
    },
  };
}

module.exports = { pinState };
