"""Capacity planning: how many devices (machines, GPUs) serve a target QPS.

Memory decides how many model instances fit on one device: ⌊device memory / instance memory⌋. Each
instance serves `instance_qps`, so a device serves instances × instance_qps and the fleet needs
⌈target / that⌉ devices. Shrinking a model raises throughput only when it crosses a step where one more
instance fits: with 10 GB and an 8 GB model, 7 or 6 GB change nothing; at 5 GB two fit.

>>> p = plan(target_qps=100, device_memory=parse_size("10GiB"), instance_memory=parse_size("6GiB"), instance_qps=20)
>>> p.instances_per_device, p.devices_needed
(1, 5)
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import asdict, dataclass, field
from typing import Any

__all__ = ["Plan", "WhatIf", "format_size", "parse_size", "plan"]

_UNITS = {"": 1, "b": 1, "k": 10**3, "kb": 10**3, "m": 10**6, "mb": 10**6, "g": 10**9, "gb": 10**9,
          "t": 10**12, "tb": 10**12, "kib": 2**10, "mib": 2**20, "gib": 2**30, "tib": 2**40}
_SIZE_RE = re.compile(r"^\s*([0-9]*\.?[0-9]+)\s*([a-zA-Z]*)\s*$")


def parse_size(text: str | float) -> int:
    """A memory size in bytes: "10GiB", "800MB", "1.5 GB", "512MiB", or a plain number of bytes.

    KB/MB/GB/TB are decimal (10^3 steps), KiB/MiB/GiB/TiB binary (2^10 steps).

    Raises:
        ValueError: not a size, or not positive.

    >>> parse_size("10GiB"), parse_size("800MB")
    (10737418240, 800000000)
    """
    if isinstance(text, (int, float)):
        value = float(text)
    else:
        m = _SIZE_RE.match(str(text))
        unit = m.group(2).lower() if m else None
        if not m or unit not in _UNITS:
            raise ValueError(f"not a memory size: {text!r} (examples: 10GiB, 800MB, 512MiB)")
        value = float(m.group(1)) * _UNITS[unit]
    if value <= 0:
        raise ValueError(f"memory size must be positive: {text!r}")
    return round(value)


def format_size(n: float) -> str:
    """Bytes as a short human string in binary units, e.g. 6442450944 -> '6 GiB'."""
    for unit, scale in (("TiB", 2**40), ("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if n >= scale:
            return f"{n / scale:.3g} {unit}"
    return f"{int(n)} B"


@dataclass(frozen=True)
class WhatIf:
    instance_memory: int          # bytes
    instances_per_device: int
    qps_per_device: float
    devices_needed: int | None    # None when not even one instance fits
    changes: bool                 # differs from the current plan


@dataclass(frozen=True)
class Plan:
    target_qps: float
    device_memory: int
    instance_memory: int
    instance_qps: float
    instances_per_device: int
    qps_per_device: float
    devices_needed: int | None
    bottleneck: str
    what_if: list[WhatIf] = field(default_factory=list)
    sources: dict[str, str] = field(default_factory=dict)   # where instance memory / qps came from

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict())


def _per_device(device_memory: int, instance_memory: int, instance_qps: float, target_qps: float
                ) -> tuple[int, float, int | None]:
    k = device_memory // instance_memory
    qps = k * instance_qps
    return k, qps, (math.ceil(target_qps / qps - 1e-9) if qps > 0 else None)


def _what_if_sizes(device_memory: int, instance_memory: int, k: int) -> list[int]:
    """The current size, a few proportional shrinks (which often change nothing), and the step sizes
    where 1, 2, 3 more instances would fit."""
    sizes = {instance_memory}
    sizes.update(int(instance_memory * f) for f in (0.875, 0.75, 0.5))
    for extra in (1, 2, 3):
        sizes.add(device_memory // (max(k, 0) + extra))  # the largest size at which k + extra fit
    return sorted((s for s in sizes if s > 0), reverse=True)


def plan(*, target_qps: float, device_memory: int, instance_memory: int, instance_qps: float,
         sources: dict[str, str] | None = None) -> Plan:
    """Devices needed for `target_qps`.

    Args:
        target_qps: requests per second the fleet must serve.
        device_memory: memory of one device, bytes.
        instance_memory: memory one model instance (process / session) needs, bytes.
        instance_qps: what one instance serves, requests per second.
        sources: free-form notes on where the inputs came from (measured, given).

    Returns:
        Plan with instances_per_device, qps_per_device, devices_needed, bottleneck and a what-if table.

    Raises:
        ValueError: non-positive inputs.
    """
    if target_qps <= 0 or instance_qps <= 0:
        raise ValueError("target and instance QPS must be positive")
    if device_memory <= 0 or instance_memory <= 0:
        raise ValueError("memory sizes must be positive")
    k, qps, devices = _per_device(device_memory, instance_memory, instance_qps, target_qps)
    if k == 0:
        bottleneck = (f"memory: one instance ({format_size(instance_memory)}) does not fit in a device "
                      f"({format_size(device_memory)})")
    else:
        left = device_memory - k * instance_memory
        need = device_memory // (k + 1)
        bottleneck = (f"memory: {k} instance(s) of {format_size(instance_memory)} fit per device "
                      f"({format_size(left)} left over); one more fits only at <= {format_size(need)} per instance")
        if devices == 1:
            bottleneck += f"; one device already serves {qps:g} QPS >= target {target_qps:g}"
    rows = []
    for size in _what_if_sizes(device_memory, instance_memory, k):
        kk, q, d = _per_device(device_memory, size, instance_qps, target_qps)
        rows.append(WhatIf(size, kk, q, d, kk != k))
    return Plan(target_qps, device_memory, instance_memory, instance_qps, k, qps, devices, bottleneck, rows,
                dict(sources or {}))
