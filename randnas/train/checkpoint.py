"""One checkpoint format for every trainer: weights, optimizer, schedule, every RNG state, position.

A run that is killed and resumed from its last checkpoint continues exactly as if it had not
stopped: the global generators (python, numpy, torch, CUDA) and the run's own generators (the
architecture sampler's numpy Generator, say) are restored with the weights.
"""

from __future__ import annotations

import os
import pickle
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch

from randnas.repro import capture_rng_state, restore_rng_state

CHECKPOINT_NAME = "last.pt"


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
    """Write `folder/last.pt` atomically (a kill mid-write leaves the previous checkpoint intact).

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
    os.replace(partial, path)
    return path


def read_checkpoint(path: Path, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """The checkpoint's contents, read with `weights_only=True`: tensors, numbers and containers only, so
    a planted file cannot run code; a damaged or foreign file is named with what to do."""
    try:
        return torch.load(path, map_location=map_location, weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, EOFError, ValueError, KeyError) as error:  # all mean: not ours, or damaged
        reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise RuntimeError(f"checkpoint {path} cannot be read as a randnas checkpoint ({reason[:200]}); move it "
                           "away or delete it, then rerun: the run restarts from scratch") from None


def load_checkpoint(
    folder: Path,
    *,
    modules: Mapping[str, Any],
    generators: Mapping[str, np.random.Generator | torch.Generator] | None = None,
    map_location: str | torch.device = "cpu",
) -> tuple[int, dict[str, Any]] | None:
    """Restore everything `save_checkpoint` wrote; returns (finished epochs, extra), or None if absent."""
    path = folder / CHECKPOINT_NAME
    if not path.is_file():
        return None
    payload = read_checkpoint(path, map_location)
    missing = set(modules) - set(payload["modules"])
    if missing:
        raise RuntimeError(f"checkpoint {path} lacks {sorted(missing)}; delete it to start the run afresh")
    for name, module in modules.items():
        module.load_state_dict(payload["modules"][name])
    for name, generator in (generators or {}).items():
        _set_generator_state(generator, payload["generators"][name])
    restore_rng_state(payload["rng"])
    return payload["epoch"], payload["extra"]


def resume_history(
    folder: Path | None,
    *,
    modules: Mapping[str, Any],
    generators: Mapping[str, np.random.Generator | torch.Generator] | None = None,
    map_location: str | torch.device = "cpu",
) -> tuple[int, list[dict]]:
    """(finished epochs, per-epoch history) restored from `folder`'s checkpoint; (0, []) without one."""
    restored = None if folder is None else load_checkpoint(folder, modules=modules, generators=generators, map_location=map_location)
    if restored is None:
        return 0, []
    epoch, extra = restored
    return epoch, list(extra["history"])
