"""Tests of the correction queue order: most uncertain first, seeded random as the baseline."""

from __future__ import annotations

import math

import pytest

from unet_core.loop.queue import (
    DEFAULT_STRATEGY,
    STRATEGIES,
    check_strategy,
    next_batch,
    order_queue,
    random_order,
)

STEMS = [f"img{i:02d}" for i in range(12)]


def test_random_order_is_a_seeded_permutation() -> None:
    a = random_order(STEMS, seed=3)
    assert sorted(a) == sorted(STEMS) and a != sorted(STEMS)
    assert random_order(list(reversed(STEMS)), seed=3) == a  # input order does not matter
    assert random_order(STEMS, seed=4) != a


def test_taking_images_out_keeps_the_shuffle_of_the_rest() -> None:
    # the default order is this shuffle most of the time: correcting the first image must not reshuffle
    a = random_order(STEMS, seed=3)
    assert random_order(a[1:], seed=3) == a[1:]
    assert random_order([s for s in STEMS if s != a[5]], seed=3) == [s for s in a if s != a[5]]


def test_uncertainty_puts_the_least_sure_first() -> None:
    scores = {s: i / 20 for i, s in enumerate(STEMS)}
    order = order_queue(STEMS, "uncertainty", scores, seed=0)
    assert order == list(reversed(STEMS))
    assert next_batch(STEMS, 3, "uncertainty", scores) == ["img11", "img10", "img09"]


def test_ties_and_missing_scores_follow_the_seeded_order() -> None:
    scores = {s: 0.5 for s in STEMS[:6]}
    scores["img07"] = math.nan
    order = order_queue(STEMS, "uncertainty", scores, seed=1)
    shuffled = random_order(STEMS, seed=1)
    assert order[:6] == [s for s in shuffled if s in STEMS[:6]]
    assert order[6:] == [s for s in shuffled if s not in STEMS[:6]]


def test_without_a_model_both_strategies_agree() -> None:
    for strategy in STRATEGIES:
        assert order_queue(STEMS, strategy, None, seed=5) == random_order(STEMS, seed=5)
        assert order_queue(STEMS, strategy, {}, seed=5) == random_order(STEMS, seed=5)
    scores = {s: float(i) for i, s in enumerate(STEMS)}
    assert order_queue(STEMS, "random", scores, seed=5) == random_order(STEMS, seed=5)


def test_validation_images_are_spread_not_sorted_to_the_front() -> None:
    # the model never trains on the validation split, so it stays unsure there: those images must not
    # crowd the front of the queue, but come at their share (here 1 in 4), in the seeded order
    val = set(STEMS[:3])
    scores = {s: (0.9 if s in val else i / 100) for i, s in enumerate(STEMS)}
    order = order_queue(STEMS, "uncertainty", scores, seed=2, validation=val)
    assert sorted(order) == sorted(STEMS)
    positions = [order.index(s) for s in val]
    assert sorted(positions) == [2, 6, 10]
    rest = [s for s in order if s not in val]
    assert rest == sorted(rest, key=lambda s: -scores[s])  # the others strictly most uncertain first
    assert next_batch(STEMS, 4, "uncertainty", scores, seed=2, validation=val)[:2] == ["img11", "img10"]
    assert order_queue(STEMS, "random", scores, seed=2, validation=val) == random_order(STEMS, seed=2)


def test_batch_takes_what_is_left() -> None:
    assert next_batch(STEMS[:2], 5, "random", seed=0) == random_order(STEMS[:2], seed=0)


def test_bad_input_is_refused() -> None:
    with pytest.raises(ValueError, match="uncertainty, random"):
        order_queue(STEMS, "entropy")
    with pytest.raises(ValueError, match="unknown queue order"):
        check_strategy("")
    with pytest.raises(ValueError, match="unique"):
        random_order(["a", "a"], seed=0)
    with pytest.raises(ValueError, match="at least 1"):
        next_batch(STEMS, 0, "random")


