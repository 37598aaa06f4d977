"""Feature extraction: which hidden states (``layers``), pooled how (``pooling``), and the
similarity of a few sentences under several such choices.

>>> from lmlens.analyses.embed import hidden_state_points
>>> hidden_state_points([-1, 0], n_layers=6)
([6, 0], ['blocks.5.resid_post', 'embed'])
"""

from .layers import check_layers, hidden_state_points, layer_label
from .pooling import POOLINGS, EmbedOptions, pool_text
from .result import EmbeddingSimilarityResult, TokenVectors
from .similarity import cosine_similarity, embedding_similarity

__all__ = [
    "POOLINGS", "EmbedOptions", "EmbeddingSimilarityResult", "TokenVectors", "check_layers",
    "cosine_similarity", "embedding_similarity", "hidden_state_points", "layer_label", "pool_text",
]
