"""ImageRecord: one image of a folder as the loop sees it, the same type in the app (file list, workspace) and the benchmark."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING

from unet_core.store.state import STATUSES  # one list of statuses: the store's, in loop order

if TYPE_CHECKING:
    from unet_core.data.io import MaskFormat


@dataclass
class ImageRecord:
    """One image of the open folder as the views see it.

    ``status`` is one of :data:`STATUSES` (an ``ImageStatus`` member is accepted and stored as its
    value); ``uncertainty`` is the model's score in 0..1 (higher = less sure) or ``None`` when not
    predicted, ``scored_by`` the model version that gave it, ``corrected_with`` the version active when it
    was last edited; ``error`` is a one-line reason when the image cannot be used (shown in red).
    """

    stem: str
    image_path: Path
    mask_path: Path | None = None
    status: str = "unlabelled"
    uncertainty: float | None = None
    error: str | None = None
    scored_by: str | None = None
    corrected_with: str | None = None  # the model version active at the last edit (None: no model yet)
    mask_format: MaskFormat | None = None  # None: the layout's own (imported masks are index PNGs)

    def __post_init__(self) -> None:
        self.image_path = Path(self.image_path)
        if self.mask_path is not None:
            self.mask_path = Path(self.mask_path)
        if isinstance(self.status, Enum):
            self.status = str(self.status.value)
        if self.status not in STATUSES:
            raise ValueError(f"unknown image status {self.status!r}; expected one of {', '.join(STATUSES)}")

    @property
    def has_original_mask(self) -> bool:
        """True when the dataset itself has a mask for this image."""
        return self.mask_path is not None
