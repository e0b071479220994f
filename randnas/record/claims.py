"""One writer per plan job across machines: a claim taken through the tracking server itself.

The file lock (`locks.job_lock`) keeps two processes of one clone apart; two clones or two machines logging to
one tracking server share no file, and both trained into one run (59 values over 30 steps). A claim is an MLflow
experiment named `randnas-claims/<job hash>/<generation>`: the server creates a name once (its database's unique
constraint), so of two runners creating the same generation exactly one succeeds. The owner keeps a heartbeat tag
fresh while it runs and marks the claim released when it ends; a claim whose heartbeat is older than
`CLAIM_EXPIRY_S` (its machine died), or one made on this machine by a process that is gone (a server lost
mid-job left it unreleased), is taken over by creating the next generation, again atomically. Released and
expired claims are MLflow-deleted, so the UI's experiment list shows only live ones.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from randnas.record.locks import RunBusy
from randnas.record.store import check_reachable

CLAIM_PREFIX = "randnas-claims/"
CLAIM_EXPIRY_S = 180.0  # a heartbeat older than this: the owner is gone
HEARTBEAT_S = 30.0
OWNER_TAG, HEARTBEAT_TAG, RELEASED_TAG, JOB_TAG = (
    "randnas.claim.owner",
    "randnas.claim.heartbeat",
    "randnas.claim.released",
    "randnas.claim.job",
)
HOST_TAG, PID_TAG = "randnas.claim.host", "randnas.claim.pid"


class ClaimBusy(RunBusy):
    """Another live runner, on any machine, holds the job's claim; nothing was started or changed."""


def _claims(client: Any, plan_key: str) -> list[tuple[int, Any]]:
    """(generation, experiment) of every claim ever made on the job, newest generation first."""
    from mlflow.entities import ViewType

    prefix = f"{CLAIM_PREFIX}{hashlib.sha256(plan_key.encode()).hexdigest()[:24]}/"
    found = client.search_experiments(view_type=ViewType.ALL, filter_string=f"name LIKE '{prefix}%'")
    claims = [(int(e.name.rsplit("/", 1)[1]), e) for e in found if e.name.rsplit("/", 1)[1].isdigit()]
    return sorted(claims, key=lambda claim: claim[0], reverse=True)


def _gone_from_this_host(tags: dict) -> bool:
    """A claim made on this machine by a process that is no longer running, seen at once rather than after the
    heartbeat expires: after a lost server left the claim unreleased, the rerun need not wait."""
    if tags.get(HOST_TAG) != socket.gethostname() or not str(tags.get(PID_TAG, "")).isdigit():
        return False
    pid = int(tags[PID_TAG])
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False  # alive, another user's
    return False


def _live_holder(experiment: Any, now: float) -> str:
    """Who holds this claim, or "" when it is released, its heartbeat has expired, or its owner on this machine
    is gone."""
    tags = experiment.tags
    if tags.get(RELEASED_TAG) == "true" or _gone_from_this_host(tags):
        return ""
    beat = float(tags.get(HEARTBEAT_TAG, "0") or 0)
    return tags.get(OWNER_TAG, "another runner") if now - beat < CLAIM_EXPIRY_S else ""


def take_claim(client: Any, plan_key: str, owner: str) -> str:
    """Create the job's next claim generation and return its experiment id; ClaimBusy when a live one exists or
    another runner created that generation first."""
    from mlflow.exceptions import MlflowException

    claims = _claims(client, plan_key)
    if claims and (holder := _live_holder(claims[0][1], time.time())):
        raise ClaimBusy(f"plan job {plan_key} is being run by {holder}; wait for it to finish (or stop it), then rerun")
    generation = claims[0][0] + 1 if claims else 1
    name = f"{CLAIM_PREFIX}{hashlib.sha256(plan_key.encode()).hexdigest()[:24]}/{generation}"
    tags = {
        OWNER_TAG: owner,
        HEARTBEAT_TAG: f"{time.time():.3f}",
        JOB_TAG: plan_key,
        HOST_TAG: socket.gethostname(),
        PID_TAG: str(os.getpid()),
    }
    try:
        experiment_id = client.create_experiment(name, tags=tags)
    except MlflowException as error:
        if "RESOURCE_ALREADY_EXISTS" not in str(error.error_code) and "already exists" not in str(error):
            raise
        raise ClaimBusy(
            f"plan job {plan_key} was claimed by another runner a moment ago; wait for it to finish, then rerun"
        ) from None
    for _, stale in claims:  # earlier generations are done with: out of the UI's list
        if stale.lifecycle_stage == "active":
            client.delete_experiment(stale.experiment_id)
    return experiment_id


def release_claim(client: Any, experiment_id: str) -> None:
    client.set_experiment_tag(experiment_id, RELEASED_TAG, "true")
    client.delete_experiment(experiment_id)


def _owner() -> str:
    return f"{socket.gethostname()} process {os.getpid()} since {time.strftime('%Y-%m-%d %H:%M:%S')}"


@contextmanager
def server_claim(client: Any, plan_key: str) -> Iterator[None]:
    """Hold the job's claim on a tracking server for the block, its heartbeat kept fresh by a thread."""
    experiment_id = take_claim(client, plan_key, _owner())
    done = threading.Event()

    def beat() -> None:
        while not done.wait(HEARTBEAT_S):
            try:
                client.set_experiment_tag(experiment_id, HEARTBEAT_TAG, f"{time.time():.3f}")
            except Exception:  # noqa: BLE001 - a lost server fails the job itself; the beat only stops
                return

    thread = threading.Thread(target=beat, daemon=True)
    thread.start()
    try:
        yield
    finally:
        done.set()
        with contextlib.suppress(Exception):  # a server gone (not waited on): the claim expires on its own
            check_reachable(client.tracking_uri)
            release_claim(client, experiment_id)
