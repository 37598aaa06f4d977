"""Which torch operations a rule pass treats how: linear (the gradient is already exact), an
elementwise non-linearity, a product of two activations, a division by an activation, softmax,
log-softmax, a normalisation, attention — or unknown (no rule: the plain gradient, and a note).

An *activation* is a floating tensor that requires grad: during a rule pass only the input
embeddings do, so every tensor computed from them does and weights, masks and rotary tables
do not. ``kind(name, n_activations)`` decides by the function's ``__name__`` (``torch.mul``,
``Tensor.mul`` and ``Tensor.__mul__`` all answer ``mul``-like names).

>>> kind("matmul", 2), kind("matmul", 1), kind("silu", 1), kind("cumprod", 1)
('product', 'linear', 'elementwise', 'unknown')
"""

from __future__ import annotations

#: Linear in every activation operand, whatever their number.
LINEAR = frozenset("""
add __add__ __radd__ __iadd__ add_ sub __sub__ __rsub__ __isub__ sub_ subtract rsub
neg __neg__ negative __pos__ positive
cat concat concatenate stack hstack vstack
view view_as reshape reshape_as transpose transpose_ t t_ permute contiguous expand expand_as
broadcast_to squeeze unsqueeze squeeze_ unsqueeze_ flatten unflatten movedim moveaxis swapaxes
swapdims
split split_with_sizes tensor_split chunk unbind narrow narrow_copy select __getitem__
__setitem__ index_select gather take_along_dim masked_select
repeat repeat_interleave tile flip roll diagonal tril triu as_strided unfold
to float double half bfloat16 type type_as clone detach __get__
sum mean nansum cumsum trace
masked_fill masked_fill_ where pad constant_pad_nd
dropout dropout_ alpha_dropout feature_alpha_dropout dropout1d dropout2d dropout3d
copy_ index_copy index_copy_ index_add index_add_ scatter scatter_ scatter_add scatter_add_
linear addmm conv1d conv2d
""".split())

#: Bilinear: linear when one operand is an activation, a product (rule) when two are.
BILINEAR = frozenset("""
mul __mul__ __rmul__ multiply matmul __matmul__ __rmatmul__ mm bmm einsum
""".split())

#: Division: linear in the numerator; a rule when the denominator is an activation.
DIVISION = frozenset("div __truediv__ true_divide divide __rtruediv__ __rdiv__ __div__".split())
#: Division names whose first operand (``self``) is the denominator.
REVERSED_DIVISION = frozenset({"__rtruediv__", "__rdiv__"})

#: Activation functions: elementwise, and AttnLRP's identity rule applies to them.
ACTIVATIONS = frozenset("""
relu relu_ relu6 gelu silu mish elu selu celu leaky_relu hardtanh hardswish hardsigmoid
softplus softsign tanh sigmoid logsigmoid tanhshrink
""".split())

#: Other elementwise functions of one activation (DeepLift's rescale rule applies).
ELEMENTWISE = ACTIVATIONS | frozenset("""
exp exp2 expm1 log log2 log10 log1p sqrt rsqrt reciprocal square abs pow __pow__ __rpow__
float_power erf erfc sin cos atan sinh cosh asinh clamp clip clamp_min clamp_max threshold
""".split())

SOFTMAX = frozenset({"softmax", "_softmax"})
LOG_SOFTMAX = frozenset({"log_softmax", "_log_softmax"})
LAYER_NORM = frozenset({"layer_norm"})
RMS_NORM = frozenset({"rms_norm"})
ATTENTION = frozenset({"scaled_dot_product_attention"})

#: Every kind ``kind`` can answer.
KINDS = ("linear", "elementwise", "product", "division", "softmax", "log_softmax", "layer_norm",
         "rms_norm", "attention", "unknown")


def kind(name: str, n_activations: int, *, denominator_is_activation: bool = False) -> str:
    """What the rule pass does with an operation named ``name`` that takes ``n_activations``
    activation operands (``denominator_is_activation`` for divisions)."""
    if name in LINEAR:
        return "linear"
    if name in ATTENTION:
        return "attention"
    if name in BILINEAR:
        return {1: "linear", 2: "product"}.get(n_activations, "unknown")
    if name in DIVISION:
        if not denominator_is_activation:
            return "linear"
        return "elementwise" if n_activations == 1 else "division" if n_activations == 2 else "unknown"
    if n_activations != 1:
        return "unknown"
    for names, k in ((ELEMENTWISE, "elementwise"), (SOFTMAX, "softmax"),
                     (LOG_SOFTMAX, "log_softmax"), (LAYER_NORM, "layer_norm"),
                     (RMS_NORM, "rms_norm")):
        if name in names:
            return k
    return "unknown"
