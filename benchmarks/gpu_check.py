"""Every GPU check in one run (design.md 3.6): CUDA tests, fine-tune, throughput, latency, classic UNet; one JSON."""

from __future__ import annotations

import argparse
import importlib
import json
import math
import os
import platform
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

try:  # a bare GPU machine may lack some of these: main() then names the missing imports instead of a traceback
    import numpy as np
    import torch

    from unet_core.data.classes import CARVANA_CLASSES
    from unet_core.data.dataset import examples_from_layout
    from unet_core.data.io import read_image, read_mask
    from unet_core.data.layouts import detect_layout
    from unet_core.devices import autocast_dtype
    from unet_core.limits import MAX_FIRST_LEVEL_ELEMENTS
    from unet_core.loop.corrections import finetune_job, image_groups, validation_stems
    from unet_core.loop.policy import keep_new_version, trained_dice
    from unet_core.loop.records import ImageRecord
    from unet_core.loop.rounds import round_config
    from unet_core.loop.run_logs import new_run_log
    from unet_core.loop.runs import import_model_file, new_run_path
    from unet_core.model.checkpoint import CheckpointMeta, save_checkpoint
    from unet_core.model.predictor import Predictor
    from unet_core.model.tiles import default_overlap, tile_count
    from unet_core.model.unet import UNetConfig, build_model, count_parameters
    from unet_core.sample.writer import write_sample
    from unet_core.store.project import ProjectStore
    from unet_core.training.losses import segmentation_loss
    from unet_core.training.metrics import summarize
    from unet_core.training.trainer import train
    from unet_core.training.types import Callback, StepInfo, TrainConfig, TrainResult
    from unet_core.training.validation import evaluate_files

    CORE_ERROR: str | None = None
except Exception as exc:  # reported by main(), with the imports that fail
    CORE_ERROR, Callback = f"{type(exc).__name__}: {exc}", object  # type: ignore[assignment,misc]

ROOT = Path(__file__).resolve().parents[1]
IMPORTS = ("torch", "numpy", "cv2", "PIL", "safetensors", "albumentations", "tensorboardX", "tqdm", "pytest")
PARTS = ("tests", "finetune", "throughput", "predict_ms", "classic_carvana")
BUDGET_S = {"tests": 75, "finetune": 75, "throughput": 60, "predict_ms": 35, "classic_carvana": 190}
TOTAL_S = 450  # all parts; with start-up and wheels the command stays under 8 minutes
FULL: dict[str, Any] = {  # on the GPU; QUICK runs the same code small, as a smoke test on a CPU
    "ft_arch": "unet-small", "ft_input": (256, 384), "ft_count": 24, "ft_corrected": 12, "ft_time": 40.0,
    "tp_archs": ("unet", "unet-small"), "tp_size": (256, 384), "tp_batch": 8, "tp_epochs": 6, "tp_count": 32,
    "tp_steps": 15, "lat_models": (("unet-small", (256, 384)), ("unet", None)), "lat_runs": 30,
    "cv_arch": "unet", "cv_time": 120.0, "cv_batch": 4, "cv_workers": 8, "cv_epoch_samples": 96, "cv_lr": 1e-3}
QUICK: dict[str, Any] = {
    **FULL, "ft_arch": "unet-tiny", "ft_input": (64, 96), "ft_count": 12, "ft_corrected": 4, "ft_time": 3.0,
    "tp_archs": ("unet-tiny",), "tp_size": (64, 96), "tp_batch": 4, "tp_epochs": 2, "tp_count": 8, "tp_steps": 2,
    "lat_models": (("unet-tiny", (64, 96)),), "lat_runs": 3,
    "cv_arch": "unet-tiny", "cv_time": 3.0, "cv_batch": 2, "cv_workers": 0, "cv_epoch_samples": 8}
Result = dict[str, Any]


def log(message: str) -> None:
    """Progress goes to stderr: stdout carries the JSON object only."""
    print(f"[gpu_check] {message}", file=sys.stderr, flush=True)


def missing_imports() -> dict[str, str]:
    """Our imports that fail here, each with its reason (e.g. albumentations without pydantic)."""
    os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")
    missing = {}
    for name in IMPORTS:
        try:
            importlib.import_module(name)
        except Exception as exc:  # an ImportError, or a broken package failing otherwise
            missing[name] = f"{type(exc).__name__}: {exc}"
    if not missing and CORE_ERROR:
        missing["unet_core"] = CORE_ERROR
    return missing


