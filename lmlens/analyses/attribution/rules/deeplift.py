"""DeepLift's rules as linear maps ``M`` with ``y(x) − y(b) = M (x − b)`` exactly, one per
non-linear operation, so that the chain of them (the backward pass) gives attributions that add
up to ``f(x) − f(b)`` (summation-to-delta).

Each rule returns ``y.detach() + M(d)`` where ``d = x − x.detach()`` is zero-valued and carries
the gradient: the forward value is the true ``y`` and the gradient through the operation is
``Mᵀ``. The rules, for the x-pass values ``·ₓ`` and the reference (baseline-pass) values ``·_b``:

- elementwise ``y = g(a)`` (SiLU, GELU, tanh, exp, rsqrt, ...): the *rescale* rule, ``M =
  diag((g(aₓ) − g(a_b)) / (aₓ − a_b))``, ``g′(aₓ)`` where ``aₓ = a_b`` (as captum).
- product of two activations ``y = a ⊙ c`` or ``a @ c`` (the gated MLP, ``q·kᵀ``, ``P·v``):
  ``Δy = Δa ⊙ c̄ + ā ⊙ Δc`` with the means ``ā = (aₓ + a_b)/2`` — the two-player Shapley split,
  which is AttnLRP's uniform rule (each factor half) when the reference values are 0.
- division ``a / c`` by an activation: ``Δ(a/c) = Δa · mean(1/c) + ā · (−Δc / (cₓ c_b))``.
- softmax ``y = e / S`` with ``e = exp(z − m)``, ``S = Σ e`` (``m`` one shift for both passes):
  rescale on ``exp``, ``Δ(1/S) = −ΔS / (Sₓ S_b)``, and for the product ``e · (1/S)`` the
  normaliser held at the larger of ``Sₓ``, ``S_b`` (bounded coefficients; see ``softmax_linear``).
  log-softmax ``z − log S``: ``Δ log S = (log Sₓ − log S_b)/(Sₓ − S_b) · ΔS``.
- LayerNorm / RMSNorm ``y = w ⊙ u s + β`` (``u = x − mean x`` or ``x``, ``s = (mean u² + ε)^−½``):
  AttnLRP holds the scale constant; exactly, ``Δ(u s) = sₓ Δu + u_b Δs`` — the scale at its
  input value (AttnLRP's rule, all of it when the reference activations are 0, as on a
  bias-free model from a zero baseline) plus the reference's share of the scale change,
  ``Δs = (sₓ − s_b)/(rₓ − r_b) · Δr`` with ``Δr = mean((uₓ + u_b) ⊙ Δu)``.
- fused attention: the product, softmax and product rules above, in turn.

>>> y = rescale(torch.nn.functional.silu, a, a_b, y_x, y_b)  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Callable

import torch

#: Below this |x − b| the rescale rule uses the derivative (captum's DeepLift uses 1e-10 too).
EPS = 1e-10


def zero_with_grad(t: torch.Tensor) -> torch.Tensor:
    """A tensor of zeros with ``t``'s shape whose gradient flows to ``t`` unchanged (0 where
    ``t`` is not finite, e.g. −inf attention masks)."""
    finite = torch.isfinite(t.detach())
    if bool(finite.all()):
        return t - t.detach()
    return torch.where(finite, t, 0) - torch.where(finite, t.detach(), 0)


def derivative(fn: Callable[[torch.Tensor], torch.Tensor], a: torch.Tensor) -> torch.Tensor:
    """``g′(a)`` of an elementwise ``fn`` (autograd of ``Σ fn(a)``)."""
    t = a.detach().clone().requires_grad_(True)
    with torch.enable_grad():
        y = fn(t)
        (g,) = torch.autograd.grad(y.sum(), t, allow_unused=True)
    return torch.zeros_like(t) if g is None else g


def rescale(fn, a: torch.Tensor, a_b: torch.Tensor, y: torch.Tensor, y_b: torch.Tensor) -> torch.Tensor:
    """The rescale rule for ``y = fn(a)`` elementwise."""
    ax = a.detach()
    da = ax - a_b
    small = da.abs() < EPS
    m = (y.detach() - y_b) / torch.where(small, torch.ones_like(da), da)
    if bool(small.any()):
        m = torch.where(small, derivative(fn, ax).to(m.dtype), m)
    return y.detach() + m * zero_with_grad(a)


def product(call, pa: int, pc: int, a_b: torch.Tensor, c_b: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """The Shapley (average) rule for a product ``call`` of activations ``flat[pa]``, ``flat[pc]``."""
    a, c = call.flat[pa], call.flat[pc]
    a_bar = (a.detach() + a_b) / 2
    c_bar = (c.detach() + c_b) / 2
    return y.detach() + call.replaced({pa: zero_with_grad(a), pc: c_bar}) + call.replaced(
        {pa: a_bar, pc: zero_with_grad(c)})


def division(a: torch.Tensor, c: torch.Tensor, a_b: torch.Tensor, c_b: torch.Tensor,
             y: torch.Tensor) -> torch.Tensor:
    """``y = a / c``, both activations."""
    cx = c.detach()
    r_bar = (1 / cx + 1 / c_b) / 2
    a_bar = (a.detach() + a_b) / 2
    return y.detach() + zero_with_grad(a) * r_bar + a_bar * (-1 / (cx * c_b)) * zero_with_grad(c)


def _softmax_parts(zx: torch.Tensor, zb: torch.Tensor, dim: int):
    """``(m_e, E_x, E_b, S_x, S_b)`` in float64: exp's secant slopes and the shifted sums."""
    zx, zb = zx.double(), zb.double()
    shift = torch.maximum(zx.amax(dim, keepdim=True), zb.amax(dim, keepdim=True))
    shift = torch.where(torch.isfinite(shift), shift, torch.zeros_like(shift))
    ex, eb = torch.exp(zx - shift), torch.exp(zb - shift)
    dz = zx - zb
    ok = torch.isfinite(dz) & (dz.abs() >= EPS)
    m_e = torch.where(ok, (ex - eb) / torch.where(ok, dz, torch.ones_like(dz)), ex)
    tiny = torch.finfo(torch.float64).tiny
    return m_e, ex, eb, ex.sum(dim, keepdim=True).clamp_min(tiny), eb.sum(dim, keepdim=True).clamp_min(tiny)


