"""The `randnas` command: one clear line for each kind of bad input."""

from __future__ import annotations

import subprocess
import sys

import pytest

from randnas import cli
from tests.conftest import REPO


def run_cli(*args: str, cwd=REPO) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "randnas.cli", *args], cwd=cwd, capture_output=True, text=True, timeout=300, check=False
    )


def error_lines(done: subprocess.CompletedProcess) -> list[str]:
    return [line for line in done.stderr.splitlines() if line.strip()]


def test_unknown_preset_one_line(store):
    done = run_cli("run", "plans/default.yaml", "--preset", "fast")
    assert done.returncode == 2
    assert error_lines(done) == ["randnas: error: unknown preset 'fast'; choose one of smoke, cpu, paper"]


def test_malformed_plan_one_line(store, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: bad\nentries:\n  a: {notebook: notebooks/nope.ipynb}\n")
    done = run_cli("run", str(bad), "--preset", "smoke")
    assert done.returncode == 2
    [line] = error_lines(done)
    assert line.startswith("randnas: error: plan ") and "notebook notebooks/nope.ipynb not found" in line


def test_unknown_override_one_line(store):
    done = run_cli("run", "plans/default.yaml", "--preset", "smoke", "--set", "sead=3", "--dry-run")
    assert done.returncode == 2
    [line] = error_lines(done)
    assert "override 'sead' is not a parameter of datasets.ipynb" in line


def test_dry_run_lists_jobs_and_runs_nothing(store):
    done = run_cli("run", "plans/default.yaml", "--preset", "smoke", "--dry-run")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("todo  default/datasets/smoke/default@")
    assert not store.exists() or not list(store.rglob("meta.yaml"))


def test_missing_data_fails_the_job_with_the_loader_message(store, tmp_path):
    copy = REPO / "book" / "runs" / "cpu" / "datasets" / "default.ipynb"
    before = copy.read_bytes() if copy.exists() else None  # the committed copy, if the record has one
    done = run_cli(
        "run", "plans/default.yaml", "--preset", "cpu", "--only", "datasets", "--data-root", str(tmp_path / "nowhere")
    )
    assert done.returncode == 1
    assert "failed   default/datasets/cpu/default@" in done.stdout
    assert "CIFAR-10 not found under" in done.stdout and "put the python version's folder" in done.stdout
    assert [line for line in error_lines(done) if line.startswith("randnas")] == [
        "randnas: 1 of 1 jobs failed or were blocked by a failed entry"
    ]
    assert (copy.read_bytes() if copy.exists() else None) == before  # the book's copy is untouched


def test_data_check_reports_each_dataset(capsys, tmp_path):
    assert cli.main(["data", "check", "--data-root", str(tmp_path)]) == 0  # the embedded sets are always there
    out = capsys.readouterr().out.splitlines()
    # NAS-Bench-201's accuracies also come with the pinned package; the surrogate only from the data root
    assert [line.split()[:2] for line in out] == [
        ["ok", "digits"],
        ["missing", "cifar10"],
        ["ok", "pydoc"],
        ["missing", "ptb"],
        ["ok", "nb201"],
        ["missing", "nb301-surrogate"],
    ]
    assert "put ptb.train.txt" in out[3] and "yahpo-nb301/model_v2.onnx not found" in out[5]


def test_wrong_checksum_one_line_from_data_check(capsys, tmp_path):
    (tmp_path / "ptb").mkdir()
    for split in ("train", "valid", "test"):
        (tmp_path / "ptb" / f"ptb.{split}.txt").write_text("not the real file\n")
    cli.main(["data", "check", "--data-root", str(tmp_path)])
    [ptb_line] = [line for line in capsys.readouterr().out.splitlines() if " ptb " in line]
    assert "ptb.train.txt: sha256" in ptb_line and "replace it with Mikolov's ptb.train.txt" in ptb_line


@pytest.mark.parametrize("argv", [["run"], ["frobnicate"]])
def test_usage_errors_exit_2(argv):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(argv)
    assert exit_info.value.code == 2


def test_genotype_describe_prints_the_paper_parameter_count(capsys):
    assert cli.main(["genotype", "describe", "DARTS_V2"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("Genotype(normal=[('sep_conv_3x3', 0)")
    assert out[1].startswith("parameters: 3.35M (evaluation network, C=36, 20 cells")
    assert out[2] == "parameters with the auxiliary head: 3.83M"


def test_the_figure_3_cell_has_table_1s_size_when_the_auxiliary_head_is_counted(capsys):
    assert cli.main(["genotype", "describe", "RSWS_FIG3"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert (
        out[1].startswith("parameters: 3.86M") and out[2] == "parameters with the auxiliary head: 4.33M"
    )  # Table 1: 4.3M


def test_genotype_describe_accepts_a_darts_string(capsys):
    from randnas.spaces.named import get_genotype

    assert cli.main(["genotype", "describe", get_genotype("cnn", "ASHA200").to_darts()]) == 0
    assert "parameters: 2.24M" in capsys.readouterr().out


def test_genotype_sample_is_seeded(capsys):
    cli.main(["genotype", "sample", "--seed", "4", "--count", "2"])
    first = capsys.readouterr().out
    cli.main(["genotype", "sample", "--seed", "4", "--count", "2"])
    assert capsys.readouterr().out == first and len(first.splitlines()) == 2


def test_genotype_errors_are_one_line(capsys):
    assert cli.main(["genotype", "describe", "DARTS_V9"]) == 2
    assert (
        capsys.readouterr().err
        == "randnas: error: unknown cnn genotype 'DARTS_V9'; the named ones are ASHA200, DARTS_V1, DARTS_V2, "
        "RSWS_FIG3\n"
    )


def test_genotype_describe_recurrent_prints_darts_23m(capsys):
    assert cli.main(["genotype", "describe", "--space", "rnn", "DARTS_V2"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == (
        "Genotype(recurrent=[('sigmoid', 0), ('relu', 1), ('relu', 1), ('identity', 1), ('tanh', 2), "
        "('sigmoid', 5), ('tanh', 3), ('relu', 5)], concat=range(1, 9))"
    )
    assert out[1].startswith("parameters: 22.96M (language model, 850 units")
    assert cli.main(["genotype", "describe", out[0]]) == 0  # a recurrent string is recognised by its form
    assert "22.96M" in capsys.readouterr().out


def test_genotype_sample_recurrent(capsys):
    cli.main(["genotype", "sample", "--space", "rnn", "--seed", "1"])
    assert capsys.readouterr().out.startswith("Genotype(recurrent=[")


def test_asha_rungs_prints_the_released_layout(capsys):
    assert cli.main(["asha", "rungs", "--r", "1", "--R", "300", "--eta", "4"]) == 0
    assert capsys.readouterr().out.splitlines()[1:] == [
        f"  rung {k}: {e} epochs" for k, e in enumerate([1, 4, 18, 75, 300])
    ]
    assert cli.main(["asha", "rungs", "--eta", "1"]) == 2
    assert "eta (the reduction factor) must be an integer of at least 2, got 1" in capsys.readouterr().err


@pytest.mark.parametrize(
    "args, message",
    [
        (["genotype", "sample", "--seed", "0", "--count", "-3"], "expected a whole number of at least 1, got -3"),
        (["asha", "rungs", "--R", "inf"], "must be a finite number of at least r = 1, got inf"),
        (["data", "check", "--data-root", "/no/such/folder"], "data root /no/such/folder is not a folder"),
        (["genotype", "describe", "run:0000deadbeef"], "no run '0000deadbeef' in the record"),
        (["ui", "--port", "99999"], "a port is 1 to 65535, got 99999"),
        (["record", "export", "--store", "/no/such/mlruns"], "no file store at /no/such/mlruns"),
    ],
)
def test_bad_input_gives_one_line_and_exit_code_2(args, message, store):
    done = run_cli(*args)
    assert done.returncode == 2 and message in done.stderr
    assert "Traceback" not in done.stderr


def test_ui_on_a_busy_port_says_so(store):
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        done = run_cli("ui", "--port", str(port))
    assert done.returncode == 2 and f"port {port} on 127.0.0.1 is in use" in done.stderr


def test_a_relative_data_root_is_the_folder_as_seen_from_where_randnas_runs(tmp_path, monkeypatch):
    from randnas import runner

    seen = {}
    monkeypatch.setattr(runner, "run_plan", lambda *a, **k: seen.update(k) or [])
    (tmp_path / "mydata").mkdir()
    monkeypatch.chdir(tmp_path)
    cli.main(
        ["run", str(REPO / "plans" / "default.yaml"), "--preset", "cpu", "--data-root", "mydata", "--only", "datasets"]
    )
    assert seen["data_root"] == str(tmp_path / "mydata")  # the notebooks run in the project root, not here


def test_surrogate_predict_prints_accuracy_and_time(capsys):
    from tests.conftest import shared_data_root

    root = shared_data_root()
    if root is None or not (root / "yahpo-nb301").is_dir():
        pytest.skip("the NAS-Bench-301 surrogate files are absent")
    assert cli.main(["surrogate", "predict", "DARTS_V2", "--epoch", "75", "--data-root", str(root)]) == 0
    out = capsys.readouterr().out
    assert "surrogate prediction" in out and "0.9183 (91.83 %)" in out and "GPU-hours" in out


@pytest.mark.parametrize(
    "argv, message",
    [
        (["surrogate", "predict", "DARTS_V2", "--epoch", "0"], "epoch 0 is outside the surrogate's range 1..98"),
        (["surrogate", "predict", "ENAS"], "unknown cnn genotype 'ENAS'"),
        (["surrogate", "predict", "DARTS_V2", "--data-root", "/nonexistent"], "model_v2.onnx not found"),
        (["genotype", "sample", "--seed", "0", "--space", "rnn", "--none-free"], "--none-free narrows the CNN space"),
    ],
)
def test_surrogate_and_sampler_errors_are_one_line(argv, message, capsys):
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


def test_export_from_the_store_it_writes_is_refused(store):
    store.mkdir(parents=True)
    done = run_cli("record", "export", "--from", str(store), "--store", str(store))
    assert done.returncode == 2 and "--from names the store being exported" in done.stderr


def test_an_unwritable_checkpoint_folder_is_one_line_and_starts_nothing(store, tmp_path, monkeypatch):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")  # a folder under a file cannot be made, even by root
    monkeypatch.setenv("RANDNAS_CHECKPOINTS", str(blocker / "checkpoints"))
    done = run_cli("run", "plans/default.yaml", "--preset", "smoke", "--only", "datasets")
    assert done.returncode == 2 and "Traceback" not in done.stderr
    [line] = error_lines(done)
    assert f"cannot write checkpoints to {blocker / 'checkpoints' / '.locks'}" in line and "RANDNAS_CHECKPOINTS" in line
    assert not store.exists() or not list(store.rglob("meta.yaml"))
