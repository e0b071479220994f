"""Where work runs: in this process, in a local process pool, or on Ray (local or a cluster).

One vocabulary for the plan runner and ASHA. A *job* is one call `function(*arguments)`: one notebook
of a plan (the runner's `execute_job`), or one trial trained from one rung to the next (ASHA's
`Trials`). A *backend* runs jobs: `submit` hands back a handle, `result(handle)` its value,
`wait_any(handles)` the first to finish, `close()` releases the workers. Which results are consumed in
what order is the caller's business (the plan runner: an entry's jobs in plan order; ASHA: its clock).
Every backend takes the same picklable function and arguments, so the backend never changes what a
job computes. Ray is started in one place, `start_ray`.

A worker that dies mid-job (killed, out of memory) loses only that job: it is run again (a training
resumes from its last epoch checkpoint). The process pool does this itself (a dead worker breaks a
`ProcessPoolExecutor`, so the pool is rebuilt and every unfinished job resubmitted); Ray does it with
its own task retries.
"""

from __future__ import annotations

import concurrent.futures
import ctypes
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from typing import Any, Protocol

BACKEND_NAMES = ("inprocess", "process", "ray")


class WorkerLost(RuntimeError):
    """A job kept losing its worker; whatever ran it stops (a search can be resumed from its event log)."""


class Backend(Protocol):
    def submit(self, function: Callable[..., Any], *arguments: Any) -> Any: ...

    def result(self, handle: Any) -> Any: ...

    def wait_any(self, handles: Sequence[Any]) -> Any: ...

    def close(self) -> None: ...


@dataclass
class _Call:
    function: Callable[..., Any]
    arguments: tuple
    future: Any = None
    attempts: int = 0
    value: Any = field(default=None, repr=False)
    done: bool = False


def start_ray(address: str = "", num_cpus: float | None = None) -> bool:
    """Connect to the Ray cluster at `address`, or start a private local Ray (with `num_cpus` CPUs; None:
    all of them); returns whether this call started it (and so should shut it down)."""
    import ray

    if ray.is_initialized():
        return False
    if address:
        ray.init(address=address, log_to_driver=False, configure_logging=False)
    else:
        os.environ.setdefault("RAY_AUTH_MODE", "disabled")  # a private local Ray, reachable only from here
        ray.init(
            num_cpus=num_cpus, num_gpus=None, include_dashboard=False, log_to_driver=False, configure_logging=False
        )
    return True


def _run_call(function: Callable[..., Any], arguments: tuple, threads: int | None) -> Any:
    """Run a job with `threads` torch threads (None: as they are): CPU results depend on the thread count."""
    if threads is None:
        return function(*arguments)
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        return function(*arguments)
    finally:
        torch.set_num_threads(before)


class InProcessBackend:
    """Runs each job in this process when its result is first needed (first submitted, first run), with
    `threads` torch threads as a pool worker would have."""

    def __init__(self, threads: int | None = None) -> None:
        self.threads = threads

    def submit(self, function: Callable[..., Any], *arguments: Any) -> _Call:
        return _Call(function, arguments)

    def result(self, handle: _Call) -> Any:
        if not handle.done:
            handle.value, handle.done = _run_call(handle.function, handle.arguments, self.threads), True
        return handle.value

    def wait_any(self, handles: Sequence[_Call]) -> _Call:
        return next((h for h in handles if h.done), handles[0])

    def close(self) -> None:
        pass


def die_with_parent() -> None:
    """Ask Linux to SIGKILL this process when its parent dies (a killed runner or search leaves no workers
    behind, each holding memory and writing checkpoints); elsewhere a no-op."""
    if not sys.platform.startswith("linux"):
        return
    pr_set_pdeathsig = 1
    # (it runs between fork and exec of a kernel, so it imports nothing)
    ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGKILL)


def stop_group_when_parent_dies(group: int, parent: int, grace_s: float = 10.0) -> None:
    """Wait until `parent` is gone, however it ended (a SIGKILL leaves it no cleanup of its own), then stop the
    process group `group`: SIGTERM, and SIGKILL what is left after `grace_s`."""
    while os.getppid() == parent:
        time.sleep(0.5)
    for stop, wait_s in ((signal.SIGTERM, grace_s), (signal.SIGKILL, 0.0)):
        try:
            os.killpg(group, stop)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + wait_s
        while time.monotonic() < deadline:
            try:
                os.killpg(group, 0)
            except ProcessLookupError:
                return
            time.sleep(0.2)


