"""Thetas on disk (.npz, keys theta_1..theta_L, never pickled) and their digest."""

import hashlib
import os
import re

import numpy as np

_KEY = re.compile(r"theta_([1-9][0-9]*)")


def thetas_sha256(thetas: list[np.ndarray]) -> str:
    """Hex sha256 of the thetas' bytes: each theta in C order, layer by layer.

    Only the raw bytes enter the digest, not shapes or dtype; the same weights in
    float32 and float64 therefore differ (their bytes do), and reshaped weights with the
    same bytes do not. It is the `thetas_sha256` MLflow tag that `nnflow reproduce`
    compares.
    """
    digest = hashlib.sha256()
    for theta in thetas:
        digest.update(np.ascontiguousarray(theta).data)
    return digest.hexdigest()


def save_thetas(path: str | os.PathLike, thetas: list[np.ndarray]) -> None:
    """Write thetas to `path` exactly (no '.npz' appended) as theta_1..theta_L."""
    arrays = {}
    for layer, theta in enumerate(thetas, start=1):
        theta = np.asarray(theta)
        if theta.ndim != 2 or not np.issubdtype(theta.dtype, np.floating):
            raise ValueError(
                f"expected theta_{layer} as a 2-D float array, got {theta.dtype} {theta.shape}"
            )
        arrays[f"theta_{layer}"] = theta
    if not arrays:
        raise ValueError("expected at least one theta to save, got none")
    with open(path, "wb") as file:  # a file object stops savez from renaming the path
        np.savez(file, **arrays)


def load_thetas(path: str | os.PathLike) -> list[np.ndarray]:
    """Read thetas written by `save_thetas`, in layer order, without unpickling.

    Raises
    ------
    ValueError
        if the file is not an .npz archive, holds pickled/object arrays, has keys other
        than theta_1..theta_L, or holds arrays that are not 2-D floats chaining layer to
        layer.
    """
    try:
        archive = np.load(path, allow_pickle=False)
    except ValueError as error:  # numpy's wording: "...pickled data..."
        raise ValueError(f"{path}: not a thetas .npz archive ({error})") from None
    if not isinstance(archive, np.lib.npyio.NpzFile):
        raise ValueError(f"{path}: expected an .npz archive with keys theta_1.., got .npy")
    with archive:
        keys = archive.files
        numbers = sorted(int(match[1]) for key in keys if (match := _KEY.fullmatch(key)))
        expected = [f"theta_{layer}" for layer in range(1, len(keys) + 1)]
        if not keys or numbers != list(range(1, len(keys) + 1)):
            raise ValueError(f"{path}: expected keys {expected}, got {sorted(keys)}")
        thetas = []
        for key in expected:
            try:
                theta = archive[key]
            except ValueError as error:  # object arrays refuse to load without pickle
                raise ValueError(f"{path}: {key} cannot be loaded safely ({error})") from None
            if theta.ndim != 2 or not np.issubdtype(theta.dtype, np.floating):
                raise ValueError(
                    f"{path}: expected {key} as a 2-D float array, got {theta.dtype} {theta.shape}"
                )
            thetas.append(theta)
    for layer in range(1, len(thetas)):
        if thetas[layer].shape[0] != thetas[layer - 1].shape[1] + 1:
            previous = thetas[layer - 1].shape
            raise ValueError(
                f"{path}: expected theta_{layer + 1} of shape ({previous[1] + 1}, s_next)"
                f" after theta_{layer} of shape {previous}, got {thetas[layer].shape}"
            )
    return thetas
