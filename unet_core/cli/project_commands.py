"""``unet-core export`` and ``import``: a folder's project store to and from other tools' formats."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from unet_core.errors import DataError


def cmd_export(args: argparse.Namespace) -> int:
    """``unet-core export --data DIR --out DIR --format F [--what W]``: read-only on the dataset and its store."""
    from unet_core.data.layouts import detect_layout
    from unet_core.formats.export import export_masks
    from unet_core.loop.classes import project_layout
    from unet_core.store.files import STORE_DIRNAME, existing_store_root
    from unet_core.store.project import ProjectStore

    layout = detect_layout(args.data)
    root = existing_store_root(layout.root, ProjectStore.STATE_DB_NAME)
    if root is None:
        raise DataError(f"no project store ({STORE_DIRNAME}/): nothing was corrected or predicted in this folder yet",
                        layout.root)
    with ProjectStore(root, layout.root, read_only=True) as store:  # the app may have the folder open
        layout = project_layout(layout, store)
        result = export_masks(layout, store, Path(args.out), args.format, args.what)
    where = result.files[0] if len(result.files) == 1 and args.format in ("coco", "kaggle-csv") else Path(args.out)
    print(f"exported {result.count} mask(s) ({args.what}) as {args.format} to {where}", file=sys.stderr)
    return 0


def cmd_import(args: argparse.Namespace) -> int:
    """``unet-core import --data DIR --from SOURCE [--format F]``: masks from another tool into DIR's store."""
    from unet_core.data.layouts import detect_layout
    from unet_core.formats.importer import import_masks
    from unet_core.loop.classes import project_layout
    from unet_core.store.project import ProjectStore

    layout = detect_layout(args.data)
    with ProjectStore.for_dataset(layout.root) as store:
        if store.read_only:
            raise DataError("another window or command writes this folder's project store: close it first",
                            store.root)
        layout = project_layout(layout, store)
        result, layout = import_masks(layout, store, Path(args.source), args.format)
    for stem, why in list(result.skipped.items())[:10]:
        print(f"unet-core import: warning: skipped {stem}: {why}", file=sys.stderr)
    if result.unmatched:
        shown = ", ".join(result.unmatched[:5]) + (", ..." if len(result.unmatched) > 5 else "")
        print(f"unet-core import: warning: {len(result.unmatched)} mask(s) match no image of the folder ({shown})",
              file=sys.stderr)
    added = f"; classes added: {', '.join(result.added_classes)}" if result.added_classes else ""
    print(f"imported {result.count} mask(s) into {layout.root}'s project store ({len(result.skipped)} skipped)"
          f"{added}", file=sys.stderr)
    return 0 if result.count else 1


__all__ = ["cmd_export", "cmd_import"]