def largest_size(base_width: int, image_hw: tuple[int, int], multiple: int = 32) -> tuple[int, int]:
    """The image's size in multiples of 32, or the largest size of its aspect that the core's input cap allows."""
    h, w = image_hw
    scale = min(1.0, math.sqrt(MAX_FIRST_LEVEL_ELEMENTS / (base_width * h * w)))
    while True:
        size = (max(multiple, round(h * scale / multiple) * multiple), max(multiple, round(w * scale / multiple) * multiple))
        if base_width * size[0] * size[1] <= MAX_FIRST_LEVEL_ELEMENTS:
            return size
        scale *= 0.99


class Recorder(Callback):
    """Keeps a run's start info and each step's loss and images/s."""

    def __init__(self) -> None:
        self.start: dict[str, Any] = {}
        self.losses: list[float] = []
        self.rates: list[float] = []

    def on_start(self, info: dict[str, Any]) -> None:
        self.start = info

    def on_step(self, info: StepInfo) -> None:
        self.losses.append(info.loss)
        self.rates.append(info.images_per_s)

    def summary(self, result: TrainResult) -> Result:
        return {"steps": result.steps, "epochs": result.epochs, "seconds": round(result.seconds, 1),
                "stop_reason": result.stop_reason, "device": self.start.get("device"), "amp": self.start.get("amp"),
                "size_hw": self.start.get("size_hw"), "images_per_s_median": round(statistics.median(self.rates), 1),
                "final_loss": round(self.losses[-1], 4), "losses_finite": all(map(math.isfinite, self.losses))}


def part_finetune(args: argparse.Namespace, s: dict[str, Any], tmp: Path) -> Result:
    """The app's one-click fine-tune: the job its worker runs (``finetune_job``), on generated data in a store."""
    layout = detect_layout(write_sample(tmp / "data", "carvana", count=s["ft_count"], seed=0, size_hw=(640, 960)))
    pairs, _ = layout.pairs()
    torch.manual_seed(0)  # the loaded model has fresh weights: the check is the path and its speed, not the start
    arch = UNetConfig.preset(s["ft_arch"], layout.classes.num_classes)
    start = tmp / "start.safetensors"
    save_checkpoint(start, build_model(arch), CheckpointMeta(arch=arch, classes=layout.classes,
                                                             input_size=s["ft_input"], dataset_kind=layout.kind))
    with ProjectStore.for_dataset(layout.root) as store:
        version, model_path, _ = import_model_file(store, start, layout.classes.num_classes)
        predictor = Predictor.from_checkpoint(model_path, device=args.device)
        records = [ImageRecord(stem=p.stem, image_path=p.image, mask_path=p.mask) for p in pairs]
        val = validation_stems(layout, records, image_groups(layout, records, store))
        for record in [r for r in records if r.stem not in val][: s["ft_corrected"]]:  # corrected to the truth
            pred = predictor.predict(read_image(record.image_path))
            store.save_prediction(record.stem, version, pred.labels, pred.uncertainty, pred.score)
            store.save_mask(record.stem, read_mask(record.mask_path, layout.mask_format))
            store.update_state(record.stem, status="corrected", model_version=version)
            record.status, record.corrected_with = "corrected", version
        out = new_run_path(store)  # as TrainingController.start_finetune: round_config, a run log in the store
        config = replace(round_config(arch=s["ft_arch"], size_hw=None, epochs=None, time_limit=s["ft_time"],
                                      lr=3e-4, device=args.device), log_dir=new_run_log(store, out))
        job = finetune_job(model_path, version, layout, store, records, out, config, replay_fraction=0.3)
        rec = Recorder()
        result = job(callbacks=[rec], stop=threading.Event())
        after = trained_dice(result.history)
        logged = sorted(p.name.split(".")[0] for p in Path(str(config.log_dir)).iterdir())
    return {"images": len(pairs), "corrected": s["ft_corrected"], "arch": s["ft_arch"], "time_limit_s": s["ft_time"],
            **rec.summary(result), "initial_val_dice": result.initial_val_dice, "final_val_dice": after,
            "kept_by_app_rule": keep_new_version(result.initial_val_dice, after), "log_files": logged}


def step_only(arch: str, size: tuple[int, int], batch: int, device: str, fast: bool, steps: int) -> float:
    """Images/s of the bare training step (the core's model and loss on one batch kept on the device: no loader)."""
    dev, fmt = torch.device(device), torch.channels_last if fast else torch.contiguous_format
    torch.manual_seed(0)
    model = build_model(UNetConfig.preset(arch, 2)).to(dev, memory_format=fmt)
    opt = torch.optim.Adam(model.parameters(), lr=1e-4)
    dtype = autocast_dtype(dev, None if fast else False)
    scaler = torch.amp.GradScaler(dev.type, enabled=dtype == torch.float16)
    x = torch.randn(batch, 3, *size, device=dev).contiguous(memory_format=fmt)
    y = torch.randint(0, 2, (batch, *size), device=dev)
    sync, t0 = (torch.cuda.synchronize if dev.type == "cuda" else (lambda: None)), 0.0
    for i in range(3 + steps):  # three warm-up steps
        if i == 3:
            sync()
            t0 = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        with torch.autocast(dev.type, dtype=dtype or torch.float32, enabled=dtype is not None):
            logits = model(x)
        scaler.scale(segmentation_loss(logits, y)).backward()
        scaler.step(opt)
        scaler.update()
    sync()
    return round(batch * steps / (time.perf_counter() - t0), 1)


def part_throughput(args: argparse.Namespace, s: dict[str, Any], tmp: Path) -> Result:
    """fp32 vs AMP + channels_last: the real loop (benchmarks/train_throughput.run) and the bare step."""
    import train_throughput  # beside this script

    data = write_sample(tmp / "data", "carvana", count=s["tp_count"], seed=0, size_hw=(640, 960))
    out: Result = {"size_hw": list(s["tp_size"]), "batch_size": s["tp_batch"], "loader_workers": 2,
                   "cudnn_allow_tf32": torch.backends.cudnn.allow_tf32}
    for n, arch in enumerate(s["tp_archs"]):
        loop = [train_throughput.run(data, tmp / "m.safetensors", s["tp_size"], s["tp_batch"], s["tp_epochs"],
                                     args.device, arch, amp, cl)["images_per_s_median"]
                for amp, cl in ((False, False), (None, None))]
        bare = [step_only(arch, s["tp_size"], s["tp_batch"], args.device, fast, s["tp_steps"]) for fast in (False, True)]
        row = {"arch": arch, "fp32_img_s": loop[0], "amp_cl_img_s": loop[1], "ratio": round(loop[1] / loop[0], 2),
               "step_only": {"fp32_img_s": bare[0], "amp_cl_img_s": bare[1], "ratio": round(bare[1] / bare[0], 2)}}
        out.update(row if n == 0 else {arch: row})
    return out


def part_predict(args: argparse.Namespace, s: dict[str, Any], tmp: Path) -> Result:
    """Latency of predicting one 1918x1280 image (resize, forward, softmax, upsample, uncertainty): median, p95."""
    image = np.random.default_rng(0).integers(0, 255, (1280, 1918, 3), dtype=np.uint8)
    out: Result = {"image_hw": [1280, 1918], "runs": s["lat_runs"]}
    for arch, size in s["lat_models"]:
        config = UNetConfig.preset(arch, CARVANA_CLASSES.num_classes)
        size = size or largest_size(config.base_width, (1280, 1918))
        torch.manual_seed(0)
        meta = CheckpointMeta(arch=config, classes=CARVANA_CLASSES, input_size=size)
        predictor = Predictor(build_model(config), meta, device=args.device)
        times = []
        for i in range(3 + s["lat_runs"]):  # three warm-ups
            t0 = time.perf_counter()
            predictor.predict(image)  # returns arrays on the CPU: the device's work is done
            times += [(time.perf_counter() - t0) * 1000] if i >= 3 else []
        times.sort()
        out[arch] = {"model_input_hw": list(size), "amp": str(predictor.amp_dtype),
                     "median_ms": round(statistics.median(times), 1),
                     "p95_ms": round(times[math.ceil(0.95 * len(times)) - 1], 1)}
    return out


