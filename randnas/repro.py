"""Seeds, determinism, RNG states, digests and the run fingerprint.

Exact reproducibility (the paper's section 2.3 and the book's "Reproducibility" chapter) means: the same
seed on the same hardware and software gives the same digests. Everything here serves that claim:
one function seeds every generator, one captures and restores every generator's state (so a resumed run
continues exactly), digests turn weights and metric series into short comparable strings, and the
fingerprint records what "the same hardware and software" was.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import os
import platform
import random
import struct
import subprocess
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch

# Packages whose versions decide whether two runs can be bit-identical.
FINGERPRINT_PACKAGES = ("randnas", "torch", "torchvision", "numpy", "scipy", "mlflow", "papermill")


def seed_everything(seed: int, deterministic: bool = True) -> None:
    """Seed python `random`, numpy's legacy global generator and torch (CPU and every CUDA device).

    The released DARTS code left python `random` unseeded and cuDNN in benchmark mode, which users
    reported as "same seed, different cells" (reference section 10); both are fixed here.
    """
    if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)  # also seeds every CUDA device
    if deterministic:
        set_deterministic()


def set_deterministic() -> None:
    """Ask torch for deterministic kernels; cuBLAS needs its workspace setting before first use."""
    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    torch.backends.cudnn.benchmark = False
    torch.backends.cudnn.deterministic = True
    # warn_only: a few CUDA backward kernels (adaptive average pooling among them) have no deterministic
    # version; they warn instead of stopping a run, and the fingerprint records the device.
    torch.use_deterministic_algorithms(True, warn_only=True)


def numpy_generator(seed: int, *stream: int) -> np.random.Generator:
    """An explicit numpy Generator for one purpose; `stream` keeps purposes independent of each other."""
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence([seed, *stream])))


def capture_rng_state() -> dict[str, Any]:
    """Every global generator's state, in a form `torch.save` stores, `torch.load(weights_only=True)` reads
    back (tensors, numbers and containers only) and `restore_rng_state` restores."""
    kind, keys, position, has_gauss, cached_gaussian = np.random.get_state()
    state: dict[str, Any] = {
        "python": random.getstate(),
        "numpy": (kind, torch.from_numpy(keys.astype(np.int64)), int(position), int(has_gauss), float(cached_gaussian)),
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def restore_rng_state(state: Mapping[str, Any]) -> None:
    random.setstate(state["python"])
    kind, keys, position, has_gauss, cached_gaussian = state["numpy"]
    keys = keys.numpy() if isinstance(keys, torch.Tensor) else np.asarray(keys)
    np.random.set_state((kind, keys.astype(np.uint32), position, has_gauss, cached_gaussian))
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def state_dict_digest(state_dict: Mapping[str, torch.Tensor]) -> str:
    """sha256 over names, dtypes, shapes and bytes of every tensor, in sorted name order."""
    sha = hashlib.sha256()
    for name in sorted(state_dict):
        tensor = state_dict[name].detach().to("cpu").contiguous()
        sha.update(name.encode())
        sha.update(str(tensor.dtype).encode())
        sha.update(str(tuple(tensor.shape)).encode())
        # view as bytes so every dtype (bf16 included) hashes its exact bit pattern
        sha.update(tensor.reshape(-1).view(torch.uint8).numpy().tobytes())
    return sha.hexdigest()


def metric_series_digest(values: Iterable[float]) -> str:
    """sha256 over the exact float64 bit patterns of a metric series (not a rounded print of it)."""
    sha = hashlib.sha256()
    for value in values:
        sha.update(struct.pack("<d", float(value)))
    return sha.hexdigest()


def file_sha256(path: str | Path, chunk_bytes: int = 1 << 20) -> str:
    sha = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(chunk_bytes):
            sha.update(chunk)
    return sha.hexdigest()


# what a plan run itself writes into the checkout (the record and its executed copies): not code, so a plan's
# later jobs are not marked as made from a changed tree by the jobs before them
RECORD_PATHS = ("mlruns", "book/runs")


def git_state(repo: str | Path | None = None) -> dict[str, str]:
    """The commit and whether the work tree's code differs from it (the record's own files, `RECORD_PATHS`, left
    out); 'unknown' outside a git checkout."""
    cwd = Path(repo) if repo else Path(__file__).resolve().parent

    def git(*args: str) -> str | None:
        try:
            done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, timeout=20, check=False)
        except (OSError, subprocess.TimeoutExpired):
            return None
        return done.stdout.strip() if done.returncode == 0 else None

    commit = git("rev-parse", "HEAD")
    if commit is None:
        return {"git_commit": "unknown", "git_dirty": "unknown"}
    status = git(
        "status", "--porcelain", "--untracked-files=no", "--", ":/", *(f":(top,exclude){p}" for p in RECORD_PATHS)
    )
    return {"git_commit": commit, "git_dirty": "unknown" if status is None else str(bool(status)).lower()}


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _version(package: str) -> str:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def fingerprint(dataset_checksums: Mapping[str, str] | None = None) -> dict[str, str]:
    """What decides bit-identical results: code version, packages, devices and data.

    Keys are flat strings so they can be MLflow tags as they are.
    """
    info: dict[str, str] = dict(git_state())
    info["python"] = platform.python_version()
    info["platform"] = platform.platform()
    info["cpu"] = _cpu_model()
    for package in FINGERPRINT_PACKAGES:
        info[f"version.{package}"] = _version(package)
    info["version.torch"] = torch.__version__  # the build tag (+cu130, +cpu) matters too
    info["torch_cuda"] = str(torch.version.cuda)
    info["cudnn"] = str(torch.backends.cudnn.version()) if torch.backends.cudnn.is_available() else "none"
    info["gpu"] = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "none"
    info["torch_threads"] = str(torch.get_num_threads())
    for name, checksum in sorted((dataset_checksums or {}).items()):
        info[f"dataset.{name}"] = checksum
    return info


def code_provenance(machine: dict) -> str:
    """The code a result was measured with, from its fingerprint: its commit, and whether the work tree held changes
    no commit has (such a result cannot be rerun exactly from the history, and says so wherever it is cited)."""
    commit = f"commit {str(machine.get('git_commit', '?'))[:7]}"
    return commit + (" with uncommitted changes" if machine.get("git_dirty") == "true" else "")
