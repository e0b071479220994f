"""Penn Treebank (sha256, DARTS tokenization) and the embedded pydoc corpus."""

from __future__ import annotations

import shutil

import pytest
import torch

from randnas.data import DataError, load_corpus, text


@pytest.mark.shared_data
def test_ptb_from_shared_data_counts(shared_data):
    if text.ptb_files(shared_data / "ptb") is None:
        pytest.skip("../shared/data/ptb is absent")
    corpus = load_corpus("ptb", shared_data)
    assert len(corpus.train) == 929_589
    assert len(corpus.valid) == 73_760
    assert len(corpus.test) == 82_430
    assert corpus.vocab_size == 10_000
    assert corpus.vocab[:3] == ("aer", "banknote", "berlitz")  # DARTS ids: order of first appearance
    assert corpus.decode(corpus.train[:25])[-1] == "<eos>"


def write_small_ptb(folder, names=("ptb.train.txt", "ptb.valid.txt", "ptb.test.txt")):
    folder.mkdir(parents=True, exist_ok=True)
    contents = [" the cat sat \n the dog \n", " a cat \n", " the bird flew \n"]
    for name, content in zip(names, contents, strict=True):
        (folder / name).write_text(content)


def test_darts_tokenization_eos_per_line_ids_by_first_appearance():
    vocab, streams = text.tokenize_lines_darts(
        {"train": [" the cat sat ", " the dog "], "valid": [" a cat "], "test": [" the bird flew "]}
    )
    assert vocab == ("the", "cat", "sat", "<eos>", "dog", "a", "bird", "flew")
    assert streams["train"].tolist() == [0, 1, 2, 3, 0, 4, 3]
    assert streams["valid"].tolist() == [5, 1, 3]
    assert streams["test"].tolist() == [0, 6, 7, 3]


def test_ptb_wrong_checksum_names_the_file(tmp_path):
    write_small_ptb(tmp_path / "ptb")
    with pytest.raises(DataError, match=r"ptb\.train\.txt: sha256 .* is not the PTB train file") as error:
        load_corpus("ptb", tmp_path)
    assert "\n" not in str(error.value)


@pytest.mark.shared_data
def test_ptb_one_tampered_split_is_named(shared_data, tmp_path):
    if text.ptb_files(shared_data / "ptb") is None:
        pytest.skip("../shared/data/ptb is absent")
    shutil.copytree(shared_data / "ptb", tmp_path / "ptb")
    (tmp_path / "ptb" / "ptb.valid.txt").chmod(0o644)
    with open(tmp_path / "ptb" / "ptb.valid.txt", "a") as handle:
        handle.write(" extra words \n")
    with pytest.raises(DataError, match=r"ptb\.valid\.txt: sha256"):
        load_corpus("ptb", tmp_path)


def test_ptb_unverified_small_folder_with_darts_names(tmp_path):
    write_small_ptb(tmp_path / "penn", names=("train.txt", "valid.txt", "test.txt"))
    corpus = text.load_ptb(tmp_path, verify=False)
    assert len(corpus.train) == 7 and corpus.vocab_size == 8


def test_ptb_missing_says_where_to_put_it(tmp_path):
    with pytest.raises(DataError, match=r"Penn Treebank not found under .*put ptb\.train\.txt"):
        load_corpus("ptb", tmp_path)


def test_ptb_style_sentences_lowercase_numbers_no_punctuation():
    sentences = text.ptb_style_sentences("The year 1999 had 3.5% growth. Isn't it?\n\nNew paragraph, here!")
    assert sentences == [["the", "year", "N", "had", "N", "growth"], ["isn't", "it"], ["new", "paragraph", "here"]]


def test_build_vocab_caps_size_and_orders_by_frequency():
    vocab = text.build_vocab([["b", "a", "b"], ["c", "b", "a"]], limit=4)
    assert vocab == ("<eos>", "<unk>", "b", "a")
    ids = text.encode_sentences([["a", "zzz"]], vocab)
    assert ids.tolist() == [3, 1, 0]


def test_pydoc_corpus_fixed_splits_and_ptb_conventions():
    corpus = load_corpus("pydoc")
    assert corpus.checksum == load_corpus("pydoc").checksum
    assert corpus.vocab[:2] == ("<eos>", "<unk>")
    assert 1_000 < corpus.vocab_size <= 10_000
    words = set(corpus.vocab)
    assert "N" in words and not any(ch.isdigit() for word in words for ch in word)
    assert all(word == word.lower() or word in ("N",) or word.startswith("<") for word in words)
    assert len(corpus.train) > 8 * len(corpus.test) > 0
    assert corpus.train.dtype == torch.long and int(corpus.train.max()) < corpus.vocab_size
    unk = corpus.vocab.index("<unk>")
    assert int((corpus.train == unk).sum()) == 0  # the vocabulary is built from the training split
    assert 0 < float((corpus.valid == unk).float().mean()) < 0.2
