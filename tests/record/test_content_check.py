"""`record check` sees content: every param, tag, metric series and artifact against the digest the run wrote in
its manifest as its last act; where the artifacts lie; files left half-written. `record upgrade` blesses only a
run that still checks out, and no command rewrites or trips over a file it cannot decode."""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace

import pytest

from randnas.cli import main
from randnas.record import vocabulary as v
from randnas.record.integrity import check_store, run_problems
from randnas.record.store import open_store
from randnas.record.writer import run_tags, tracked_run


@dataclass(frozen=True)
class ToyConfig:
    seed: int = 3
    epochs: int = 2


@dataclass(frozen=True)
class MachineConfig:
    data_root: str = "/home/alice/data"  # as a run logs it before `record export` scrubs it
    epochs: int = 3


def one_run(store: Path) -> Path:
    """A finished plan run with params, tags, a two-step metric series, a config and a genotype artifact."""
    toy = SimpleNamespace(name="toy", label="toy", checksum="0" * 64)
    tags = run_tags(seed=3, preset="smoke", benchmark="toy", datasets=[toy], plan_key="p/e/smoke/seed-3@0")
    with tracked_run("toy/content", "a", tags=tags, config=ToyConfig()) as run:
        run.metrics({"valid/error": 5.94}, step=1)
        run.metrics({"valid/error": 5.43}, step=2)
        run.json({"normal": [["sep_conv_3x3", 0]]}, "genotype.json")
    return next(store.glob(f"*/{run.run_id}"))


def problems_of(store: Path) -> list[str]:
    return check_store(store)[1]


def test_a_fresh_run_checks_out_and_its_manifest_holds_digests(store):
    run = one_run(store)
    manifest = json.loads((run / "artifacts" / v.MANIFEST_ARTIFACT).read_text())
    assert manifest["version"] == 2 and v.TAG_PRESET in manifest["tags"]
    assert set(manifest["digests"]["artifacts"]) == {"config.json", "genotype.json"}
    assert problems_of(store) == []


def _delete_tag(run: Path) -> str:
    (run / "tags" / v.TAG_PRESET).unlink()
    return f"{run / 'tags' / v.TAG_PRESET}: missing (the run logged tag '{v.TAG_PRESET}')"


def _edit_tag(run: Path) -> str:
    (run / "tags" / v.TAG_PRESET).write_text("paper")
    return f"{run / 'tags'}: differs from what the run logged"


def _edit_param(run: Path) -> str:
    (run / "params" / "epochs").write_text("600")
    return f"{run / 'params'}: differs from what the run logged"


def _edit_metric(run: Path) -> str:
    path = run / "metrics" / "valid" / "error"
    path.write_text(path.read_text().replace(" 5.43 ", " 2.85 "))
    return f"{path}: its values differ from what the run logged"


def _truncate(name: str):
    def damage(run: Path) -> str:
        path = run / "artifacts" / name
        path.write_bytes(path.read_bytes()[:10])
        return f"{path}: its content differs from what the run logged (truncated or edited)"

    return damage


def _lose_manifest_and_metric(run: Path) -> str:
    (run / "artifacts" / v.MANIFEST_ARTIFACT).unlink()
    (run / "metrics" / "valid" / "error").unlink()
    return f"{run / 'artifacts' / v.MANIFEST_ARTIFACT}: missing, so nothing the run logged can be verified"


def _lose_artifacts(run: Path) -> str:
    shutil.rmtree(run / "artifacts")
    return f"{run / 'artifacts' / v.MANIFEST_ARTIFACT}: missing"


def _partial_meta(run: Path) -> str:
    (run / "meta.yaml.partial").write_text("")
    return f"{run / 'meta.yaml.partial'}: left by an interrupted write; delete it"


def _undecodable_param(run: Path) -> str:
    (run / "params" / "epochs").write_bytes(b"\xff\xfe2")
    return f"{run / 'params' / 'epochs'}: not UTF-8 text"


def _artifacts_elsewhere(run: Path) -> str:
    meta = run / "meta.yaml"
    lines = [
        "artifact_uri: ../../../../etc" if line.startswith("artifact_uri:") else line
        for line in meta.read_text().splitlines()
    ]
    meta.write_text("\n".join(lines) + "\n")
    return f"{meta}: artifact_uri ../../../../etc lies outside the run's folder"


@pytest.mark.parametrize(
    "damage",
    [
        _delete_tag,
        _edit_tag,
        _edit_param,
        _edit_metric,
        _truncate("genotype.json"),
        _truncate("config.json"),
        _lose_manifest_and_metric,
        _lose_artifacts,
        _partial_meta,
        _undecodable_param,
        _artifacts_elsewhere,
    ],
)
def test_record_check_names_content_damage(store, damage, capsys):
    run = one_run(store)
    expected = damage(run)
    assert any(problem.startswith(expected) for problem in problems_of(store)), problems_of(store)
    assert main(["record", "check", "--store", str(store)]) == 1
    assert expected in capsys.readouterr().out


def test_an_orphaned_partial_file_outside_any_run_is_named(store):
    run = one_run(store)
    (run.parent / "meta.yaml.partial").write_text("")
    partial = run.parent / "meta.yaml.partial"
    assert problems_of(store) == [
        f"{partial}: left by an interrupted write; delete it (the file beside it is the whole one)"
    ]


