"""What a result says about the precision its model ran in (``model_dtype``, and a note).

Every analysis computes its softmax, log-sum-exp and norms in float32 whatever the model's dtype;
what half precision changes is the activations themselves, and the reader should know.

>>> precision_notes("bfloat16")
['the model ran in bfloat16 (about 3 significant digits per activation); probabilities, log-sum-exp and norms are computed in float32']
>>> precision_notes("float32")
[]
"""

from __future__ import annotations

#: Significant decimal digits of each half-precision dtype (8 and 11 mantissa bits).
DIGITS = {"bfloat16": 3, "float16": 4}


def precision_notes(model_dtype: str) -> list[str]:
    """A note for a result whose model ran in float16 or bfloat16; none otherwise."""
    if model_dtype not in DIGITS:
        return []
    return [f"the model ran in {model_dtype} (about {DIGITS[model_dtype]} significant digits per "
            "activation); probabilities, log-sum-exp and norms are computed in float32"]
