"""Words for the causal-tracing view and its figure (both import them; neither imports the other's
module for them): what each traced site is.

>>> site_title("mlp", "mlp.out")
'mlp · MLP output (before the residual add)'
"""

from __future__ import annotations

#: What each traced site is, for labels.
SITE_WORDS = {
    "resid_post": "residual stream (the block's output)",
    "mlp.out": "MLP output (before the residual add)",
    "attn.out": "attention output (before the residual add)",
    "mlp.post": "MLP activations (the down-projection's input)",
}


def site_title(name: str, key: str) -> str:
    """``"mlp · MLP output (before the residual add)"``: the site's name as asked and what it is."""
    return f"{name} · {SITE_WORDS.get(key, key)}"