def softmax_linear(z: torch.Tensor, z_b: torch.Tensor, dim: int, dtype: torch.dtype) -> torch.Tensor:
    """The linear part ``M(Δz)`` of the softmax rule (zero-valued, carries the gradient).

    ``y = e · (1/S)`` with the normaliser held at the larger of ``Sₓ``, ``S_b`` (call it
    ``S⁺``; the other pass's probabilities ``P⁻``): ``Δy = Δe / S⁺ − P⁻ · ΔS / S⁺``, exact, and
    every coefficient is at most 1 (a symmetric split of the product would multiply by
    ``(1/Sₓ + 1/S_b)/2``, huge when one pass's scores sit far below the other's, and cancel).
    """
    m_e, ex, eb, sx, sb = _softmax_parts(z.detach(), z_b, dim)
    x_larger = sx >= sb
    s_big = torch.where(x_larger, sx, sb)
    p_other = torch.where(x_larger, eb / sb, ex / sx)
    dz = zero_with_grad(z).to(dtype)
    slope = (m_e / s_big).to(dtype)
    return slope * dz - p_other.to(dtype) * (slope * dz).sum(dim, keepdim=True)


def softmax(z: torch.Tensor, z_b: torch.Tensor, y: torch.Tensor, dim: int) -> torch.Tensor:
    """``y = softmax(z, dim)``."""
    return y.detach() + softmax_linear(z, z_b, dim, y.dtype)


def log_softmax(z: torch.Tensor, z_b: torch.Tensor, y: torch.Tensor, dim: int) -> torch.Tensor:
    """``y = log_softmax(z, dim) = z − log Σ exp z``."""
    m_e, _, _, sx, sb = _softmax_parts(z.detach(), z_b, dim)
    ds = sx - sb
    ok = ds.abs() > 1e-12 * sx
    m_log = torch.where(ok, (torch.log(sx) - torch.log(sb)) / torch.where(ok, ds, torch.ones_like(ds)),
                        1 / sx)
    dz = zero_with_grad(z).to(y.dtype)
    total = (m_e.to(y.dtype) * dz).sum(dim, keepdim=True)
    return y.detach() + dz - m_log.to(y.dtype) * total


