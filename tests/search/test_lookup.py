"""Finding stage 2's genotype: by name, DARTS string, MLflow run id, or the search of a preset/setting/seed."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from randnas import tracking
from randnas.search.lookup import CNN_SEARCH_EXPERIMENT, GENOTYPE_ARTIFACT, TAG_SETTING, find_cnn_genotype
from randnas.spaces import GenotypeError
from randnas.spaces.named import get_genotype

TOY = SimpleNamespace(name="toy", label="toy", checksum="0" * 64)


def log_search(preset: str, setting: str, seed: int, genotype_name: str, mode: str = "single") -> str:
    tags = tracking.run_tags(seed=seed, preset=preset, benchmark="cifar10", datasets=[TOY], extra={TAG_SETTING: setting})
    with tracking.tracked_run(CNN_SEARCH_EXPERIMENT, "search", tags=tags, config={"mode": mode}) as run:
        run.json(get_genotype("cnn", genotype_name).to_dict(), GENOTYPE_ARTIFACT)
    return run.run_id


def test_rsws_spec_finds_the_search_of_this_preset_setting_and_seed(store):
    log_search("smoke", "random1", 0, "DARTS_V1")
    wanted = log_search("smoke", "random1", 1, "ASHA200")
    log_search("cpu", "random1", 1, "DARTS_V2")
    log_search("smoke", "random1", 1, "DARTS_V2", mode="dense")  # newer, but the released code's supernet
    genotype, parent = find_cnn_genotype("rsws", "smoke", "random1", 1)
    assert genotype == get_genotype("cnn", "ASHA200") and parent == wanted


def test_rsws_spec_without_a_search_says_what_to_run(store):
    with pytest.raises(GenotypeError, match="no FINISHED cnn/rsws run with preset 'smoke', setting 'random2' and seed 3: run that search first"):
        find_cnn_genotype("rsws", "smoke", "random2", 3)


def test_run_spec_reads_the_runs_genotype_artifact(store):
    run_id = log_search("smoke", "random1", 0, "DARTS_V2")
    assert find_cnn_genotype(f"run:{run_id}") == (get_genotype("cnn", "DARTS_V2"), run_id)


def test_names_and_strings_have_no_parent_run():
    v2 = get_genotype("cnn", "DARTS_V2")
    assert find_cnn_genotype("DARTS_V2") == (v2, "")
    assert find_cnn_genotype(v2.to_darts()) == (v2, "")


def test_random_spec_samples_one_genotype_per_seed_for_the_random_baseline():
    first, parent = find_cnn_genotype("random", search_seed=0)
    assert parent == "" and find_cnn_genotype("random", search_seed=0)[0] == first
    assert find_cnn_genotype("random", search_seed=1)[0] != first
