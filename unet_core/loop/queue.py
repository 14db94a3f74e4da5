"""The order in which a person works through the images: random until the model's uncertainty is
trusted, then most uncertain first (active learning); either one can also be forced."""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Mapping, Sequence

import numpy as np

STRATEGIES: tuple[str, ...] = ("auto", "uncertainty", "random")
DEFAULT_STRATEGY = "auto"


def check_strategy(strategy: str) -> str:
    """Return ``strategy`` if known, else raise ``ValueError`` listing the valid ones."""
    if strategy not in STRATEGIES:
        raise ValueError(f"unknown queue order {strategy!r}; choose one of {', '.join(STRATEGIES)}")
    return strategy


def random_order(stems: Sequence[str], seed: int) -> list[str]:
    """A seeded shuffle of ``stems``: each stem's place comes from a hash of (seed, stem) alone, so it
    does not depend on the input order, and taking images out of the queue leaves the others' order
    as it was (a person who corrects the first image finds the second one next, not a new shuffle)."""
    if len(set(stems)) != len(stems):
        raise ValueError("stems must be unique")
    return sorted(stems, key=lambda stem: hashlib.sha256(f"{seed}\0{stem}".encode()).digest())


def order_queue(
    stems: Sequence[str],
    strategy: str,
    scores: Mapping[str, float] | None = None,
    seed: int = 0,
    validation: Collection[str] = (),
    groups: Mapping[str, str] | None = None,
    covered: Collection[str] = (),
    calibrated: bool = False,
) -> list[str]:
    """The queue: ``stems`` in the order a person would correct them.

    ``"auto"`` (the default): the uncertainty order when ``calibrated`` (the active model's score
    ranks its own errors on the validation split:
    :attr:`unet_core.training.calibration.Calibration.trusted`), else the seeded random order itself
    (letting look-alikes take turns there made held-out results no better on real CARLA). With a
    model trained on a few images, most uncertain first can trail random (docs/effort.md, The queue):
    entropy is highest on what the model has never seen, not on what costs most to correct.

    ``"uncertainty"``: descending ``scores`` (the model's mean normalised entropy,
    :attr:`unet_core.model.predictor.Prediction.score`; higher = less sure), ties and images without a
    score (NaN or missing, placed last) in the seeded random order. Images of the fixed
    ``validation`` split are never trained on, so the model stays unsure of them and a plain sort
    would keep sending the person there; they are spread evenly through the queue instead (in the
    seeded order), at their share of the images, as random order would. ``"random"``: the seeded
    random order. Without scores (no model yet) every strategy gives the seeded random order (with
    ``groups``, one image per look-alike group first), so a comparison starts from the same first round.

    ``groups`` (stem → group of look-alikes, :mod:`unet_core.data.lookalikes`) makes the uncertainty
    order (and the order before any model) diverse: the most uncertain image of each group comes
    first, then the other images of groups already represented, and groups in ``covered`` (already
    corrected since the model was trained) after all fresh ones — correcting two near-identical
    frames before the next fine-tune costs twice and teaches once.
    """
    check_strategy(strategy)
    shuffled = random_order(stems, seed)
    if not scores:  # no model yet: the seeded random order, look-alikes still taking turns
        return shuffled if groups is None else _one_per_group_first(shuffled, groups, covered)
    if strategy == "random":
        return shuffled
    if strategy == "auto" and not calibrated:  # random until the uncertainty is trusted (docs/effort.md, The queue)
        return shuffled

    def key(stem: str) -> tuple[int, float]:
        value = scores.get(stem)
        if value is None or not np.isfinite(value):
            return (1, 0.0)
        return (0, -float(value))

    held = set(validation)
    ranked = sorted((s for s in shuffled if s not in held), key=key)  # stable: ties keep the random order
    if groups is not None:
        ranked = _one_per_group_first(ranked, groups, covered)
    spread = [s for s in shuffled if s in held]
    return _interleave(ranked, spread)


def _one_per_group_first(ranked: list[str], groups: Mapping[str, str], covered: Collection[str]) -> list[str]:
    """``ranked`` with the first image of each group not in ``covered`` moved ahead (order kept otherwise)."""
    seen = set(covered)
    first: list[str] = []
    later: list[str] = []
    for stem in ranked:
        group = groups.get(stem, stem)
        (later if group in seen else first).append(stem)
        seen.add(group)
    return first + later


def _interleave(main: list[str], spread: list[str]) -> list[str]:
    """``main`` in order with ``spread`` inserted at evenly spaced places (its share of the total)."""
    total = len(main) + len(spread)
    places = {int((j + 0.5) * total / len(spread)): j for j in range(len(spread))} if spread else {}
    rest = iter(main)
    return [spread[places[n]] if n in places else next(rest) for n in range(total)]


def next_batch(
    stems: Sequence[str],
    count: int,
    strategy: str,
    scores: Mapping[str, float] | None = None,
    seed: int = 0,
    validation: Collection[str] = (),
    groups: Mapping[str, str] | None = None,
    calibrated: bool = False,
) -> list[str]:
    """The first ``count`` stems of :func:`order_queue` (all of them when fewer remain)."""
    if count < 1:
        raise ValueError(f"batch size must be at least 1, got {count}")
    return order_queue(stems, strategy, scores, seed, validation, groups, calibrated=calibrated)[:count]


__all__ = ["DEFAULT_STRATEGY", "STRATEGIES", "check_strategy", "next_batch", "order_queue", "random_order"]
