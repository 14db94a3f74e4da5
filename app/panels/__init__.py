"""Side panels of the Maskloop window: the file list and the classes panel."""

from __future__ import annotations

from app.panels.classes_panel import ClassesPanel
from app.panels.file_list import FileListPanel
from app.panels.file_list_model import FileListModel
from app.panels.thumbnails import ThumbnailLoader, decode_thumbnail

__all__ = ["ClassesPanel", "FileListModel", "FileListPanel", "ThumbnailLoader", "decode_thumbnail"]
