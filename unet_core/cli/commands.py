"""Implementations of the ``unet-core`` commands; each takes the parsed arguments and returns an exit code."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from unet_core.cli.progress import TerminalProgress, bar, warn
from unet_core.data.io import MaskFormat, read_image, write_color_mask, write_mask
from unet_core.data.layouts import DatasetLayout, NoLayoutError, detect_layout, image_files
from unet_core.errors import DataError, MaskloopError


def cmd_sample(args: argparse.Namespace) -> int:
    """``unet-core sample OUT --layout L``."""
    from unet_core.data.layouts import layout_at
    from unet_core.data.originals import OriginalsError
    from unet_core.sample.writer import write_sample

    existing = layout_at(args.out)
    if existing is not None and existing.pairs()[0]:
        raise OriginalsError("already holds a dataset; sample writes only into a new or empty folder", args.out)
    with bar(args.count, f"sample {args.layout}", quiet=False) as b:
        root = write_sample(args.out, args.layout, args.count, args.seed, args.size,
                            progress=lambda n, total: b.update(n - b.n))
    print(f"wrote {args.count} {args.layout} pairs to {root}", file=sys.stderr)
    return 0


def project_view(layout: DatasetLayout) -> tuple[DatasetLayout, list, int]:
    """The folder as its project store sees it (read-only, created by nothing): its own class table and the
    masks imported into it in place of the dataset's; the layout as detected when it has no store."""
    from unet_core.loop.classes import project_layout
    from unet_core.loop.truth import project_pairs
    from unet_core.store.files import existing_store_root
    from unet_core.store.project import ProjectStore

    root = existing_store_root(layout.root, ProjectStore.STATE_DB_NAME)
    if root is None:
        pairs, skipped = layout.pairs()
        return layout, pairs, skipped
    with ProjectStore(root, layout.root, read_only=True) as store:
        layout = project_layout(layout, store)
        pairs, skipped = project_pairs(layout, store)
    return layout, pairs, skipped


def labelled_examples(layout: DatasetLayout, command: str) -> list:
    """The folder's image/mask pairs (imported masks included) as training examples; none is an error naming
    the folder. ``layout`` should come from :func:`project_view` (its class table)."""
    from unet_core.data.dataset import examples_from_layout

    _, pairs, skipped = project_view(layout)
    if skipped:
        warn(command, f"{skipped} item(s) in {layout.image_dir.name}/ and {layout.mask_dir.name}/ skipped "
                      "(masks without an image, repeated names, links that cannot be followed or "
                      "names that are not UTF-8)")
    labelled = [p for p in pairs if p.mask is not None]
    if not labelled and layout.kind == "images":
        raise DataError(f"{len(pairs)} images and no masks (a folder of images only): paint masks in the app "
                        f"(maskloop {layout.root}) and train there, or give a folder with masks", layout.root)
    if not labelled:
        raise DataError(f"no image/mask pairs found ({len(pairs)} images, no matching masks in {layout.mask_dir.name}/)",
                        layout.root)
    return examples_from_layout(layout, labelled)


