"""An optional progress bar: tqdm's where it is installed (the runtime does not need it), else none."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

__all__ = ["progress_bar"]


def progress_bar(items: Iterable, desc: str, unit: str, enabled: bool = True) -> Iterable[Any]:
    """`items`, wrapped in a tqdm bar on stderr when `enabled` and tqdm is importable."""
    if enabled:
        try:
            from tqdm import tqdm
        except ImportError:
            return items
        return tqdm(items, desc=desc, unit=unit)
    return items
