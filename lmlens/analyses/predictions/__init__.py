"""Next-token predictions: the model's top-k at every position (``lens.predictions``)."""

from .next_token import predictions
from .result import PredictionsResult

__all__ = ["PredictionsResult", "predictions"]
