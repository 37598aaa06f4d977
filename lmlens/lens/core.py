"""``LensCore``: wraps a model + tokenizer, tokenizes, traces and generates."""

from __future__ import annotations

import functools
import weakref
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import numpy as np
import torch
from torch import nn

from .. import names as N
from ..anatomy import Anatomy, discover
from ..capture import (
    DEFAULT_MAX_BYTES,
    Readout,
    Trace,
    available,
    display_tokens,
    inference_mode,
    iter_batches,
    labels_for_text,
    record,
    record_batch,
    self_check,
    token_label,
)
from ..capture.devices import devices, dtype_name, execution_device, model_dtype
from .defaults import VIEW_MAX_BYTES  # noqa: F401  (re-exported for older imports)


def token_strings(tokenizer, ids: Sequence[int]) -> list[str]:
    """Each token id decoded on its own (the strings top-k lists show)."""
    return [token_label(tokenizer, int(i)) for i in ids]


def _max_positions(config) -> int | None:
    for key in ("max_position_embeddings", "n_positions", "n_ctx", "seq_length"):
        v = getattr(config, key, None)
        if isinstance(v, int) and v > 0:
            return v
    return None


class LensCore:
    """The model, its tokenizer and anatomy; ``trace`` and ``generate``.

    ``model`` may be one that accelerate dispatched (``from_pretrained(device_map=...)``,
    ``dispatch_model``: blocks on several devices, weights offloaded to the CPU or disk): token
    ids go to the embedding's device, captured tensors come back to the CPU, accelerate's hooks
    are left as they are. ``lens.model_dtype`` says the dtype it runs in.

    >>> import lmlens  # doctest: +SKIP
    >>> lens = lmlens.load("smollm2")  # doctest: +SKIP
    >>> trace = lens.trace("The capital of France is")  # doctest: +SKIP
    """

    def __init__(
        self,
        model: nn.Module,
        tokenizer,
        *,
        anatomy: Anatomy | None = None,
        name: str | None = None,
        check: bool = True,
    ) -> None:
        if not isinstance(model, nn.Module):
            raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
        if tokenizer is None or not hasattr(tokenizer, "convert_ids_to_tokens"):
            raise TypeError(
                "tokenizer must be a Hugging Face tokenizer (with convert_ids_to_tokens), "
                f"got {type(tokenizer).__name__}"
            )
        if anatomy is not None and not isinstance(anatomy, Anatomy):
            raise TypeError(f"anatomy must be an lmlens.Anatomy, got {type(anatomy).__name__}")
        self.model = model
        self.tokenizer = tokenizer
        self.anatomy = anatomy or discover(model)
        config = getattr(model, "config", None)
        self.name = name or str(getattr(config, "_name_or_path", "") or type(model).__name__)
        #: How to load this model again, set by ``lmlens.load`` (``{"name_or_path": ..., "dtype":
        #: ..., ...}``): Ray actors load it from there. None for a Lens built from objects.
        self.source: dict[str, Any] | None = None
        # analysis results computed alongside a trace (attributions of generate), per trace
        self._stored: weakref.WeakKeyDictionary[Trace, dict] = weakref.WeakKeyDictionary()
        if check:
            self.self_check()

    def __repr__(self) -> str:
        cfg = getattr(self.model, "config", None)
        on = devices(self.model)
        where = f"{', '.join(map(str, on))}, {self.model_dtype}"
        if getattr(self.model, "hf_device_map", None) and "disk" in self.model.hf_device_map.values():
            where += ", offloaded to disk"
        d_model = getattr(cfg, "hidden_size", None) or getattr(cfg, "n_embd", None)
        vocab = getattr(cfg, "vocab_size", None)
        bits = [
            f"{self.name!r}",
            f"{getattr(cfg, 'model_type', type(self.model).__name__)} {self.kind}",
            f"{self.n_layers} layers × {self.anatomy.n_heads} heads",
            f"d_model={d_model}",
        ]
        if vocab:
            bits.append(f"vocab={vocab}")
        bits.append(where)
        return f"Lens({', '.join(bits)})"

    def stored_attributions(self, trace: Trace) -> dict:
        """``{method: AttributionResult}`` computed for ``trace`` by ``lens.generate(...,
        attribution=[...])`` or ``lens.attribution(trace, ...)`` (kept while the trace lives).

        >>> gen = lens.generate("The capital of France is", attribution=["saliency"])  # doctest: +SKIP
        >>> lens.stored_attributions(gen)["saliency"].scores.shape  # doctest: +SKIP
        (8, 13)
        """
        if not isinstance(trace, Trace):
            raise TypeError(f"trace must be a Trace, got {type(trace).__name__}")
        return self._stored.setdefault(trace, {}).setdefault("attribution", {})

    def require_unembedding(self, what: str) -> None:
        """Raise a ``ValueError`` saying that ``what`` decodes through the model's unembedding
        (LM head) when this model has none (e.g. MiniLM, a ``BertModel``)."""
        if self.anatomy.head is None:
            raise ValueError(
                f"{what} needs an unembedding (an LM head mapping hidden states to token "
                f"logits), and {self.name} ({type(self.model).__name__}, kind={self.kind!r}) has "
                "none: it outputs hidden states only. Load the model with its LM head "
                "(…ForCausalLM or …ForMaskedLM), or use lens.trace / lens.embed."
            )

    # ---- parts ---------------------------------------------------------------------------
    @property
    def model_dtype(self) -> str:
        """The dtype the model runs in (``"float32"``, ``"bfloat16"``, ...)."""
        return dtype_name(model_dtype(self.model))

    @property
    def kind(self) -> str:
        """``"causal"``, ``"masked"`` or ``"base"``."""
        return self.anatomy.kind

    @property
    def n_layers(self) -> int:
        """Number of blocks."""
        return self.anatomy.n_layers

    @property
    def readout(self) -> Readout | None:
        """Final norm + unembedding of the model (by reference), or None without an LM head."""
        head = self.anatomy.head_module(self.model)
        if head is None:
            return None
        return Readout(
            norm=self.anatomy.final_norm_module(self.model),
            head=head,
            unembed=self.anatomy.unembed_module(self.model),
        )

    @property
    def point_names(self) -> list[str]:
        """Every point this lens can capture, in forward order (``points=None`` takes the default
        sites among them; see ``lmlens.names``)."""
        return available(self.model, self.anatomy)[0]

    def _select(self, points: str | Sequence[str] | None) -> list[str]:
        names, why = available(self.model, self.anatomy)
        return N.select(points, names, unavailable=why)

    @property
    def pad_id(self) -> int:
        """The id that pads batches (the tokenizer's pad, else the model's, else eos, else 0); masked
        out of every forward, so which id it is does not change results."""
        pads = (getattr(self.tokenizer, "pad_token_id", None), getattr(self.model.config, "pad_token_id", None),
                getattr(self.tokenizer, "eos_token_id", None), 0)
        return next(p for p in pads if isinstance(p, int))

    # ---- inputs --------------------------------------------------------------------------
    def tokenize(self, text_or_ids: str | Sequence[int] | torch.Tensor) -> torch.Tensor:
        """Token ids ``(n_positions,)`` for a text, a list of ids or a 1-D tensor of ids."""
        if isinstance(text_or_ids, str):
            if not text_or_ids.strip():
                raise ValueError("text must be a non-empty string")
            ids = list(self.tokenizer(text_or_ids)["input_ids"])
            eos = getattr(self.tokenizer, "eos_token_id", None)
            # sentencepiece tokenizers (rinna) append </s>; a causal LM should predict after the text
            if self.kind == "causal" and len(ids) > 1 and eos is not None and ids[-1] == eos:
                eos_tok = getattr(self.tokenizer, "eos_token", None) or ""
                if not (eos_tok and text_or_ids.rstrip().endswith(eos_tok)):
                    ids = ids[:-1]
            t = torch.tensor(ids, dtype=torch.long)
        elif isinstance(text_or_ids, torch.Tensor):
            if text_or_ids.dim() == 2 and text_or_ids.shape[0] == 1:
                text_or_ids = text_or_ids[0]
            if text_or_ids.dim() != 1 or text_or_ids.is_floating_point():
                raise ValueError(
                    f"text_or_ids: a tensor of ids must be 1-D integers, got shape "
                    f"{tuple(text_or_ids.shape)} dtype {text_or_ids.dtype}"
                )
            t = text_or_ids.detach().to("cpu", torch.long)
        elif isinstance(text_or_ids, (list, tuple)):
            if not all(isinstance(i, (int, np.integer)) for i in text_or_ids):
                raise TypeError("text_or_ids: a list must hold integer token ids")
            t = torch.tensor([int(i) for i in text_or_ids], dtype=torch.long)
        else:
            raise TypeError(
                f"text_or_ids must be a str, a list of ids or a 1-D tensor, got {type(text_or_ids).__name__}"
            )
        if t.numel() == 0:
            raise ValueError("text_or_ids: no tokens to run (empty input)")
        vocab = self.anatomy.embed_module(self.model).weight.shape[0]
        if int(t.min()) < 0 or int(t.max()) >= vocab:
            raise ValueError(f"text_or_ids: token ids must lie in [0, {vocab}), got {int(t.min())}..{int(t.max())}")
        limit = _max_positions(getattr(self.model, "config", None))
        if limit is not None and t.numel() > limit:
            raise ValueError(
                f"text has {t.numel()} tokens, more than the model's {limit} positions; shorten it"
            )
        return t

    def token_strings(self, ids: Sequence[int]) -> list[str]:
        """Each token id decoded on its own (the strings top-k lists show)."""
        return token_strings(self.tokenizer, ids)

    def _tokenize_all(self, texts: Sequence[str | Sequence[int] | torch.Tensor]) -> list[torch.Tensor]:
        """``tokenize`` of each text; an error names the text (``texts[3]: ...``)."""
        ids = []
        for i, t in enumerate(texts):
            try:
                ids.append(self.tokenize(t))
            except (TypeError, ValueError) as e:
                raise type(e)(f"texts[{i}]: {e}") from None
        return ids

    def _make_trace(self, ids: torch.Tensor, tensors: dict, generated: np.ndarray) -> Trace:
        tokens, pieces, starts = display_tokens(self.tokenizer, ids.tolist())
        tok = self.tokenizer
        return Trace(
            token_ids=ids, tokens=tokens, pieces=pieces, tensors=tensors, readout=self.readout,
            generated=generated, word_starts=starts, n_layers=self.n_layers, kind=self.kind,
            id_to_str=functools.partial(token_strings, tok), model_name=self.name, model_dtype=self.model_dtype,
            labels=tuple(labels_for_text(tok, pieces, tokens)),
        )

    # ---- capture -------------------------------------------------------------------------
    def as_trace(
        self, x: str | Sequence[int] | torch.Tensor | Trace, points: Sequence[str], *, refill: bool = False,
    ) -> Trace:
        """``x`` itself when it is a ``Trace``, else ``self.trace(x, points=points)``.

        With ``refill=True`` a ``Trace`` lacking some of ``points`` (e.g. a ``generate`` trace
        and value vectors) is captured again over its own token ids with the points it has plus
        the missing ones; its generated-token marks carry over.
        """
        if not isinstance(x, Trace):
            return self.trace(x, points=points)
        missing = [p for p in self._select(points) if p not in x.tensors]
        if not refill or not missing:
            return x
        chosen = sorted(set(x.names) | set(missing), key=N.sort_key)
        tensors = record(self.model, self.anatomy, x.token_ids, chosen)
        return self._make_trace(x.token_ids, tensors, np.asarray(x.generated, dtype=bool).copy())

    def trace(
        self,
        text_or_ids: str | Sequence[int] | torch.Tensor,
        *,
        points: str | Sequence[str] | None = None,
        dtype: torch.dtype | None = None,
        max_bytes: int | None = DEFAULT_MAX_BYTES,
    ) -> Trace:
        """One forward pass, captured. ``points`` takes names or globs (None = all).

        Refuses before running when the capture would hold more than ``max_bytes``.
        """
        chosen = self._select(points)
        ids = self.tokenize(text_or_ids)
        tensors = record(self.model, self.anatomy, ids, chosen, dtype=dtype, max_bytes=max_bytes)
        return self._make_trace(ids, tensors, np.zeros(ids.shape[0], dtype=bool))

    def trace_batch(
        self,
        texts: Sequence[str | Sequence[int] | torch.Tensor],
        *,
        batch_size: int = 32,
        points: str | Sequence[str] | None = None,
        padding_side: str | None = None,
        dtype: torch.dtype | None = None,
        max_bytes: int | None = DEFAULT_MAX_BYTES,
        progress: bool | None = None,
    ) -> list[Trace]:
        """One trace per text, in input order, from padded and masked batches of ``batch_size``
        (texts sorted by length); no padding positions in any trace, and each equals
        ``lens.trace(text)`` up to float rounding. ``padding_side``: ``"right"`` (None) or
        ``"left"``. ``max_bytes`` bounds all traces together; checked before any forward.

        >>> traces = lens.trace_batch(["The capital of France is", "Hello"])  # doctest: +SKIP
        """
        if isinstance(texts, (str, torch.Tensor)) or not isinstance(texts, Sequence):
            raise TypeError(f"texts must be a list of texts or id lists, got {type(texts).__name__}")
        chosen = self._select(points)
        ids = self._tokenize_all(texts)
        got = record_batch(self.model, self.anatomy, ids, chosen, pad_id=self.pad_id, batch_size=batch_size,
                           padding_side=padding_side or "right", dtype=dtype, max_bytes=max_bytes,
                           progress=progress)
        return [self._make_trace(i, t, np.zeros(i.shape[0], dtype=bool)) for i, t in zip(ids, got, strict=True)]

    def iter_traces(
        self,
        texts: Sequence[str | Sequence[int] | torch.Tensor],
        *,
        batch_size: int = 32,
        points: str | Sequence[str] | None = None,
        dtype: torch.dtype | None = None,
        max_bytes: int | None = DEFAULT_MAX_BYTES,
        progress: bool | None = None,
    ) -> Iterator[tuple[int, Trace]]:
        """``trace_batch``, streamed: ``(index, trace)`` pairs batch by batch (longest texts first),
        so that one batch of traces lives at a time (analyse each, keep the result). ``max_bytes``
        bounds one batch.

        >>> for i, trace in lens.iter_traces(texts, points=["logits"]): ...  # doctest: +SKIP
        """
        if isinstance(texts, (str, torch.Tensor)) or not isinstance(texts, Sequence):
            raise TypeError(f"texts must be a list of texts or id lists, got {type(texts).__name__}")
        chosen = self._select(points)
        ids = self._tokenize_all(texts)
        for batch in iter_batches(self.model, self.anatomy, ids, chosen, pad_id=self.pad_id,
                                  batch_size=batch_size, dtype=dtype, max_bytes=max_bytes, progress=progress):
            for i, tensors in batch:
                yield i, self._make_trace(ids[i], tensors, np.zeros(ids[i].shape[0], dtype=bool))

    def generate(
        self,
        prompt: str | Sequence[int] | torch.Tensor,
        *,
        max_new_tokens: int = 8,
        do_sample: bool = False,
        points: str | Sequence[str] | None = None,
        dtype: torch.dtype | None = None,
        max_bytes: int | None = DEFAULT_MAX_BYTES,
        attribution: str | Sequence[str] | Mapping[str, Mapping[str, Any]] | None = None,
        **generate_kwargs,
    ) -> Trace:
        """Generate, then capture one forward over prompt + generated tokens.

        ``trace.generated`` marks the generated positions. ``attribution`` names methods
        (a name, a list, or ``{method: {option: value}}`` with ``n_steps``, ``baseline``,
        ``attr_target``, ...; see ``lens.attribution``) to attribute every generated token
        with, batched over them; ``lens.attribution(trace, method=...)`` shows them without
        recomputing (``lens.stored_attributions(trace)`` holds them).

        >>> gen = lens.generate("The capital of France is", max_new_tokens=8,
        ...                     attribution=["integrated_gradients", "saliency"])  # doctest: +SKIP
        >>> gen.generated.sum()  # doctest: +SKIP
        8
        """
        if self.kind != "causal":
            raise ValueError(f"generate needs a causal LM; this model is {self.kind!r}")
        methods = None
        if attribution is not None:
            from .attribution import attribute_generated, parse_attribution

            methods = parse_attribution(attribution)
        if not isinstance(max_new_tokens, int) or max_new_tokens < 1:
            raise ValueError(f"max_new_tokens must be a positive int, got {max_new_tokens!r}")
        chosen = self._select(points)
        ids = self.tokenize(prompt)
        limit = _max_positions(getattr(self.model, "config", None))
        if limit is not None and ids.shape[0] + max_new_tokens > limit:
            raise ValueError(
                f"max_new_tokens: the prompt has {ids.shape[0]} tokens; with max_new_tokens="
                f"{max_new_tokens} the text would exceed the model's {limit} positions. Use "
                f"max_new_tokens <= {limit - ids.shape[0]} or a shorter prompt."
            )
        device = execution_device(self.anatomy.embed_module(self.model))
        pad = getattr(self.tokenizer, "pad_token_id", None)
        if pad is None:
            pad = getattr(self.tokenizer, "eos_token_id", None)
        with inference_mode(self.model), torch.no_grad():
            out = self.model.generate(
                ids[None].to(device),
                attention_mask=torch.ones(1, ids.shape[0], dtype=torch.long, device=device),
                max_new_tokens=max_new_tokens,
                do_sample=do_sample,
                pad_token_id=pad,
                **generate_kwargs,
            )
        full = out[0].detach().cpu()
        self.tokenize(full)  # length / vocab checks
        tensors = record(self.model, self.anatomy, full, chosen, dtype=dtype, max_bytes=max_bytes)
        generated = np.zeros(full.shape[0], dtype=bool)
        generated[ids.shape[0]:] = True
        trace = self._make_trace(full, tensors, generated)
        if methods:
            attribute_generated(self, trace, methods)
        return trace

    # ---- load-time check -----------------------------------------------------------------
    def self_check(self, atol: float = 1e-3) -> None:
        """Decode the last block through final norm + unembedding and compare with the logits;
        check attention rows sum to 1 where the model gives patterns; drop value sites
        (``attn.v``/``attn.out``) that do not reproduce the attention output (``capture.check``)."""
        self.anatomy = self_check(self.model, self.anatomy, atol=atol)
