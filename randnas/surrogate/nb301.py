"""The NAS-Bench-301 surrogate of YAHPO Gym (`nb301`, v2) as an evaluator of DARTS-space CNN cells.

For a cell without `none` and an epoch 1..98, the model predicts the validation accuracy (a fraction),
the validation cross entropy, the cumulative training time in seconds and that epoch's time, as
NAS-Bench-301 trained its networks (CIFAR-10 with a 20 % validation split, 8 cells, 32 channels, 100
epochs of cosine SGD; see `<data root>/yahpo-nb301/README.md`). Every number it gives is a surrogate
prediction, not a training: `LABEL` says so wherever one is shown.

Encoding (the model's 34 integer inputs, codes from `encoding_v2.json`): for each cell, 14 edge slots,
where node k = 2..5 owns slots offset(k) + input with offset {2: 0, 3: 2, 4: 5, 5: 9}; a slot holds the
op of its edge or the missing value `#na#` when the node does not use that input; then, for nodes 3..5,
the node's two inputs as "i_j" with i < j. Plain onnxruntime runs the model (yahpo-gym itself pins
numpy<2 and an old ConfigSpace).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from randnas.data.base import DataError, data_root
from randnas.repro import file_sha256
from randnas.spaces.cnn import CNN_INPUTS, CNN_NODES, CnnGenotype

LABEL = "NAS-Bench-301 surrogate prediction (YAHPO Gym nb301 v2)"
FOLDER = "yahpo-nb301"
MODEL_FILE = "model_v2.onnx"
ENCODING_FILE = "encoding_v2.json"
SHA256 = {
    MODEL_FILE: "e7168d495cf7fe6419b69234a052571536c2a5f6d7a8a2aead4e9d04dffac1d6",
    ENCODING_FILE: "b16bb8db9aa5a9b688cd97e782643abe96bd166baa445675f57cbcf5e6128a98",
}
FIRST_EPOCH, LAST_EPOCH = 1, 98
EDGE_OFFSET = {2: 0, 3: 2, 4: 5, 5: 9}
EDGE_SLOTS = 14
MISSING = "#na#"
FEATURE_PREFIX = "NetworkSelectorDatasetInfo_COLON_darts_COLON_"
CELLS = ("normal", "reduce")
# the model's input order (numeric, not the JSON file's lexicographic key order)
FEATURES: tuple[str, ...] = (
    *(f"edge_{cell}_{slot}" for cell in CELLS for slot in range(EDGE_SLOTS)),
    *(f"inputs_node_{cell}_{node}" for cell in CELLS for node in (3, 4, 5)),
)
OUTPUTS = ("val_accuracy", "val_cross_entropy", "runtime", "runtime_increase")


class SurrogateError(ValueError):
    """A cell the surrogate cannot represent, or an epoch outside its range; the message says which."""


def cell_problem(genotype: CnnGenotype) -> str | None:
    """Why the surrogate cannot evaluate `genotype`, or None when it can."""
    for cell in CELLS:
        edges = genotype.cell(cell == "reduce")
        for position, (op, index) in enumerate(edges):
            if op == "none":
                return (
                    f"{cell} edge {position} (node {position // 2 + CNN_INPUTS}, input {index}) is `none`; "
                    "NAS-Bench-301 has no `none` op, so its surrogate cannot evaluate this cell"
                )
        for node in range(CNN_NODES):
            if edges[2 * node][1] == edges[2 * node + 1][1]:
                return (
                    f"{cell} node {node + CNN_INPUTS} takes input {edges[2 * node][1]} twice; "
                    "the surrogate's space needs two distinct inputs per node"
                )
    return None


def representable(genotype: CnnGenotype) -> bool:
    return cell_problem(genotype) is None


def check_epochs(epochs: Any) -> np.ndarray:
    values = np.asarray(epochs, dtype=float).reshape(-1)
    bad = values[(values < FIRST_EPOCH) | (values > LAST_EPOCH) | ~np.isfinite(values)]
    if bad.size:
        raise SurrogateError(f"epoch {bad[0]:g} is outside the surrogate's range {FIRST_EPOCH}..{LAST_EPOCH}")
    return values


def cell_features(genotype: CnnGenotype) -> dict[str, str]:
    """The 34 named inputs of one genotype as the categories of `encoding_v2.json` (inactive: `#na#`)."""
    problem = cell_problem(genotype)
    if problem:
        raise SurrogateError(problem)
    features = dict.fromkeys(FEATURES, MISSING)
    for cell in CELLS:
        edges = genotype.cell(cell == "reduce")
        for node in range(CNN_NODES):
            k = node + CNN_INPUTS
            pair = edges[2 * node : 2 * node + 2]
            for op, index in pair:
                features[f"edge_{cell}_{EDGE_OFFSET[k] + index}"] = op
            if k >= 3:
                low, high = sorted(index for _, index in pair)
                features[f"inputs_node_{cell}_{k}"] = f"{low}_{high}"
    return features


@dataclass
class Nb301Surrogate:
    """The model and its encoding, loaded from `<data root>/yahpo-nb301/` after sha256 checks."""

    folder: Path
    codes: dict[str, dict[str, int]] = field(repr=False)
    session: Any = field(repr=False)
    checksums: dict[str, str]
    name: str = "nb301-surrogate"
    label: str = f"{LABEL}: CIFAR-10 validation accuracy as NAS-Bench-301 trained its networks"

    @property
    def checksum(self) -> str:
        """The model file's sha256 (the encoding's is in `checksums`), as a run's dataset digest."""
        return self.checksums[MODEL_FILE]

    def encode(self, genotype: CnnGenotype) -> np.ndarray:
        features = cell_features(genotype)
        return np.array([self.codes[name][features[name]] for name in FEATURES], dtype=np.int32)

    def predict(self, genotypes: Sequence[CnnGenotype], epochs: Any) -> dict[str, np.ndarray]:
        """Predictions for each (genotype, epoch) pair, or for every genotype at one epoch; one model call."""
        epochs = check_epochs(epochs)
        if epochs.size == 1:
            epochs = np.repeat(epochs, len(genotypes))
        if len(epochs) != len(genotypes):
            raise SurrogateError(
                f"{len(genotypes)} genotypes but {len(epochs)} epochs; give one epoch or one per genotype"
            )
        if not len(genotypes):
            return {name: np.empty(0) for name in OUTPUTS}
        x_cat = np.stack([self.encode(genotype) for genotype in genotypes])
        x_cont = epochs.astype(np.float32).reshape(-1, 1)
        output = self.session.run(None, {"x_cat": x_cat, "x_cont": x_cont})[0].astype(float)
        return {name: output[:, column] for column, name in enumerate(OUTPUTS)}

    def curve(self, genotype: CnnGenotype) -> dict[str, np.ndarray]:
        """Epochs 1..98 of one cell; the cumulative runtime made non-decreasing (time cannot run back)."""
        epochs = np.arange(FIRST_EPOCH, LAST_EPOCH + 1)
        prediction = self.predict([genotype] * len(epochs), epochs)
        prediction["runtime"] = np.maximum.accumulate(prediction["runtime"])
        prediction["epoch"] = epochs
        return prediction


def surrogate_folder(root: str | Path | None = None) -> Path:
    return data_root(root) / FOLDER


def load_nb301_surrogate(root: str | Path | None = None) -> Nb301Surrogate:
    folder = surrogate_folder(root)
    checksums = {}
    for name, expected in SHA256.items():
        path = folder / name
        if not path.is_file():
            raise DataError(
                f"{path} not found: put YAHPO Gym's nb301 v2 files ({', '.join(SHA256)}) under "
                f"<data root>/{FOLDER}/ (from github.com/slds-lmu/yahpo_data, branch v2_final, folder nb301)"
            )
        checksums[name] = file_sha256(path)
        if checksums[name] != expected:
            raise DataError(
                f"{path} has sha256 {checksums[name]}, expected {expected}; replace it with an unmodified copy"
            )
    table = json.loads((folder / ENCODING_FILE).read_text())
    codes = {name: table[FEATURE_PREFIX + name] for name in FEATURES}
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = 1  # the outputs are bit-identical across thread counts; one thread is the cheapest
    session = onnxruntime.InferenceSession(str(folder / MODEL_FILE), options, providers=["CPUExecutionProvider"])
    return Nb301Surrogate(folder, codes, session, checksums)
