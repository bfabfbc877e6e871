"""Ragged expansion: every item's run of consecutive entries, flattened, without a loop.

Used wherever each item of one array owns a run of rows of another, sorted array: the
haul arcs out of a collection arc's station (:func:`wastenet.siting.splitbound.path_costs`,
:mod:`wastenet.siting.anatomy`), the size options of a linking row's site
(:mod:`wastenet.siting.echelon`, :mod:`wastenet.siting.countybound`).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

IntArray = NDArray[np.int64]


def expand(starts: NDArray[np.integer], counts: NDArray[np.integer]
           ) -> tuple[IntArray, IntArray]:
    """For items ``t = 0..len(counts)-1``, each owning the entries ``starts[t],
    starts[t] + 1, ..., starts[t] + counts[t] - 1``, return ``(owner, index)``: one
    element per owned entry, item by item in order, with ``owner`` the item and
    ``index`` the entry. ``counts`` must be >= 0; an item with none owns nothing.

    >>> expand(np.array([10, 0, 5]), np.array([2, 0, 3]))
    (array([0, 0, 2, 2, 2]), array([10, 11,  5,  6,  7]))
    """
    counts = np.asarray(counts, dtype=np.int64)
    starts = np.asarray(starts, dtype=np.int64)
    if counts.shape != starts.shape:
        raise ValueError(f"starts and counts differ in shape: {starts.shape} != "
                         f"{counts.shape}")
    if counts.size and int(counts.min()) < 0:
        raise ValueError(f"counts must be >= 0, got {int(counts.min())}")
    owner = np.repeat(np.arange(counts.shape[0], dtype=np.int64), counts)
    first = np.cumsum(counts) - counts  # position of each item's first element
    index = starts[owner] + (np.arange(owner.shape[0], dtype=np.int64) - first[owner])
    return owner, index


__all__ = ["expand"]
