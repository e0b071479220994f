"""A toy ASHA trial, picklable so that process pools and Ray can run it: each trial has a random
quality, its value grows with the resource, and it can kill its own worker once to test retries."""

from __future__ import annotations

import os
import signal
import time
from dataclasses import dataclass

import numpy as np

from randnas.search.asha.scheduler import Suggestion


def quality(seed: int, trial: int) -> float:
    return float(np.random.default_rng([seed, trial]).random())


@dataclass(frozen=True)
class ToyJob:
    seed: int = 0
    kill_trial: int = -1  # this trial's first attempt kills its worker process
    marker_dir: str = ""
    sleep: float = 0.0
    kill_always: bool = False  # kill_trial kills its worker on every attempt

    def __call__(self, suggestion: Suggestion, previous: int) -> float:
        if suggestion.trial == self.kill_trial and suggestion.rung == 0:
            marker = os.path.join(self.marker_dir, f"killed-{suggestion.trial}")
            if self.kill_always or not os.path.exists(marker):
                open(marker, "w").close()
                os.kill(os.getpid(), signal.SIGKILL)
        time.sleep(self.sleep)
        return quality(self.seed, suggestion.trial) * (1 - 1 / (1 + suggestion.resource))


def toy_cost(seed: int):
    """Durations: epochs trained, stretched by a per-(trial, rung) factor fixed by the seed."""

    def cost(suggestion: Suggestion, previous: int) -> float:
        stretch = np.random.default_rng([seed, suggestion.trial, suggestion.rung, 7]).random()
        return (suggestion.resource - previous) * (1 + 0.5 * float(stretch))

    return cost
