"""ASHA's bookkeeping: the rungs, and the answer to "a worker is free, what should it do?"."""

from __future__ import annotations

from dataclasses import dataclass, field

from randnas.search.asha.rule import promotable, rung_resources


@dataclass(frozen=True)
class Suggestion:
    """Train `trial` until `resource` (cumulative) at rung `rung`; `new` trials start from scratch."""

    trial: int
    rung: int
    resource: int
    new: bool

    def __str__(self) -> str:
        return f"trial {self.trial} (rung {self.rung})"


@dataclass
class Rung:
    resource: int
    results: dict[int, float] = field(default_factory=dict)  # trial -> value, in arrival order
    promoted: set[int] = field(default_factory=set)


class AshaScheduler:
    """Promotion-based ASHA; with `early_stopping=False` every trial goes straight to R (random search)."""

    def __init__(self, r: float, R: float, eta: int, layout: str = "top_down", early_stopping: bool = True) -> None:
        resources = rung_resources(r, R, eta, layout)
        if not early_stopping:
            resources = resources[-1:]
        self.eta = eta
        self.early_stopping = early_stopping
        self.rungs = [Rung(resource) for resource in resources]
        self.next_trial = 0
        self.pending: dict[int, int] = {}  # trial -> rung it is being trained to

    def suggest(self) -> Suggestion:
        """Scan the rungs from the top down; promote the first promotable result, else start a new trial."""
        for k in range(len(self.rungs) - 2, -1, -1):
            trial = promotable(self.rungs[k].results, self.rungs[k].promoted, self.eta)
            if trial is not None:
                self.rungs[k].promoted.add(trial)
                self.pending[trial] = k + 1
                return Suggestion(trial, k + 1, self.rungs[k + 1].resource, new=False)
        trial = self.next_trial
        self.next_trial += 1
        self.pending[trial] = 0
        return Suggestion(trial, 0, self.rungs[0].resource, new=True)

    def withdraw(self, suggestion: Suggestion) -> None:
        """Take back the newest trial before it starts (a budget ran out), as if never suggested."""
        if not (suggestion.new and suggestion.trial == self.next_trial - 1 and self.pending.get(suggestion.trial) == 0):
            raise ValueError(f"only the newest unstarted trial can be withdrawn, not {suggestion}")
        del self.pending[suggestion.trial]
        self.next_trial -= 1

    def on_result(self, trial: int, rung: int, value: float) -> None:
        """Record the value `trial` reached at `rung` (higher is better)."""
        if self.pending.get(trial) != rung:
            raise ValueError(f"trial {trial} was not asked to reach rung {rung} (pending: {self.pending.get(trial)})")
        del self.pending[trial]
        self.rungs[rung].results[trial] = float(value)
