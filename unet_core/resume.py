"""Resumable training state: optimizer tensors and loop counters stored beside the weights (no pickle)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch

from unet_core.checkpoint import OPTIM_PREFIX, load_checkpoint_tensors
from unet_core.errors import CheckpointError

RESUME_KEY = "resume"


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


def load_resume_state(path: Path, model: torch.nn.Module, optimizer: torch.optim.Optimizer) -> dict[str, Any]:
    """Load weights and optimizer state from a ``.last`` checkpoint; returns the loop counters."""
    tensors, meta = load_checkpoint_tensors(path)
    if RESUME_KEY not in meta:
        raise CheckpointError("has no resumable training state (not a .last checkpoint)", path)
    payload = json.loads(meta[RESUME_KEY])
    weights = {k: v for k, v in tensors.items() if not k.startswith(OPTIM_PREFIX)}
    try:
        model.load_state_dict(weights)
    except RuntimeError as exc:
        raise CheckpointError(f"resume state does not match this model ({str(exc).splitlines()[0]})", path) from exc
    state: dict[int, dict[str, Any]] = {}
    for name, value in tensors.items():
        if name.startswith(OPTIM_PREFIX):
            idx, key = name[len(OPTIM_PREFIX):].split(".", 1)
            state.setdefault(int(idx), {})[key] = value
    for idx, scal in payload.get("scalars", {}).items():
        state.setdefault(int(idx), {}).update(scal)
    optimizer.load_state_dict({"state": state, "param_groups": payload["param_groups"]})
    return dict(payload["counters"])
