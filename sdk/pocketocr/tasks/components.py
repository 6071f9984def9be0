"""Connected components of small boolean maps (detector cells), shared by the card and formula decoders."""

from __future__ import annotations

import numpy as np

__all__ = ["components", "label_components"]


def _runs(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Horizontal runs of True cells: (row, start, end_inclusive), each (R,) int."""
    h, w = mask.shape
    padded = np.zeros((h, w + 2), np.int8)
    padded[:, 1:-1] = mask
    d = np.diff(padded, axis=1)
    rs, cs = np.nonzero(d == 1)
    _, ce = np.nonzero(d == -1)
    # np.nonzero is row-major, so starts and ends pair up in order
    return rs, cs, ce - 1


def label_components(mask: np.ndarray) -> np.ndarray:
    """8-connected labels of a boolean map: (H, W) int32, 0 = background, 1..K components.

    Run-length union-find: the Python loop is over runs (a few hundred per page), not cells.
    """
    rows, starts, ends = _runs(mask)
    n = len(rows)
    labels = np.zeros(mask.shape, np.int32)
    if n == 0:
        return labels
    parent = list(range(n))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    row_first = np.searchsorted(rows, np.arange(mask.shape[0] + 1))
    for r in range(1, mask.shape[0]):
        a0, a1 = row_first[r - 1], row_first[r]       # runs on the row above
        b0, b1 = row_first[r], row_first[r + 1]       # runs on this row
        if a0 == a1 or b0 == b1:
            continue
        j = a0
        for i in range(b0, b1):
            while j < a1 and ends[j] < starts[i] - 1:
                j += 1
            k = j
            while k < a1 and starts[k] <= ends[i] + 1:   # overlap incl. diagonal neighbours
                ri, rk = find(i), find(k)
                if ri != rk:
                    parent[max(ri, rk)] = min(ri, rk)
                k += 1
    roots = np.array([find(i) for i in range(n)])
    _, comp = np.unique(roots, return_inverse=True)
    for i in range(n):
        labels[rows[i], starts[i]:ends[i] + 1] = comp[i] + 1
    return labels


def components(mask: np.ndarray) -> list[np.ndarray]:
    """8-connected components as (K, 2) arrays of (row, col): components in the raster order of their first
    cell, the cells of each in raster order (the browser port sorts its components' cells the same way)."""
    labels = label_components(mask)
    rows, cols = np.nonzero(labels)
    ids = labels[rows, cols]
    order = np.argsort(ids, kind="stable")
    cells = np.stack([rows[order], cols[order]], 1)
    return np.split(cells, np.flatnonzero(np.diff(ids[order])) + 1) if len(cells) else []
