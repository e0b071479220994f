"""What a training trains: a name, a DARTS string, a run's genotype, a search's pick, or (stage 3) the winner
among one independent run's stage-2 trials, chosen by the same selector the tables use."""

from __future__ import annotations

import pytest

from randnas.experiments.train import (
    best_stage2_pick,
    find_genotype,
    search_run_of,
    search_run_seeds,
    training_pick,
)
from randnas.spaces import GenotypeError
from randnas.spaces.named import get_genotype
from tests.rows import RecordBuilder


def test_rsws_spec_finds_the_newest_single_mode_search_of_this_preset_setting_and_seed():
    built = RecordBuilder()
    built.search(preset="smoke", seed=0, genotype=get_genotype("cnn", "DARTS_V1"))
    wanted = built.search(preset="smoke", seed=1, genotype=get_genotype("cnn", "ASHA200"))
    built.search(preset="cpu", seed=1, genotype=get_genotype("cnn", "DARTS_V2"))
    # newer, but the released code's supernet: never a pick
    built.search(preset="smoke", seed=1, mode="dense", genotype=get_genotype("cnn", "DARTS_V2"))
    genotype, parent = find_genotype(built.record(), "cnn", "rsws", "smoke", "random1", 1)
    assert genotype == get_genotype("cnn", "ASHA200") and parent == wanted


def test_rsws_spec_without_a_search_says_what_to_run():
    with pytest.raises(
        GenotypeError,
        match="no FINISHED cnn/rsws run with preset 'smoke', setting 'random2' and seed 3: run that search first",
    ):
        find_genotype(RecordBuilder().record(), "cnn", "rsws", "smoke", "random2", 3)


def test_run_spec_reads_the_runs_genotype_artifact():
    built = RecordBuilder()
    run_id = built.search(genotype=get_genotype("cnn", "DARTS_V2"))
    assert find_genotype(built.record(), "cnn", f"run:{run_id}") == (get_genotype("cnn", "DARTS_V2"), run_id)
    with pytest.raises(GenotypeError, match="no run .nope. in the record"):
        find_genotype(built.record(), "cnn", "run:nope")


def test_names_and_strings_have_no_parent_run_and_need_no_record():
    v2 = get_genotype("cnn", "DARTS_V2")
    assert find_genotype(None, "cnn", "DARTS_V2") == (v2, "")
    assert find_genotype(None, "cnn", v2.to_darts()) == (v2, "")
    with pytest.raises(GenotypeError, match="reads the record"):
        find_genotype(None, "cnn", "rsws")


def test_random_spec_samples_one_genotype_per_seed_for_the_random_baseline():
    first, parent = find_genotype(None, "cnn", "random", search_seed=0)
    assert parent == "" and find_genotype(None, "cnn", "random", search_seed=0)[0] == first
    assert find_genotype(None, "cnn", "random", search_seed=1)[0] != first


def test_random_cells_are_none_free_as_darts_evaluates_them_and_the_released_sampler_is_an_option():
    cells = [find_genotype(None, "cnn", "random", search_seed=seed)[0] for seed in range(40)]
    assert all(op != "none" for cell in cells for op, _ in (*cell.normal, *cell.reduce))
    released = [find_genotype(None, "cnn", "random-with-none", search_seed=seed)[0] for seed in range(40)]
    # (7/8)^16 = 12 % of the released sampler's cells are none-free: 40 draws without a `none` would be a bug
    assert any(op == "none" for cell in released for op, _ in (*cell.normal, *cell.reduce))
    assert find_genotype(None, "rnn", "random", search_seed=3)[0].recurrent
    with pytest.raises(GenotypeError, match="the rnn sampler never draws none"):
        find_genotype(None, "rnn", "random-with-none", search_seed=3)


def test_the_random_baseline_picks_on_validation_error_and_says_so():
    built = RecordBuilder()
    stage2(built, "cpu", "random", "", 0, "DARTS_V1", 40.0, objective="valid")
    stage2(built, "cpu", "random", "", 1, "DARTS_V2", 20.0, objective="valid")
    pick = training_pick(built.record(), "cnn", "best-random", preset="cpu", stage=3, seed=4, trials_per_run=2)
    assert pick.genotype == get_genotype("cnn", "DARTS_V2") and pick.objective == "test"
    assert pick.tags["randnas.selected_by"].startswith("stage-2 validation error")
    stage2(built, "cpu", "random", "", 2, "DARTS_V1", 10.0)  # scored on the test set: not like with like
    with pytest.raises(GenotypeError, match="were scored differently"):
        training_pick(built.record(), "cnn", "best-random", preset="cpu", stage=3, seed=4, trials_per_run=3)


def test_the_valid_objective_is_a_cifar10_stage2_choice():
    brief = training_pick(None, "cnn", "random", preset="cpu", stage=2, seed=0, search_seed=3, objective="valid")
    assert brief.objective == "valid" and brief.tags["randnas.objective"] == "valid"
    assert "randnas.objective" not in training_pick(None, "cnn", "random", preset="cpu", stage=2, seed=0).tags
    with pytest.raises(GenotypeError, match="stage 3 reports test error"):
        training_pick(None, "cnn", "DARTS_V2", preset="cpu", stage=3, seed=1, objective="valid")
    with pytest.raises(GenotypeError, match="CIFAR-10 only"):
        training_pick(None, "rnn", "DARTS_V2", preset="cpu", stage=2, seed=0, objective="valid")
    with pytest.raises(GenotypeError, match="is not one of"):
        training_pick(None, "cnn", "DARTS_V2", preset="cpu", stage=2, seed=0, objective="validation")


