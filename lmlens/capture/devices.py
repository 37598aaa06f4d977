"""Where a model's parts run and in which dtype: one device, several (accelerate's ``device_map``),
or weights offloaded to the CPU or disk.

A model loaded with ``device_map=...`` carries accelerate's hooks (``module._hf_hook``, e.g.
``AlignDevicesHook``) that move each module's inputs to its *execution device* and, for an
offloaded module, load its weights there for the call only: between calls its parameters sit on
the ``meta`` device. So a parameter's ``.device`` does not say where a module computes, and a
weight read outside a forward may be an empty ``meta`` tensor. Everything in lmlens that needs a
device or a weight asks here.

>>> import torch
>>> lin = torch.nn.Linear(2, 3)
>>> execution_device(lin), dtype_name(model_dtype(lin))
(device(type='cpu'), 'float32')
>>> with materialized(lin):  # a plain module: nothing to load
...     lin.weight.shape
torch.Size([3, 2])
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager

import torch
from torch import nn

#: Relative tolerance of a comparison between two runs of the same model, per dtype: float32 and
#: float64 runs agree to rounding; half-precision activations carry ~3 (bfloat16) or ~4
#: (float16) significant digits, so two orders of summation differ by about their epsilon.
DTYPE_RTOL = {torch.float16: 1e-2, torch.bfloat16: 5e-2}


def _hook_device(module: nn.Module) -> torch.device | None:
    hook = getattr(module, "_hf_hook", None)
    for h in [hook, *getattr(hook, "hooks", ())]:  # an accelerate SequentialHook holds several
        dev = getattr(h, "execution_device", None)
        if dev is not None:
            return torch.device(f"cuda:{dev}" if isinstance(dev, int) else dev)
    return None


def execution_device(module: nn.Module) -> torch.device:
    """The device ``module`` computes on: its accelerate hook's execution device, else the device
    of its first parameter or buffer that holds data (not ``meta``), else a submodule's hook's,
    else the CPU."""
    dev = _hook_device(module)
    if dev is not None:
        return dev
    for t in (*module.parameters(), *module.buffers()):
        if t.device.type != "meta":
            return t.device
    for m in module.modules():
        dev = _hook_device(m)
        if dev is not None:
            return dev
    return torch.device("cpu")


def model_dtype(model: nn.Module) -> torch.dtype:
    """The floating dtype most of ``model``'s parameters have (offloaded ones count too; float32
    for a model without floating parameters)."""
    count: dict[torch.dtype, int] = {}
    for p in model.parameters():
        if p.is_floating_point():
            count[p.dtype] = count.get(p.dtype, 0) + p.numel()
    return max(count, key=count.__getitem__) if count else torch.float32


def dtype_name(dtype: torch.dtype) -> str:
    """``torch.bfloat16`` → ``"bfloat16"`` (the spelling results use)."""
    return str(dtype).removeprefix("torch.")


def rtol(dtype: torch.dtype, floor: float) -> float:
    """The relative tolerance for comparing two runs of a model in ``dtype``: ``floor`` (what
    float32 allows) or the half-precision tolerance of ``DTYPE_RTOL``, whichever is larger."""
    return max(floor, DTYPE_RTOL.get(dtype, 0.0))


def devices(model: nn.Module) -> list[torch.device]:
    """Every device ``model`` computes on (accelerate's execution devices, or where its
    parameters are), in first-seen order."""
    seen: list[torch.device] = []
    for m in model.modules():
        dev = _hook_device(m)
        if dev is None:
            direct = [p.device for p in m.parameters(recurse=False) if p.device.type != "meta"]
            dev = direct[0] if direct else None
        if dev is not None and dev not in seen:
            seen.append(dev)
    return seen or [torch.device("cpu")]


def is_dispatched(model: nn.Module) -> bool:
    """True when accelerate dispatched ``model`` (``from_pretrained(device_map=...)``,
    ``dispatch_model``, ``cpu_offload``, ``disk_offload``)."""
    return bool(getattr(model, "hf_device_map", None)) or any(
        getattr(m, "_hf_hook", None) is not None for m in model.modules()
    )


def offloaded(module: nn.Module) -> bool:
    """True when accelerate keeps some of ``module``'s weights off its execution device (on the
    CPU or disk) between calls."""
    return any(getattr(getattr(m, "_hf_hook", None), "offload", False) for m in module.modules())


@contextmanager
def materialized(module: nn.Module | None) -> Iterator[None]:
    """Within the block, an offloaded module's weights are real tensors on its execution device
    (accelerate's ``align_module_device`` on each offloaded submodule); put back after. A tensor
    read inside the block stays valid after it. Nothing happens for a plain module.

    >>> with materialized(lens.readout.unembed):  # doctest: +SKIP
    ...     W = lens.readout.unembed.weight       # (d_vocab, d_model), not meta
    """
    if module is None or not offloaded(module):
        yield
        return
    from accelerate.utils import align_module_device

    with ExitStack() as stack:
        for m in module.modules():
            if getattr(getattr(m, "_hf_hook", None), "offload", False):
                stack.enter_context(align_module_device(m))
        yield


def free_memory(device: torch.device) -> int | None:
    """Bytes a new allocation can still get on a CUDA ``device`` (free on the device plus what
    torch's caching allocator holds unused); None for the CPU and other devices."""
    if device.type != "cuda" or not torch.cuda.is_available():
        return None
    free, _ = torch.cuda.mem_get_info(device)
    return int(free + torch.cuda.memory_reserved(device) - torch.cuda.memory_allocated(device))


def synchronize(devices: set[torch.device]) -> None:
    """Wait for the copies queued on each CUDA device in ``devices`` (a no-op for the CPU)."""
    for d in devices:
        if d.type == "cuda":
            torch.cuda.synchronize(d)


def to_host(t: torch.Tensor, dtype: torch.dtype | None = None,
            pending: set[torch.device] | None = None) -> torch.Tensor:
    """``t`` detached, in ``dtype`` (floating tensors only; converted on its device first, so half
    the bytes travel), on the CPU. With ``pending``, a CUDA tensor is copied without waiting and its
    device is added to ``pending``: call ``synchronize(pending)`` before reading the copy.

    >>> to_host(torch.ones(2), torch.float16).dtype
    torch.float16
    """
    t = t.detach()
    if dtype is not None and t.is_floating_point() and t.dtype != dtype:
        t = t.to(dtype)
    if t.device.type == "cpu":
        return t
    if pending is not None and t.device.type == "cuda":
        pending.add(t.device)
        return t.to("cpu", non_blocking=True)
    return t.to("cpu")
