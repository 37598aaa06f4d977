"""One standalone HTML page with every view lmlens has, for one text.

``REPORT_VIEWS`` lists ``(title, make)`` entries, ``make(lens, text) -> View``. A new view joins
the report with one line here. An entry that does not apply (e.g. predictions on a model without
an LM head) shows its reason on the page instead of stopping the report.

>>> import lmlens  # doctest: +SKIP
>>> from lmlens.report import save_report  # doctest: +SKIP
>>> save_report(lmlens.load("smollm2"), "The capital of France is", "report.html")  # doctest: +SKIP
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from ._version import __version__
from .views import View
from .views.page import Section, page_html

if TYPE_CHECKING:
    from .capture import Trace
    from .lens import Lens

#: ``make(lens, x)``: ``x`` is the text, or the ``Trace`` of ``lens.generate`` (every
#: lens method takes either).
ViewMaker = Callable[["Lens", "str | Trace"], View]

#: The report, in page order. Add a line per new view: ``("Title", lambda lens, text: ...)``.
REPORT_VIEWS: list[tuple[str, ViewMaker]] = [
    ("Next-token predictions", lambda lens, text: lens.predictions(text)),
    ("Logit lens: rank at every layer", lambda lens, text: lens.rankings(text)),
    ("Logit lens: top tokens of every layer", lambda lens, text: lens.layer_predictions(text)),
    ("Logit lens: the final top 3 across layers", lambda lens, text: lens.rankings_watch(text)),
    # IG of the probability (ecco's convention) converges on SmolLM2; of the log-probability it does
    # not. By accuracy (tol): each target's gradient points and completeness gap show in the view.
    ("Input attribution", lambda lens, text: lens.attribution(
        text, method=["integrated_gradients", "saliency", "deeplift", "attnlrp"], attr_target="prob",
        tol=0.01)),
    ("Neuron factors", lambda lens, text: lens.neuron_factors(text, n_factors=min(8, getattr(text, "n_positions", 0) or len(lens.tokenize(text))))),
    ("Attention", lambda lens, text: lens.attention(text, view="heads")),
    # Kobayashi et al.'s norms discount the sink tokens most heads attend to (BOS, [CLS], [SEP])
    ("Attention, value-weighted ‖α f(x)‖", lambda lens, text: lens.attention(text, view="model", weighting="norm")),
]


def tracing_entry(subject: str) -> tuple[str, ViewMaker]:
    """The causal-tracing entry the report adds when a subject is given (``lmlens report TEXT
    --subject S``): where in the model the prediction after the text is computed."""
    return ("Causal tracing: where the prediction is computed",
            lambda lens, text: lens.causal_trace(text, subject=subject))


def report_sections(
    lens: Lens, text: str | Trace, *, views: Sequence[tuple[str, ViewMaker]] | None = None
) -> tuple[list[Section], list[tuple[str, Exception]]]:
    """``(sections, failures)``: each entry's View, or a note saying why it failed."""
    sections: list[Section] = []
    failures: list[tuple[str, Exception]] = []
    for title, make in REPORT_VIEWS if views is None else views:
        try:
            view = make(lens, text)
            if not isinstance(view, View):
                raise TypeError(f"the report entry returned {type(view).__name__}, not a View")
            view.to_html()  # size budget and template errors surface here, per entry
            sections.append((title, view))
        except Exception as e:  # one failing view must not lose the others
            failures.append((title, e))
            sections.append((title, f"Not available: {type(e).__name__}: {e}"))
    return sections, failures


def _views(views: Sequence[tuple[str, ViewMaker]] | None, subject: str | None) -> list[tuple[str, ViewMaker]]:
    out = list(REPORT_VIEWS if views is None else views)
    if subject is not None:
        if not isinstance(subject, str) or not subject.strip():
            raise ValueError(f"subject must be a non-empty string found in the text, got {subject!r}")
        out.append(tracing_entry(subject))
    return out


def report_html(
    lens: Lens, text: str, *, views: Sequence[tuple[str, ViewMaker]] | None = None, subject: str | None = None,
) -> str:
    """The report page as HTML text (see ``save_report``)."""
    return _page(lens, text, report_sections(lens, text, views=_views(views, subject))[0])


def _page(lens: Lens, text: str, sections: list[Section]) -> str:
    name = getattr(lens, "name", "") or type(lens).__name__
    return page_html(
        sections,
        title=f"lmlens report · {name}",
        intro=text,
        footer=f"lmlens {__version__} · {name} · opens offline; nothing is fetched.",
    )


def save_report(
    lens: Lens,
    text: str,
    path: str | Path,
    *,
    views: Sequence[tuple[str, ViewMaker]] | None = None,
    strict: bool = False,
    generate: int = 0,
    subject: str | None = None,
) -> Path:
    """Write the report for ``text`` to ``path`` and return the path.

    With ``generate=N`` the model first continues the text by N greedy tokens and every view
    shows prompt + generated tokens (generated ones marked; attributions per generated token).
    With ``subject`` (text in ``text``), the report adds causal tracing: the subject's embeddings
    corrupted, every site × layer × position restored in turn (``lens.causal_trace``).
    Entries that fail show their error on the page and are reported on stderr; with
    ``strict=True`` the first failure raises instead (nothing is written).
    """
    if not isinstance(text, str) or not text.strip():
        raise ValueError("text must be a non-empty string")
    if not isinstance(generate, int) or generate < 0:
        raise ValueError(f"generate must be a non-negative int, got {generate!r}")
    chosen = _views(views, subject)
    x = lens.generate(text, max_new_tokens=generate) if generate else text
    sections, failures = report_sections(lens, x, views=chosen)
    if strict and failures:
        raise failures[0][1]
    for title, e in failures:
        print(f"lmlens report: {title!r} not available: {type(e).__name__}: {e}", file=sys.stderr)
    path = Path(path)
    intro = "".join(x.tokens) if generate else text
    path.write_text(_page(lens, intro, sections), encoding="utf-8")
    return path
