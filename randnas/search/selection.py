"""Selecting an architecture with shared weights (reference section 4), for either benchmark.

Rounds of `archs_per_round` random architectures; each is scored cheaply (a few validation
minibatches); the `top_k` best are re-scored on the whole validation split; the round keeps its best.
The final pick is the best across rounds (default), or the first round's best as released.
Scores are "higher is better" (accuracy, or negative perplexity).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

SELECTION_RULES = ("best_across_rounds", "first_round")


@dataclass(frozen=True)
class SelectionConfig:
    archs_per_round: int = 1000
    top_k: int = 10
    rounds: int = 1
    rule: str = "best_across_rounds"

    def __post_init__(self) -> None:
        if self.rule not in SELECTION_RULES:
            raise ValueError(f"unknown selection rule {self.rule!r}; choose one of {', '.join(SELECTION_RULES)}")
        if not 1 <= self.top_k <= self.archs_per_round:
            raise ValueError(f"top_k must be in 1..archs_per_round ({self.archs_per_round}), got {self.top_k}")
        if self.rounds < 1:
            raise ValueError(f"rounds must be at least 1, got {self.rounds}")


def rounds_for_budget(budget_minibatches: int) -> int:
    """As released: one round of 1000 architectures per 10,000 training minibatches, at least one."""
    return max(1, int(budget_minibatches / 10_000))


def selection_for_budget(
    archs_per_round: int, top_k: int, rounds: int, rule: str, budget_minibatches: int
) -> SelectionConfig:
    """The selection a search config asks for; `rounds` 0 means the released budget rule."""
    return SelectionConfig(
        archs_per_round=archs_per_round,
        top_k=min(top_k, archs_per_round),
        rounds=rounds or rounds_for_budget(budget_minibatches),
        rule=rule,
    )


@dataclass
class SelectionResult:
    best: Any
    best_score: float
    best_round: int
    scored: list[dict] = field(default_factory=list)  # every architecture: round, index, quick score, full score


def select_architecture(
    config: SelectionConfig,
    sample: Callable[[], Any],
    quick_score: Callable[[Any], float],
    full_score: Callable[[Any], float],
    describe: Callable[[Any], str] = str,
    progress: Callable[[int, int], None] | None = None,
) -> SelectionResult:
    """Run the rounds; ties keep the earlier architecture (stable order)."""
    scored: list[dict] = []
    round_bests: list[tuple[float, int, Any]] = []
    total = config.rounds * config.archs_per_round
    for round_index in range(config.rounds):
        candidates = [sample() for _ in range(config.archs_per_round)]
        rows = []
        for index, genotype in enumerate(candidates):
            rows.append(
                {
                    "round": round_index,
                    "index": index,
                    "genotype": describe(genotype),
                    "quick_score": float(quick_score(genotype)),
                    "full_score": None,
                }
            )
            if progress is not None:
                progress(round_index * config.archs_per_round + index + 1, total)
        ranked = sorted(range(len(candidates)), key=lambda i: -rows[i]["quick_score"])[: config.top_k]
        best_here: tuple[float, int, Any] | None = None
        for i in ranked:
            rows[i]["full_score"] = float(full_score(candidates[i]))
            if best_here is None or rows[i]["full_score"] > best_here[0]:
                best_here = (rows[i]["full_score"], round_index, candidates[i])
        round_bests.append(best_here)
        scored.extend(rows)
    if config.rule == "first_round":
        score, round_index, best = round_bests[0]
    else:
        score, round_index, best = max(round_bests, key=lambda entry: (entry[0], -entry[1]))
    return SelectionResult(best=best, best_score=score, best_round=round_index, scored=scored)


def spread_by_score(scored: list[dict], count: int, key: str = "quick_score") -> list[dict]:
    """`count` scored architectures at evenly spaced ranks, best first (ties: the earlier scored), so a
    stand-alone check covers the whole range of shared-weight scores, not only the top."""
    if not 2 <= count <= len(scored):
        raise ValueError(f"count must be between 2 and the {len(scored)} scored architectures, got {count}")
    ranked = sorted(scored, key=lambda entry: -entry[key])
    positions = sorted({round(i * (len(ranked) - 1) / (count - 1)) for i in range(count)})
    return [ranked[p] for p in positions]


def rank_agreement(scores: list[float], standalone: list[float]) -> dict[str, float]:
    """Kendall's tau and Spearman's rho (with p-values) between shared-weight scores and stand-alone
    results of the same architectures (both higher = better)."""
    from scipy import stats

    if len(scores) != len(standalone) or len(scores) < 2:
        raise ValueError("rank agreement needs two equally long lists of at least 2 values")
    tau = stats.kendalltau(scores, standalone)
    rho = stats.spearmanr(scores, standalone)
    return {
        "kendall_tau": float(tau.statistic),
        "kendall_p": float(tau.pvalue),
        "spearman_rho": float(rho.statistic),
        "spearman_p": float(rho.pvalue),
    }
