"""One checkpoint format for every trainer: weights, optimizer, schedule, every RNG state, position.

A run that is killed and resumed from its last checkpoint continues exactly as if it had not
stopped: the global generators (python, numpy, torch, CUDA) and the run's own generators (the
architecture sampler's numpy Generator, say) are restored with the weights.

Two checkpoints are kept, `last.pt` and the one before it, `previous.pt`. A checkpoint that cannot be
read (truncated by a full disk, damaged, or not ours, such as a planted pickle, which `weights_only`
loading refuses without running it) is named in a warning, moved aside to `<name>.damaged`, and the
run resumes from the other one, or from scratch when neither is readable; nothing is deleted.
"""

from __future__ import annotations

import os
import pickle
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch

from randnas.repro import capture_rng_state, restore_rng_state

CHECKPOINT_NAME = "last.pt"
PREVIOUS_NAME = "previous.pt"
DAMAGED_SUFFIX = ".damaged"


class CheckpointDamaged(RuntimeError):
    """A checkpoint file that cannot be read as a randnas checkpoint."""


def _generator_state(generator: np.random.Generator | torch.Generator) -> Any:
    if isinstance(generator, np.random.Generator):
        return generator.bit_generator.state
    return generator.get_state()


def _set_generator_state(generator: np.random.Generator | torch.Generator, state: Any) -> None:
    if isinstance(generator, np.random.Generator):
        generator.bit_generator.state = state
    else:
        generator.set_state(state)


def save_checkpoint(
    folder: Path,
    *,
    epoch: int,
    modules: Mapping[str, Any],
    generators: Mapping[str, np.random.Generator | torch.Generator] | None = None,
    extra: Mapping[str, Any] | None = None,
) -> Path:
    """Write `folder/last.pt` atomically, keeping the checkpoint it replaces as `previous.pt` (a kill
    mid-write leaves both earlier checkpoints intact).

    `modules` are objects with `state_dict()` (model, optimizer, scheduler); `epoch` counts finished epochs.
    """
    folder.mkdir(parents=True, exist_ok=True)
    payload = {
        "epoch": epoch,
        "modules": {name: module.state_dict() for name, module in modules.items()},
        "rng": capture_rng_state(),
        "generators": {name: _generator_state(g) for name, g in (generators or {}).items()},
        "extra": dict(extra or {}),
    }
    path = folder / CHECKPOINT_NAME
    partial = folder / f".{CHECKPOINT_NAME}.partial"
    torch.save(payload, partial)
    if path.is_file():
        os.replace(path, folder / PREVIOUS_NAME)
    os.replace(partial, path)
    return path


def read_checkpoint(path: Path, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """The checkpoint's contents, read with `weights_only=True`: tensors, numbers and containers only, so
    a planted file cannot run code; a damaged or foreign file raises `CheckpointDamaged` naming it."""
    try:
        payload = torch.load(path, map_location=map_location, weights_only=True)
    except (
        pickle.UnpicklingError,
        RuntimeError,
        EOFError,
        ValueError,
        KeyError,
        IndexError,  # a text file: the unpickler pops an empty stack
        TypeError,
        AttributeError,
        OverflowError,
    ) as error:  # all mean: not ours, or damaged
        reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise CheckpointDamaged(f"checkpoint {path} cannot be read as a randnas checkpoint ({reason[:200]})") from None
    if not isinstance(payload, dict) or not {"epoch", "modules", "rng", "generators", "extra"} <= set(payload):
        raise CheckpointDamaged(f"checkpoint {path} cannot be read as a randnas checkpoint (not a randnas payload)")
    return payload


def _set_aside(path: Path, error: CheckpointDamaged) -> None:
    aside = path.with_name(path.name + DAMAGED_SUFFIX)
    os.replace(path, aside)
    warnings.warn(f"{error}; moved it to {aside} and resume from the checkpoint before it", stacklevel=3)


def latest_checkpoint(folder: Path, map_location: str | torch.device = "cpu") -> dict[str, Any] | None:
    """The newest readable checkpoint in `folder` (last, then previous); unreadable ones are set aside."""
    for name in (CHECKPOINT_NAME, PREVIOUS_NAME):
        path = folder / name
        if not path.is_file():
            continue
        try:
            return read_checkpoint(path, map_location)
        except CheckpointDamaged as error:
            _set_aside(path, error)
    return None


def restore_checkpoint(
    payload: Mapping[str, Any],
    *,
    modules: Mapping[str, Any],
    generators: Mapping[str, np.random.Generator | torch.Generator] | None = None,
) -> tuple[int, dict[str, Any]]:
    """Load a checkpoint's payload into `modules` and `generators` and restore the global RNG states;
    returns (finished epochs, extra)."""
    missing = set(modules) - set(payload["modules"])
    if missing:
        raise RuntimeError(f"the checkpoint lacks {sorted(missing)}; delete the run's checkpoints to start it afresh")
    for name, module in modules.items():
        module.load_state_dict(payload["modules"][name])
    for name, generator in (generators or {}).items():
        _set_generator_state(generator, payload["generators"][name])
    restore_rng_state(payload["rng"])
    return payload["epoch"], payload["extra"]


def load_checkpoint(
    folder: Path,
    *,
    modules: Mapping[str, Any],
    generators: Mapping[str, np.random.Generator | torch.Generator] | None = None,
    map_location: str | torch.device = "cpu",
) -> tuple[int, dict[str, Any]] | None:
    """Restore everything `save_checkpoint` wrote; returns (finished epochs, extra), or None if absent."""
    payload = latest_checkpoint(folder, map_location)
    if payload is None:
        return None
    return restore_checkpoint(payload, modules=modules, generators=generators)
