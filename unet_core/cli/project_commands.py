"""``unet-core export``, ``import``, ``finetune`` (a folder's project store) and ``export-model``, from the command line."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from unet_core.errors import DataError


def _existing_store(layout_root: Path, hint: str) -> Path:
    """The folder's project store, which must exist already (nothing is created); ``DataError`` with ``hint``."""
    from unet_core.store.files import STORE_DIRNAME, existing_store_root
    from unet_core.store.project import ProjectStore

    root = existing_store_root(layout_root, ProjectStore.STATE_DB_NAME)
    if root is None:
        raise DataError(f"no project store ({STORE_DIRNAME}/): {hint}", layout_root)
    return root


def cmd_export(args: argparse.Namespace) -> int:
    """``unet-core export --data DIR --out DIR --format F [--what W]``: read-only on the dataset and its store."""
    from unet_core.data.layouts import detect_layout
    from unet_core.formats.export import export_masks
    from unet_core.loop.classes import project_layout
    from unet_core.store.project import ProjectStore

    layout = detect_layout(args.data)
    root = _existing_store(layout.root, "nothing was corrected or predicted in this folder yet")
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


def cmd_finetune(args: argparse.Namespace) -> int:
    """``unet-core finetune --data DIR --out MODEL``: the app's one-click fine-tune, headless (its job, its round
    settings and defaults), on the corrections stored for DIR; the store is only read."""
    from unet_core.cli.progress import TerminalProgress
    from unet_core.data.layouts import detect_layout
    from unet_core.loop.classes import project_layout
    from unet_core.loop.corrections import finetune_job
    from unet_core.loop.policy import keep_new_version, trained_dice
    from unet_core.loop.rounds import FINETUNE_SECONDS, round_config
    from unet_core.loop.truth import project_records
    from unet_core.model.checkpoint_header import check_checkpoint_output
    from unet_core.store.project import ProjectStore
    from unet_core.training.distributed import dist_from_env
    from unet_core.training.recipes import DEFAULT_RECIPE, RECIPES
    from unet_core.training.threads import FreeCoreThreads

    check_checkpoint_output(args.out)
    layout = detect_layout(args.data)
    root = _existing_store(layout.root, "correct some images in the app first")
    with ProjectStore(root, layout.root, read_only=True) as store:
        layout = project_layout(layout, store)
        records, _ = project_records(layout, store)
        current = store.current_model()
        if args.init is None and current is None:
            raise DataError("the project has no model yet: give one with --from, or train one first", root)
        start = Path(args.init) if args.init else current.path  # type: ignore[union-attr]
        out = Path(args.out).absolute()
        if out.resolve() == start.resolve() or store.root.resolve() in out.resolve().parents:
            raise DataError("--out must be a new file outside the project store (not the model it starts from)",
                            args.out)
        time_limit = args.time_limit if args.time_limit is not None else (None if args.epochs else FINETUNE_SECONDS)
        lr = args.lr if args.lr is not None else RECIPES[DEFAULT_RECIPE].finetune_lr
        config = round_config(arch="unet-small", size_hw=None, epochs=args.epochs, time_limit=time_limit, lr=lr,
                              device=args.device, clicks=args.clicks)
        if args.log_dir:
            from dataclasses import replace

            config = replace(config, log_dir=Path(args.log_dir))
        version = current.id if current is not None and (args.init is None or Path(args.init) == current.path) else None
        job = finetune_job(start, version, layout, store, records, Path(args.out), config, args.replay)
        result = job(callbacks=[TerminalProgress(quiet=args.quiet), FreeCoreThreads()])
    if not dist_from_env().is_main:
        return 0
    before, after = result.initial_val_dice, trained_dice(result.history)
    fmt = lambda v: "n/a" if v is None else f"{v:.4f}"  # noqa: E731
    kept = keep_new_version(before, after)
    verdict = ("the app's rule keeps it" if kept else
               f"no epoch beat the start: {args.out} holds the starting weights; "
               + (f"the best epoch's are in {result.trained_path}, " if result.trained_path else "")
               + f"the last epoch's in {result.last_path}")
    print(f"{result.stop_reason}: {result.epochs} epochs, {result.steps} steps in {result.seconds:.0f} s; validation "
          f"Dice {fmt(before)} before, best epoch {fmt(after)}; {verdict}", file=sys.stderr)
    return 0


def cmd_export_model(args: argparse.Namespace) -> int:
    """``unet-core export-model --model M --out F --format onnx|torchscript``: checked against PyTorch first."""
    from unet_core.model.interchange import TOLERANCE, export_model

    if Path(args.out).suffix.lower() == ".safetensors" or Path(args.out).resolve() == Path(args.model).resolve():
        raise DataError("--out would replace a checkpoint: give an .onnx or .pt file", args.out)
    report = export_model(args.model, args.out, args.format)
    if report.unchecked:
        print(f"unet-core export-model: warning: {report.unchecked}", file=sys.stderr)
    checked = ", ".join(f"{size}: {diff:.1e}" for size, diff in report.max_abs_diff.items())
    print(f"wrote {args.format} model to {report.path}" + (f" (largest logit difference to PyTorch {checked}; "
                                                          f"allowed {TOLERANCE:g})" if checked else ""), file=sys.stderr)
    return 0


__all__ = ["cmd_export", "cmd_export_model", "cmd_finetune", "cmd_import"]