def cmd_train(args: argparse.Namespace) -> int:
    """``unet-core train --data DIR --out MODEL``: train from scratch or fine-tune with ``--from``."""
    from unet_core.data.lookalikes import groups_by_name, lookalike_groups
    from unet_core.data.split import split_by_group
    from unet_core.model.checkpoint import read_metadata
    from unet_core.model.checkpoint_header import check_checkpoint_output
    from unet_core.training.distributed import dist_from_env
    from unet_core.training.recipes import recipe
    from unet_core.training.threads import FreeCoreThreads
    from unet_core.training.trainer import train

    check_checkpoint_output(args.out)  # never replaces a dataset's file or anything but a checkpoint
    if args.resume:  # nothing to resume is said before any data is read (train() checks it too)
        from unet_core.training.resume import require_resume_state

        require_resume_state(Path(args.out))
    layout = detect_layout(args.data)
    layout = project_view(layout)[0]  # the project's own classes, if it has a store
    examples = labelled_examples(layout, "train")
    classes = layout.classes
    if args.init:
        from unet_core.loop.classes import shown_classes

        classes = read_metadata(args.init).classes
        if layout.own_classes:  # the table the user made for the folder, when it names at least the model's
            classes = shown_classes(layout, classes)
        elif layout.kind != "generic" and layout.classes.num_classes != classes.num_classes:
            raise DataError(f"the model has {classes.num_classes} classes but this {layout.kind} folder has "
                            f"{layout.classes.num_classes}", args.init)
    groups = [e.group for e in examples]
    if not groups_by_name(layout.kind) and args.val_fraction > 0:
        # frame names say nothing about the scene: look-alike frames must not straddle the split
        t0 = time.perf_counter()
        similar = lookalike_groups({str(i): e.image_path for i, e in enumerate(examples)}).split
        groups = [similar[str(i)] for i in range(len(examples))]
        if not args.quiet and dist_from_env().is_main:
            print(f"split groups: {len(examples)} frames in {len(set(groups))} groups of look-alikes "
                  f"({time.perf_counter() - t0:.1f} s)", file=sys.stderr)
    train_ex, val_ex = split_by_group(examples, groups, args.val_fraction, args.seed)
    out = Path(args.out)
    config = recipe(args.recipe).config(
        finetune=bool(args.init), arch=args.arch, size_hw=args.size, scale=args.scale, epochs=args.epochs, time_limit=args.time_limit,
        batch_size=args.batch_size, lr=args.lr, val_fraction=args.val_fraction, seed=args.seed,
        device=args.device, num_workers=args.workers, amp=False if args.no_amp else None,
        patience=args.patience, augment=not args.no_augment and args.augment != "none",
        augment_strength=None if args.augment in (None, "none") else args.augment, class_balance=args.class_balance, focus_crops=args.focus_crops,
        clicks=args.clicks, click_encoding=args.click_encoding, click_zoom=args.click_zoom, average=args.average,
        min_epoch_samples=args.epoch_samples, log_dir=Path(args.log_dir) if args.log_dir else None,
    )
    result = train(train_ex, val_ex, classes, config, out, init=args.init, resume=args.resume,
                   callbacks=[TerminalProgress(quiet=args.quiet), FreeCoreThreads()], dataset_kind=layout.kind,
                   evaluate_initial=bool(args.init and val_ex))
    if not dist_from_env().is_main:
        return 0  # under torchrun only rank 0 validated and wrote the checkpoint: one summary line
    dice = f"{result.best_val_dice:.4f}" if result.best_val_dice is not None else "n/a (no validation split)"
    print(f"{result.stop_reason}: {result.epochs} epochs, {result.steps} steps in {result.seconds:.0f} s; "
          f"best validation dice {dice}; wrote {result.best_path}", file=sys.stderr)
    return 0


def input_images(path: str | Path) -> tuple[list[Path], DatasetLayout | None]:
    """Images named by ``--input``: one file, a dataset folder's images, or a plain folder of images."""
    p = Path(path)
    if not p.exists():
        raise DataError("no such file or folder", p)
    if p.is_file():
        return [p], None
    try:
        layout = detect_layout(p)
        pairs, _ = layout.pairs()
        return [pair.image for pair in pairs], layout
    except NoLayoutError:
        files, broken = image_files(p)
        if broken:
            warn("predict", f"{broken} item(s) in {p} skipped (links that cannot be followed or names "
                            "that are not UTF-8)")
        if not files:
            raise DataError("no images found (expected image files or a dataset folder)", p) from None
        return files, None


def cmd_predict(args: argparse.Namespace) -> int:
    """``unet-core predict --model M --input X --out DIR``."""
    from unet_core.data.originals import refuse_or_backup
    from unet_core.model.predictor import Predictor

    predictor = Predictor.from_checkpoint(args.model, device=args.device, tta=args.tta, guided=not args.no_guide)
    images, layout = input_images(args.input)
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise MaskloopError("--out must be a folder", out)
    kind = layout.kind if layout is not None else predictor.meta.dataset_kind
    from unet_core.formats.export import NATIVE_MASKS

    _, pattern, fmt = NATIVE_MASKS.get(kind, NATIVE_MASKS["generic"])
    classes = predictor.meta.classes
    single = Path(args.input).is_file()

    def target(path: Path) -> Path:
        stem = Path(str(path)).stem
        return out / (pattern.format(stem=stem) if args.format == "native" else f"{stem}.png")

    backup = refuse_or_backup([target(p) for p in images], inputs=images, allow=args.overwrite_originals,
                              store_root=_store_root_near(out) if args.overwrite_originals else None)
    if backup is not None:
        warn("predict", f"replacing original files in {out}; copies kept in {backup}")

    def readable():
        for path in images:
            try:
                yield path, read_image(path)
            except DataError as err:
                if single:
                    raise
                warn("predict", f"skipped {err}")
                skipped.append(path)

    skipped: list[Path] = []
    written = 0
    with bar(len(images), "predict", args.quiet) as b:
        for path, pred in predictor.predict_stream(readable(), batch_size=args.batch_size):
            if args.format == "index":
                write_mask(target(path), pred.labels, MaskFormat.INDEX_PNG)
            elif args.format == "color":
                write_color_mask(target(path), pred.labels, classes)
            else:
                write_mask(target(path), pred.labels, fmt, classes)
            written += 1
            b.update(1)
    if skipped:
        warn("predict", f"{len(skipped)} unreadable image(s) skipped")
    if not written:
        raise DataError("no readable images to predict", args.input)
    print(f"wrote {written} {args.format} mask(s) to {out}", file=sys.stderr)
    return 0


