"""Interactive work first: training steps wait while a click's model run holds the gate."""

from __future__ import annotations

import threading
import time

import numpy as np

from unet_core.priority import INTERACTIVE, Gate


def test_a_waiting_step_goes_on_when_the_click_ends_and_never_waits_past_the_cap() -> None:
    gate = Gate()
    assert gate.wait_clear() == 0.0 and not gate.busy()
    released = threading.Event()

    def click() -> None:
        with gate.hold():
            released.wait(5)

    t = threading.Thread(target=click)
    t.start()
    while not gate.busy():
        time.sleep(0.01)
    threading.Timer(0.3, released.set).start()
    waited = gate.wait_clear(most_s=5.0)
    t.join()
    assert 0.2 <= waited < 2.0 and not gate.busy()  # it waited for the click, not for the cap
    with gate.hold():
        assert 0.09 <= gate.wait_clear(most_s=0.1) < 1.0  # clicks in a row never stop a run for good
        gate.enabled = False
        assert gate.wait_clear() == 0.0  # off: training never waits


def test_the_click_tools_model_run_holds_the_process_gate(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from unet_core.clicks.predict import ClickPredictor

    seen: list[bool] = []

    class Result:
        def changes(self, mask: np.ndarray) -> None:
            seen.append(INTERACTIVE.busy())

    monkeypatch.setattr(ClickPredictor, "run", lambda self, *a: Result())
    clicker = ClickPredictor.__new__(ClickPredictor)
    clicker.selection(np.zeros((4, 4, 3), np.uint8), np.zeros((4, 4), np.uint8), 1, [])
    assert seen == [True] and not INTERACTIVE.busy()
