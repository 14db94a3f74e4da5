"""Deterministic train/validation split that keeps every group (e.g. a Carvana car) on one side."""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import TypeVar

T = TypeVar("T")


def split_by_group(
    items: Sequence[T], groups: Sequence[str], val_fraction: float, seed: int = 0
) -> tuple[list[T], list[T]]:
    """Split ``items`` into (train, val) so that all items of a group land on the same side.

    ``groups[i]`` is the group of ``items[i]``. About ``val_fraction`` of the groups go to
    validation, chosen by a shuffle seeded with ``seed`` (same inputs, same split). With at
    least two groups and ``val_fraction > 0``, validation gets at least one group and
    training keeps at least one. Items keep their input order on each side.

    Raises ``ValueError`` if ``val_fraction`` is outside [0, 1) or the lengths differ.
    """
    if not 0.0 <= float(val_fraction) < 1.0:
        raise ValueError(f"val_fraction must be in [0, 1), got {val_fraction}")
    if len(items) != len(groups):
        raise ValueError(f"got {len(items)} items but {len(groups)} groups")
    unique = sorted(set(groups))
    n_val = 0
    if val_fraction > 0 and len(unique) >= 2:
        n_val = min(max(1, round(len(unique) * val_fraction)), len(unique) - 1)
    rng = random.Random(seed)
    rng.shuffle(unique)
    val_groups = set(unique[:n_val])
    train: list[T] = []
    val: list[T] = []
    for item, group in zip(items, groups, strict=True):
        (val if group in val_groups else train).append(item)
    return train, val


__all__ = ["split_by_group"]