def test_upgrade_refuses_to_bless_a_damaged_run_and_upgrades_a_whole_old_one(store, capsys):
    whole, damaged = one_run(store), one_run(store)
    for run in (whole, damaged):  # manifests as an older randnas wrote them: counts and param names only
        path = run / "artifacts" / v.MANIFEST_ARTIFACT
        old = json.loads(path.read_text())
        path.write_text(json.dumps({"metrics": old["metrics"], "params": old["params"]}))
    (damaged / "params" / "epochs").unlink()
    before = (damaged / "artifacts" / v.MANIFEST_ARTIFACT).read_text()
    assert main(["record", "upgrade", "--store", str(store)]) == 1
    out = capsys.readouterr()
    assert f"not upgraded, damaged: run {damaged.name}: {damaged / 'params' / 'epochs'}: missing" in out.out
    assert (damaged / "artifacts" / v.MANIFEST_ARTIFACT).read_text() == before
    assert json.loads((whole / "artifacts" / v.MANIFEST_ARTIFACT).read_text())["version"] == 2
    assert run_problems(whole) == []


def test_upgrade_writes_no_manifest_for_a_run_that_lost_it(store, capsys):
    run = one_run(store)
    _lose_manifest_and_metric(run)
    assert main(["record", "upgrade", "--store", str(store)]) == 1
    assert not (run / "artifacts" / v.MANIFEST_ARTIFACT).exists()


def test_an_undecodable_tag_file_is_one_line_for_every_command(store, capsys):
    run = one_run(store)
    (run / "tags" / v.TAG_SEED).write_bytes(b"\xff3")
    from randnas.record.store import RecordUnreadable, find_runs

    with pytest.raises(RecordUnreadable, match="not UTF-8 text; `randnas record check` names it"):
        find_runs(open_store(str(store)))
    assert main(["record", "upgrade", "--store", str(store)]) == 2
    assert capsys.readouterr().err.count("\n") == 1


def machine_run(store: Path) -> Path:
    """A finished run that logged this machine's data root (param and config), as runs do before an export."""
    toy = SimpleNamespace(name="toy", label="toy", checksum="0" * 64)
    tags = run_tags(seed=1, preset="cpu", benchmark="toy", datasets=[toy], plan_key="p/e/cpu/seed-1@0")
    with tracked_run("toy/scrub", "a", tags=tags, config=MachineConfig()) as opened:
        opened.metrics({"loss": 1.0}, step=1)
    return next(store.glob(f"*/{opened.run_id}"))


def test_export_scrubs_a_machine_path_and_the_run_still_checks_out(store):
    from randnas.record.portable import DATA_ROOT_WORDS, export_record

    run = machine_run(store)
    export_record(store.parent, store)
    assert (run / "params" / "data_root").read_text() == DATA_ROOT_WORDS
    assert json.loads((run / "artifacts" / "config.json").read_text())["data_root"] == DATA_ROOT_WORDS
    assert run_problems(run) == []


def test_export_does_not_refresh_the_manifest_of_a_damaged_run(store):
    from randnas.record.portable import export_record

    run = machine_run(store)
    (run / "params" / "epochs").write_text("600")
    export_record(store.parent, store)
    assert any("params: differs" in problem for problem in run_problems(run))


def test_the_book_names_a_truncated_artifact_instead_of_a_json_traceback(store):
    from randnas.experiments.catalog import load_record
    from randnas.record.integrity import RecordDamaged

    run = one_run(store)
    genotype = run / "artifacts" / "genotype.json"
    genotype.write_text(genotype.read_text()[:7])
    with pytest.raises(RecordDamaged, match=f"{genotype}: its content differs from what the run logged"):
        load_record(store)


def test_upgrade_names_old_plan_runs_by_preset_and_links_their_book_pages(store, tmp_path, monkeypatch):
    """A run an older randnas made keeps its first name ("DARTS_V2-seed0" in every preset) and a plain-text
    description: upgrade names it <preset>/<entry>/<job>, links its page, describes its experiment, and leaves
    its manifest whole (MLflow's own tags are not the record's content)."""
    toy = SimpleNamespace(name="toy", label="toy", checksum="0" * 64)
    plan_key = "default/cnn-reference/cpu/genotype-DARTS-V2_seed-0@ab"
    tags = run_tags(seed=0, preset="cpu", benchmark="cnn", datasets=[toy], plan_key=plan_key)
    with tracked_run("cnn/train", "DARTS_V2-seed0", tags=tags) as run:
        pass
    client = open_store(store).client()
    client.set_tag(run.run_id, "mlflow.runName", "DARTS_V2-seed0")
    client.set_tag(run.run_id, v.SOURCE_TAG, "ipykernel_launcher.py")
    client.set_tag(run.run_id, v.NOTE_TAG, "Rendered in the book at book/runs/cpu/x.html (plan job p).")
    project = tmp_path / "project"  # the book's copy of the run, which names the notebook it ran
    copy = project / "book/runs/cpu/cnn-reference/genotype-DARTS-V2_seed-0.ipynb"
    copy.parent.mkdir(parents=True)
    (project / "_toc.yml").write_text("root: intro\n")
    copy.write_text(json.dumps({"metadata": {"papermill": {"input_path": "notebooks/train_from_scratch.ipynb"}}}))
    monkeypatch.chdir(project)
    assert main(["record", "upgrade", "--store", str(store)]) == 0
    upgraded = client.get_run(run.run_id)
    assert upgraded.info.run_name == "cpu/cnn-reference/genotype-DARTS-V2_seed-0"
    page = "book/runs/cpu/cnn-reference/genotype-DARTS-V2_seed-0.html"
    assert upgraded.data.tags[v.NOTE_TAG].startswith(f"Rendered in the book at [{page}](/book/{page})")
    # its source is the notebook the job ran (read from the committed copy), not the kernel's launcher
    assert upgraded.data.tags[v.SOURCE_TAG] == "notebooks/train_from_scratch.ipynb"
    experiment = client.get_experiment(upgraded.info.experiment_id)
    assert experiment.tags[v.NOTE_TAG].startswith("CIFAR-10 trainings from scratch")
    assert problems_of(store) == []
