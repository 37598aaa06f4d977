"""``Result``: the one base of every analysis result.

A result is a frozen dataclass whose arrays are read-only numpy arrays (each field's docstring
gives its shape). Every result speaks one field vocabulary (``docs/architecture.md``):
``input_ids`` (the text's ids), ``tokens`` (display strings), ``generated`` (mask), ``kind``
(``"causal"`` | ``"masked"``), ``notes`` (strings the view shows), ``top_ids``/``top_probs``
(top-k), ``layer_names``, ``model_name``.

Any result saves to ``.npz`` and loads back as the same class:

>>> import numpy as np
>>> from dataclasses import dataclass
>>> @dataclass(frozen=True, eq=False, repr=False)
... class Demo(Result):
...     scores: np.ndarray
...     tokens: tuple[str, ...] = ()
>>> r = Demo(scores=np.arange(3.0), tokens=["a", "b", "c"])
>>> r.scores.flags.writeable, r.tokens
(False, ('a', 'b', 'c'))
>>> r.to_dict()["scores"]
[0.0, 1.0, 2.0]
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

R = TypeVar("R", bound="Result")

#: Every ``Result`` subclass by class name (``load_result`` finds the class here).
RESULT_CLASSES: dict[str, type[Result]] = {}

_META = "__lmlens_meta__"
FORMAT_VERSION = 1


def _readonly(a: np.ndarray) -> np.ndarray:
    """A read-only view of ``a`` (no copy; the caller's own array keeps its flags)."""
    v = a.view()
    v.flags.writeable = False
    return v


def _jsonable(value: Any) -> Any:
    """``value`` as JSON-able data (arrays as nested lists, NaN/inf as None, mappings with
    non-string keys as ``[[key, value], ...]``)."""
    if isinstance(value, np.ndarray):
        return _jsonable(value.tolist())
    if isinstance(value, (np.generic,)):
        return _jsonable(value.item())
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Mapping):
        if all(isinstance(k, str) for k in value):
            return {k: _jsonable(v) for k, v in value.items()}
        return [[_jsonable(k), _jsonable(v)] for k, v in value.items()]
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if value is None or isinstance(value, (str, int, bool)):
        return value
    raise TypeError(f"cannot turn a {type(value).__name__} into JSON")


