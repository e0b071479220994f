"""Finding stage 2's genotype: by name, DARTS string, MLflow run id, or the search of a preset/setting/seed."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from randnas import tracking
from randnas.lookup import (
    CNN_SEARCH_EXPERIMENT,
    GENOTYPE_ARTIFACT,
    TAG_SETTING,
    best_stage2_pick,
    find_cnn_genotype,
    search_run_of,
    search_run_seeds,
    training_pick,
)
from randnas.spaces import GenotypeError
from randnas.spaces.named import get_genotype

TOY = SimpleNamespace(name="toy", label="toy", checksum="0" * 64)


def log_search(preset: str, setting: str, seed: int, genotype_name: str, mode: str = "single") -> str:
    tags = tracking.run_tags(
        seed=seed, preset=preset, benchmark="cifar10", datasets=[TOY], extra={TAG_SETTING: setting}
    )
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
    with pytest.raises(
        GenotypeError,
        match="no FINISHED cnn/rsws run with preset 'smoke', setting 'random2' and seed 3: run that search first",
    ):
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


def log_stage2(
    preset: str,
    spec: str,
    setting: str,
    search_seed: int,
    genotype_name: str,
    test_error: float,
    stage: str = "2",
    seed: int = 0,
) -> str:
    extra = {
        "randnas.genotype_spec": spec,
        "randnas.search_setting": setting,
        "randnas.search_seed": search_seed,
        "randnas.stage": stage,
    }
    tags = tracking.run_tags(seed=seed, preset=preset, benchmark="cifar10", datasets=[TOY], extra=extra)
    with tracking.tracked_run("cnn/train", "train", tags=tags, config={"epochs": 3}) as run:
        run.json(get_genotype("cnn", genotype_name).to_dict(), GENOTYPE_ARTIFACT)
        run.metrics({"test/error": test_error}, step=3)
    return run.run_id


def test_search_runs_hold_consecutive_seeds_and_the_inverse_agrees():
    assert search_run_seeds(1, 4, 1) == [1, 2, 3, 4] and search_run_seeds(3, 4, 1) == [9, 10, 11, 12]
    assert [search_run_of(seed, 4, 1) for seed in (1, 4, 5, 24)] == [1, 1, 2, 6]
    with pytest.raises(GenotypeError, match="must be at least 1"):
        search_run_seeds(0, 4, 1)


def test_stage3_picks_the_run_trial_with_the_lowest_stage2_mean_and_ignores_everything_else(store):
    log_stage2("cpu", "rsws", "random1", 0, "DARTS_V1", 40.0)
    log_stage2("cpu", "rsws", "random1", 0, "DARTS_V1", 30.0, seed=1)  # mean 35.0 over two training seeds
    winner = log_stage2("cpu", "rsws", "random1", 1, "ASHA200", 36.0)
    log_stage2("cpu", "rsws", "random1", 2, "DARTS_V2", 1.0)  # another run's trial
    log_stage2("cpu", "rsws", "random2", 1, "DARTS_V2", 2.0)  # another setting
    log_stage2("smoke", "rsws", "random1", 1, "DARTS_V2", 3.0)  # another preset
    log_stage2("cpu", "rsws", "random1", 1, "DARTS_V2", 0.5, stage="3")  # a stage-3 run is no stage-2 trial
    pick = best_stage2_pick("cnn", "rsws", "cpu", "random1", [0, 1])
    assert pick.search_seed == 0 and pick.value == 35.0 and pick.candidates == {0: 35.0, 1: 36.0}
    assert pick.genotype == get_genotype("cnn", "DARTS_V1") and pick.run_id != winner


def test_stage3_refuses_a_run_whose_trials_are_not_all_trained(store):
    log_stage2("cpu", "rsws", "random1", 0, "DARTS_V1", 40.0)
    with pytest.raises(GenotypeError, match=r"missing: \[1\]. Run their stage-2 entry first"):
        best_stage2_pick("cnn", "rsws", "cpu", "random1", [0, 1])


def test_training_pick_tags_the_stage_and_the_selection(store):
    log_stage2("cpu", "random", "", 0, "DARTS_V1", 40.0)
    log_stage2("cpu", "random", "", 1, "DARTS_V2", 20.0)
    pick = training_pick("cnn", "best-random", preset="cpu", stage=3, seed=4, trials_per_run=2)
    assert pick.genotype == get_genotype("cnn", "DARTS_V2") and pick.run_name == "stage3-random-run1-s1-seed4"
    assert pick.tags["randnas.stage"] == "3" and pick.tags["randnas.search_seeds"] == "0,1"
    assert pick.tags["randnas.search_seed"] == "1" and pick.tags["randnas.selected_by"] == "stage-2 test error"
    with pytest.raises(GenotypeError, match="set stage=3"):
        training_pick("cnn", "best-rsws", preset="cpu", stage=2, seed=0, trials_per_run=2)
    stage2 = training_pick(
        "cnn", "random", preset="cpu", stage=2, seed=0, search_seed=6, trials_per_run=4, first_search_seed=1
    )
    assert stage2.tags["randnas.search_run"] == "2" and stage2.parent_run == ""
