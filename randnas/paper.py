"""The paper's published numbers (Li & Talwalkar, UAI 2019, and its supplement; reference section 8).

They are only ever shown beside ours, in their own columns, never mixed into our results. Errors are
CIFAR-10 test error in percent, perplexities are PTB's; search costs are GPU days as the paper gives
them (P100 days; V100 time converted by a factor 1.5). As the paper prints them (Tables 1 and 6): `None` is an
unknown entry ("N/A"), `NOT_APPLICABLE` a field that does not apply ("-"), e.g. a manual design's search cost.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

NOT_APPLICABLE: Literal["-"] = "-"  # the paper's "-": the field does not apply (None is its "N/A": unknown)
Value = float | Literal["-"] | None


@dataclass(frozen=True)
class ComparisonRow:
    """A row of Table 1 (CIFAR-10) or Table 6 (PTB)."""

    method: str
    source: str  # the paper's citation, or "Ours" for the authors' own runs
    best: Value  # CIFAR-10: best test error
    average: Value  # CIFAR-10: average test error
    std: float | None
    params_m: Value
    cost_stage1: Value  # GPU days
    cost_stage2: Value
    cost_total: Value
    # which of this project's protocols computes the same quantity: rsws, asha, random (stage 3 of each),
    # darts_v2 (the published cell trained as stage 3), darts_search (this project's own DARTS runs), or ""
    ours: str = ""
    valid: Value = None  # PTB: validation perplexity
    test: float | None = None  # PTB: test perplexity
    footnote: str = ""


# Table 1 in the paper's order: manual designs, published NAS methods, then the authors' runs
TABLE1 = (
    ComparisonRow(
        "Shake-Shake (manual)",
        "[9]",
        None,
        2.56,
        None,
        26.2,
        NOT_APPLICABLE,
        NOT_APPLICABLE,
        NOT_APPLICABLE,
        footnote="averaged over 5 seeds",
    ),
    ComparisonRow("PyramidNet (manual)", "[46]", 2.31, None, None, 26, NOT_APPLICABLE, NOT_APPLICABLE, NOT_APPLICABLE),
    ComparisonRow(
        "NASNet-A",
        "[50]",
        None,
        2.65,
        None,
        3.3,
        NOT_APPLICABLE,
        NOT_APPLICABLE,
        2000,
        footnote="averaged over 5 seeds",
    ),
    ComparisonRow("AmoebaNet-B", "[41]", None, 2.55, 0.05, 2.8, NOT_APPLICABLE, NOT_APPLICABLE, 3150),
    ComparisonRow("ProxylessNAS", "[7]", 2.08, None, None, 5.7, 4, None, None, footnote="stage-1 cost of 1 trial"),
    ComparisonRow(
        "GHN",
        "[48]",
        None,
        2.84,
        0.07,
        5.7,
        0.84,
        None,
        None,
        footnote="averaged over 5 seeds; stage-1 cost of 1 trial",
    ),
    ComparisonRow("SNAS", "[45]", None, 2.85, 0.02, 2.8, 1.5, None, None, footnote="stage-1 cost of 1 trial"),
    ComparisonRow(
        "ENAS [Pham et al.]", "[39]", 2.89, None, None, 4.6, 0.5, None, None, footnote="stage-1 cost of 1 trial"
    ),
    ComparisonRow("ENAS, rerun by Liu et al.", "[32]", 2.91, None, None, 4.2, 4, 2, 6, ours="enas"),
    ComparisonRow(
        "Random search baseline [Liu et al.]",
        "[32]",
        None,
        3.29,
        0.15,
        3.2,
        NOT_APPLICABLE,
        NOT_APPLICABLE,
        4,
        ours="random",
    ),
    ComparisonRow("DARTS (first order) [Liu et al.]", "[32]", None, 3.00, 0.14, 3.3, 1.5, 1, 2.5),
    ComparisonRow("DARTS (second order) [Liu et al.]", "[32]", None, 2.76, 0.09, 3.3, 4, 1, 5, ours="darts_v2"),
    ComparisonRow(
        "DARTS (second order), authors' rerun",
        "Ours",
        2.62,
        2.78,
        0.12,
        3.3,
        4,
        6,
        10,
        ours="darts_search",
        footnote="6 GPU days of stage 2 for the longer (600-epoch) evaluation",
    ),
    ComparisonRow("ASHA baseline", "Ours", 2.85, 3.03, 0.13, 2.2, NOT_APPLICABLE, NOT_APPLICABLE, 9, ours="asha"),
    ComparisonRow(
        "Random search WS",
        "Ours",
        2.71,
        2.85,
        0.08,
        4.3,
        2.7,
        6,
        9.7,
        ours="rsws",
        footnote="6 GPU days of stage 2 for the longer (600-epoch) evaluation",
    ),
)

# Table 6 (supplement): PTB valid / test perplexity after stage 3 (3600 epochs for the authors' rows)
TABLE6 = (
    ComparisonRow(
        "LSTM + DropConnect (manual)",
        "[36]",
        None,
        None,
        None,
        24,
        NOT_APPLICABLE,
        NOT_APPLICABLE,
        NOT_APPLICABLE,
        valid=60.0,
        test=57.3,
    ),
    ComparisonRow(
        "ASHA + LSTM + DropConnect (HP-tuned)",
        "[28]",
        None,
        None,
        None,
        24,
        NOT_APPLICABLE,
        NOT_APPLICABLE,
        13,
        valid=58.1,
        test=56.3,
    ),
    ComparisonRow(
        "LSTM + MoS (manual)",
        "[47]",
        None,
        None,
        None,
        22,
        NOT_APPLICABLE,
        NOT_APPLICABLE,
        NOT_APPLICABLE,
        valid=56.5,
        test=54.4,
    ),
    ComparisonRow(
        "NAS",
        "[49]",
        None,
        None,
        None,
        25,
        NOT_APPLICABLE,
        NOT_APPLICABLE,
        1e4,
        test=64.0,
        footnote="search cost in CPU days",
    ),
    ComparisonRow(
        "ENAS [Pham et al.]",
        "[39]",
        None,
        None,
        None,
        24,
        0.5,
        None,
        None,
        test=56.3,
        footnote="the authors could not reproduce it with the released code",
    ),
    ComparisonRow(
        "ENAS, rerun by Liu et al.", "[32]", None, None, None, 24, 0.5, None, None, valid=60.8, test=58.6, ours="enas"
    ),
    ComparisonRow(
        "Random search baseline [Liu et al.]",
        "[32]",
        None,
        None,
        None,
        23,
        NOT_APPLICABLE,
        NOT_APPLICABLE,
        2,
        ours="random",
        valid=61.8,
        test=59.4,
    ),
    ComparisonRow("DARTS (first order) [Liu et al.]", "[32]", None, None, None, 23, 0.5, 1, 1.5, valid=60.2, test=57.6),
    ComparisonRow(
        "DARTS (second order) [Liu et al.]",
        "[32]",
        None,
        None,
        None,
        23,
        1,
        1,
        2,
        ours="darts_v2",
        valid=58.1,
        test=55.7,
    ),
    ComparisonRow(
        "DARTS (second order), authors' rerun",
        "Ours",
        None,
        None,
        None,
        23,
        1,
        1,
        2,
        ours="darts_search",
        valid=58.2,
        test=55.9,
    ),
    ComparisonRow(
        "ASHA baseline",
        "Ours",
        None,
        None,
        None,
        23,
        NOT_APPLICABLE,
        NOT_APPLICABLE,
        2,
        ours="asha",
        valid=58.6,
        test=56.4,
    ),
    ComparisonRow("Random search WS", "Ours", None, None, None, 23, 0.25, 1, 1.25, ours="rsws", valid=57.8, test=55.5),
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
TABLE2_PRINTED = {
    "darts": (2.77, 2.94),
    "random1": (2.98, 3.45),
    "random2": (2.93, 3.22),
    "random3": (2.97, 3.21),
    "random4": (2.90, 3.04),
    "random5": (2.83, 3.03),
}
# Table 2's settings columns: stage-1 epochs, gradient clipping, initial channels, architectures evaluated
TABLE2_SETTINGS = {
    "darts": (50, 5, 16, None),
    "random1": (50, 5, 16, 1000),
    "random2": (150, 5, 16, 5000),
    "random3": (150, 1, 16, 5000),
    "random4": (300, 1, 16, 11000),
    "random5": (150, 1, 24, 5000),
}

# Table 3: reproduced DARTS, test error after 100 and 600 stage-2 epochs for 4 trials; the best trial's
# architecture over 10 seeds (minimum, average, std)
TABLE3 = {
    "short_epochs": 100,
    "long_epochs": 600,
    "short": (7.63, 7.67, 8.38, 7.51),
    "long": (2.92, 2.77, 3.00, 3.05),
    "ten_seeds": (2.62, 2.78, 0.12),
}

# Table 4: RSWS broad reproducibility, stage-3 test error (mean, std over 10 seeds) of 6 independent runs
TABLE4 = ((2.85, 0.08), (2.86, 0.09), (2.88, 0.10), (2.95, 0.09), (2.98, 0.12), (3.00, 0.19))
TABLE4_AVERAGE = 2.92


@dataclass(frozen=True)
class ChecklistRow:
    """A row of Table 5 (supplement): what a NAS publication released. None = not applicable (no code)."""

    conference: str
    publication: str
    search_code: bool
    evaluation_code: bool
    seeds: bool | None
    tuning: str | None


TABLE5 = (
    ChecklistRow("ICLR 2018", "Brock et al. [5]", True, True, False, "N/A"),
    ChecklistRow("ICLR 2018", "Liu et al. [30]", False, False, None, None),
    ChecklistRow("ICML 2018", "Pham et al. [39]", True, True, False, "Undocumented"),
    ChecklistRow("ICML 2018", "Cai et al. [6]", True, True, False, "N/A"),
    ChecklistRow("ICML 2018", "Bender et al. [1]", False, False, None, None),
    ChecklistRow("NIPS 2018", "Kandasamy et al. [24]", True, True, False, "N/A"),
    ChecklistRow("NIPS 2018", "Luo et al. [33]", True, True, False, "Grid Search"),
    ChecklistRow("ICLR 2019", "Liu et al. [32]", True, True, False, "Undocumented"),
    ChecklistRow("ICLR 2019", "Cai et al. [7]", False, True, False, "N/A"),
    ChecklistRow("ICLR 2019", "Zhang et al. [48]", False, False, None, None),
    ChecklistRow("ICLR 2019", "Xie et al. [45]", False, False, None, None),
    ChecklistRow("ICLR 2019", "Cao et al. [8]", False, False, None, None),
)
TABLE5_EXACTLY_REPRODUCIBLE = 0  # "none of the methods in Table 5 are exactly reproducible"

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
TABLE7_PRINTED = {
    "darts_published": (63.4, 65.1),
    "darts_reproduced": (64.0, 66.0),
    "random1": (65.6, 65.9),
    "random2": (64.9, 65.9),
    "random3": (64.5, 65.1),
    "random4": (63.8, 64.7),
    "random4_run2": (63.9, 65.4),
}
# Table 7's settings columns: network, stage-1 epochs, batch size, gradient clipping; every row evaluated
# 2000 architectures (the caption)
TABLE7_SETTINGS = {
    "darts_published": ("proxy", 50, 256, 0.25),
    "darts_reproduced": ("proxy", 50, 256, 0.25),
    "random1": ("proxy", 50, 256, 0.25),
    "random2": ("proxy", 50, 256, 0.1),
    "random3": ("proxy", 50, 64, 0.1),
    "random4": ("proxyless", 50, 64, 0.1),
    "random4_run2": ("proxyless", 50, 64, 0.1),
}
TABLE7_ARCHITECTURES = 2000

# Table 8: PTB validation perplexity at increasing epochs, then test perplexity
TABLE8_EPOCHS = (300, 500, 1600, 2600, 3600)
TABLE8 = {
    "DARTS": ((64.0, 61.9, 59.5, 58.5, 58.2), 55.9),
    "ASHA": ((63.9, 62.0, 59.8, 59.0, 58.6), 56.4),
    "Random (4) Run 1": ((63.8, 61.7, 59.3, 58.4, 57.8), 55.5),
    "Random (4) Run 2": ((63.9, 62.1, 59.6, 59.0, 58.8), 56.5),
}


@dataclass(frozen=True)
class Nb201Published:
    """A row of NAS-Bench-201's Table 5 (Dong & Yang, ICLR 2020; CIFAR-10, mean ± std over 3 searches; reference
    section 11): not this paper's numbers, but the benchmark's own runs of the methods, beside which ours sit."""

    method: str
    valid: float  # cifar10-valid validation accuracy (%) of the searched cell after 200 epochs
    valid_std: float | None
    test: float  # CIFAR-10 test accuracy (%)
    test_std: float | None
    ours: str = ""  # which of this project's NAS-Bench-201 runs computes the same quantity: rsws, darts, enas or ""
    note: str = ""


NB201_CITATION = "NAS-Bench-201 [Dong & Yang, ICLR 2020], Table 5"
NB201_TABLE5 = (
    Nb201Published(
        "RSPS (= RSWS)", 84.16, 1.69, 87.66, 1.69, ours="rsws", note="250 epochs; each cell scored on one batch"
    ),
    Nb201Published("DARTS-V1 (first order)", 39.77, 0.00, 54.30, 0.00, ours="darts", note="the all-skip_connect cell"),
    Nb201Published("DARTS-V2 (second order)", 39.77, 0.00, 54.30, 0.00, ours="darts", note="the all-skip_connect cell"),
    Nb201Published("GDAS", 89.89, 0.08, 93.61, 0.09),
    Nb201Published("SETN", 84.04, 0.28, 87.64, 0.00),
    Nb201Published("ENAS", 37.51, 3.19, 53.89, 0.58, ours="enas", note="310 epochs; the derive step's best of 100"),
    Nb201Published("REA", 91.19, 0.31, 93.92, 0.30),
    Nb201Published("RS (no weight sharing)", 90.93, 0.36, 93.70, 0.36),
    Nb201Published("REINFORCE", 91.09, 0.37, 93.85, 0.37),
    Nb201Published("BOHB", 90.82, 0.53, 93.61, 0.52),
    Nb201Published("ResNet (manual)", 90.83, None, 93.97, None),
    Nb201Published("optimum", 91.61, None, 94.37, None),
)