def watch_group(group: int) -> subprocess.Popen:
    """A small process that stops the process group `group` once this process is gone: for servers started in a
    group of their own (they start workers of their own), which a parent-death signal would not all reach."""
    code = (
        f"from randnas.backends import stop_group_when_parent_dies; stop_group_when_parent_dies({group}, {os.getpid()})"
    )
    # a session of its own: Ctrl-C in the terminal reaches this process, never the watcher
    return subprocess.Popen(
        [sys.executable, "-c", code],
        start_new_session=True,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _start_worker(threads: int) -> None:
    die_with_parent()
    import torch

    torch.set_num_threads(threads)


class ProcessPoolBackend:
    """`workers` local processes, each with `threads` torch threads; a dead worker's jobs are rerun."""

    def __init__(self, workers: int, threads: int = 1, max_retries: int = 2) -> None:
        self.workers, self.threads, self.max_retries = workers, threads, max_retries
        self.live: list[_Call] = []
        self.pool = self._new_pool()

    def _new_pool(self) -> concurrent.futures.ProcessPoolExecutor:
        import multiprocessing

        # spawn: a forked torch process can deadlock on the parent's thread pools
        return concurrent.futures.ProcessPoolExecutor(
            self.workers,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_start_worker,
            initargs=(self.threads,),
        )

    def _start(self, call: _Call) -> None:
        call.attempts += 1
        if call.attempts > self.max_retries + 1:
            raise WorkerLost(
                f"{call.arguments[0] if call.arguments else call.function.__name__} lost its worker "
                f"{call.attempts - 1} "
                "times; rerun to resume it (a search resumes from its event log), or check the machine's memory"
            )
        call.future = self.pool.submit(call.function, *call.arguments)

    def submit(self, function: Callable[..., Any], *arguments: Any) -> _Call:
        call = _Call(function, arguments)
        self.live.append(call)
        self._start(call)
        return call

    def _recover(self) -> None:
        """The pool broke: finished results stay, every other live job starts again in a new pool."""
        self.pool.shutdown(wait=True, cancel_futures=True)
        self.pool = self._new_pool()
        for call in self.live:
            if not (call.future.done() and not call.future.cancelled() and call.future.exception() is None):
                self._start(call)

    def result(self, handle: _Call) -> Any:
        while True:
            try:
                value = handle.future.result()
            except BrokenProcessPool:
                self._recover()
                continue
            self.live.remove(handle)
            return value

    def wait_any(self, handles: Sequence[_Call]) -> _Call:
        while True:
            by_future = {call.future: call for call in handles}
            done, _ = concurrent.futures.wait(by_future, return_when=concurrent.futures.FIRST_COMPLETED)
            finished = [by_future[f] for f in done if not isinstance(f.exception(), BrokenProcessPool)]
            if finished:
                return min(finished, key=handles.index)
            self._recover()

    def close(self) -> None:
        self.pool.shutdown(wait=True, cancel_futures=True)


class RayBackend:
    """Jobs as Ray tasks: a local Ray with `workers` x `cpus_per_job` CPUs (workers None: all of this
    machine's), or the cluster at `address`; each job reserves `cpus_per_job` CPUs and `gpus_per_job`
    GPUs and runs with `threads` torch threads. Ray reruns a task whose worker died, up to `max_retries`."""

    def __init__(
        self,
        workers: int | None,
        threads: int | None = 1,
        address: str = "",
        gpus_per_job: float = 0.0,
        max_retries: int = 2,
        cpus_per_job: float | None = None,
    ) -> None:
        import ray

        self.ray = ray
        cpus_per_job = cpus_per_job if cpus_per_job is not None else float(threads or 1)
        self.started_here = start_ray(address, None if workers is None else workers * cpus_per_job)
        self.threads = threads
        self.remote = ray.remote(num_cpus=cpus_per_job, num_gpus=gpus_per_job, max_retries=max_retries)(_run_call)

    def submit(self, function: Callable[..., Any], *arguments: Any) -> Any:
        return self.remote.remote(function, arguments, self.threads)

    def result(self, handle: Any) -> Any:
        try:
            return self.ray.get(handle)
        except (self.ray.exceptions.WorkerCrashedError, self.ray.exceptions.NodeDiedError) as error:
            raise WorkerLost(f"a Ray worker died more often than its retries allow: {error}") from error

    def wait_any(self, handles: Sequence[Any]) -> Any:
        done, _ = self.ray.wait(list(handles), num_returns=1)
        return done[0]

    def close(self) -> None:
        if self.started_here:
            self.ray.shutdown()


def make_backend(name: str, workers: int, threads: int = 1, address: str = "", gpus_per_job: float = 0.0) -> Backend:
    """ASHA's backends by name, with `workers` parallel jobs of `threads` torch threads each."""
    if name not in BACKEND_NAMES:
        raise ValueError(f"unknown ASHA backend {name!r}; choose one of {', '.join(BACKEND_NAMES)}")
    if workers < 1:
        raise ValueError(f"workers must be at least 1, got {workers}")
    if name == "inprocess":
        return InProcessBackend(threads)
    if name == "process":
        return ProcessPoolBackend(workers, threads)
    if gpus_per_job == 0 and not address and local_gpus() > 0:
        gpus_per_job = 1.0  # one GPU per worker when this machine has GPUs
    return RayBackend(workers, threads, address, gpus_per_job)


def local_gpus() -> int:
    import torch

    return torch.cuda.device_count()
