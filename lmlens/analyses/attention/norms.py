"""Value-weighted attention (Kobayashi et al. 2020, "Attention is Not Only a Weight").

A head's output at query ``i`` is ``Σ_j α_ij f(x_j)`` with ``f(x_j) = v_j W_O^h``: key ``j``'s value
vector through the head's slice of the output projection (the rows of ``W_O`` that read head
``h``). What key ``j`` adds to query ``i`` is ``α_ij f(x_j)``, whose norm ``α_ij ‖f(x_j)‖`` discounts a
large weight on a near-zero vector (the usual sink tokens: BOS, ``[CLS]``, ``[SEP]``).

``head_output_norms`` computes ``‖f(x_j)‖`` by applying the model's own output projection module to
each head's values with every other head's slot at zero, minus what it gives for zeros (its
bias). That works for ``nn.Linear`` (Llama, BERT) and GPT-2's ``Conv1D`` (weight stored
``(in, out)``) alike. The bias ``b_O`` is added once per position whatever is attended, so it is
no token's contribution and is left out, as in the paper. Values come from the
``blocks.{i}.attn.v`` point, where grouped-query models already give each query head its group's
values.

>>> import torch
>>> proj = torch.nn.Linear(4, 3)
>>> v = torch.randn(2, 5, 2)                           # 2 heads, 5 tokens, d_head 2
>>> got = head_output_norms(v, proj)
>>> want = (v[1] @ proj.weight[:, 2:4].T).norm(dim=-1)  # head 1 reads inputs 2..3
>>> torch.allclose(torch.from_numpy(got[1]), want, atol=1e-6)
True
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch import nn

from ...capture.devices import execution_device, model_dtype


def head_output_norms(v: torch.Tensor, out_proj: nn.Module, heads: Sequence[int] | None = None) -> np.ndarray:
    """``(len(heads), n_positions)`` float32 ``‖f(x_j)‖`` of each chosen head (None: all) from its
    value vectors ``v`` ``(n_heads, n_positions, d_head)`` and the output projection ``out_proj``
    (input width ``n_heads * d_head``, heads side by side in head order)."""
    if v.dim() != 3:
        raise ValueError(f"values must be (n_heads, n_positions, d_head), got {tuple(v.shape)}")
    n_heads, n, d = v.shape
    chosen = list(range(n_heads)) if heads is None else [int(h) for h in heads]
    # where the projection computes (an accelerate-offloaded module's weights sit on "meta")
    device, dtype = execution_device(out_proj), model_dtype(out_proj)
    out = np.empty((len(chosen), n), dtype=np.float32)
    with torch.no_grad():
        x = torch.zeros(n, n_heads * d, device=device, dtype=dtype)
        bias = out_proj(x[:1])
        for row, h in enumerate(chosen):
            x.zero_()
            x[:, h * d : (h + 1) * d] = v[h].to(device=device, dtype=dtype)
            f = (out_proj(x) - bias).float()
            out[row] = f.norm(dim=-1).cpu().numpy()
    return out