def _norm_stats(x: torch.Tensor, dims: tuple[int, ...], centered: bool, eps: float):
    x = x.double()
    u = x - x.mean(dims, keepdim=True) if centered else x
    r = u.pow(2).mean(dims, keepdim=True)
    return u, r, (r + eps).rsqrt()


def norm(x: torch.Tensor, x_b: torch.Tensor | None, y: torch.Tensor, *, dims: tuple[int, ...],
         centered: bool, eps: float, weight: torch.Tensor | None) -> torch.Tensor:
    """LayerNorm (``centered``) / RMSNorm over ``dims``, the scale held at its input value (see
    the module docstring); ``x_b`` None: AttnLRP's rule alone (the scale is a constant)."""
    ux, rx, sx = _norm_stats(x.detach(), dims, centered, eps)
    dx = zero_with_grad(x).float()
    du = dx - dx.mean(dims, keepdim=True) if centered else dx
    lin = sx.float() * du
    if x_b is not None:
        ub, rb, sb = _norm_stats(x_b, dims, centered, eps)
        dr = rx - rb
        ok = dr.abs() > 1e-12 * (rx + eps)
        m_s = torch.where(ok, (sx - sb) / torch.where(ok, dr, torch.ones_like(dr)),
                          -0.5 * (rx + eps).pow(-1.5))
        lin = lin + (ub * m_s).float() * ((ux + ub).float() * du).mean(dims, keepdim=True)
    if weight is not None:
        lin = lin * weight.float()
    return y.detach() + lin.to(y.dtype)


def _attention_mask(q: torch.Tensor, k: torch.Tensor, attn_mask, is_causal: bool) -> torch.Tensor | None:
    """An additive float mask (0 / −inf) from sdpa's ``attn_mask`` and ``is_causal``."""
    mask = None
    if is_causal:
        L, S = q.shape[-2], k.shape[-2]
        keep = torch.ones(L, S, dtype=torch.bool, device=q.device).tril()
        mask = torch.zeros(L, S, dtype=q.dtype, device=q.device).masked_fill(~keep, float("-inf"))
    if attn_mask is not None:
        m = attn_mask
        if m.dtype == torch.bool:
            m = torch.zeros(m.shape, dtype=q.dtype, device=q.device).masked_fill(~m, float("-inf"))
        mask = m if mask is None else mask + m
    return mask


def attention(q, k, v, q_b, k_b, v_b, y, *, attn_mask=None, is_causal=False, scale=None,
              enable_gqa=False) -> torch.Tensor:
    """``scaled_dot_product_attention`` by the product, softmax and product rules."""
    if enable_gqa and k.shape[-3] != q.shape[-3]:
        rep = q.shape[-3] // k.shape[-3]
        k, v = k.repeat_interleave(rep, -3), v.repeat_interleave(rep, -3)
        k_b, v_b = k_b.repeat_interleave(rep, -3), v_b.repeat_interleave(rep, -3)
    scale = q.shape[-1] ** -0.5 if scale is None else scale
    mask = _attention_mask(q, k, attn_mask, is_causal)
    kt, kt_b = k.transpose(-2, -1), k_b.transpose(-2, -1)
    qx, ktx, vx = q.detach(), kt.detach(), v.detach()
    s_x, s_b = qx @ ktx * scale, q_b @ kt_b * scale
    s = s_x + (zero_with_grad(q) @ ((ktx + kt_b) / 2) + ((qx + q_b) / 2) @ zero_with_grad(kt)) * scale
    if mask is not None:
        s, s_x, s_b = s + mask, s_x + mask, s_b + mask
    p_x, p_b = torch.softmax(s_x, -1), torch.softmax(s_b, -1)
    p = p_x + softmax_linear(s, s_b, -1, s.dtype)
    out = zero_with_grad(p) @ ((vx + v_b) / 2) + ((p_x + p_b) / 2) @ zero_with_grad(v)
    return y.detach() + out.to(y.dtype)
