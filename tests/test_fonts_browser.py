"""Japanese text is drawn with real glyphs, not boxes: a view's own fonts (the --lm-font /
--lm-mono stacks of js/src/index.css) reach a CJK font in headless Chromium. Checked on
screenshots: with no font for a character, Chromium draws the same .notdef box as for a code point
no font has (U+0378, unassigned), so 東 and 京 would come out pixel-identical to that box and to
each other. The same check run in a Chromium that sees only DejaVu (a fontconfig file without the
CJK fonts) must find the boxes: the check can fail. Needs a CJK font (Debian: fonts-noto-cjk,
installed by `make browser`)."""

from __future__ import annotations

import io
import os
import shutil
import subprocess

import pytest
from browser import chromium, open_page, skip_reason
from tiny import tiny_lens

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(skip_reason() is not None, reason=skip_reason() or ""),
]

MISSING = "\u0378"  # unassigned: no font has it, so it is drawn as .notdef
PROBE = """(args) => {
  const [cls, chars] = args;
  const host = document.querySelector(".lmlens-mount .lm-view");
  const box = document.createElement("div");
  box.className = cls;
  box.id = "lm-font-probe";
  chars.forEach((c, i) => {
    const s = document.createElement("span");
    s.id = "lm-probe-" + i;
    s.textContent = c;
    s.style.fontSize = "40px";
    box.appendChild(s);
  });
  host.appendChild(box);
}"""


def _glyphs(page, cls: str) -> list[bytes]:
    """Pixels of 東, 京 and the missing glyph drawn in an element of class ``cls`` in the view."""
    from PIL import Image

    chars = ["東", "京", MISSING]
    page.evaluate(PROBE, [cls, chars])
    out = []
    for i in range(len(chars)):
        png = page.locator(f"#lm-probe-{i}").screenshot()
        out.append(Image.open(io.BytesIO(png)).convert("L").tobytes())
    page.evaluate("document.getElementById('lm-font-probe').remove()")
    return out


def _drawn(glyphs: list[bytes]) -> bool:
    to, kyo, missing = glyphs
    return to != missing and kyo != missing and to != kyo


@pytest.fixture(scope="module")
def page_path(tmp_path_factory):
    path = tmp_path_factory.mktemp("fonts") / "view.html"
    tiny_lens("gpt2").predictions("東京は日本の首都です。").save_html(path)
    return path


def test_japanese_is_drawn_with_glyphs_in_text_and_chips(page_path):
    fc = shutil.which("fc-list")
    if fc:
        found = subprocess.run([fc, ":lang=ja", "family"], capture_output=True, text=True).stdout
        assert found.strip(), "no Japanese font installed: run `make browser` (fonts-noto-cjk)"
    with chromium() as b, open_page(page_path, browser=b) as (page, log):
        page.wait_for_selector(".lmlens-mount .lm-view")
        for cls in ("lm-text", "lm-chip"):  # the text stack and the monospace stack
            assert _drawn(_glyphs(page, cls)), f"東京 drawn as boxes with the {cls} font"
        page.locator(".lmlens-mount .lm-view .lm-text").screenshot(path=str(page_path.parent / "strip.png"))
        assert not log.errors and not log.requests


def test_without_a_cjk_font_the_check_sees_boxes(page_path, tmp_path):
    dejavu = "/usr/share/fonts/truetype/dejavu"
    if not os.path.isdir(dejavu):
        pytest.skip("no DejaVu folder to build a font set without CJK from")
    conf = tmp_path / "fonts.conf"
    conf.write_text(
        '<?xml version="1.0"?>\n<!DOCTYPE fontconfig SYSTEM "fonts.dtd">\n'
        f"<fontconfig><dir>{dejavu}</dir><cachedir>{tmp_path / 'fc-cache'}</cachedir></fontconfig>\n",
        encoding="utf-8",
    )
    env = {**os.environ, "FONTCONFIG_FILE": str(conf)}
    with chromium(env=env) as b, open_page(page_path, browser=b) as (page, _):
        page.wait_for_selector(".lmlens-mount .lm-view")
        glyphs = _glyphs(page, "lm-text")
    assert not _drawn(glyphs), "with only DejaVu, 東京 should be .notdef boxes"
    assert glyphs[0] == glyphs[2]
