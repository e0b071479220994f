"""Language-modelling corpora: Penn Treebank (checked by sha256) and Python's own documentation text."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
import torch

from randnas.data.base import DataError, TokenCorpus, array_sha256, data_root
from randnas.repro import file_sha256

EOS = "<eos>"
UNK = "<unk>"
VOCAB_LIMIT = 10_000

# sha256 of the Mikolov et al. (2010) PTB files used by DARTS and randomNAS (the shared data README).
PTB_SHA256 = {
    "train": "fcea919f6cf83f35d4d00c6cbf08040d13d4155226340912e2fef9c9c4102cbf",
    "valid": "c9fe6985fe0d4ccb578183407d7668fc6066c20700cb4cf87d8ff1cc34df1bf2",
    "test": "dd65dff31e70846b2a6030a87482edcd5d199130cdcfa1f3dccbb033728deee0",
}
SPLITS = ("train", "valid", "test")
PTB_SUBFOLDERS = ("ptb", "penn", ".")


def ptb_files(folder: Path) -> dict[str, Path] | None:
    """The three split files in `folder`, named ptb.<split>.txt (Mikolov) or <split>.txt (DARTS)."""
    for pattern in ("ptb.{}.txt", "{}.txt"):
        files = {split: folder / pattern.format(split) for split in SPLITS}
        if all(path.is_file() for path in files.values()):
            return files
    return None


def tokenize_lines_darts(lines_per_split: dict[str, Iterable[str]]) -> tuple[tuple[str, ...], dict[str, torch.Tensor]]:
    """DARTS' `Corpus`: whitespace tokens plus `<eos>` per line; ids in order of first appearance
    over train, then valid, then test (so ids match the released code's)."""
    index: dict[str, int] = {}
    streams: dict[str, torch.Tensor] = {}
    for split in SPLITS:
        ids: list[int] = []
        for line in lines_per_split[split]:
            for word in line.split() + [EOS]:
                ids.append(index.setdefault(word, len(index)))
        streams[split] = torch.tensor(ids, dtype=torch.long)
    return tuple(index), streams


def load_ptb(root: str | Path | None = None, verify: bool = True) -> TokenCorpus:
    """Penn Treebank from `root` (or $RANDNAS_DATA, or ./data): `ptb/`, `penn/` or the root itself."""
    base = data_root(root)
    found = [(base / sub, files) for sub in PTB_SUBFOLDERS if (files := ptb_files(base / sub))]
    if not found:
        raise DataError(
            f"Penn Treebank not found under {base.resolve()}: put ptb.train.txt, ptb.valid.txt and "
            f"ptb.test.txt (Mikolov's simple-examples/data) in {(base / 'ptb').resolve()}/, "
            "or set RANDNAS_DATA to the folder that holds ptb/"
        )
    folder, files = found[0]
    checksums = {split: file_sha256(path) for split, path in files.items()}
    if verify:
        for split, path in files.items():
            if checksums[split] != PTB_SHA256[split]:
                raise DataError(
                    f"{path.resolve()}: sha256 {checksums[split][:12]}... is not the PTB {split} file's "
                    f"{PTB_SHA256[split][:12]}...; replace it with Mikolov's ptb.{split}.txt"
                )
    lines = {split: path.read_text(encoding="utf-8").splitlines() for split, path in files.items()}
    vocab, streams = tokenize_lines_darts(lines)
    return TokenCorpus(
        name="ptb",
        label="Penn Treebank (Mikolov et al. 2010 preprocessing)",
        vocab=vocab,
        checksum=array_sha256(np.array([checksums[split] for split in SPLITS])),
        source=str(folder.resolve()),
        **streams,
    )


# ---- the embedded corpus: Python's pydoc topic texts, written the PTB way --------------------------

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")
_WORD = re.compile(r"[a-z]+(?:'[a-z]+)?|\d+(?:[.,]\d+)*")


def ptb_style_sentences(text: str) -> list[list[str]]:
    """Lowercase words, numbers as `N`, no punctuation, one sentence per list (as in Mikolov's PTB)."""
    sentences = []
    for paragraph in re.split(r"\n\s*\n", text.lower()):
        for sentence in _SENTENCE_END.split(" ".join(paragraph.split())):
            words = ["N" if token[0].isdigit() else token for token in _WORD.findall(sentence)]
            if words:
                sentences.append(words)
    return sentences


def build_vocab(train_sentences: Sequence[Sequence[str]], limit: int = VOCAB_LIMIT) -> tuple[str, ...]:
    """The `limit` most frequent training words (ties alphabetical), `<unk>` and `<eos>` included."""
    counts = Counter(word for sentence in train_sentences for word in sentence)
    counts.pop(UNK, None)
    ranked = sorted(counts, key=lambda word: (-counts[word], word))
    return (EOS, UNK, *ranked[: limit - 2])


def encode_sentences(sentences: Iterable[Sequence[str]], vocab: Sequence[str]) -> torch.Tensor:
    index = {word: i for i, word in enumerate(vocab)}
    unk = index[UNK]
    ids = [index.get(word, unk) for sentence in sentences for word in (*sentence, EOS)]
    return torch.tensor(ids, dtype=torch.long)


def load_pydoc_text() -> TokenCorpus:
    """The standard library's pydoc topic texts (real English prose shipped with every CPython).

    Topics are sorted by name and their sentences concatenated; the first 80% of sentences are the
    training split, the next 10% validation, the last 10% test (contiguous, like PTB's sections).
    The vocabulary comes from the training split alone.
    """
    from pydoc_data.topics import topics

    sentences = [sentence for name in sorted(topics) for sentence in ptb_style_sentences(topics[name])]
    n_train, n_valid = int(0.8 * len(sentences)), int(0.1 * len(sentences))
    parts = {
        "train": sentences[:n_train],
        "valid": sentences[n_train : n_train + n_valid],
        "test": sentences[n_train + n_valid :],
    }
    vocab = build_vocab(parts["train"])
    streams = {split: encode_sentences(parts[split], vocab) for split in SPLITS}
    return TokenCorpus(
        name="pydoc",
        label="pydoc topics (Python's documentation text, PTB-style; embedded default)",
        vocab=vocab,
        checksum=array_sha256(*(streams[split].numpy() for split in SPLITS), np.array(vocab)),
        source="pydoc_data.topics",
        **streams,
    )
