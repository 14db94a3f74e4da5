"""Groups of look-alike images (consecutive captures of a drive): kept on one side of a split, spread in the queue.

A split by file name keeps a Carvana car on one side, but CARLA-style folders name every frame on its own,
and a drive recorded at a standstill gives frames that are the same picture. Put one on each side of a
train/validation (or held-out) split and validation measures memory, not learning; correct two in one round
and the second correction teaches the model nothing new. Here every image gets a small signature (a 32x24
colour thumbnail, zero-mean, unit length) and images whose signatures correlate at least
:data:`SIMILARITY` are joined into one group (transitively, so a slow drive forms one group). Signatures
are cached next to the project store, keyed by file size and modification time.
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from unet_core.errors import DataError
from unet_core.fsutil import atomic_write_bytes

SIGNATURE_WH = (32, 24)
SIGNATURE_LEN = SIGNATURE_WH[0] * SIGNATURE_WH[1] * 3
# Correlation of two signatures at or above which the frames count as the same scene. On the real data:
# CARLA frames up to ~10 apart in one drive 0.91-1.00; the most alike different scenes 0.79 (CARLA) and
# different cars at the same angle 0.86 (Carvana).
SIMILARITY = 0.90
CACHE_NAME = "frame_signatures.npz"

Progress = Callable[[int, int], None]


def image_signature(path: str | Path) -> np.ndarray:
    """The signature of one image file: float32 of length :data:`SIGNATURE_LEN`, zero mean, unit length.

    A flat image has no pattern to compare and gets the zero vector (similar to nothing). Raises
    :class:`~unet_core.errors.DataError` when the file cannot be read.
    """
    from unet_core.data.io import read_image, read_image_reduced

    p = Path(path)
    if p.suffix.lower() in (".jpg", ".jpeg"):  # JPEG decodes at 1/4 size directly: ~5x faster at 1918x1280
        return signature_of(read_image_reduced(p, 4))
    return signature_of(read_image(p))


def signature_of(rgb: np.ndarray) -> np.ndarray:
    """The signature of an HxWx3 uint8 image already in memory (see :func:`image_signature`)."""
    small = cv2.resize(rgb, SIGNATURE_WH, interpolation=cv2.INTER_AREA).astype(np.float32).ravel()
    small -= small.mean()
    norm = float(np.linalg.norm(small))
    return small / norm if norm > 1e-3 else np.zeros(SIGNATURE_LEN, np.float32)


def similarity_groups(stems: Sequence[str], signatures: np.ndarray,
                      threshold: float = SIMILARITY, chunk: int = 1024) -> dict[str, str]:
    """Group name per stem: images joined (transitively) when their signatures correlate ≥ ``threshold``.

    A group is named after its first stem in sorted order, so names do not depend on the input order.
    Works in row chunks: memory stays at ``chunk`` x N similarities for any N.
    """
    n = len(stems)
    if signatures.shape != (n, SIGNATURE_LEN):
        raise ValueError(f"expected {n} signatures of length {SIGNATURE_LEN}, got shape {signatures.shape}")
    parent = list(range(n))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    sig = np.asarray(signatures, np.float32)
    for start in range(0, n, chunk):
        block = sig[start:start + chunk] @ sig.T
        rows, cols = np.nonzero(block >= threshold)
        for r, c in zip(rows.tolist(), cols.tolist(), strict=True):
            a, b = find(start + r), find(c)
            if a != b:
                parent[max(a, b)] = min(a, b)
    members: dict[int, list[str]] = {}
    for i, stem in enumerate(stems):
        members.setdefault(find(i), []).append(stem)
    return {stem: min(group) for group in members.values() for stem in group}


def _file_key(path: Path) -> str:
    """Cache key of a file: name, size and modification time (a changed file is signed again)."""
    try:
        st = path.stat()
    except OSError:
        return f"{path.name}|missing"
    return f"{path.name}|{st.st_size}|{st.st_mtime_ns}"


def load_signatures(paths: Mapping[str, Path], cache: Path | None = None,
                    progress: Progress | None = None, write_cache: bool = True) -> np.ndarray:
    """Signatures of ``paths`` (stem → image file) in their order, reusing and refreshing ``cache``.

    Only images not in the cache (or changed since) are decoded; an unreadable image gets the zero
    signature, so it joins no group. ``progress(done, total)`` is called after each decode and may
    raise to stop early. The cache is rewritten atomically when anything was added (also when
    stopped early, with what was done); a cache that cannot be read is ignored and rebuilt, one that
    cannot be written is skipped; ``write_cache=False`` only reads it (a read-only store).
    """
    stems = list(paths)
    keys = [_file_key(Path(paths[s])) for s in stems]
    known: dict[tuple[str, str], np.ndarray] = {}
    if cache is not None and cache.is_file():
        try:
            with np.load(cache, allow_pickle=False) as data:
                for s, k, v in zip(data["stems"].tolist(), data["keys"].tolist(), data["signatures"], strict=True):
                    known[(s, k)] = v
        except (OSError, ValueError, KeyError):
            known = {}
    out = np.zeros((len(stems), SIGNATURE_LEN), np.float32)
    filled = np.zeros(len(stems), bool)
    fresh = 0
    try:
        for i, (stem, key) in enumerate(zip(stems, keys, strict=True)):
            cached = known.get((stem, key))
            if cached is not None and cached.shape == (SIGNATURE_LEN,):
                out[i], filled[i] = cached, True
                continue
            fresh += 1
            with contextlib.suppress(DataError):
                out[i] = image_signature(paths[stem])
            filled[i] = True
            if progress is not None:
                progress(i + 1, len(stems))  # may raise to stop: what is done so far is still cached
    finally:
        if cache is not None and write_cache and (fresh or len(known) != len(stems)):
            rows = np.flatnonzero(filled)
            _write_cache(cache, [stems[i] for i in rows], [keys[i] for i in rows], out[rows])
    return out


def _write_cache(cache: Path, stems: list[str], keys: list[str], signatures: np.ndarray) -> None:
    buf = io.BytesIO()
    np.savez(buf, stems=np.array(stems, dtype=str), keys=np.array(keys, dtype=str),
             signatures=signatures.astype(np.float16))
    with contextlib.suppress(OSError):  # a read-only place: the signatures are simply computed again next time
        atomic_write_bytes(cache, buf.getvalue())


def groups_by_name(kind: str) -> bool:
    """True for layouts whose file names say which images belong together (Carvana: ``<car id>_<view>``)."""
    return kind == "carvana"


@dataclass(frozen=True)
class ImageGroups:
    """Two groupings of a folder's images (stem → group name).

    ``lookalike``: look-alikes by image similarity — what the queue spreads apart. ``split``: what
    must stay on one side of a train/validation/held-out split — the layout's own name groups where
    it has them (a Carvana car's views; similarity there would chain different cars photographed at
    the same angle on the same studio background, so look-alikes are then only sought within a
    name group), else ``lookalike``.
    """

    split: dict[str, str]
    lookalike: dict[str, str]


def lookalike_groups(paths: Mapping[str, Path], name_group: Callable[[str], str] | None = None,
                 cache: Path | None = None, progress: Progress | None = None,
                 write_cache: bool = True) -> ImageGroups:
    """:class:`ImageGroups` of ``paths`` (stem → image file), signatures cached in ``cache``.

    ``name_group``: the layout's grouping by file name when it has a meaningful one (Carvana's car id),
    else ``None``. ``cache`` is normally ``<store>/frame_signatures.npz`` (:func:`cache_path`).
    """
    stems = list(paths)
    similar = similarity_groups(stems, load_signatures(paths, cache, progress, write_cache)) if stems else {}
    if name_group is None:
        return ImageGroups(dict(similar), similar)
    split = {s: name_group(s) for s in stems}
    # look-alikes only within a name group: on a studio background every car looks like every other car
    # at the same angle (the generated cars correlate above the threshold), which is not a duplicate
    first: dict[tuple[str, str], str] = {}
    for s in sorted(stems):
        first.setdefault((similar[s], split[s]), s)
    return ImageGroups(split, {s: first[(similar[s], split[s])] for s in stems})


def cache_path(store_root: str | Path) -> Path:
    """Where a project store keeps the signature cache."""
    return Path(store_root) / CACHE_NAME


__all__ = [
    "CACHE_NAME",
    "SIGNATURE_LEN",
    "SIMILARITY",
    "ImageGroups",
    "cache_path",
    "groups_by_name",
    "image_signature",
    "load_signatures",
    "lookalike_groups",
    "signature_of",
    "similarity_groups",
]
