"""One writer at a time: a plan job's lock, the lock that creates an experiment once, and where checkpoints live.

Locks are `flock`s on files under `<checkpoints>/.locks/`: the kernel releases them when their holder dies, even by
SIGKILL, so a lock never outlives a crashed run.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from randnas.record.store import Store

CHECKPOINT_ENV = "RANDNAS_CHECKPOINTS"  # where checkpoints go instead of the project's `checkpoints/`


class RunBusy(RuntimeError):
    """Another live process is running this plan job; nothing was started or changed."""


class CheckpointsUnwritable(RuntimeError):
    """The checkpoint folder cannot be created or written; nothing was started."""


def _writable_folder(path: Path) -> Path:
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise CheckpointsUnwritable(
            f"cannot write checkpoints to {path} ({error.strerror or error}); set {CHECKPOINT_ENV} to a writable "
            "folder or fix its permissions"
        ) from None
    return path


def checkpoint_root(store: Store) -> Path:
    """$RANDNAS_CHECKPOINTS, else `checkpoints/` of the project that holds the store."""
    if os.environ.get(CHECKPOINT_ENV):
        return Path(os.environ[CHECKPOINT_ENV])
    return store.project_root / "checkpoints"


def checkpoint_dir(store: Store, run_id: str) -> Path:
    """Checkpoints live outside the record, keyed by run id."""
    return _writable_folder(checkpoint_root(store) / run_id)


def _lock_file(store: Store, name: str) -> Path:
    return _writable_folder(checkpoint_root(store) / ".locks") / name


@contextmanager
def job_lock(store: Store, plan_key: str, held: str = "") -> Iterator[None]:
    """Hold the plan job's lock for the block: one writer per job, across processes and runners (and, on a
    tracking server, across clones and machines: `randnas.record.claims`).

    A busy lock raises `RunBusy` at once. An empty key (a run outside a plan) takes no lock, and neither does
    `held == plan_key`: the plan runner that started this notebook holds it and passed its key down."""
    if not plan_key or held == plan_key:
        yield
        return
    path = _lock_file(store, hashlib.sha256(plan_key.encode()).hexdigest()[:24] + ".lock")
    try:
        handle = open(path, "a+")  # noqa: SIM115 - held open for the whole block
    except OSError as error:
        raise CheckpointsUnwritable(
            f"cannot write the job lock {path} ({error.strerror or error}); fix its folder's "
            f"permissions or set {CHECKPOINT_ENV} to a writable folder"
        ) from None
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            raise RunBusy(
                f"plan job {plan_key} is being run by {holder}; wait for it to finish (or stop it), then rerun"
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"process {os.getpid()} since {time.strftime('%Y-%m-%d %H:%M:%S')}")
        handle.flush()
        if store.folder is None:  # a tracking server other clones and machines share: a claim through it too
            from randnas.record.claims import server_claim

            with server_claim(store.client(), plan_key):
                yield
        else:
            yield
    finally:
        handle.close()  # closing the file releases the lock


@contextmanager
def experiment_lock(store: Store) -> Iterator[None]:
    """Creating an experiment, one process at a time per file store, waiting rather than failing (a tracking
    server refuses a second experiment of the same name itself)."""
    if store.folder is None:
        yield
        return
    path = _lock_file(store, "experiments-" + hashlib.sha256(str(store.folder).encode()).hexdigest()[:16] + ".lock")
    with open(path, "a+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield
