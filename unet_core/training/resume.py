"""Resumable training state: optimizer tensors and loop counters stored beside the weights (no pickle)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch

from unet_core.errors import CheckpointError
from unet_core.model.checkpoint import OPTIM_PREFIX, RESUME_KEY, load_checkpoint_tensors


def trained_path_for(out: Path) -> Path:
    """``model.safetensors`` -> ``model.trained.safetensors``: a fine-tune's best epoch when no epoch beat the
    starting weights (``out`` then holds the start), so what is offered instead is the best that was trained."""
    return out.with_name(out.stem + ".trained" + (out.suffix or ".safetensors"))


def last_path_for(out: Path) -> Path:
    """``model.safetensors`` -> ``model.last.safetensors`` (the resumable state of the same run)."""
    return out.with_name(out.stem + ".last" + (out.suffix or ".safetensors"))


def resume_tensors(optimizer: torch.optim.Optimizer, counters: dict[str, Any]) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    """Flatten an optimizer's state to named tensors plus JSON metadata (param groups and counters)."""
    sd = optimizer.state_dict()
    tensors: dict[str, torch.Tensor] = {}
    scalars: dict[str, dict[str, float]] = {}
    for idx, state in sd["state"].items():
        for key, value in state.items():
            if isinstance(value, torch.Tensor):
                tensors[f"{OPTIM_PREFIX}{idx}.{key}"] = value
            else:
                scalars.setdefault(str(idx), {})[key] = float(value)
    groups = [{k: v for k, v in g.items()} for g in sd["param_groups"]]
    payload = {"param_groups": groups, "scalars": scalars, "counters": counters}
    return tensors, {RESUME_KEY: json.dumps(payload, default=float)}


def require_resume_state(out: Path) -> Path:
    """The ``.last`` file a resumed run of ``out`` continues from; ``CheckpointError`` naming it if absent.

    Without it there is nothing to resume: starting afresh would silently replace ``out`` (the best
    checkpoint of the earlier run), so nothing is written.
    """
    last = last_path_for(Path(out))
    if not last.is_file():
        raise CheckpointError(
            "cannot resume: no such file (a run writes it after each epoch); "
            "train without --resume to start afresh",
            last,
        )
    return last


def _counters(raw: Any) -> dict[str, Any]:
    """Validated loop counters of a resume payload (``ValueError``/``TypeError``/``KeyError`` if not)."""
    if not isinstance(raw, dict):
        raise TypeError("counters must be an object")
    epoch, step, elapsed = int(raw["epoch"]), int(raw["global_step"]), float(raw["elapsed"])
    if epoch < 0 or step < 0 or not elapsed >= 0:
        raise ValueError(f"negative counters (epoch {epoch}, step {step}, elapsed {elapsed})")
    best = raw.get("best_val_dice")
    history = raw.get("history", [])
    if not isinstance(history, list) or not all(isinstance(r, dict) for r in history):
        raise TypeError("history must be a list of objects")
    return {**raw, "epoch": epoch, "global_step": step, "elapsed": elapsed,
            "best_val_dice": None if best is None else float(best), "history": history}


def _optimizer_state(
    tensors: dict[str, torch.Tensor], payload: dict[str, Any], optimizer: torch.optim.Optimizer
) -> dict[str, Any]:
    """The optimizer state dict of a payload, checked against ``optimizer``'s parameters."""
    groups = payload["param_groups"]
    ours = optimizer.param_groups
    if not isinstance(groups, list) or len(groups) != len(ours) or not all(
        isinstance(g, dict) and len(g["params"]) == len(o["params"]) for g, o in zip(groups, ours, strict=True)
    ):
        raise ValueError("optimizer parameter groups do not match this model")
    params = [p for group in ours for p in group["params"]]
    state: dict[int, dict[str, Any]] = {}
    for name, value in tensors.items():
        if name.startswith(OPTIM_PREFIX):
            idx_text, key = name[len(OPTIM_PREFIX):].split(".", 1)
            idx = int(idx_text)
            if not 0 <= idx < len(params):
                raise ValueError(f"optimizer state for unknown parameter {idx}")
            if value.numel() > 1 and tuple(value.shape) != tuple(params[idx].shape):
                raise ValueError(f"optimizer state {name} has shape {tuple(value.shape)}, "
                                 f"the parameter {tuple(params[idx].shape)}")
            state.setdefault(idx, {})[key] = value
    scalars = payload.get("scalars", {})
    if not isinstance(scalars, dict):
        raise TypeError("scalars must be an object")
    for idx, scal in scalars.items():
        state.setdefault(int(idx), {}).update({str(k): float(v) for k, v in scal.items()})
    return {"state": state, "param_groups": groups}


def load_resume_state(path: Path, model: torch.nn.Module, optimizer: torch.optim.Optimizer) -> dict[str, Any]:
    """Load weights and optimizer state from a ``.last`` checkpoint; returns the validated loop counters.

    Anything missing, malformed or not matching ``model`` raises one ``CheckpointError`` naming ``path``.
    """
    tensors, meta = load_checkpoint_tensors(path)
    if RESUME_KEY not in meta:
        raise CheckpointError("has no resumable training state (not a .last checkpoint)", path)
    try:
        payload = json.loads(meta[RESUME_KEY])
        if not isinstance(payload, dict):
            raise TypeError("resume state must be an object")
        counters = _counters(payload["counters"])
        optim_state = _optimizer_state(tensors, payload, optimizer)
    except (KeyError, ValueError, TypeError, AttributeError, IndexError) as exc:
        detail = f"missing {exc}" if isinstance(exc, KeyError) else (str(exc).splitlines() or [type(exc).__name__])[0]
        raise CheckpointError(f"corrupt resume state ({detail})", path) from exc
    weights = {k: v for k, v in tensors.items() if not k.startswith(OPTIM_PREFIX)}
    try:
        model.load_state_dict(weights)
        optimizer.load_state_dict(optim_state)
    except (RuntimeError, ValueError, KeyError) as exc:
        raise CheckpointError(f"resume state does not match this model ({str(exc).splitlines()[0]})", path) from exc
    return counters
