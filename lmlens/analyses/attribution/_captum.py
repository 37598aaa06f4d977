"""captum, imported lazily, with a clear error when it is missing."""

from __future__ import annotations

from types import ModuleType

INSTALL_HINT = "pip install captum   (or: pip install 'lmlens[attribution]')"


def captum_attr() -> ModuleType:
    """``captum.attr``, or ``ModuleNotFoundError`` saying how to install it."""
    try:
        import captum.attr as attr
    except ModuleNotFoundError as e:  # pragma: no cover - captum is installed in the dev env
        raise ModuleNotFoundError(
            f"gradient attribution needs captum, which is not installed: {INSTALL_HINT}"
        ) from e
    return attr


def ig_alphas(n_steps: int, method: str) -> tuple[list[float], list[float]]:
    """``(step_sizes, alphas)`` of captum's integral approximation ``method`` for ``n_steps``."""
    captum_attr()
    from captum.attr._utils.approximation_methods import (
        SUPPORTED_METHODS,
        approximation_parameters,
    )

    if method not in SUPPORTED_METHODS:
        raise ValueError(f"ig_method must be one of {sorted(SUPPORTED_METHODS)}, got {method!r}")
    step_sizes, alphas = approximation_parameters(method)
    return list(step_sizes(n_steps)), list(alphas(n_steps))