def part_classic(args: argparse.Namespace, s: dict[str, Any], tmp: Path) -> Result:
    """The classic UNet on real Carvana, time-limited; one car held out and scored at full resolution."""
    layout = detect_layout(args.carvana)
    examples = examples_from_layout(layout, layout.pairs()[0])
    cars = sorted({e.group for e in examples})
    if len(cars) < 2:
        raise ValueError(f"{args.carvana}: need images of at least two cars, found {len(cars)}")
    train_set, test_set = [e for e in examples if e.group != cars[-1]], [e for e in examples if e.group == cars[-1]]
    image_hw = read_image(examples[0].image_path).shape[:2]
    arch = UNetConfig.preset(s["cv_arch"], layout.classes.num_classes)
    size = (64, 96) if args.quick else largest_size(arch.base_width, image_hw)
    scale = None if args.quick else 1.0  # full resolution: crops of one tile in training, tiles in prediction
    cfg = TrainConfig(arch=s["cv_arch"], size_hw=size, scale=scale, time_limit=s["cv_time"], batch_size=s["cv_batch"],
                      lr=s["cv_lr"], device=args.device, num_workers=s["cv_workers"],
                      min_epoch_samples=s["cv_epoch_samples"])
    rec = Recorder()
    result = train(train_set, [], layout.classes, cfg, tmp / "classic.safetensors", callbacks=[rec],
                   dataset_kind=layout.kind)
    predictor = Predictor.from_checkpoint(result.best_path, device=args.device)
    matrix, skipped = evaluate_files(predictor, test_set)
    metrics = summarize(matrix, predictor.meta.classes.names)
    full = largest_size(1, image_hw)  # the image's own size, rounded
    note = "quick: a smoke-test size" if args.quick else None if tuple(size) == full else (
        f"scale 1 (full resolution): trained on {size[0]}x{size[1]} crops, the largest input "
        f"unet_core.limits.MAX_FIRST_LEVEL_ELEMENTS allows at base width {arch.base_width}; predicted in "
        f"{tile_count(image_hw, size, default_overlap(size))} overlapping tiles per image")
    return {"arch": s["cv_arch"], "parameters_m": round(count_parameters(build_model(arch)) / 1e6, 2),
            "image_hw": list(image_hw), "train_images": len(train_set), "held_out_car": cars[-1],
            "held_out_images": len(test_set) - skipped, "time_limit_s": s["cv_time"], "lr": s["cv_lr"],
            "batch_size": s["cv_batch"], "input_hw": list(size), "scale": scale, **rec.summary(result), "held_out_dice": metrics["dice"]["mean"],
            "held_out_pixel_accuracy": metrics["pixel_accuracy"], "note": note}


PART_FUNCS: dict[str, Callable[[argparse.Namespace, dict[str, Any], Path], Result]] = {
    "finetune": part_finetune, "throughput": part_throughput, "predict_ms": part_predict, "classic_carvana": part_classic}


def spawn(cmd: list[str], budget: float, stdout: Any) -> tuple[int | None, str | None]:
    """Run ``cmd`` in its own process group; past ``budget`` seconds the whole group is killed."""
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=stdout, start_new_session=True)
    try:
        return proc.wait(timeout=budget), None
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        return None, f"timed out after its {budget:.0f} s budget"


def run_tests(budget: float, on_cuda: bool) -> Result:
    """``pytest -m cuda tests/gpu`` in a fresh process; counts and each test's outcome from its JUnit XML."""
    with tempfile.TemporaryDirectory(prefix="gpu_check-") as tmp:
        xml = Path(tmp) / "junit.xml"
        code, error = spawn([sys.executable, "-m", "pytest", "-m", "cuda", "tests/gpu", "-q", "-p", "no:cacheprovider",
                             f"--junitxml={xml}"], budget, stdout=sys.stderr)
        if error or not xml.exists():
            return {"error": error or f"pytest exited with code {code} and wrote no report"}
        cases: dict[str, str] = {}
        for case in ElementTree.parse(xml).iter("testcase"):
            outcome = next((c for c in case if c.tag in ("failure", "error", "skipped")), None)
            cases[case.get("name", "?")] = "passed" if outcome is None else f"{outcome.tag}: {outcome.get('message', '')}"
    counts = {k: sum(v.startswith(k) for v in cases.values()) for k in ("passed", "failure", "error", "skipped")}
    result: Result = {"exit_code": code, **{f"{k}_count": v for k, v in counts.items()}, "cases": cases}
    if code != 0 or (on_cuda and not counts["passed"]):
        result["error"] = f"pytest exited with code {code}: {counts}"
    return result