def _store_root_near(folder: Path) -> Path:
    """The project store of the dataset that ``folder`` (an image or mask folder) belongs to."""
    from unet_core.store.files import store_root_for

    return store_root_for(Path(folder).absolute().parent)


def cmd_evaluate(args: argparse.Namespace) -> int:
    """``unet-core evaluate --model M --data DIR [--json]`` at full resolution."""
    from unet_core.model.predictor import Predictor
    from unet_core.training.metrics import summarize
    from unet_core.training.validation import evaluate_files

    predictor = Predictor.from_checkpoint(args.model, device=args.device, tta=args.tta, guided=not args.no_guide)
    layout = detect_layout(args.data)
    classes = predictor.meta.classes
    if layout.kind not in ("generic", "images") and layout.classes.num_classes != classes.num_classes:
        raise DataError(f"the model predicts {classes.num_classes} classes but this {layout.kind} folder has "
                        f"{layout.classes.num_classes}", layout.root)
    examples = labelled_examples(layout, "evaluate")
    with bar(len(examples), "evaluate", args.quiet) as b:
        matrix, skipped = evaluate_files(
            predictor, examples, on_skip=lambda ex, err: warn("evaluate", f"skipped {err}"),
            progress=lambda n, total: b.update(n - b.n),
        )
    if skipped:
        warn("evaluate", f"{skipped} of {len(examples)} pair(s) skipped")
    n = len(examples) - skipped
    if n == 0:
        raise DataError("no usable image/mask pairs to evaluate", layout.root)
    metrics = summarize(matrix, classes.names)
    report = {"images": n, "pixel_accuracy": metrics["pixel_accuracy"], "dice": metrics["dice"], "iou": metrics["iou"]}
    if args.json:
        print(json.dumps(report))
    else:
        print(format_metrics(report))
    return 0


def format_metrics(report: dict) -> str:
    """A readable table of the evaluate report."""
    fmt = lambda v: "   -  " if v is None else f"{v:.4f}"  # noqa: E731
    lines = [f"images: {report['images']}", f"pixel accuracy: {fmt(report['pixel_accuracy'])}",
             f"mean dice: {fmt(report['dice']['mean'])}   mean iou: {fmt(report['iou']['mean'])}",
             f"{'class':<16} {'dice':>7} {'iou':>7}"]
    for name, d in report["dice"]["per_class"].items():
        lines.append(f"{name:<16} {fmt(d):>7} {fmt(report['iou']['per_class'][name]):>7}")
    return "\n".join(lines)


def cmd_info(args: argparse.Namespace) -> int:
    """``unet-core info MODEL [--json]``."""
    from unet_core.model.checkpoint import file_hash, inspect_checkpoint

    meta, parameters = inspect_checkpoint(args.model)  # header only; exits 1 if tensors and config disagree
    summary = meta.summary()
    summary["sha256"] = file_hash(args.model)
    summary["parameters"] = parameters
    if args.json:
        print(json.dumps(summary, indent=2))
        return 0
    arch, tr = meta.arch, meta.training
    print(f"checkpoint: {args.model}\nsha256: {summary['sha256']}")
    print(f"architecture: UNet width {arch.base_width}, depth {arch.depth}, "
          f"{'bilinear' if arch.bilinear else 'transposed-conv'} up, batch norm {'on' if arch.batch_norm else 'off'}"
          f"{', paper (unpadded)' if arch.paper else ''}; {summary['parameters']:,} parameters")
    framing = "every image stretched to it" if meta.scale is None else f"images scaled by {meta.scale:.4g}, aspect kept"
    print(f"input: {meta.input_size[0]}x{meta.input_size[1]} (HxW), {framing}; dataset format: {meta.dataset_kind}")
    print(f"classes ({meta.classes.num_classes}): {', '.join(meta.classes.names)}")
    if tr:
        best = tr.get("best_val_dice")
        print(f"training: {tr.get('epochs', '?')} epochs, {tr.get('steps', '?')} steps, {tr.get('train_images', '?')} "
              f"train / {tr.get('val_images', '?')} val images, best val dice "
              f"{best if best is None else round(best, 4)}, data {tr.get('data_fingerprint', '?')}")
    print(f"parent: {meta.parent_hash or '(none: trained from scratch)'}")
    return 0
