"""Deterministic train/validation split that keeps every group (e.g. a Carvana car) on one side."""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Sequence
from typing import TypeVar

T = TypeVar("T")


def split_by_group(
    items: Sequence[T], groups: Sequence[str], val_fraction: float, seed: int = 0
) -> tuple[list[T], list[T]]:
    """Split ``items`` into (train, val) so that all items of a group land on the same side.

    ``groups[i]`` is the group of ``items[i]``. Groups are visited in an order shuffled with ``seed``
    (same inputs, same split) and each goes to validation while the validation items stay within
    ``val_fraction`` of all items — so one large group (say eight frames of a car standing still)
    cannot take far more than the share. With at least two groups and ``val_fraction > 0``,
    validation gets at least one group (the smallest, when each alone exceeds the share) and
    training keeps at least one. Items keep their input order.

    Raises ``ValueError`` if ``val_fraction`` is outside [0, 1) or the lengths differ.
    """
    if not 0.0 <= float(val_fraction) < 1.0:
        raise ValueError(f"val_fraction must be in [0, 1), got {val_fraction}")
    if len(items) != len(groups):
        raise ValueError(f"got {len(items)} items but {len(groups)} groups")
    sizes = Counter(groups)
    unique = sorted(sizes)
    rng = random.Random(seed)
    rng.shuffle(unique)
    val_groups: set[str] = set()
    if val_fraction > 0 and len(unique) >= 2:
        target, taken = float(val_fraction) * len(items), 0
        for group in unique:  # within the share, so training always keeps at least one group
            size = sizes[group]
            if taken + size <= target + 1e-9:
                val_groups.add(group)
                taken += size
        if not val_groups:  # every group alone overshoots: the smallest one (first visited on ties)
            val_groups.add(min(unique, key=lambda g: sizes[g]))
    train: list[T] = []
    val: list[T] = []
    for item, group in zip(items, groups, strict=True):
        (val if group in val_groups else train).append(item)
    return train, val


__all__ = ["split_by_group"]
