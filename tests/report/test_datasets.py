"""The benchmarks chapter's summaries of a dataset: sizes, splits, class balance, words and samples."""

from __future__ import annotations

import numpy as np
import pytest

from randnas.data import DataError, load_corpus, load_image_data
from randnas.report import datasets


@pytest.fixture(scope="module")
def digits():
    return load_image_data("digits")


@pytest.fixture(scope="module")
def pydoc():
    return load_corpus("pydoc")


def test_the_config_refuses_unknown_sets_and_sample_counts():
    with pytest.raises(DataError, match="unknown image dataset 'mnist'"):
        datasets.DatasetsConfig(("mnist",), (), 4, 0)
    with pytest.raises(DataError, match="unknown text dataset 'wiki'"):
        datasets.DatasetsConfig((), ("wiki",), 4, 0)
    with pytest.raises(ValueError, match="samples must be in 1..64"):
        datasets.DatasetsConfig(("digits",), (), 0, 0)


def test_an_image_summary_adds_up_and_class_counts_cover_every_split(digits):
    summary = datasets.image_summary(digits)
    train, valid = (int(n) for n in summary["search split (train / valid)"].split(" / "))
    assert train + valid == summary["train"] == len(digits.train_labels) and summary["sha256"] == digits.checksum
    counts = datasets.class_counts(digits)
    assert list(counts.columns) == ["search-train", "search-valid", "test"] and len(counts) == digits.num_classes
    assert counts["search-train"].sum() == train and counts["test"].sum() == summary["test"]


def test_a_corpus_summary_counts_tokens_and_sentences(pydoc):
    summary = datasets.corpus_summary(pydoc)
    assert summary["train tokens"] == len(pydoc.train) and summary["vocabulary"] == pydoc.vocab_size
    eos = pydoc.vocab.index("<eos>")
    assert summary["train sentences"] == int((pydoc.train == eos).sum()) > 0


def test_the_most_common_words_are_counted_with_their_share(pydoc):
    words = datasets.most_common_words(pydoc, 5)
    assert len(words) == 5 and list(words["count"]) == sorted(words["count"], reverse=True)
    assert words["share"].iloc[0] == pytest.approx(words["count"].iloc[0] / len(pydoc.train))


def test_sample_sentences_are_whole_sentences_fixed_by_the_seed(pydoc):
    first = datasets.sample_sentences(pydoc, 3, np.random.default_rng(0))
    assert first == datasets.sample_sentences(pydoc, 3, np.random.default_rng(0)) and len(first) == 3
    assert all(sentence.endswith("<eos>") for sentence in first)


def test_a_sample_grid_has_a_panel_per_image(digits):
    import matplotlib.pyplot as plt

    figure = datasets.sample_grid(digits, 10, np.random.default_rng(0))
    assert len([axis for axis in figure.axes if axis.get_title()]) == 10
    plt.close(figure)