def run_part(name: str, args: argparse.Namespace, budget: float) -> Result:
    """One part in a fresh process (a crash or hang there loses nothing else); its last stdout line is its JSON."""
    if name == "tests":
        return run_tests(budget, on_cuda=args.device.startswith("cuda"))
    cmd = [sys.executable, __file__, "--part", name, "--device", args.device] + (["--quick"] if args.quick else [])
    cmd += ["--carvana", str(args.carvana)] if args.carvana else []
    with tempfile.TemporaryFile("w+") as out:
        code, error = spawn(cmd, budget, stdout=out)
        out.seek(0)
        lines = out.read().strip().splitlines()
    try:
        return {"error": error} if error else json.loads(lines[-1])
    except (IndexError, ValueError):
        return {"error": f"exited with code {code} without a result (its stderr is above)"}


def child(args: argparse.Namespace) -> int:
    """``--part NAME``: run one part here and print its JSON (an exception becomes ``{"error": ...}``)."""
    t0 = time.perf_counter()
    try:
        with tempfile.TemporaryDirectory(prefix="gpu_check-") as tmp:
            result = PART_FUNCS[args.part](args, QUICK if args.quick else FULL, Path(tmp))
    except Exception as exc:
        traceback.print_exc()
        result = {"error": f"{type(exc).__name__}: {exc}"}
    print(json.dumps({**result, "wall_s": round(time.perf_counter() - t0, 1)}), flush=True)
    return 0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--carvana", type=Path, help="a Carvana folder (train/*.jpg + train_masks/*_mask.gif)")
    p.add_argument("--device", default="cuda", help="cuda (default); cpu runs every part, as a smoke test")
    p.add_argument("--quick", action="store_true", help="tiny models and sizes (a smoke run of the code on a CPU)")
    p.add_argument("--parts", nargs="+", choices=PARTS, default=PARTS, help="run only these parts (default: all)")
    p.add_argument("--list-missing", action="store_true", help="print our imports that fail here, and exit")
    p.add_argument("--part", choices=sorted(PART_FUNCS), help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    args.carvana = args.carvana.resolve() if args.carvana else None  # the parts run in the tree's root
    sys.dont_write_bytecode = True
    os.environ["PYTHONDONTWRITEBYTECODE"] = "1"  # in the child processes too: nothing is written into the tree
    if args.list_missing:
        print(" ".join(missing_imports()))
        return 0
    if args.part:
        return child(args)
    t0, skipped, failed = time.perf_counter(), {}, []
    report: Result = {"check": "gpu_check", "python": platform.python_version(), "quick": args.quick,
                      "wheels": os.environ.get("GPU_CHECK_WHEELS", "not run by gpu_check.sh"), "missing": missing_imports()}
    if report["missing"]:
        print(json.dumps({**report, "skipped": dict.fromkeys(PARTS, "missing imports: " + ", ".join(report["missing"]))}))
        return 2
    cuda = torch.cuda.is_available()
    no_cuda = args.device.startswith("cuda") and not cuda
    report.update(torch=torch.__version__, cuda=torch.version.cuda, cuda_available=cuda,
                  device=torch.cuda.get_device_name(0) if cuda and args.device.startswith("cuda") else "cpu")
    for name in PARTS:
        left = TOTAL_S - (time.perf_counter() - t0)
        if name not in args.parts:
            skipped[name] = "not asked for (--parts)"
        elif no_cuda:
            skipped[name] = f"CUDA is not available here (torch {torch.__version__}, CUDA build {torch.version.cuda})"
        elif name == "classic_carvana" and not args.carvana:
            skipped[name] = "no --carvana DIR given (a Carvana folder: train/*.jpg + train_masks/*_mask.gif)"
        elif left < 20:
            skipped[name] = f"no time left of the {TOTAL_S} s budget"
        else:
            log(f"{name}: up to {min(BUDGET_S[name], left):.0f} s")
            report[name] = run_part(name, args, min(BUDGET_S[name], left))
            failed += [name] if "error" in report[name] else []
    report.update(skipped=skipped, failed=failed, seconds=round(time.perf_counter() - t0, 1))
    print(json.dumps(report))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