@dataclasses.dataclass(frozen=True, eq=False)
class Result:
    """Base class of analysis results: read-only arrays, ``save``/``load_result``, ``to_dict``.

    Subclasses are frozen dataclasses (``@dataclass(frozen=True, eq=False, repr=False)``: a
    short repr with shapes comes from here) that validate themselves in ``check()`` (called
    after arrays are frozen). Lists of strings become tuples.
    """

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        RESULT_CLASSES[cls.__name__] = cls

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):
            v = getattr(self, f.name)
            if isinstance(v, np.ndarray):
                object.__setattr__(self, f.name, _readonly(v))
            elif isinstance(v, list) and all(isinstance(x, str) for x in v):
                object.__setattr__(self, f.name, tuple(v))
        self.check()
        labels = getattr(self, "token_labels", ())
        if labels and len(labels) != len(getattr(self, "tokens", ())):
            raise ValueError(f"token_labels must be empty or hold one label per token "
                             f"({len(getattr(self, 'tokens', ()))}), got {len(labels)}")

    def check(self) -> None:
        """Validate shapes and values; raise ``ValueError`` naming the field (override)."""

    def expect(self, name: str, shape: tuple[int, ...], kinds: str) -> None:
        """``ValueError`` unless field ``name`` is an array of ``shape`` whose dtype kind is one
        of ``kinds`` (numpy kind letters: ``"f"`` float, ``"iu"`` integer, ``"b"`` bool)."""
        a = getattr(self, name)
        if not isinstance(a, np.ndarray):
            raise ValueError(f"{name} must be a numpy array, got {type(a).__name__}")
        if a.shape != tuple(shape):
            raise ValueError(f"{name} must have shape {tuple(shape)}, got {a.shape}")
        if a.dtype.kind not in kinds:
            raise ValueError(f"{name} must have dtype kind {kinds!r}, got {a.dtype}")

    def expect_strings(self, *id_fields: str) -> None:
        """``ValueError`` unless ``self.strings`` has a display string for every id in the
        named fields (None fields are skipped)."""
        ids: set[int] = set()
        for f in id_fields:
            a = getattr(self, f)
            if a is not None:
                ids.update(np.unique(a).tolist())
        missing = sorted(i for i in ids if i not in self.strings)
        if missing:
            raise ValueError(f"strings lacks display strings for ids {missing[:5]}")

    # ---- export ----------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """Every field as JSON-able data (arrays as nested lists; NaN as None).

        ``json.dumps(result.to_dict())`` works for every result.
        """
        return {f.name: _jsonable(getattr(self, f.name)) for f in dataclasses.fields(self)}

    def save(self, path: str | os.PathLike) -> Path:
        """Save to ``path`` (``.npz``): arrays as arrays, everything else as JSON metadata.
        ``lmlens.load_result(path)`` gives back an equal result of the same class.

        Written to a temporary file first, so a failed save leaves no partial file.
        """
        path = Path(path)
        if path.suffix != ".npz":
            raise ValueError(f"path must end in .npz, got {path.name!r}")
        arrays: dict[str, np.ndarray] = {}
        meta: dict[str, Any] = {}
        for f in dataclasses.fields(self):
            v = getattr(self, f.name)
            if isinstance(v, np.ndarray):
                arrays[f.name] = np.asarray(v)
            else:
                meta[f.name] = {"value": _jsonable(v), "mapping": isinstance(v, Mapping)}
        header = {"class": type(self).__name__, "format": FORMAT_VERSION, "fields": meta}
        arrays[_META] = np.array(json.dumps(header, ensure_ascii=False))
        fd, tmp = tempfile.mkstemp(suffix=".npz", dir=path.parent if str(path.parent) else ".")
        os.close(fd)
        try:
            np.savez(tmp, **arrays)
            os.replace(tmp, path)
        finally:
            if os.path.exists(tmp):
                os.remove(tmp)
        return path

    @classmethod
    def _from_saved(cls: type[R], arrays: Mapping[str, np.ndarray], fields: Mapping[str, Any]) -> R:
        kwargs: dict[str, Any] = {}
        for f in dataclasses.fields(cls):
            if f.name in arrays:
                kwargs[f.name] = np.array(arrays[f.name])
            elif f.name in fields:
                entry = fields[f.name]
                value = entry["value"]
                if entry.get("mapping") and isinstance(value, list):
                    value = {k: v for k, v in value}
                elif isinstance(value, list) and "tuple" in str(f.type):
                    value = tuple(tuple(v) if isinstance(v, list) else v for v in value)
                kwargs[f.name] = value
        return cls(**kwargs)

    def __repr__(self) -> str:
        bits = []
        for f in dataclasses.fields(self):
            v = getattr(self, f.name)
            if isinstance(v, np.ndarray):
                bits.append(f"{f.name}={v.dtype}{list(v.shape)}")
            elif isinstance(v, (str, int, float)) and not isinstance(v, bool) and f.name != "model_name":
                if not (isinstance(v, str) and len(v) > 30):
                    bits.append(f"{f.name}={v!r}")
        return f"{type(self).__name__}({', '.join(bits)})"


def load_result(path: str | os.PathLike) -> Result:
    """Load a result saved with ``result.save(path)``, as the class it was saved from.

    >>> r = lens.rankings("The capital of France is").result  # doctest: +SKIP
    >>> r.save("r.npz"); lmlens.load_result("r.npz").ranks.shape  # doctest: +SKIP
    (31, 5)
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"path: no file at {str(path)!r}")
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {k: data[k] for k in data.files}
    except (OSError, ValueError) as e:
        raise ValueError(f"path: {str(path)!r} is not an lmlens result (.npz): {e}") from None
    if _META not in arrays:
        raise ValueError(f"path: {str(path)!r} holds no lmlens result metadata")
    header = json.loads(str(arrays.pop(_META)))
    name = header.get("class")
    if name not in RESULT_CLASSES:
        _import_result_modules()
    cls = RESULT_CLASSES.get(name)
    if cls is None:
        raise ValueError(f"path: {str(path)!r} holds a {name!r}, which this lmlens does not know")
    return cls._from_saved(arrays, header.get("fields", {}))


def _import_result_modules() -> None:
    """Import every analysis package so that their result classes are registered."""
    import importlib
    import pkgutil

    analyses = importlib.import_module(__name__.rsplit(".", 1)[0])
    for info in pkgutil.walk_packages(analyses.__path__, analyses.__name__ + "."):
        if not info.name.rsplit(".", 1)[-1].startswith("_"):
            importlib.import_module(info.name)
