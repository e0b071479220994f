"""A whole ASHA search: settings checked up front, the record in MLflow (parent, children, event log,
promotions, best architecture), the same digest twice, and a resumed search that duplicates nothing."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest

from randnas.data import load_corpus
from randnas.experiments import asha
from randnas.experiments.asha import EXPERIMENTS, TAG_TRIAL
from randnas.record.artifacts import download_artifact, load_json
from randnas.record.store import find_runs, metric_history, open_store
from randnas.record.vocabulary import PARENT_TAG
from randnas.search.asha.search import EVENTS_FILE, AshaConfig, make_trials, run_asha_search

TOY = SimpleNamespace(name="toy", label="toy", checksum="0" * 64)

SMALL_CNN = {"channels": 4, "layers": 3, "cutout": 2, "batch_size": 128, "lr": 0.05, "eval_batch_size": 512}
SMALL_PTB = {
    "hidden": 16,
    "batch_size": 16,
    "bptt": 8,
    "eval_batch_size": 16,
    "max_steps_per_epoch": 4,
    "max_eval_chunks": 3,
}


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"benchmark": "mnist"}, "unknown benchmark 'mnist'; choose one of cnn, ptb"),
        ({"backend": "slurm"}, "unknown ASHA backend 'slurm'; choose one of inprocess, process, ray"),
        ({"clock": "lunar"}, "unknown ASHA clock 'lunar'; choose one of simulated, wall"),
        ({"layout": "zigzag"}, "unknown ASHA layout 'zigzag'; choose one of top_down, bottom_up"),
        ({"max_trials": 0}, "a budget needs max_trials, max_resource or max_time"),
        ({"eta": 1}, "eta \\(the reduction factor\\) must be an integer of at least 2"),
        ({"workers": 0}, "workers"),
        ({"train": {"channel": 8}}, "\\['channel'\\] are not CnnTrainConfig fields; choose from .*\\(epochs is R\\)"),
        ({"train": {"epochs": 8}}, "\\['epochs'\\] are not CnnTrainConfig fields"),
    ],
)
def test_bad_settings_fail_before_anything_runs(changes, message):
    with pytest.raises(ValueError, match=message):
        AshaConfig(**{"max_trials": 4, **changes})


def run_search(benchmark: str, seed: int = 0, **changes):
    small = SMALL_CNN if benchmark == "cnn" else SMALL_PTB
    dataset = "digits" if benchmark == "cnn" else "pydoc"
    config = AshaConfig(benchmark=benchmark, r=1, R=3, eta=3, max_trials=4, workers=2, train=small, **changes)
    data = load_corpus("pydoc") if benchmark == "ptb" else None
    key = f"test/{benchmark}/{seed}/" + "-".join(map(str, changes.values()))
    with asha.open_run(config, TOY, seed=seed, repeat=1, preset="test", plan_key=key, device="cpu") as run:
        trials = make_trials(config, dataset, seed, run.checkpoint_dir(), device="cpu")
        result = run_asha_search(config, trials, run.checkpoint_dir())
        run.finish(result, trials, run.checkpoint_dir())
    assert data is None or data.vocab_size > 0
    return run.run_id, result


@pytest.mark.parametrize("benchmark", ["cnn", "ptb"])
def test_the_record_of_a_search(store, benchmark):
    run_id, result = run_search(benchmark)
    opened = open_store()
    parent = find_runs(opened, EXPERIMENTS[benchmark], plan_key=f"test/{benchmark}/0/")
    assert [run.info.run_id for run in parent] == [run_id]
    children = [run for run in find_runs(opened, EXPERIMENTS[benchmark]) if run.data.tags.get(PARENT_TAG) == run_id]
    assert sorted(int(c.data.tags[TAG_TRIAL]) for c in children) == list(range(4))
    name = "rung/valid_acc" if benchmark == "cnn" else "rung/valid_ppl"
    for child in children:
        trial = int(child.data.tags[TAG_TRIAL])
        rungs = [(e.resource, e.value) for e in result.events if e.trial == trial]
        logged = sorted((step, value) for step, value in metric_history(opened, child.info.run_id, name))
        expected = sorted((resource, value if benchmark == "cnn" else -value) for resource, value in rungs)
        assert logged == expected
        assert child.data.tags["randnas.genotype"].startswith("Genotype(")
    events = download_artifact(opened, run_id, f"asha/{EVENTS_FILE}", store.parent / "dl")
    assert len(events.read_text().splitlines()) == len(result.events)
    promotions = load_json(opened, run_id, "asha/promotions.json")
    assert [(p["trial"], p["to_rung"]) for p in promotions] == [(e.trial, e.rung) for e in result.events if e.rung > 0]
    genotype = load_json(opened, run_id, "genotype.json")
    assert json.dumps(genotype) == json.dumps(result.genotype.to_dict())
    top = [e for e in result.events if e.rung == result.best_rung]
    assert result.best_value == max(e.value for e in top)


def test_same_seed_same_search_and_a_different_seed_differs(store):
    _, first = run_search("cnn", 0)
    _, again = run_search("cnn", 0, backend="process")  # the same search on a process pool
    _, other = run_search("cnn", 1)
    assert first.digest() == again.digest()
    assert first.genotype == again.genotype and first.best_trial == again.best_trial
    assert first.digest() != other.digest()


def test_a_resumed_parent_does_not_log_its_children_twice(store):
    config = AshaConfig(benchmark="cnn", r=1, R=3, eta=3, max_trials=3, train=SMALL_CNN)
    where = {"seed": 0, "repeat": 1, "preset": "test", "plan_key": "test/resume", "device": "cpu"}
    with pytest.raises(RuntimeError, match="stop"), asha.open_run(config, TOY, **where) as run:
        trials = make_trials(config, "digits", 0, run.checkpoint_dir(), device="cpu")
        result = run_asha_search(config, trials, run.checkpoint_dir())
        run.finish(result, trials, run.checkpoint_dir())
        raise RuntimeError("stop")  # the notebook died after logging
    with asha.open_run(config, TOY, **where) as resumed:
        assert resumed.run_id == run.run_id
        again = run_asha_search(config, trials, resumed.checkpoint_dir())  # replayed from the event log
        resumed.finish(again, trials, resumed.checkpoint_dir())
    assert again.digest() == result.digest()
    children = [r for r in find_runs(open_store(), EXPERIMENTS["cnn"]) if r.data.tags.get(PARENT_TAG) == run.run_id]
    assert len(children) == 3
