"""``MaskedTargetFunctions``: the target functions of a masked LM (BERT, RoBERTa, ...):
``f_j(x) = log p(target_ids[j] at positions[j] | x)`` — the log-probability of the token the
model predicts at a (typically ``[MASK]``) position, from the whole sequence's input embeddings
(every position matters: the model is bidirectional). One forward serves every target.

>>> ids = tok("The capital of France is [MASK].", return_tensors="pt").input_ids[0]  # doctest: +SKIP
>>> pos = int((ids == tok.mask_token_id).nonzero())  # doctest: +SKIP
>>> f = MaskedTargetFunctions(model, [pos], [tok.convert_tokens_to_ids("paris")], n_inputs=len(ids))  # doctest: +SKIP
>>> deeplift(f, embed(ids), torch.zeros(len(ids), d)).delta  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from .batched import TargetFunctions


class MaskedTargetFunctions(TargetFunctions):
    """``f_j(x) = log p(target_ids[j] | x)`` read at position ``positions[j]`` of a masked LM
    (``p`` itself with ``attr_target="prob"``).

    Args:
        model: a masked LM taking ``inputs_embeds`` and returning ``logits`` ``(batch, n, vocab)``.
        positions: ``(n_targets,)`` distinct positions whose prediction is explained.
        target_ids: ``(n_targets,)`` the token id explained at each position.
        n_inputs: the sequence length (every position is an input).
        attr_target, target_batch_size: as ``TargetFunctions``.
    """

    def __init__(self, model: nn.Module, positions: Sequence[int] | torch.Tensor,
                 target_ids: Sequence[int] | torch.Tensor, *, n_inputs: int,
                 attr_target: str = "log_prob", target_batch_size: int | None = None) -> None:
        rows = torch.as_tensor(positions, dtype=torch.long).flatten()
        if not isinstance(n_inputs, int) or rows.numel() and int(rows.max()) >= n_inputs:
            raise ValueError(f"n_inputs must be an int > every position, got {n_inputs!r}")
        self._length = n_inputs
        super().__init__(model, rows, target_ids, plan="full", target_batch_size=target_batch_size,
                         attr_target=attr_target)

    def _inputs_needed(self, rows: torch.Tensor) -> int:
        return self._length

    def plan_for(self, x: torch.Tensor) -> list[tuple[int, int]]:
        """Always one forward over the whole sequence."""
        self.fallback = ""
        return [(0, self.n_inputs)]

    def _outputs(self, x: torch.Tensor, lo: int, js: Sequence[int], cache=None):
        out = self.model(inputs_embeds=x)
        logits = out.logits if hasattr(out, "logits") else out[0]
        if not len(js):
            return None, None
        local = self.rows[list(js)].to(logits.device)  # the head may sit on another device than x
        logits = logits[:, local].float()
        lp = torch.softmax(logits, -1) if self.attr_target == "prob" else torch.log_softmax(logits, -1)
        ids = self.target_ids[list(js)].to(lp.device)
        return lp[:, torch.arange(len(js), device=lp.device), ids].to(x.device), None
