"""Headless Chromium for view tests: offline, every request blocked and recorded.

``open_page(path)`` opens a saved HTML file with Playwright, lets only that file's own URL load,
and records every other request (which is aborted) and every console error / page error::

    with chromium() as b, open_page(tmp_path / "view.html", browser=b) as (page, log):
        page.hover(".lm-tok >> nth=2")
    assert log.requests == [] and log.errors == []

Uses Debian's ``chromium`` (``$LMLENS_CHROMIUM`` overrides); never downloads a browser.
``skip_reason()`` says why browser tests cannot run here (None when they can).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-quic", "--disable-dev-shm-usage",
]


def chromium_path() -> str | None:
    """The Chromium executable, or None."""
    env = os.environ.get("LMLENS_CHROMIUM")
    if env:
        return env if Path(env).exists() else None
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    return None


def skip_reason() -> str | None:
    """Why browser tests must skip (no playwright / no chromium), or None."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright package is not installed (pip install playwright)"
    if chromium_path() is None:
        return "no chromium executable found (apt-get install chromium, or set LMLENS_CHROMIUM)"
    return None


@dataclass
class PageLog:
    """What a page did: requests other than its own file, console errors, page errors."""

    requests: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)

    @property
    def errors(self) -> list[str]:
        """Console errors and uncaught page errors together."""
        return self.console_errors + self.page_errors


@contextmanager
def chromium(env: dict[str, str] | None = None) -> Iterator[object]:
    """A Playwright ``Browser`` on the local Chromium; share one across a test module.
    ``env``: the browser's environment (e.g. ``FONTCONFIG_FILE``), default this process's."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS, headless=True,
                               env=env)
        try:
            yield b
        finally:
            b.close()


@contextmanager
def open_page(
    path: str | Path,
    *,
    browser: object | None = None,
    java_script_enabled: bool = True,
    color_scheme: str = "light",
    wait_for: str | None = ".lmlens-root",
    device_scale_factor: float = 1,
) -> Iterator[tuple[object, PageLog]]:
    """Open ``path`` (file://) in a fresh offline context with every other request blocked and
    recorded; yield ``(page, log)``. Launches Chromium unless ``browser`` is given."""
    if browser is None:
        with chromium() as b, open_page(
            path, browser=b, java_script_enabled=java_script_enabled,
            color_scheme=color_scheme, wait_for=wait_for, device_scale_factor=device_scale_factor,
        ) as opened:
            yield opened
        return
    url = Path(path).resolve().as_uri()
    log = PageLog()
    ctx = browser.new_context(
        java_script_enabled=java_script_enabled, offline=True, color_scheme=color_scheme,
        viewport={"width": 1000, "height": 800}, device_scale_factor=device_scale_factor,
    )
    try:
        page = ctx.new_page()

        def route(r) -> None:
            if r.request.url == url:
                r.continue_()
            else:
                log.requests.append(r.request.url)
                r.abort()

        page.route("**/*", route)
        def console(m) -> None:
            if m.type == "error":
                where = (m.location or {}).get("url") or ""
                log.console_errors.append(f"{m.text} [{where[:200]}]" if where else m.text)

        page.on("console", console)
        page.on("pageerror", lambda e: log.page_errors.append(str(e)))
        page.goto(url, wait_until="load")
        if wait_for:
            page.wait_for_selector(wait_for, state="attached", timeout=10_000)
        yield page, log
    finally:
        ctx.close()


#: Every view root on the page has either drawn its mount point or shown its error box.
SETTLED = """() => [...document.querySelectorAll(".lmlens-root")].every((r) =>
  !r.querySelector(":scope > .lmlens-mount").hidden || !r.querySelector(":scope > .lmlens-error").hidden)"""


def assert_mounted(root, kind: str) -> None:
    """The view root (a Playwright locator) of ``kind`` drew: its mount point is visible and holds
    a view taller than 50 px; the fallback and the error box are hidden."""
    assert root.get_attribute("data-lmlens-kind") == kind
    error = root.locator(":scope > .lmlens-error")
    assert error.is_hidden(), f"{kind} view: {error.inner_text()}"
    mount = root.locator(":scope > .lmlens-mount")
    assert mount.is_visible() and mount.locator(".lm-view").count() >= 1, kind
    assert mount.evaluate("e => e.getBoundingClientRect().height") > 50, kind
    assert root.locator(":scope > .lmlens-fallback").is_hidden(), kind


def grid_point(page, grid: str, row: int, col: int) -> tuple[float, float]:
    """Page coordinates of the centre of cell ``(row, col)`` (row 0 = the bottom layer) of the
    canvas grid ``grid`` (a selector of a ``ui/grid.js`` root), its column scrolled into view."""
    page.wait_for_selector(f"{grid}[data-lm-left]", state="attached")
    x, y = page.evaluate(
        """([sel, r, c]) => new Promise((done) => {
          const g = document.querySelector(sel);
          const sc = g.querySelector(".lm-grid-scroll");
          const cw = +g.dataset.lmColWidth, rh = +g.dataset.lmRowHeight, left = +g.dataset.lmLeft;
          const top = +g.dataset.lmTop, rows = +g.dataset.lmRows, x = c * cw;
          if (x < sc.scrollLeft || left + x + cw > sc.scrollLeft + sc.clientWidth) sc.scrollLeft = Math.max(0, x - 2 * cw);
          g.scrollIntoView({ block: "nearest" });
          requestAnimationFrame(() => requestAnimationFrame(() => {
            const rect = g.querySelector("canvas").getBoundingClientRect();
            done([rect.left + left + x - sc.scrollLeft + cw / 2, rect.top + top + (rows - 1 - r) * rh + rh / 2]);
          }));
        })""",
        [grid, row, col],
    )
    return float(x), float(y)


def grid_pixel(page, grid: str, row: int, col: int) -> tuple[int, int, int]:
    """The RGB the canvas grid ``grid`` painted near the top-left corner of cell ``(row, col)``
    (inside the cell, clear of its text and outline), read back from the canvas."""
    x, y = grid_point(page, grid, row, col)
    rgb = page.evaluate(
        """([sel, x, y]) => new Promise((done) => requestAnimationFrame(() => {
          const g = document.querySelector(sel);
          const canvas = g.querySelector("canvas");
          const rect = canvas.getBoundingClientRect();
          const cw = +g.dataset.lmColWidth, rh = +g.dataset.lmRowHeight;
          const k = canvas.width / rect.width;
          const px = Math.round((x - rect.left - cw / 2 + 4) * k), py = Math.round((y - rect.top - rh / 2 + 4) * k);
          done(Array.from(canvas.getContext("2d").getImageData(px, py, 1, 1).data.slice(0, 3)));
        }))""",
        [grid, x, y],
    )
    return tuple(int(v) for v in rgb)


#: viridis at 9 stops, as js/src/color.js paints cells (a Python twin for checking pixels).
VIRIDIS = [(68, 1, 84), (71, 44, 122), (59, 81, 139), (44, 113, 142), (33, 144, 141),
           (39, 173, 129), (92, 200, 99), (170, 220, 50), (253, 231, 37)]


def viridis(t: float) -> tuple[int, int, int]:
    """The cell colour at ``t`` in [0, 1] (1 = brightest)."""
    t = min(1.0, max(0.0, t)) * (len(VIRIDIS) - 1)
    i = min(int(t), len(VIRIDIS) - 2)
    f = t - i
    return tuple(round(a + (b - a) * f) for a, b in zip(VIRIDIS[i], VIRIDIS[i + 1], strict=True))