def test_search_runs_hold_consecutive_seeds_and_the_inverse_agrees():
    assert search_run_seeds(1, 4, 1) == [1, 2, 3, 4] and search_run_seeds(3, 4, 1) == [9, 10, 11, 12]
    assert [search_run_of(seed, 4, 1) for seed in (1, 4, 5, 24)] == [1, 1, 2, 6]
    with pytest.raises(GenotypeError, match="must be at least 1"):
        search_run_seeds(0, 4, 1)


def stage2(built, preset, spec, setting, search_seed, name, error, stage=2, seed=0, repeat=1, objective="test"):
    return built.train(
        spec,
        [50.0, error],
        preset=preset,
        setting=setting,
        search_seed=search_seed,
        seed=seed,
        stage=stage,
        repeat=repeat,
        genotype=get_genotype("cnn", name),
        objective=objective,
    )


def test_stage3_picks_the_run_trial_with_the_lowest_stage2_mean_and_ignores_everything_else():
    built = RecordBuilder()
    stage2(built, "cpu", "rsws", "random1", 0, "DARTS_V1", 40.0)
    stage2(built, "cpu", "rsws", "random1", 0, "DARTS_V1", 30.0, seed=1)  # mean 35.0 over two training seeds
    winner = stage2(built, "cpu", "rsws", "random1", 1, "ASHA200", 36.0)
    stage2(built, "cpu", "rsws", "random1", 0, "DARTS_V1", 99.0, repeat=2)  # a same-seed repeat: no further seed
    stage2(built, "cpu", "rsws", "random1", 2, "DARTS_V2", 1.0)  # another run's trial
    stage2(built, "cpu", "rsws", "random2", 1, "DARTS_V2", 2.0)  # another setting
    stage2(built, "smoke", "rsws", "random1", 1, "DARTS_V2", 3.0)  # another preset
    stage2(built, "cpu", "rsws", "random1", 1, "DARTS_V2", 0.5, stage=3)  # a stage-3 run is no stage-2 trial
    pick = best_stage2_pick(built.record(), "cnn", "rsws", "cpu", "random1", [0, 1])
    assert pick.search_seed == 0 and pick.value == 35.0 and pick.candidates == {0: 35.0, 1: 36.0}
    assert pick.genotype == get_genotype("cnn", "DARTS_V1") and pick.run_id != winner


def test_stage3_refuses_a_run_whose_trials_are_not_all_trained():
    built = RecordBuilder()
    stage2(built, "cpu", "rsws", "random1", 0, "DARTS_V1", 40.0)
    with pytest.raises(GenotypeError, match=r"missing: \[1\]. Run their stage-2 entry first"):
        best_stage2_pick(built.record(), "cnn", "rsws", "cpu", "random1", [0, 1])


def test_training_pick_tags_the_stage_and_the_selection():
    built = RecordBuilder()
    stage2(built, "cpu", "random", "", 0, "DARTS_V1", 40.0)
    stage2(built, "cpu", "random", "", 1, "DARTS_V2", 20.0)
    record = built.record()
    pick = training_pick(record, "cnn", "best-random", preset="cpu", stage=3, seed=4, trials_per_run=2)
    assert pick.genotype == get_genotype("cnn", "DARTS_V2") and pick.run_name == "stage3-random-run1-s1-seed4"
    assert pick.tags["randnas.stage"] == "3" and pick.tags["randnas.search_seeds"] == "0,1"
    assert pick.tags["randnas.search_seed"] == "1" and pick.tags["randnas.selected_by"] == "stage-2 test error"
    with pytest.raises(GenotypeError, match="set stage=3"):
        training_pick(record, "cnn", "best-rsws", preset="cpu", stage=2, seed=0, trials_per_run=2)
    stage2_pick = training_pick(
        None, "cnn", "random", preset="cpu", stage=2, seed=0, search_seed=6, trials_per_run=4, first_search_seed=1
    )
    assert stage2_pick.tags["randnas.search_run"] == "2" and stage2_pick.parent_run == ""


def test_stage3_never_repeats_the_seed_that_won_stage_2():
    """Stage 3 with the winner's own stage-2 seed would print the selection number again as an evaluation."""
    built = RecordBuilder()
    stage2(built, "cpu", "rsws", "random1", 0, "DARTS_V1", 40.0)
    stage2(built, "cpu", "rsws", "random1", 1, "DARTS_V2", 20.0)
    record = built.record()
    with pytest.raises(GenotypeError, match=r"stage 3 seed 0 repeats the stage-2 training of the winning trial"):
        training_pick(
            record, "cnn", "best-rsws", preset="cpu", stage=3, seed=0, search_setting="random1", trials_per_run=2
        )
    pick = training_pick(
        record, "cnn", "best-rsws", preset="cpu", stage=3, seed=1, search_setting="random1", trials_per_run=2
    )
    assert pick.tags["randnas.search_seed"] == "1"
