"""The paper's published numbers (Li & Talwalkar, UAI 2019, and its supplement; reference section 8).

They are only ever shown beside ours, in their own columns, never mixed into our results. Errors are
CIFAR-10 test error in percent, perplexities are PTB's; search costs are GPU days as the paper gives
them (P100 days; V100 time converted by a factor 1.5). `None` = not reported.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ComparisonRow:
    """A row of Table 1 (CIFAR-10) or Table 6 (PTB)."""

    method: str
    best: float | None
    average: float | None
    std: float | None
    params_m: float | None
    cost_stage1: float | None  # GPU days
    cost_stage2: float | None
    cost_total: float | None
    ours: str = ""  # which of our runs this row corresponds to: rsws, asha, darts_v2, random (or "")
    valid: float | None = None  # PTB: validation perplexity


TABLE1 = (
    ComparisonRow("DARTS (first order) [Liu et al.]", None, 3.00, 0.14, 3.3, 1.5, 1, 2.5),
    ComparisonRow("DARTS (second order) [Liu et al.]", None, 2.76, 0.09, 3.3, 4, 1, 5),
    ComparisonRow("DARTS (second order), authors' rerun", 2.62, 2.78, 0.12, 3.3, 4, 6, 10, ours="darts_v2"),
    ComparisonRow("Random search baseline [Liu et al.]", None, 3.29, 0.15, 3.2, None, None, 4, ours="random"),
    ComparisonRow("ASHA baseline", 2.85, 3.03, 0.13, 2.2, None, None, 9, ours="asha"),
    ComparisonRow("Random search WS", 2.71, 2.85, 0.08, 4.3, 2.7, 6, 9.7, ours="rsws"),
    ComparisonRow("ENAS [Pham et al.]", 2.89, None, None, 4.6, 0.5, None, None),
    ComparisonRow("ENAS, rerun by Liu et al.", 2.91, None, None, 4.2, 4, 2, 6),
    ComparisonRow("SNAS", None, 2.85, 0.02, 2.8, None, None, None),
    ComparisonRow("GHN", None, 2.84, 0.07, None, None, None, None),
    ComparisonRow("ProxylessNAS", 2.08, None, None, 5.7, None, None, None),
    ComparisonRow("NASNet-A", 2.65, None, None, None, None, None, None),
    ComparisonRow("AmoebaNet-B", None, 2.55, 0.05, None, None, None, None),
)

TABLE6 = (
    ComparisonRow("Random search WS", 55.5, None, None, 23, 0.25, 1, 1.25, ours="rsws", valid=57.8),
    ComparisonRow("ASHA baseline", 56.4, None, None, 23, None, None, 2, ours="asha", valid=58.6),
    ComparisonRow("DARTS (second order), rerun", 55.9, None, None, 23, None, None, None, ours="darts_v2", valid=58.2),
    ComparisonRow("ENAS (published)", 56.3, None, None, None, None, None, None),
)

# Table 2: CIFAR-10 stage-2 test error after 600 epochs, trials 1-4 (then best and average as printed)
TABLE2 = {
    "darts": (2.92, 2.77, 3.00, 3.05),
    "random1": (3.25, 4.00, 2.98, 3.58),
    "random2": (2.93, 3.80, 3.19, 2.96),
    "random3": (3.50, 3.42, 2.97, 2.95),
    "random4": (3.04, 2.90, 3.14, 3.09),
    "random5": (2.96, 3.33, 2.83, 3.00),
}
TABLE2_PRINTED = {"darts": (2.77, 2.94), "random1": (2.98, 3.45), "random2": (2.93, 3.22), "random3": (2.97, 3.21),
                  "random4": (2.90, 3.04), "random5": (2.83, 3.03)}

# Table 3: reproduced DARTS, test error after 100 and 600 stage-2 epochs for 4 trials
TABLE3 = {"short_epochs": 100, "long_epochs": 600, "short": (7.63, 7.67, 8.38, 7.51), "long": (2.92, 2.77, 3.00, 3.05)}

# Table 4: RSWS broad reproducibility, stage-3 test error (mean, std over 10 seeds) of 6 independent runs
TABLE4 = ((2.85, 0.08), (2.86, 0.09), (2.88, 0.10), (2.95, 0.09), (2.98, 0.12), (3.00, 0.19))
TABLE4_AVERAGE = 2.92

# Table 5: the reproducibility of 12 NAS papers (2018-2019, NeurIPS/ICML/ICLR)
TABLE5_COLUMNS = ("search code", "evaluation code", "random seeds", "hyperparameter documentation")
TABLE5_SUMMARY = {"papers": 12, "exactly_reproducible": 0}

# Table 7: PTB stage-2 validation perplexity after 300 epochs, trials 1-4
TABLE7 = {
    "darts_published": (67.3, 66.3, 63.4, 63.4),
    "darts_reproduced": (64.5, 67.7, 64.0, 67.7),
    "random1": (65.6, 66.3, 66.0, 65.6),
    "random2": (65.8, 67.7, 65.3, 64.9),
    "random3": (66.1, 65.0, 64.9, 64.5),
    "random4": (66.3, 64.6, 64.1, 63.8),
    "random4_run2": (63.9, 64.8, 66.3, 66.7),
}

# Table 8: PTB validation perplexity at increasing epochs, then test perplexity
TABLE8_EPOCHS = (300, 500, 1600, 2600, 3600)
TABLE8 = {
    "DARTS": ((64.0, 61.9, 59.5, 58.5, 58.2), 55.9),
    "ASHA": ((63.9, 62.0, 59.8, 59.0, 58.6), 56.4),
    "Random (4) Run 1": ((63.8, 61.7, 59.3, 58.4, 57.8), 55.5),
    "Random (4) Run 2": ((63.9, 62.1, 59.6, 59.0, 58.8), 56.5),
}

# Figures 2 and 3: the cells the paper drew (named genotypes in randnas.spaces.named)
FIGURE_CELLS = {"cnn": "RSWS_FIG3", "rnn": None}  # the PTB cell's edges are not in the text copy
FIGURE2_ACTIVATIONS = ("relu", "tanh", "tanh", "identity", "sigmoid", "relu", "identity", "identity")
