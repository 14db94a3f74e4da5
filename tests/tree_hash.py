"""Test helper: a fingerprint of every file in a folder, to prove a command changed nothing."""

from __future__ import annotations

import hashlib
from pathlib import Path


def tree_hashes(root: Path) -> dict[str, str]:
    """SHA-256 of every file under ``root`` except the project store (``.maskloop``)."""
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file() and ".maskloop" not in p.parts}
