"""The simulated person with smart tools: drag times, scissors vertices, and less effort than the brush."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from tests.unit.smart_scenes import scene
from unet_core.sim.annotator import AnnotatorConfig, annotate
from unet_core.sim.candidates import wire_vertices
from unet_core.sim.effort import ImageEffort, correct, reached, summarize
from unet_core.sim.motion import drag_seconds
from unet_core.sim.smart import SmartConfig, SmartPerson


def test_a_drag_along_a_narrow_tunnel_is_slower_than_through_a_wide_one() -> None:
    path = [(10, 50), (110, 50)]
    narrow = np.full((100, 200), 6.0, np.float32)  # 6 px from another class: a radius-5 brush has 1 px slack
    wide = np.full((100, 200), 60.0, np.float32)
    fast = 1000.0
    assert drag_seconds(path, 5, narrow, fast) > 5 * drag_seconds(path, 5, wide, fast)
    assert drag_seconds(path, 5, None, fast) == pytest.approx(100 / fast)
    assert drag_seconds(path, 5, wide, fast) >= 100 / fast  # never faster than the hand moves


def test_the_person_reaches_as_far_as_the_live_wire_follows() -> None:
    points = np.stack([np.arange(200), np.zeros(200)], axis=1)
    assert wire_vertices(points, lambda i, j: True, 5, 16) == [0, 80, 160]  # up to 16 steps of 5 points, then it closes
    short = wire_vertices(points, lambda i, j: j - i <= 10, 5, 16)
    assert short == list(range(0, 200, 10))[: len(short)] and len(short) >= 19
    assert wire_vertices(points, lambda i, j: False, 5, 16)[:3] == [0, 5, 10]  # a vertex one step on regardless
    no_close = wire_vertices(points, lambda i, j: j < 200, 5, 16)  # the wire back to the start strays
    assert no_close[-1] > 160 and len(no_close) == 4


def test_smart_tools_beat_the_brush_from_an_empty_mask() -> None:
    img, truth = scene()
    cfg = SmartConfig(brush=AnnotatorConfig(target_dice=0.98, max_strokes=200))
    brush = annotate(np.zeros_like(truth), truth, cfg.brush, 3)
    person = SmartPerson(np.zeros_like(truth), truth, 3, cfg, img, None)
    s = person.run()
    assert s.dice() >= 0.98 and brush.dice_end >= 0.98
    smart_seconds = s.trace[-1][1]
    assert smart_seconds < 0.5 * brush.seconds, (smart_seconds, brush.seconds, person.tool_counts())
    assert set(person.tool_counts()) - {"brush"}  # smart tools were used
    actions, seconds, dices = zip(*s.trace, strict=True)
    assert list(actions) == sorted(actions) and list(seconds) == sorted(seconds)
    assert dices[0] < 0.5 and dices[-1] >= 0.98


def test_a_poor_start_may_be_cleared_under_the_brush_annotators_rule() -> None:
    img, truth = scene()
    noise = np.random.default_rng(0).integers(0, 3, truth.shape).astype(np.uint8)  # speckle everywhere
    cfg = SmartConfig(brush=AnnotatorConfig(target_dice=0.97, max_strokes=300))
    e = correct("x", noise, truth, 3, "smart", img, None, cfg)
    assert e.dice_end >= 0.97 and e.trace[-1][0] == e.actions
    if "clear" in e.counts:
        assert e.trace[1][0] == 1  # the clear is the first action
    no_restart = correct("x", noise, truth, 3, "smart", img, None,
                         replace(cfg, brush=replace(cfg.brush, allow_restart=False)))
    assert e.seconds <= no_restart.seconds


def test_noc_counts_failures_as_the_budget() -> None:
    a = ImageEffort("a", "smart", [(0, 0.0, 0.5), (2, 3.0, 0.92), (5, 9.0, 0.99)], 0.5, 0.99, 9.0, 5)
    b = ImageEffort("b", "smart", [(0, 0.0, 0.5), (4, 6.0, 0.91)], 0.5, 0.91, 6.0, 4)
    assert reached(a.trace, 0.95) == (5, 9.0) and reached(b.trace, 0.95) is None
    out = summarize([a, b], [0.9, 0.99], max_actions=50)
    assert out["noc"] == {"0.9": 3.0, "0.99": 27.5} and out["failed"] == {"0.9": 0, "0.99": 1}
    assert out["seconds_per_image"] == 7.5 and out["actions_per_image"] == 4.5
    assert out["seconds_to"]["0.99"] == 7.5  # the failure counts its whole time


def test_unknown_tools_are_refused() -> None:
    with pytest.raises(ValueError, match="unknown smart tools"):
        SmartConfig(tools=("lasso",)).validate()
    img, truth = scene()
    with pytest.raises(ValueError, match="unknown tool set"):
        correct("x", truth, truth, 3, "magic", img, None, SmartConfig())


def test_a_ragged_outline_is_refined_in_one_action_instead_of_many() -> None:
    from tests.unit.test_refine_edges import _ragged
    from unet_core.sim.smart import SMART_TOOLS

    img, truth = scene()
    start = _ragged(truth, 1)
    cfg = SmartConfig(brush=AnnotatorConfig(target_dice=0.97, max_strokes=200))
    with_refine = correct("x", start, truth, 3, "smart", img, None, cfg)
    without = correct("x", start, truth, 3, "smart", img, None,
                      replace(cfg, tools=tuple(t for t in SMART_TOOLS if t != "refine")))
    assert with_refine.counts.get("refine") == 1 and with_refine.dice_end >= 0.97
    assert with_refine.seconds < without.seconds, (with_refine.counts, without.counts)
    assert with_refine.trace[1][2] > with_refine.trace[0][2]  # its first action, the refine, raised Dice
