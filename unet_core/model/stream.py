"""Streamed outputs: blended working-size probability rows into full-size labels, uncertainty and bounded low-res probabilities."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from unet_core.model.upsample import BAND_BYTES, _row_weights, resize_channels

LOW_PROBABILITY_BYTES = 32 * 2**20
"""Most bytes of the float16 probabilities a tiled prediction keeps for the editing tools."""


def entropy_rows(probs: np.ndarray) -> np.ndarray:
    """Normalised entropy (0 certain .. 1 uniform) of K x n x w probabilities, one class plane at a time."""
    k = probs.shape[0]
    out = np.zeros(probs.shape[1:], dtype=np.float32)
    for c in range(k):
        p = np.clip(probs[c], 1e-7, 1.0)
        out -= p * np.log(p)
    out /= np.float32(math.log(k)) if k > 1 else np.float32(1.0)
    return out


def low_factor(working_hw: Sequence[int], num_classes: int, budget: int = LOW_PROBABILITY_BYTES) -> int:
    """The smallest whole factor that shrinks working-size float16 probabilities under ``budget`` bytes."""
    h, w = int(working_hw[0]), int(working_hw[1])
    f = 1
    while math.ceil(h / f) * math.ceil(w / f) * num_classes * 2 > budget:
        f += 1
    return f


class StreamedOutputs:
    """Collects finished working rows (K x n x w, in order) into the prediction's full-size arrays.

    Labels and uncertainty are interpolated to ``full_hw`` exactly as one whole-map bilinear resize
    would (the vertical step here, the horizontal one by OpenCV, one bounded chunk at a time), so
    the rows of different bands join without seams. The probabilities for the editing tools are
    kept at the working size shrunk by a whole factor (block means) to stay under a fixed budget.
    """

    def __init__(
        self, working_hw: Sequence[int], full_hw: Sequence[int], num_classes: int, with_probabilities: bool = False
    ) -> None:
        self.working_hw = (int(working_hw[0]), int(working_hw[1]))
        self.full_hw = (int(full_hw[0]), int(full_hw[1]))
        self.k = int(num_classes)
        self.labels = np.empty(self.full_hw, dtype=np.uint8)
        self.uncertainty = np.empty(self.full_hw, dtype=np.float32)
        self.probabilities = (
            np.empty((*self.full_hw, self.k), dtype=np.float32) if with_probabilities else None
        )
        self.f = low_factor(self.working_hw, self.k)
        self.low_extent = (self.working_hw[0] / self.f, self.working_hw[1] / self.f)  # low cells over the image
        hl, wl = math.ceil(self.working_hw[0] / self.f), math.ceil(self.working_hw[1] / self.f)
        self._low_sum = np.zeros((self.k, hl, wl), dtype=np.float32)
        self._i0, i1, self._frac = _row_weights(self.full_hw[0], self.working_hw[0])
        self._i1 = np.where(self._frac > 0, i1, self._i0)  # a row at weight 0 is not waited for
        self._next = 0  # next full-size row to write
        self._carry: tuple[int, np.ndarray, np.ndarray] | None = None  # last working row seen: index, probs, entropy
        self._entropy_sum = 0.0
        self._rows_seen = 0

    def add(self, row0: int, probs: np.ndarray) -> None:
        """Take working rows ``row0 .. row0 + n`` (K x n x w float32; the caller may reuse it afterwards)."""
        if row0 != self._rows_seen:
            raise ValueError(f"rows must arrive in order: expected row {self._rows_seen}, got {row0}")
        n = probs.shape[1]
        entropy = entropy_rows(probs)
        self._entropy_sum += float(entropy.sum(dtype=np.float64))
        self._reduce_low(row0, probs)
        last = row0 + n - 1
        stop = int(np.searchsorted(self._i1, last, side="right"))  # full rows whose sources have all arrived
        if self._rows_seen + n >= self.working_hw[0]:
            stop = self.full_hw[0]
        self._write(row0, probs, entropy, self._next, stop)
        self._next = stop
        self._carry = (last, probs[:, -1].copy(), entropy[-1].copy())
        self._rows_seen += n

    def _rows(self, idx: np.ndarray, row0: int, probs: np.ndarray, entropy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Working rows ``idx`` (each either in this band or the carried row above it)."""
        j = idx - row0
        p = probs[:, np.maximum(j, 0)]
        e = entropy[np.maximum(j, 0)]
        before = np.flatnonzero(j < 0)
        if before.size:
            if self._carry is None or np.any(idx[before] != self._carry[0]):
                raise AssertionError("a full-size row needs a working row that has gone")
            p[:, before] = self._carry[1][:, None]
            e[before] = self._carry[2][None]
        return p, e

    def _write(self, row0: int, probs: np.ndarray, entropy: np.ndarray, start: int, stop: int) -> None:
        big_w = self.full_hw[1]
        same = self.working_hw == self.full_hw
        rows = max(1, BAND_BYTES // max(1, 3 * big_w * (self.k + 1) * 4))
        for r0 in range(start, stop, rows):
            r1 = min(stop, r0 + rows)
            if same:
                band = probs[:, r0 - row0 : r1 - row0].transpose(1, 2, 0)
                ent = entropy[r0 - row0 : r1 - row0]
            else:
                p0, e0 = self._rows(self._i0[r0:r1], row0, probs, entropy)
                p1, e1 = self._rows(self._i1[r0:r1], row0, probs, entropy)
                frac = self._frac[r0:r1]
                vertical = (p0 + (p1 - p0) * frac[None, :, None]).transpose(1, 2, 0)
                band = resize_channels(np.ascontiguousarray(vertical), (r1 - r0, big_w))
                ent_v = e0 + (e1 - e0) * frac[:, None]
                ent = resize_channels(ent_v[..., None], (r1 - r0, big_w))[..., 0]
            self.labels[r0:r1] = band.argmax(axis=-1)
            np.clip(ent, 0.0, 1.0, out=self.uncertainty[r0:r1])
            if self.probabilities is not None:
                self.probabilities[r0:r1] = band

    def _reduce_low(self, row0: int, probs: np.ndarray) -> None:
        f = self.f
        cols = np.add.reduceat(probs, np.arange(0, probs.shape[2], f), axis=2) if f > 1 else probs
        dest = (row0 + np.arange(probs.shape[1])) // f
        starts = np.flatnonzero(np.r_[True, dest[1:] != dest[:-1]])
        rows = np.add.reduceat(cols, starts, axis=1) if f > 1 else cols
        self._low_sum[:, dest[starts]] += rows

    def finish(self) -> tuple[np.ndarray, np.ndarray, float, np.ndarray, np.ndarray | None]:
        """(labels, uncertainty, score, low probabilities h' x w' x K float16, full probabilities or None)."""
        if self._rows_seen != self.working_hw[0] or self._next != self.full_hw[0]:
            raise ValueError(f"only {self._rows_seen} of {self.working_hw[0]} working rows arrived")
        h, w = self.working_hw
        f = self.f
        row_counts = np.minimum(f, h - np.arange(self._low_sum.shape[1]) * f).astype(np.float32)
        col_counts = np.minimum(f, w - np.arange(self._low_sum.shape[2]) * f).astype(np.float32)
        self._low_sum /= (row_counts[:, None] * col_counts[None, :])[None]
        low = self._low_sum.transpose(1, 2, 0).astype(np.float16)
        score = self._entropy_sum / max(1, h * w)
        return self.labels, self.uncertainty, score, low, self.probabilities


__all__ = ["LOW_PROBABILITY_BYTES", "StreamedOutputs", "entropy_rows", "low_factor"]
