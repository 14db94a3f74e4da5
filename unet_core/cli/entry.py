"""The ``unet-core`` command line (design.md 3.1): sample, train, predict, evaluate, info, export, import, finetune, export-model."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from unet_core import __version__
from unet_core.data.transforms import AUGMENT_STRENGTHS
from unet_core.devices import DEVICE_CHOICES
from unet_core.errors import MaskloopError
from unet_core.formats import EXPORT_FORMATS, EXPORT_WHAT, IMPORT_FORMATS
from unet_core.limits import MAX_INPUT_SIDE, MAX_SCALE, MIN_SCALE
from unet_core.training.recipes import RECIPES

ARCH_HELP = "unet-tiny (8 wide), unet-small (16, default), unet-base (32), unet (64, classic), unet-paper"


def _size(text: str) -> tuple[int, int]:
    try:
        h, w = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected HxW such as 256x384, got {text!r}") from None
    if not (16 <= h <= MAX_INPUT_SIDE and 16 <= w <= MAX_INPUT_SIDE):
        raise argparse.ArgumentTypeError(f"both sides must be 16..{MAX_INPUT_SIDE} pixels")
    return h, w


def _scale(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number such as 0.5, got {text!r}") from None
    if not MIN_SCALE <= value <= MAX_SCALE:
        raise argparse.ArgumentTypeError(f"must be between {MIN_SCALE:g} and {MAX_SCALE:g}")
    return value


def _fraction(text: str) -> float:
    value = float(text)
    if not 0 <= value < 1:
        raise argparse.ArgumentTypeError("must be in [0, 1)")
    return value


def _share(text: str) -> float:
    value = float(text)
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError("must be in [0, 1]")
    return value


class _Help(argparse.HelpFormatter):
    """Each option's help ends with its default, unless it says it already or there is none to say."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        text = action.help or ""
        default = action.default
        if "default" in text or default in (None, False, argparse.SUPPRESS) or action.required:
            return text
        return f"{text} (default: {default})"


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser (also used by the docs and tests)."""
    p = argparse.ArgumentParser(
        prog="unet-core",
        description="Train, run and inspect Maskloop's UNet segmentation models without the GUI.",
        epilog="Example: unet-core sample demo --layout carvana && "
        "unet-core train --data demo --out model.safetensors --time-limit 300",
    )
    p.add_argument("--version", action="version", version=f"unet-core {__version__}")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    add_parser = sub.add_parser
    sub.add_parser = lambda *a, **k: add_parser(*a, formatter_class=_Help, **k)  # type: ignore[method-assign]

    s = sub.add_parser("sample", help="write a generated Carvana- or CARLA-format dataset (no download)")
    s.add_argument("out", metavar="OUT", help="folder to create")
    s.add_argument("--layout", choices=("carvana", "carla"), required=True, help="which dataset's formats to write")
    s.add_argument("--count", type=int, default=16, help="number of image/mask pairs (default 16)")
    s.add_argument("--seed", type=int, default=0, help="random seed of the generated scenes")
    s.add_argument("--size", type=_size, help="image size HxW (default: the dataset's native 1280x1918 / 480x640)")

    t = sub.add_parser("train", help="train from scratch, or fine-tune with --from, on a folder with masks")
    t.add_argument("--data", required=True, metavar="DIR", help="dataset folder (Carvana, CARLA or images/+masks/)")
    t.add_argument("--out", required=True, metavar="MODEL", help="checkpoint to write (.safetensors)")
    t.add_argument("--from", dest="init", metavar="MODEL", help="start from this checkpoint (fine-tune)")
    t.add_argument("--epochs", type=int, help="number of epochs (default 40, or unlimited with --time-limit)")
    t.add_argument("--time-limit", type=float, metavar="SEC", help="stop after this many seconds, validation included")
    t.add_argument("--size", type=_size, help="model input HxW, one tile (default: long side 384, the data's aspect)")
    t.add_argument("--scale", type=_scale, help="model pixels per image pixel, aspect always kept (default: the typical "
                   "image just fills --size; 1 trains on full-resolution crops and predicts in tiles)")
    t.add_argument("--batch-size", type=int, default=4, help="images per optimisation step")
    t.add_argument("--epoch-samples", type=int, default=None, metavar="N",
                   help="an epoch (one validation) repeats a small set up to N samples (default: the recipe's, 48 for short)")
    t.add_argument("--class-balance", type=float, metavar="P",
                   help="weight each class's cross-entropy by its pixel frequency ** -P (rare classes count more; "
                        "0 = off; default: the recipe's; only with more than 2 classes)")
    t.add_argument("--focus-crops", type=_share, metavar="F",
                   help="share of training crops placed on a class picked uniformly among the image's classes, so thin "
                        "and rare classes are seen as often as large ones (only when the image is larger than the input; "
                        "default: the recipe's)")
    t.add_argument("--clicks", type=_share, metavar="F",
                   help="share of samples trained with simulated clicks: the model becomes interactive (it also takes "
                        "positive / negative clicks) and stays as good without them (default: 0.5 with an interactive "
                        "--from model, else 0)")
    t.add_argument("--click-encoding", choices=("disk", "distance"), default="disk",
                   help="how a new interactive model sees a click: a disk of 5 model pixels, or a cone falling to 0 "
                        "at 20 (default disk)")
    t.add_argument("--click-zoom", type=float, default=4.0, metavar="Z",
                   help="a new interactive model also learns clicks on windows seen Z times finer than its own scale "
                        "(at most full size), so a click on an outline fixes it at that detail; 1: only at its own "
                        "scale (default 4)")
    t.add_argument("--average", type=_fraction, metavar="D",
                   help="decay of the moving average of the weights that the run validates and saves, so one noisy "
                        "step does not decide the checkpoint (default: 0.99 for a run with clicks, else 0: the weights as "
                        "trained)")
    t.add_argument("--recipe", default="short", choices=sorted(RECIPES),
                   help="; ".join(f"{r.name}: {r.summary}" for r in RECIPES.values()) + " (default short)")
    t.add_argument("--lr", type=float, help="Adam learning rate (default: the recipe's; short: 1e-3, 3e-4 with --from)")
    t.add_argument("--arch", default="unet-small", help=ARCH_HELP)
    t.add_argument("--device", default="auto", choices=DEVICE_CHOICES, help="auto picks CUDA, then MPS, then CPU")
    t.add_argument("--val-fraction", type=_fraction, default=0.2, help="validation share, split by car id / image")
    t.add_argument("--seed", type=int, default=0, help="random seed (weights, split, augmentation)")
    t.add_argument("--log-dir", metavar="DIR", help="write the run's log here: TensorBoard events (open with tensorboard --logdir DIR), "
                   "metrics.jsonl and steps.jsonl")
    t.add_argument("--resume", action="store_true", help="continue from <MODEL stem>.last.safetensors")
    t.add_argument("--workers", type=int, default=0, help="data-loading worker processes (default 0)")
    t.add_argument("--patience", type=int, help="stop after N epochs without validation improvement")
    t.add_argument("--augment", choices=AUGMENT_STRENGTHS, metavar="STRENGTH",
                   help="augmentation strength: none, light (flips and a milder affine, no colour), default (flips, "
                        "affine, colour jitter, noise or blur) or strong (1.6x the geometry, 1.5x the colour) "
                        "(default: the recipe's, default)")
    t.add_argument("--no-augment", action="store_true", help="turn off flips, affine and colour augmentation "
                   "(the same as --augment none)")
    t.add_argument("--no-amp", action="store_true", help="train in fp32 even on CUDA")
    t.add_argument("--quiet", action="store_true", help="no progress bar")

    pr = sub.add_parser("predict", help="write predicted masks for a folder or one image")
    pr.add_argument("--model", required=True, metavar="MODEL", help="the checkpoint (.safetensors) to predict with")
    pr.add_argument("--input", required=True, metavar="DIR_OR_FILE", help="one image, a dataset folder or a folder of images")
    pr.add_argument("--out", required=True, metavar="DIR", help="folder to write the masks into (created if missing)")
    pr.add_argument("--format", choices=("index", "native", "color"), default="index",
                    help="index: class-id PNG; native: the dataset's own mask format; color: palette colours")
    pr.add_argument("--device", default="auto", choices=DEVICE_CHOICES, help="auto picks CUDA, then MPS, then CPU")
    pr.add_argument("--batch-size", type=int, default=4, help="images predicted together")
    pr.add_argument("--tta", action="store_true", help="average with the horizontally flipped image")
    pr.add_argument("--no-guide", action="store_true",
                    help="labels from the upsampled probabilities alone, not moved onto the image's edges")
    pr.add_argument("--overwrite-originals", action="store_true",
                    help="allow --out to be a dataset's own mask folder: the originals are copied into "
                         "the project store's originals-backup/ first (refused without this flag)")
    pr.add_argument("--quiet", action="store_true", help="no progress bar")

    e = sub.add_parser("evaluate", help="Dice, IoU and pixel accuracy of a model on a labelled folder")
    e.add_argument("--model", required=True, metavar="MODEL", help="the checkpoint (.safetensors) to evaluate")
    e.add_argument("--data", required=True, metavar="DIR", help="a folder with masks (its imported masks included)")
    e.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    e.add_argument("--device", default="auto", choices=DEVICE_CHOICES, help="auto picks CUDA, then MPS, then CPU")
    e.add_argument("--tta", action="store_true", help="average with the horizontally flipped image")
    e.add_argument("--no-guide", action="store_true",
                   help="labels from the upsampled probabilities alone, not moved onto the image's edges")
    e.add_argument("--quiet", action="store_true", help="no progress bar")

    i = sub.add_parser("info", help="show a checkpoint's architecture, classes and training summary")
    i.add_argument("model", metavar="MODEL", help="the checkpoint (.safetensors) to describe")
    i.add_argument("--json", action="store_true", help="print one JSON object on stdout")

    x = sub.add_parser("export", help="write a folder's corrections and/or predictions in another tool's format")
    x.add_argument("--data", required=True, metavar="DIR", help="the dataset folder (its project store is read, "
                                                                "nothing in it is written)")
    x.add_argument("--out", required=True, metavar="DIR", help="the folder to write into (created if missing)")
    x.add_argument("--format", required=True, choices=EXPORT_FORMATS,
                   help="native: the dataset's own folders and encoding; index: <stem>.png of class ids; color: "
                        "<stem>.png in class colours; voc: SegmentationClass/<stem>.png palette PNGs (255 void); "
                        "coco: annotations.json with run-length masks; labelme: <stem>.json polygons; kaggle-csv: masks.csv (img,rle_mask; two "
                        "classes only)")
    x.add_argument("--what", choices=EXPORT_WHAT, default="corrections",
                   help="corrections (default), predictions of the current model, or all: what each image shows "
                        "in the app (its correction, else its imported or own mask, else the prediction)")

    f = sub.add_parser("finetune", help="the app's one-click fine-tune, headless, on a folder's stored corrections")
    f.add_argument("--data", required=True, metavar="DIR", help="the dataset folder whose project store holds the "
                                                                "corrections (read only)")
    f.add_argument("--out", required=True, metavar="MODEL", help="the fine-tuned checkpoint to write (.safetensors)")
    f.add_argument("--from", dest="init", metavar="MODEL", default=None,
                   help="the model to start from (default: the project's current model version)")
    f.add_argument("--time-limit", type=float, default=None, metavar="SEC",
                   help="stop after this many seconds (default: 120, as the app, unless --epochs is given)")
    f.add_argument("--epochs", type=int, default=None, help="train this many epochs instead of for a time")
    f.add_argument("--lr", type=float, default=None, help="learning rate (default: the recipe's fine-tune rate)")
    f.add_argument("--replay", type=_fraction, default=0.3,
                   help="share of samples from the folder's own or imported masks, against forgetting (default 0.3)")
    f.add_argument("--clicks", type=_share, default=None, metavar="F",
                   help="share of samples trained with simulated clicks (default: 0.5 for a model that takes "
                        "clicks, else none)")
    f.add_argument("--device", default="auto", choices=DEVICE_CHOICES, help="auto picks CUDA, then MPS, then CPU")
    f.add_argument("--log-dir", default=None, metavar="DIR", help="write TensorBoard events and curves here")
    f.add_argument("--quiet", action="store_true", help="no progress bar")

    xm = sub.add_parser("export-model", help="write a checkpoint's model as ONNX or TorchScript, checked against "
                                             "PyTorch (the checkpoint stays the source of truth)")
    xm.add_argument("--model", required=True, metavar="MODEL", help="the checkpoint (.safetensors) to export")
    xm.add_argument("--out", required=True, metavar="FILE", help="the file to write (.onnx or .pt)")
    xm.add_argument("--format", required=True, choices=("onnx", "torchscript"),
                    help="onnx (needs the onnx package; checked with onnxruntime when installed) or torchscript")

    m = sub.add_parser("import", help="take masks from another tool as the truth a folder's images start from")
    m.add_argument("--data", required=True, metavar="DIR", help="the dataset folder (masks go into its project "
                                                                "store; its own files are not written)")
    m.add_argument("--from", dest="source", required=True, metavar="FILE_OR_DIR",
                   help="a COCO .json, a labelme .json or folder of them, a folder of VOC palette PNGs (or one "
                        "holding SegmentationClass/), or a Kaggle run-length .csv (img,rle_mask)")
    m.add_argument("--format", choices=IMPORT_FORMATS, default=None,
                   help="the source's format (default: detected from it)")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the process exit code (0 ok, 1 bad input, 2 usage, 130 interrupted)."""
    args = build_parser().parse_args(argv)
    try:
        from unet_core.cli import commands, project_commands  # heavy imports (torch) only after parsing

        handler = {
            "sample": commands.cmd_sample,
            "train": commands.cmd_train,
            "predict": commands.cmd_predict,
            "evaluate": commands.cmd_evaluate,
            "info": commands.cmd_info,
            "export": project_commands.cmd_export,
            "import": project_commands.cmd_import,
            "finetune": project_commands.cmd_finetune,
            "export-model": project_commands.cmd_export_model,
        }[args.command]
        return int(handler(args) or 0)
    except MaskloopError as err:
        print(f"unet-core {args.command}: error: {err}", file=sys.stderr)
        return 1
    except ValueError as err:
        print(f"unet-core {args.command}: error: {' '.join(str(err).split())}", file=sys.stderr)
        return 1
    except (MemoryError, RuntimeError) as err:
        if not isinstance(err, MemoryError) and not _out_of_memory(err):
            raise
        print(f"unet-core {args.command}: error: out of memory ({' '.join(str(err).split())[:160]}); "
              "try a smaller --size or --batch-size", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"unet-core {args.command}: interrupted", file=sys.stderr)
        return 130


def _out_of_memory(err: BaseException) -> bool:
    """A torch allocation failure (CPU ``DefaultCPUAllocator``, CUDA/MPS out of memory)."""
    text = str(err).lower()
    return "out of memory" in text or "can't allocate memory" in text or "failed to allocate" in text


def run() -> None:
    """Console entry point: :func:`main`, then exit — under torchrun without the interpreter's teardown.

    After a distributed run has left its process group, a rank still aborts now and then while the
    interpreter tears down torch's C++ state ("terminate called without an active exception", about
    one 2-process gloo run in 20-50 on a busy 2-core machine, after every file was written); torchrun
    then reports the whole job as failed. Every output is flushed and closed by then, so a rank exits
    directly with its own code.
    """
    code = main()
    if int(os.environ.get("WORLD_SIZE", "1") or 1) > 1:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    raise SystemExit(code)


if __name__ == "__main__":
    run()
