"""``RuleTracer``: runs a model's forward with DeepLift's or AttnLRP's rules in place of the plain
gradient of every non-linear operation, so that one ordinary backward pass gives the rule's
multipliers.

Interception is by structure, not by model: a ``TorchFunctionMode`` sees every torch call of the
forward (functional softmax, the gated product ``act(gate) * up``, ``q @ kᵀ`` inside whichever
attention function transformers routes to, LayerNorm, the final log-softmax) and module hooks
treat elementwise activation modules and primitive-written norms (``LlamaRMSNorm``) as one
operation each (see ``modules``). The mode and every hook live only inside ``reference()`` /
``explain()`` and are removed in ``finally``; nothing is patched.

DeepLift runs the baseline first (``reference()``, which records each rule site's operands in
call order) and then the input (``explain()``, which pairs each site with its record and checks
they match). AttnLRP needs no reference. A non-linear operation with no rule keeps its plain
gradient and is counted in ``missing``.

>>> tracer = RuleTracer(model, "deeplift")  # doctest: +SKIP
>>> with torch.enable_grad(), tracer.reference():  # doctest: +SKIP
...     fb = forward(b.requires_grad_())
>>> with torch.enable_grad(), tracer.explain():  # doctest: +SKIP
...     fx = forward(x.requires_grad_())
>>> (g,) = torch.autograd.grad(fx.sum(), x); attributions = g * (x - b)  # doctest: +SKIP
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn
from torch.overrides import TorchFunctionMode

from . import deeplift as dl
from . import lrp
from .calls import Call, is_activation
from .modules import NormSpec, activation_modules, norm_modules
from .ops import ACTIVATIONS, DIVISION, LINEAR, kind

#: Rule sets a tracer applies.
RULE_SETS = ("deeplift", "attnlrp")


class RuleMismatch(RuntimeError):
    """The input's forward did not run the operations the baseline's forward ran."""


@dataclass(frozen=True)
class _Record:
    kind: str
    name: str
    shapes: tuple
    tensors: tuple


def _requires_grad(out: Any) -> bool:
    if isinstance(out, torch.Tensor):
        return out.requires_grad
    if isinstance(out, (tuple, list)):
        return any(isinstance(t, torch.Tensor) and t.requires_grad for t in out)
    return False


class _Mode(TorchFunctionMode):
    def __init__(self, tracer: RuleTracer) -> None:
        super().__init__()
        self.tracer = tracer

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        out = func(*args, **kwargs)
        t = self.tracer
        if t._depth or not _requires_grad(out):
            return out
        name = getattr(func, "__name__", "")
        if name in LINEAR:
            return out
        return t._operation(Call(func, args, kwargs), out)


class RuleTracer:
    """Applies ``rules`` (``"deeplift"`` or ``"attnlrp"``) to ``model``'s forward passes run
    inside ``reference()`` / ``explain()``.

    After ``explain()``: ``applied`` counts the rules used (``"rescale: SiLUActivation"``,
    ``"product: matmul"``, ...) and ``missing`` the non-linear operations that had none (their
    plain gradient was used).
    """

    def __init__(self, model: nn.Module, rules: str = "deeplift") -> None:
        if rules not in RULE_SETS:
            raise ValueError(f"rules must be one of {list(RULE_SETS)}, got {rules!r}")
        self.model = model
        self.rules = rules
        self.activations = activation_modules(model)
        self.norms: dict[nn.Module, NormSpec] = norm_modules(model)
        self.records: list[_Record] = []
        self.applied: Counter[str] = Counter()
        self.missing: Counter[str] = Counter()
        self._pass_kind: str | None = None
        self._cursor = 0
        self._depth = 0
        self._outer: list[bool] = []

    # ---- passes ----------------------------------------------------------------------------
    @contextmanager
    def reference(self) -> Iterator[None]:
        """The baseline's forward: records every rule site's operands (DeepLift only). Run it
        with gradients enabled and the baseline requiring grad, as the input's pass will."""
        if self.rules != "deeplift":
            raise ValueError(f"{self.rules} rules need no reference pass")
        self.records = []
        with self._pass("reference"):
            yield

    @contextmanager
    def explain(self) -> Iterator[None]:
        """The input's forward, with the rules' gradients (DeepLift pairs each rule site with
        the reference pass's record, in order, and raises ``RuleMismatch`` when they differ)."""
        if self.rules == "deeplift" and not self.records:
            raise RuntimeError("run the baseline inside reference() before explain()")
        self._cursor = 0
        self.applied.clear()
        self.missing.clear()
        with self._pass("explain"):
            yield
        if self.rules == "deeplift" and self._cursor != len(self.records):
            raise RuleMismatch(
                f"the input's forward ran {self._cursor} rule sites, the baseline's "
                f"{len(self.records)}"
            )

    @contextmanager
    def _pass(self, which: str) -> Iterator[None]:
        handles = []
        try:
            for m in self.activations:
                handles.append(m.register_forward_pre_hook(self._enter))
                handles.append(m.register_forward_hook(self._activation_hook))
            for m in self.norms:
                handles.append(m.register_forward_pre_hook(self._enter))
                handles.append(m.register_forward_hook(self._norm_hook))
            self._pass_kind, self._depth, self._outer = which, 0, []
            with _Mode(self):
                yield
        finally:
            for h in handles:
                h.remove()
            self._pass_kind, self._depth, self._outer = None, 0, []

    # ---- module sites ----------------------------------------------------------------------
    def _enter(self, module: nn.Module, args: tuple) -> None:
        self._outer.append(self._depth > 0)
        self._depth += 1

    def _activation_hook(self, module: nn.Module, args: tuple, out: Any):
        try:
            a = args[0] if args else None
            if self._outer.pop() or not is_activation(a) or not isinstance(out, torch.Tensor) \
                    or out.shape != a.shape:
                return None
            return self._site("rescale", type(module).__name__, [a], out, fn=module.forward)
        finally:
            self._depth -= 1

    def _norm_hook(self, module: nn.Module, args: tuple, out: Any):
        try:
            x = args[0] if args else None
            if self._outer.pop() or not is_activation(x) or not isinstance(out, torch.Tensor):
                return None
            return self._site("norm", type(module).__name__, [x], out, spec=self.norms[module])
        finally:
            self._depth -= 1

    # ---- operation sites -------------------------------------------------------------------
    def _operation(self, call: Call, out: Any) -> Any:
        n = len(call.positions)
        den = call.denominator_position() if call.name in DIVISION else None
        k = kind(call.name, n, denominator_is_activation=den is not None)
        if k == "linear":
            return out
        if k == "unknown" or not isinstance(out, torch.Tensor) or not self._well_formed(k, call, out):
            if self._pass_kind == "explain":
                self.missing[call.name] += 1
            return out
        return self._site(k, call.name, call.activations, out, call=call, den=den)

    @staticmethod
    def _well_formed(k: str, call: Call, out: torch.Tensor) -> bool:
        if k == "elementwise":
            return out.shape == call.activations[0].shape
        if k in ("softmax", "log_softmax"):
            return call.flat[call.positions[0]] is call.args[0] and call.arg(1, "dim") is not None
        if k in ("layer_norm", "rms_norm"):
            return call.flat[call.positions[0]] is call.args[0]
        if k == "attention":
            return (len(call.positions) == 3 and all(call.flat[p] is a for p, a in
                                                     zip(call.positions, call.args[:3], strict=False))
                    and not call.arg(4, "dropout_p", 0.0))
        return True

    # ---- pairing ---------------------------------------------------------------------------
    def _site(self, k: str, name: str, operands: list[torch.Tensor], out: torch.Tensor, **info):
        shapes = tuple(tuple(t.shape) for t in operands)
        if self._pass_kind == "reference":
            keep = [t.detach().clone() for t in operands]
            if k in ("elementwise", "rescale"):
                keep.append(out.detach().clone())
            self.records.append(_Record(k, name, shapes, tuple(keep)))
            return out
        rec = None
        if self.rules == "deeplift":
            if self._cursor >= len(self.records):
                raise RuleMismatch(f"the input's forward ran more rule sites than the baseline's "
                                   f"({len(self.records)}); the next was {k} {name}")
            rec = self.records[self._cursor]
            self._cursor += 1
            if (rec.kind, rec.name, rec.shapes) != (k, name, shapes):
                raise RuleMismatch(
                    f"rule site {self._cursor}: the baseline ran {rec.kind} {rec.name} {rec.shapes}, "
                    f"the input {k} {name} {shapes}"
                )
        return self._apply(k, name, operands, out, rec, **info)

    def _apply(self, k, name, operands, out, rec, *, call=None, den=None, fn=None, spec=None):
        deeplift = self.rules == "deeplift"
        ref = rec.tensors if rec is not None else ()
        label = name
        if k == "rescale":  # an activation module
            res = (dl.rescale(fn, operands[0], ref[0], out, ref[1]) if deeplift
                   else lrp.identity(fn, operands[0], out))
            label = f"{'rescale' if deeplift else 'identity'}: {name}"
        elif k == "norm":
            res = dl.norm(operands[0], ref[0] if deeplift else None, out, dims=(-1,),
                          centered=spec.centered, eps=spec.eps, weight=spec.weight)
            label = f"norm (scale held): {name}"
        elif k == "elementwise":
            p = call.positions[0]

            def f(t, call=call, p=p):
                return call.replaced({p: t})

            if deeplift:
                res, label = dl.rescale(f, operands[0], ref[0], out, ref[1]), f"rescale: {name}"
            elif name in ACTIVATIONS:
                res, label = lrp.identity(f, operands[0], out), f"identity: {name}"
            else:
                self.missing[name] += 1
                return out
        elif k == "product":
            pa, pc = call.positions
            if deeplift:
                res, label = dl.product(call, pa, pc, *ref, out), f"product: {name}"
            else:
                res, label = lrp.uniform_product(call, pa, pc, out), f"uniform product: {name}"
        elif k == "division":
            if not deeplift:
                self.missing[name] += 1
                return out
            num = next(i for i in call.positions if i != den)
            a_b, c_b = (ref[call.positions.index(num)], ref[call.positions.index(den)])
            res, label = dl.division(call.flat[num], call.flat[den], a_b, c_b, out), f"division: {name}"
        elif k in ("softmax", "log_softmax"):
            if not deeplift:
                self.applied[f"{name} (gradient)"] += 1
                return out
            dim = call.arg(1, "dim")
            rule = dl.softmax if k == "softmax" else dl.log_softmax
            res = rule(operands[0], ref[0], out, dim)
        elif k in ("layer_norm", "rms_norm"):
            shape = call.arg(1, "normalized_shape")
            n_dims = 1 if isinstance(shape, int) else len(shape)
            weight = call.arg(2, "weight")
            eps = call.arg(4, "eps", 1e-5) if k == "layer_norm" else call.arg(3, "eps", None)
            if eps is None:
                eps = torch.finfo(operands[0].dtype).eps
            res = dl.norm(operands[0], ref[0] if deeplift else None, out,
                          dims=tuple(range(-n_dims, 0)), centered=k == "layer_norm", eps=float(eps),
                          weight=weight)
            label = f"norm (scale held): {name}"
        elif k == "attention":
            if deeplift:
                res = dl.attention(*operands, *ref, out, attn_mask=call.arg(3, "attn_mask"),
                                   is_causal=bool(call.arg(5, "is_causal", False)),
                                   scale=call.kwargs.get("scale"),
                                   enable_gqa=bool(call.kwargs.get("enable_gqa", False)))
            else:
                res = lrp.attention(call, out)
        else:  # pragma: no cover - kind() answers only the kinds above
            raise AssertionError(k)
        self.applied[label] += 1
        return res
