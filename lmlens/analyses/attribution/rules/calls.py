"""One intercepted torch call: its operands flattened, which of them are activations, and the
same call again with some operands replaced (how a rule evaluates the linear map it uses as the
gradient: ``op(Δa, c̄)`` for a product, ``fn(t)`` for an elementwise function).

>>> c = Call(torch.mul, (a, b), {})  # doctest: +SKIP
>>> c.positions, c.replaced({c.positions[0]: torch.ones_like(a)})  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch.utils._pytree import tree_flatten, tree_unflatten


def is_activation(t: Any) -> bool:
    """A floating tensor that requires grad (computed from the input embeddings)."""
    return isinstance(t, torch.Tensor) and t.requires_grad and t.is_floating_point()


def op_name(func: Callable) -> str:
    """``func.__name__`` (``"mul"``, ``"__getitem__"``, ``"softmax"``), or its repr."""
    return getattr(func, "__name__", None) or repr(func)


class Call:
    """``func(*args, **kwargs)`` with its activation operands located."""

    def __init__(self, func: Callable, args: tuple, kwargs: dict | None) -> None:
        self.func = func
        self.args = args
        self.kwargs = kwargs or {}
        self.name = op_name(func)
        self.flat, self._spec = tree_flatten((args, self.kwargs))
        #: indices into ``flat`` of the activation operands, in order
        self.positions = [i for i, t in enumerate(self.flat) if is_activation(t)]

    @property
    def activations(self) -> list[torch.Tensor]:
        return [self.flat[i] for i in self.positions]

    def replaced(self, values: dict[int, Any]) -> Any:
        """``func`` called with ``flat[i]`` replaced by ``values[i]``."""
        flat = [values.get(i, v) for i, v in enumerate(self.flat)]
        args, kwargs = tree_unflatten(flat, self._spec)
        return self.func(*args, **kwargs)

    def arg(self, index: int, name: str, default: Any = None) -> Any:
        """Positional argument ``index`` or keyword ``name`` (``default`` when absent)."""
        if name in self.kwargs:
            return self.kwargs[name]
        return self.args[index] if len(self.args) > index else default

    def denominator_position(self) -> int | None:
        """For a division, the ``flat`` index of the denominator when it is an activation."""
        from .ops import REVERSED_DIVISION

        den = self.args[0] if self.name in REVERSED_DIVISION else self.arg(1, "other")
        for i in self.positions:
            if self.flat[i] is den:
                return i
        return None
