"""Reading another tool's JSON file: its size bounded before it is read, its decoding errors named."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def read_json(path: Path, max_bytes: int, what: str) -> Any:
    """The decoded JSON of ``path``; ``ValueError`` naming it for a file over ``max_bytes`` (checked before
    reading) or one that is not UTF-8 JSON. ``what`` names the kind of file in the message."""
    size = path.stat().st_size
    if size > max_bytes:
        raise ValueError(f"{path}: {size} bytes, more than a {what} file is read ({max_bytes})")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"{path}: not JSON ({exc})") from None


__all__ = ["read_json"]
