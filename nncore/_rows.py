"""Elementwise work split into row blocks, run on a small thread pool.

NumPy ufuncs release the GIL but use one core, while the GEMMs around them use every
core. Splitting the m rows into cache-sized blocks and running the blocks on threads
keeps the elementwise passes (sigmoid, a * (1 - a), the cost) from dominating a step.
Block boundaries depend only on the array shape, never on the number of threads, so
results (including the order in which partial sums are added) are bit-identical on any
machine with the same BLAS.
"""

import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import cache

import numpy as np

from nncore.activations import sigmoid

BLOCK_ELEMENTS = 1 << 16  # 512 KiB of float64 per block: stays in L2 across passes
PARALLEL_MIN_ELEMENTS = 1 << 20  # below this, thread hand-off costs more than it saves


def _n_cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


@cache
def _pool() -> ThreadPoolExecutor | None:
    n = _n_cpus()
    return ThreadPoolExecutor(max_workers=n, thread_name_prefix="nncore") if n > 1 else None


def row_blocks(m: int, width: int) -> list[slice]:
    """Slices covering range(m) in blocks of about BLOCK_ELEMENTS elements each."""
    rows = max(1, BLOCK_ELEMENTS // max(width, 1))
    return [slice(start, min(start + rows, m)) for start in range(0, m, rows)]


def map_rows(fn: Callable[[slice], float | None], m: int, width: int) -> list:
    """Call fn(rows) for every row block of an (m, width) array; results in block order."""
    blocks = row_blocks(m, width)
    pool = _pool()
    if pool is None or m * width < PARALLEL_MIN_ELEMENTS or len(blocks) == 1:
        return [fn(rows) for rows in blocks]
    return list(pool.map(fn, blocks))


def sigmoid_inplace(z: np.ndarray) -> None:
    """z <- g(z) for a 2-D array or 2-D view, block by block."""

    def block(rows: slice) -> None:
        sigmoid(z[rows], out=z[rows])

    map_rows(block, z.shape[0], z.shape[1])
