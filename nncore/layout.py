"""One flat parameter vector for all thetas, with shapes and offsets computed once.

`thetas[l]` maps layer l to layer l+1 and has shape (s_l + 1, s_{l+1}); row 0 holds
the bias weights. The flat vector stores thetas[0], thetas[1], ... one after another,
each in C order, so `unpack` returns views and the L-BFGS objective can be a pure
function of the flat vector.
"""

import itertools
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Layout:
    """Shapes and offsets of every theta inside the flat vector.

    Attributes
    ----------
    layer_sizes : tuple of int, [n, s_2, ..., K]
    shapes : tuple of (s_l + 1, s_{l+1}) pairs
    offsets : tuple of int, start of each theta in the flat vector (len(shapes) + 1
        entries, the last one the total size)
    """

    layer_sizes: tuple[int, ...]
    shapes: tuple[tuple[int, int], ...]
    offsets: tuple[int, ...]

    @classmethod
    def from_layer_sizes(cls, layer_sizes: list[int] | tuple[int, ...]) -> "Layout":
        sizes = tuple(int(s) for s in layer_sizes)
        shapes = tuple((s + 1, s_next) for s, s_next in itertools.pairwise(sizes))
        offsets = [0]
        for rows, cols in shapes:
            offsets.append(offsets[-1] + rows * cols)
        return cls(sizes, shapes, tuple(offsets))

    @property
    def size(self) -> int:
        return self.offsets[-1]

    def unpack(self, flat: np.ndarray) -> list[np.ndarray]:
        """Views of `flat` (ndarray of shape (size,)) as thetas; writes go through."""
        return [
            flat[start:stop].reshape(shape)
            for shape, (start, stop) in zip(
                self.shapes, itertools.pairwise(self.offsets), strict=True
            )
        ]

    def pack(self, thetas: list[np.ndarray], dtype: np.dtype | type = np.float64) -> np.ndarray:
        """A new flat vector of shape (size,) holding copies of `thetas`, cast to `dtype`."""
        flat = np.empty(self.size, dtype=dtype)
        for view, theta in zip(self.unpack(flat), thetas, strict=True):
            view[...] = theta
        return flat
