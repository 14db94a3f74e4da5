"""DurationBox: a spin box of seconds that reads "30 s", "1:30", "2 min", "1.5 h" and writes "1 min 30 s"."""

from __future__ import annotations

import re

from PySide6.QtGui import QValidator
from PySide6.QtWidgets import QSpinBox, QWidget

_UNITS = {"s": 1, "sec": 1, "second": 1, "seconds": 1, "m": 60, "min": 60, "mins": 60, "minute": 60,
          "minutes": 60, "h": 3600, "hr": 3600, "hour": 3600, "hours": 3600}
_PART = re.compile(r"(\d+(?:[.,]\d+)?)\s*([a-z]*)")


def parse_duration(text: str) -> int | None:
    """Seconds in ``text``: "90 s", "2 min", "1 min 30 s", "1:30" (minutes:seconds), "1.5 h"; a bare number
    is minutes. ``None`` when it is not a duration."""
    t = text.strip().lower()
    if not t or len(t) > 40:  # nothing a duration needs; and no 400-digit number reaches float()
        return None
    if re.fullmatch(r"\d{1,6}:\d{1,2}", t):
        minutes, seconds = t.split(":")
        return int(minutes) * 60 + int(seconds)
    total, pos = 0.0, 0
    for m in _PART.finditer(t):
        if t[pos : m.start()].strip():
            return None
        unit = m.group(2) or "min"
        if unit not in _UNITS:
            return None
        total += float(m.group(1).replace(",", ".")) * _UNITS[unit]
        pos = m.end()
    if pos == 0 or t[pos:].strip() or not total < 1e9:
        return None
    return round(total)


def format_duration_text(seconds: int) -> str:
    """``seconds`` as the box shows it: "45 s", "5 min", "1 min 30 s", "2 h 5 min"."""
    h, rest = divmod(int(seconds), 3600)
    m, s = divmod(rest, 60)
    parts = [f"{h} h"] if h else []
    if m:
        parts.append(f"{m} min")
    if s or not parts:
        parts.append(f"{s} s")
    return " ".join(parts)


class DurationBox(QSpinBox):
    """Seconds, typed with their unit; arrows step by 30 s below 5 minutes, else by a minute."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setRange(10, 24 * 3600)
        self.setSingleStep(60)
        self.setKeyboardTracking(False)
        self.setToolTip("Type 30 s, 2 min, 1:30 or 1.5 h (a number alone is minutes)")

    def textFromValue(self, value: int) -> str:
        return format_duration_text(value)

    def valueFromText(self, text: str) -> int:
        seconds = parse_duration(text)
        return self.value() if seconds is None else max(self.minimum(), min(self.maximum(), seconds))

    def validate(self, text: str, pos: int) -> object:
        if parse_duration(text) is not None:
            return QValidator.State.Acceptable, text, pos
        if re.fullmatch(r"[\d\s.,:a-zA-Z]*", text):
            return QValidator.State.Intermediate, text, pos
        return QValidator.State.Invalid, text, pos

    def stepBy(self, steps: int) -> None:
        step = 30 if self.value() + (30 if steps > 0 else 0) <= 300 else 60
        self.setValue(self.value() + steps * step)