def test_correction_queue_skips_done_and_unreadable_images_and_spreads_validation(carvana_dir) -> None:  # type: ignore[no-untyped-def]
    from unet_core.data.layouts import detect_layout
    from unet_core.loop.corrections import correction_queue, validation_stems
    from unet_core.loop.records import ImageRecord

    layout = detect_layout(carvana_dir)
    pairs, _ = layout.pairs()
    records = [ImageRecord(p.stem, p.image) for p in pairs]
    records[5] = ImageRecord(records[5].stem, records[5].image_path, error="cannot read")
    val = validation_stems(layout, records)
    done = {records[0].stem, records[1].stem}
    scores = {r.stem: i / 20 for i, r in enumerate(records)}  # later images less sure
    queue = correction_queue(layout, records, done, scores, "uncertainty")
    assert set(queue) == {r.stem for r in records} - done - {records[5].stem}
    trained = [s for s in queue if s not in val]
    assert trained == sorted(trained, key=lambda s: -scores[s])  # most uncertain first
    assert queue[0] not in val and queue[-1] not in val and val & set(queue)  # validation spread through
    # the same function with the random strategy is the benchmark's baseline
    assert sorted(correction_queue(layout, records, done, scores, "random")) == sorted(queue)
    # the default ranks by uncertainty only for a model whose uncertainty was found to rank its errors
    assert correction_queue(layout, records, done, scores) == correction_queue(layout, records, done, scores, "random")
    assert correction_queue(layout, records, done, scores, calibrated=True) == queue
    assert correction_queue(layout, records, {r.stem for r in records}, scores) == []


def test_uncertainty_order_takes_one_image_per_group_first() -> None:
    scores = {"a1": 0.9, "a2": 0.8, "b1": 0.7, "c1": 0.6, "b2": 0.5}
    groups = {"a1": "a", "a2": "a", "b1": "b", "b2": "b", "c1": "c"}
    stems = sorted(scores)
    assert order_queue(stems, "uncertainty", scores) == ["a1", "a2", "b1", "c1", "b2"]
    assert order_queue(stems, "uncertainty", scores, groups=groups) == ["a1", "b1", "c1", "a2", "b2"]
    assert next_batch(stems, 3, "uncertainty", scores, groups=groups) == ["a1", "b1", "c1"]
    # a group already corrected since the model was trained waits behind every fresh group
    assert order_queue(stems, "uncertainty", scores, groups=groups, covered={"a"}) == ["b1", "c1", "a1", "a2", "b2"]
    # random order is the plain baseline: groups do not change it
    assert order_queue(stems, "random", scores, seed=3, groups=groups) == random_order(stems, seed=3)
    # before any model both orders are the seeded shuffle, with look-alikes taking turns
    for strategy in STRATEGIES:
        first = order_queue(stems, strategy, None, seed=3, groups=groups)[:3]
        assert sorted(groups[s] for s in first) == ["a", "b", "c"]


def test_the_default_order_shuffles_until_the_uncertainty_is_trusted() -> None:
    scores = {s: i / 20 for i, s in enumerate(STEMS)}
    assert check_strategy(DEFAULT_STRATEGY) == "auto"
    assert order_queue(STEMS, "auto", scores, seed=4) == random_order(STEMS, seed=4)
    assert order_queue(STEMS, "auto", scores, seed=4, calibrated=True) == order_queue(STEMS, "uncertainty", scores,
                                                                                       seed=4)
    # untrusted, it is the random order itself, look-alike groups or not
    groups = {s: f"g{i % 3}" for i, s in enumerate(STEMS)}
    assert order_queue(STEMS, "auto", scores, seed=4, groups=groups, covered={"g0"}) == random_order(STEMS, seed=4)
    assert next_batch(STEMS, 3, "auto", scores, seed=4, calibrated=True) == ["img11", "img10", "img09"]
