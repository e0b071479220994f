"""Plans: the YAML format, presets, overrides, and the runner's skip-completed rule."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest

from randnas import plans, runner
from randnas.record import vocabulary as v
from randnas.record.store import find_runs, open_store
from tests.conftest import REPO

PARAMETERS = (
    'preset = "smoke"\nplan_key = ""\ndata_root = ""\nstore = ""\nheld_lock = ""\nseed = 0\nvalue = 1.0\nfail = False\n'
    "sleep = 0.0"
)
BODY = """import time
from types import SimpleNamespace
from randnas.record.writer import run_tags, tracked_run
toy = SimpleNamespace(name="toy", label="toy", checksum="0" * 64)
tags = run_tags(seed=seed, preset=preset, benchmark="toy", datasets=[toy], plan_key=plan_key)
with tracked_run("toy/plans", f"toy-{seed}", tags=tags, store=store or None, held_lock=held_lock) as run:
    run.metrics({"valid/value": value * seed}, step=0)
    time.sleep(sleep)
    if fail:
        raise RuntimeError("the toy notebook was told to fail")
"""


def write_notebook(path: Path, parameters: str = PARAMETERS, body: str = BODY) -> Path:
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [
        nbformat.v4.new_markdown_cell("# A toy notebook\n\nIt logs one run."),
        nbformat.v4.new_code_cell(parameters, metadata={"tags": ["parameters"]}),
        nbformat.v4.new_code_cell(body),
    ]
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(notebook, path)
    return path


PLAN = """
name: toy
description: a toy plan
entries:
  toy:
    notebook: notebooks/toy.ipynb
    params: {value: 2.0}
    grid: {seed: [1, 2]}
    presets:
      smoke: {}
      cpu: {params: {value: 3.0}, grid: {seed: [5]}}
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    write_notebook(root / "notebooks" / "toy.ipynb")
    (root / "plans").mkdir()
    (root / "plans" / "toy.yaml").write_text(PLAN)
    (root / "_toc.yml").write_text("format: jb-book\nroot: intro\n")
    return root


def fixed_parameters(_: Path) -> set[str]:
    return {"preset", "plan_key", "data_root", "store", "held_lock", "seed", "value", "fail", "sleep"}


def test_expand_grid_and_presets(project):
    plan = plans.load_plan(project / "plans" / "toy.yaml", root=project)
    smoke = plans.expand(plan, "smoke", notebook_parameters=fixed_parameters)
    assert [job.name for job in smoke] == ["seed-1", "seed-2"]
    assert [job.parameters["value"] for job in smoke] == [2.0, 2.0]
    assert smoke[0].plan_key.startswith("toy/toy/smoke/seed-1@")
    assert smoke[0].parameters["plan_key"] == smoke[0].plan_key
    assert smoke[0].output == Path("book/runs/smoke/toy/seed-1.ipynb")
    cpu = plans.expand(plan, "cpu", notebook_parameters=fixed_parameters)
    assert [(job.name, job.parameters["value"]) for job in cpu] == [("seed-5", 3.0)]
    assert plans.expand(plan, "paper", notebook_parameters=fixed_parameters) == []


def test_expand_overrides_replace_a_grid_axis_or_fix_a_value(project):
    plan = plans.load_plan(project / "plans" / "toy.yaml", root=project)
    new_seeds = plans.expand(plan, "smoke", {"seed": [7, 8, 9]}, notebook_parameters=fixed_parameters)
    assert [job.parameters["seed"] for job in new_seeds] == [7, 8, 9]
    fixed = plans.expand(plan, "smoke", {"value": 0.5}, notebook_parameters=fixed_parameters)
    assert [job.name for job in fixed] == ["seed-1_value-0.5", "seed-2_value-0.5"]
    default_keys = {job.plan_key for job in plans.expand(plan, "smoke", notebook_parameters=fixed_parameters)}
    assert default_keys.isdisjoint(job.plan_key for job in fixed)


REPEAT_PLAN = """
name: toy
entries:
  toy:
    notebook: notebooks/toy.ipynb
    grid: {seed: [1, 2]}
    presets:
      smoke: {extra: [{seed: 2, value: 9.0}, {seed: 1}]}
"""


def test_an_override_that_changes_nothing_names_no_new_job(project):
    plan = plans.load_plan(project / "plans" / "toy.yaml", root=project)
    plain = plans.expand(plan, "smoke", notebook_parameters=fixed_parameters)
    same = plans.expand(plan, "smoke", {"value": 2.0}, notebook_parameters=fixed_parameters)  # the entry's own value
    assert [job.plan_key for job in same] == [job.plan_key for job in plain]
    changed = plans.expand(plan, "smoke", {"value": 5.0}, notebook_parameters=fixed_parameters)
    assert [job.name for job in changed] == ["seed-1_value-5.0", "seed-2_value-5.0"]


def test_the_default_plans_no_op_override_is_the_same_job():
    plan = plans.load_plan(REPO / "plans" / "default.yaml", root=REPO)
    [plain] = plans.expand(plan, "smoke", only=["datasets"])
    [same] = plans.expand(plan, "smoke", {"image_sets": ["digits"]}, only=["datasets"])
    assert same.plan_key == plain.plan_key


def test_extra_points_run_beside_the_grid(project):
    path = project / "plans" / "repeat.yaml"
    path.write_text(REPEAT_PLAN)
    plan = plans.load_plan(path, root=project)
    jobs = plans.expand(plan, "smoke", notebook_parameters=fixed_parameters)
    assert [job.name for job in jobs] == ["seed-1", "seed-2", "seed-2_value-9.0"]  # {seed: 1} is already a grid point
    assert jobs[2].parameters["seed"] == 2 and jobs[2].parameters["value"] == 9.0
    assert len({job.plan_key for job in jobs}) == 3
    # new seeds on the command line: only the extra points on those seeds stay
    assert [
        job.name for job in plans.expand(plan, "smoke", {"seed": [1, 3]}, notebook_parameters=fixed_parameters)
    ] == ["seed-1", "seed-3"]
    fixed = plans.expand(plan, "smoke", {"value": 0.5}, notebook_parameters=fixed_parameters)
    assert all(job.parameters["value"] == 0.5 for job in fixed)
    assert [job.name for job in fixed] == ["seed-1_value-0.5", "seed-2_value-0.5"]


def test_extra_point_with_an_unknown_parameter_is_refused(project):
    path = project / "plans" / "repeat.yaml"
    path.write_text(REPEAT_PLAN.replace("value: 9.0", "valeu: 9.0"))
    with pytest.raises(plans.PlanError, match="entry 'toy': 'valeu' is not a parameter of toy.ipynb"):
        plans.expand(plans.load_plan(path, root=project), "smoke", notebook_parameters=fixed_parameters)


@pytest.mark.parametrize(
    "overrides, message",
    [
        ({"seeds": 3}, "override 'seeds' is not a parameter of toy.ipynb"),
        ({"preset": "cpu"}, "override 'preset' is set by the runner"),
    ],
)
def test_expand_bad_override_is_one_clear_line(project, overrides, message):
    plan = plans.load_plan(project / "plans" / "toy.yaml", root=project)
    with pytest.raises(plans.PlanError, match=message) as error:
        plans.expand(plan, "smoke", overrides, notebook_parameters=fixed_parameters)
    assert "\n" not in str(error.value)


def test_only_selects_entries_and_names_unknown_ones(project):
    plan = plans.load_plan(project / "plans" / "toy.yaml", root=project)
    assert len(plans.expand(plan, "smoke", only=["toy"], notebook_parameters=fixed_parameters)) == 2
    with pytest.raises(plans.PlanError, match=r"plan 'toy' has no entry \['tyo'\]; its entries are toy"):
        plans.expand(plan, "smoke", only=["tyo"], notebook_parameters=fixed_parameters)


def test_unknown_preset_lists_the_presets():
    with pytest.raises(plans.PlanError, match="unknown preset 'fast'; choose one of smoke, cpu, paper"):
        plans.check_preset("fast")


@pytest.mark.parametrize(
    "text, message",
    [
        ("name: x\nentries: [1, 2", "is not valid YAML"),
        ("- just\n- a list\n", "must be a mapping"),
        ("name: x\nentries: {}\n", "needs at least one entry"),
        ("entries: {a: {notebook: notebooks/toy.ipynb}}\n", "needs a `name` string"),
        ("name: x\nsteps: 1\nentries: {a: {notebook: notebooks/toy.ipynb}}\n", r"unknown key\(s\) \['steps'\]"),
        ("name: x\nentries: {a: {notebook: notebooks/missing.ipynb}}\n", "notebook notebooks/missing.ipynb not found"),
        ("name: x\nentries: {a: {params: {}}}\n", "needs a `notebook`"),
        ("name: x\nentries: {a: {notebook: notebooks/toy.ipynb, presets: {fast: {}}}}\n", "unknown preset 'fast'"),
        (
            "name: x\nentries: {a: {notebook: notebooks/toy.ipynb, grid: {seed: 3}}}\n",
            "grid.seed must be a non-empty list",
        ),
        (
            "name: x\nentries: {a: {notebook: notebooks/toy.ipynb, presets: {smoke: {seed: 1}}}}\n",
            r"unknown key\(s\) \['seed'\]; allowed: params, grid, extra",
        ),
        (
            "name: x\nentries: {a: {notebook: notebooks/toy.ipynb, presets: {smoke: {extra: {seed: 1}}}}}\n",
            "presets.smoke.extra must be a list of non-empty mappings",
        ),
        # nothing a plan names can lead outside the project
        ("name: x\nentries: {../../escape: {notebook: notebooks/toy.ipynb}}\n", "an entry key is letters, digits"),
        ("name: x\nentries: {a: {notebook: ../outside.ipynb}}\n", "lies outside the project"),
    ],
)
def test_malformed_plan_is_one_clear_line(project, text, message):
    path = project / "plans" / "bad.yaml"
    path.write_text(text)
    with pytest.raises(plans.PlanError, match=message) as error:
        plans.load_plan(path, root=project)
    assert "\n" not in str(error.value)


ALIAS_BOMB = """name: bomb
entries:
  a:
    notebook: notebooks/toy.ipynb
    params:
      l0: &a0 [x, x, x, x, x, x, x, x, x, x]
      l1: &a1 [*a0, *a0, *a0, *a0, *a0, *a0, *a0, *a0, *a0, *a0]
      l2: &a2 [*a1, *a1, *a1, *a1, *a1, *a1, *a1, *a1, *a1, *a1]
      l3: &a3 [*a2, *a2, *a2, *a2, *a2, *a2, *a2, *a2, *a2, *a2]
      l4: &a4 [*a3, *a3, *a3, *a3, *a3, *a3, *a3, *a3, *a3, *a3]
      l5: &a5 [*a4, *a4, *a4, *a4, *a4, *a4, *a4, *a4, *a4, *a4]
      l6: &a6 [*a5, *a5, *a5, *a5, *a5, *a5, *a5, *a5, *a5, *a5]
      l7: &a7 [*a6, *a6, *a6, *a6, *a6, *a6, *a6, *a6, *a6, *a6]
      l8: &a8 [*a7, *a7, *a7, *a7, *a7, *a7, *a7, *a7, *a7, *a7]
"""


@pytest.mark.parametrize(
    "content, message",
    [
        (ALIAS_BOMB.encode(), r"uses a YAML alias \(\*a0\); write the values out"),
        (
            b"name: x\nentries: {a: {notebook: notebooks/toy.ipynb, params: {p: "
            + b"[" * 20_000
            + b"]" * 20_000
            + b"}}}\n",
            "nests more than 32 levels deep",
        ),
        (bytes(range(256)) * 4, "is not UTF-8 text"),
        (b'name: "it\'s \\"x\\""\nentries: {a: {notebook: notebooks/toy.ipynb}}\n', "a plan name is letters"),
        (b"name: x\nentries: {a: {notebook: README.md}}\n", r"notebook 'README.md' is not a Jupyter notebook"),
    ],
)
def test_a_hostile_or_mistaken_plan_is_refused_in_one_line_at_once(project, content, message):
    path = project / "plans" / "bad.yaml"
    path.write_bytes(content)
    with pytest.raises(plans.PlanError, match=message) as error:
        plans.load_plan(path, root=project)
    assert "\n" not in str(error.value)


def test_a_file_named_ipynb_that_is_not_a_notebook_is_one_line(project):
    (project / "notebooks" / "fake.ipynb").write_text("# not json")
    (project / "plans" / "bad.yaml").write_text(
        "name: x\nentries: {a: {notebook: notebooks/fake.ipynb, presets: {smoke: {}}}}\n"
    )
    plan = plans.load_plan(project / "plans" / "bad.yaml", root=project)
    with pytest.raises(plans.PlanError, match="notebooks/fake.ipynb cannot be read as a Jupyter notebook"):
        plans.expand(plan, "smoke")


def test_a_grid_over_the_job_cap_is_refused_before_it_is_built(project):
    values = ", ".join(str(i) for i in range(3000))
    (project / "plans" / "big.yaml").write_text(
        f"name: big\nentries:\n  toy:\n    notebook: notebooks/toy.ipynb\n"
        f"    grid: {{seed: [{values}], value: [{values}]}}\n    presets: {{smoke: {{}}}}\n"
    )
    plan = plans.load_plan(project / "plans" / "big.yaml", root=project)
    with pytest.raises(
        plans.PlanError, match=r"grid seed \(3000\) x value \(3000\) makes 9,000,000 jobs, over the 2,000"
    ):
        plans.expand(plan, "smoke", notebook_parameters=fixed_parameters)


def test_an_alias_in_an_override_is_refused():
    with pytest.raises(plans.PlanError, match="uses a YAML alias"):
        plans.parse_overrides(["seed=[&a [1, 2], *a]"])


def test_notebook_without_injected_parameters_is_refused(project):
    write_notebook(project / "notebooks" / "toy.ipynb", parameters="seed = 0\nvalue = 1.0")
    plan = plans.load_plan(project / "plans" / "toy.yaml", root=project)
    with pytest.raises(
        plans.PlanError, match=r"must declare \['preset', 'plan_key', 'data_root', 'store', 'held_lock'\]"
    ):
        plans.expand(plan, "smoke")


def statuses(results):
    failures = [result.detail for result in results if result.status == "failed"]
    return [result.status for result in results] + (["details: " + " | ".join(failures)] if failures else [])


def test_run_plan_skips_completed_entries_and_resumes_an_interrupted_plan(project, store):
    plan_path = project / "plans" / "toy.yaml"
    # an interrupted plan: only the first job ran
    first_job = plans.expand(plans.load_plan(plan_path, root=project), "smoke")[0]
    first = runner.execute_job(first_job, project, str(store))
    assert first.status == "ran", first.detail
    results = runner.run_plan(plan_path, "smoke", root=project, store=store)
    assert statuses(results) == ["skipped", "ran"]
    assert (project / "book/runs/smoke/toy/seed-1.ipynb").is_file()
    assert (project / "book/runs/smoke/toy/seed-2.ipynb").is_file()
    title = nbformat.read(project / "book/runs/smoke/toy/seed-2.ipynb", as_version=4).cells[0].source
    assert title == "# toy: seed 2 (smoke)\n\n*A toy notebook*\n\nIt logs one run."
    # the copy says which job it ran as in a comment, not as parameters a reader's rerun would reuse
    copy = nbformat.read(project / "book/runs/smoke/toy/seed-2.ipynb", as_version=4)
    [injected] = [c for c in copy.cells if "injected-parameters" in c.metadata.get("tags", [])]
    key = copy.metadata.papermill.parameters["plan_key"]
    assert f'plan_key = ""  # ran as plan job {key}; a rerun here is a hand run' in injected.source
    assert 'held_lock = ""' in injected.source and key.startswith("toy/toy/smoke/seed-2@")
    # rerunning the finished plan does nothing
    assert statuses(runner.run_plan(plan_path, "smoke", root=project, store=store)) == ["skipped", "skipped"]
    runs = find_runs(open_store(), "toy/plans")
    assert len(runs) == 2 and {run.info.status for run in runs} == {v.FINISHED}
    # every run carries its executed notebook, and says where the book renders it
    client = open_store().client()
    assert {run.data.tags["randnas.book_page"] for run in runs} == {
        "book/runs/smoke/toy/seed-1.html",
        "book/runs/smoke/toy/seed-2.html",
    }
    # the description links the page where `randnas ui` serves the book
    assert {run.data.tags["mlflow.note.content"].split(" (plan job")[0] for run in runs} == {
        f"Rendered in the book at [book/runs/smoke/toy/seed-{n}.html](/book/book/runs/smoke/toy/seed-{n}.html)"
        for n in (1, 2)
    }
    # the page shows one Parameters cell: the values the job ran with; the defaults stay for papermill, unshown
    executed = nbformat.read(project / "book/runs/smoke/toy/seed-2.ipynb", as_version=4)
    shown = [c for c in executed.cells if "remove-cell" not in c.metadata.get("tags", [])]
    assert [c.metadata.get("tags") for c in executed.cells if "parameters" in c.metadata.get("tags", [])] == [
        ["parameters", "remove-cell"]
    ]
    assert sum("parameters" in " ".join(c.metadata.get("tags", [])) for c in shown) == 1
    assert next(f.path for f in client.list_artifacts(runs[0].info.run_id, "notebook")).startswith("notebook/seed-")
    # and the manifest's digests cover that notebook: a truncated copy in the record is named
    from randnas.record.integrity import run_problems

    folder = next(store.glob(f"*/{runs[0].info.run_id}"))
    assert run_problems(folder) == []
    [notebook] = folder.glob("artifacts/notebook/*.ipynb")
    whole = notebook.read_bytes()
    notebook.write_bytes(whole[:50])
    assert run_problems(folder) == [f"{notebook}: its content differs from what the run logged (truncated or edited)"]
    notebook.write_bytes(whole)
    # a lost executed copy comes back from the record instead of a rerun
    (project / "book/runs/smoke/toy/seed-2.ipynb").unlink()
    assert statuses(runner.run_plan(plan_path, "smoke", root=project, store=store)) == ["skipped", "restored"]
    assert (project / "book/runs/smoke/toy/seed-2.ipynb").is_file()
    # new seeds are new entries; --force reruns
    assert statuses(runner.run_plan(plan_path, "smoke", {"seed": [3]}, root=project, store=store)) == ["ran"]
    assert statuses(runner.run_plan(plan_path, "smoke", {"seed": [3]}, root=project, store=store, force=True)) == [
        "ran"
    ]
    # the forced run supersedes the old one: both kept, only the new one counted by the tables
    forced = find_runs(
        open_store(),
        "toy/plans",
        plan_key=plans.expand(plans.load_plan(plan_path, root=project), "smoke", {"seed": [3]})[0].plan_key,
        status=v.FINISHED,
    )
    assert len(forced) == 2 and forced[1].data.tags[v.TAG_SUPERSEDED_BY] == forced[0].info.run_id
    assert [v.counted(run.data.tags) for run in forced] == [True, False]
    # a reader reruns a committed copy with papermill: a hand run, which no table counts
    import papermill

    copy = project / "book/runs/smoke/toy/seed-2.ipynb"
    papermill.execute_notebook(
        str(copy), str(project / "rerun.ipynb"), cwd=str(project), kernel_name="python3", progress_bar=False
    )
    job = nbformat.read(copy, as_version=4).metadata.papermill.parameters["plan_key"]
    runs = find_runs(open_store(), "toy/plans", status=v.FINISHED)
    reruns = [run for run in runs if run.data.tags.get(v.TAG_HAND_RUN) == "true"]
    assert len(reruns) == 1 and not v.counted(reruns[0].data.tags)
    assert [v.counted(run.data.tags) for run in runs if run.data.tags.get(v.TAG_PLAN_KEY) == job] == [True]


def test_a_second_plan_never_overwrites_another_plans_executed_notebook(project, store):
    results = runner.run_plan(project / "plans" / "toy.yaml", "smoke", {"seed": [1]}, root=project, store=store)
    assert statuses(results) == ["ran"]
    page = project / "book/runs/smoke/toy/seed-1.ipynb"
    before = page.read_bytes()
    (project / "plans" / "other.yaml").write_text(PLAN.replace("name: toy", "name: other"))
    results = runner.run_plan(project / "plans" / "other.yaml", "smoke", {"seed": [1]}, root=project, store=store)
    [result] = results
    assert result.status == "failed" and "holds plan 'toy''s job" in result.detail
    assert "give its entry 'toy' another key" in result.detail
    assert page.read_bytes() == before
    assert len(find_runs(open_store(), "toy/plans")) == 1  # nothing ran


def test_failed_job_ends_failed_and_leaves_the_book_untouched(project, store):
    results = runner.run_plan(
        project / "plans" / "toy.yaml", "smoke", {"fail": True, "seed": [4]}, root=project, store=store
    )
    assert [result.status for result in results] == ["failed"]
    assert "the toy notebook was told to fail" in results[0].detail
    assert not (project / "book" / "runs").exists() or not any((project / "book" / "runs").rglob("*.ipynb"))
    assert any((project / "_build" / "failed-runs").rglob("*.ipynb"))
    runs = find_runs(open_store(), "toy/plans")
    assert [run.info.status for run in runs] == [v.FAILED]
    # the failed entry is not "completed": a rerun without the failure finishes it in the same run
    job = plans.expand(
        plans.load_plan(project / "plans" / "toy.yaml", root=project), "smoke", {"fail": False, "seed": [4]}
    )[0]
    rerun = runner.execute_job(job, project, str(store))
    assert rerun.status == "ran", rerun.detail


def test_sigterm_ends_the_running_job_killed(project, store):
    command = [
        sys.executable,
        "-m",
        "randnas.cli",
        "run",
        "plans/toy.yaml",
        "--preset",
        "smoke",
        "--set",
        "seed=[6]",
        "--set",
        "sleep=600",
    ]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    runner = subprocess.Popen(command, cwd=project, env=env, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 300  # a kernel can take minutes to start on a loaded 2-core machine
    while not find_runs(open_store(), "toy/plans", status=v.RUNNING):
        assert runner.poll() is None and time.monotonic() < deadline, "the job never started"
        time.sleep(0.5)
    runner.terminate()
    _, stderr = runner.communicate(timeout=120)
    assert runner.returncode == 130 and "rerun the same command to resume" in stderr
    assert [run.info.status for run in find_runs(open_store(), "toy/plans")] == [v.KILLED]
    assert any((project / "_build" / "failed-runs").rglob("*.ipynb"))  # a KILLED run is resumed like a FAILED one


def test_parse_overrides_reads_yaml_values():
    assert plans.parse_overrides(["seed=[1, 2]", "dataset=cifar10", "lr=0.5", "flag=true"]) == {
        "seed": [1, 2],
        "dataset": "cifar10",
        "lr": 0.5,
        "flag": True,
    }
    with pytest.raises(plans.PlanError, match="not KEY=VALUE"):
        plans.parse_overrides(["seed"])


def test_ray_backend_runs_a_plan_on_a_local_ray_with_two_cpus(project, store):
    import ray

    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    try:
        results = runner.run_plan(project / "plans" / "toy.yaml", "smoke", root=project, store=store, backend="ray")
    finally:
        ray.shutdown()
    assert statuses(results) == ["ran", "ran"]
    runs = find_runs(open_store(), "toy/plans")
    assert len(runs) == 2 and {run.info.status for run in runs} == {v.FINISHED}
    # no job rewrote the store's meta.yaml files (a parallel job's update could be lost): one export does it after
    assert [meta for meta in store.rglob("meta.yaml") if str(store) in meta.read_text()]
    from randnas.record.portable import export_record

    assert export_record(project, store)[1] > 0
    assert not [meta for meta in store.rglob("meta.yaml") if str(store) in meta.read_text()]
    assert statuses(runner.run_plan(project / "plans" / "toy.yaml", "smoke", root=project, store=store)) == [
        "skipped",
        "skipped",
    ]


def test_unknown_runner_backend(project, store):
    with pytest.raises(plans.PlanError, match="unknown backend 'slurm'; choose one of local, ray"):
        runner.run_plan(project / "plans" / "toy.yaml", "smoke", root=project, store=store, backend="slurm")


def test_a_malformed_override_is_one_clear_error():
    with pytest.raises(plans.PlanError, match=r"override 'seed=\[1,': the value is not valid YAML"):
        plans.parse_overrides(["seed=[1,"])


def test_an_ill_typed_parameter_fails_before_any_job_runs():
    plan = plans.load_plan(REPO / "plans" / "default.yaml", root=REPO)
    with pytest.raises(plans.PlanError, match="parameter 'seed' must be int like its default 0, got 'abc'"):
        plans.expand(plan, "smoke", {"seed": "abc"}, only=["cnn-stage2"])
    with pytest.raises(plans.PlanError, match="parameter 'overrides' must be dict"):
        plans.expand(plan, "smoke", {"overrides": [1]}, only=["cnn-stage2"])
    assert (
        len(plans.expand(plan, "smoke", {"search_seed": [3, 4]}, only=["cnn-stage2"])) == 2
    )  # well-typed values pass (extra points on other seeds drop)


def test_an_entry_that_requires_absent_data_is_skipped_with_the_reason(project, store, tmp_path):
    plan_path = project / "plans" / "toy.yaml"
    plan_path.write_text(
        PLAN.replace(
            "    notebook: notebooks/toy.ipynb\n", "    notebook: notebooks/toy.ipynb\n    requires: [yahpo-nb301]\n"
        )
    )
    empty = tmp_path / "data"
    empty.mkdir()
    results = runner.run_plan(plan_path, "smoke", root=project, store=store, data_root=str(empty))
    assert [r.status for r in results] == ["skipped", "skipped"]
    assert results[0].detail == "needs <data root>/yahpo-nb301: give --data-root or set RANDNAS_DATA"
    assert not find_runs(open_store(), "toy/plans")  # nothing started, nothing half-written
    (empty / "yahpo-nb301").mkdir()
    assert statuses(runner.run_plan(plan_path, "smoke", root=project, store=store, data_root=str(empty))) == [
        "ran",
        "ran",
    ]


def test_requires_must_name_folders(project):
    plan_path = project / "plans" / "toy.yaml"
    plan_path.write_text(
        PLAN.replace(
            "    notebook: notebooks/toy.ipynb\n", "    notebook: notebooks/toy.ipynb\n    requires: ../../etc\n"
        )
    )
    with pytest.raises(plans.PlanError, match="requires: a list of folder names under the data root"):
        plans.load_plan(plan_path, root=project)


def test_an_entry_after_a_failed_one_is_blocked_with_the_reason_not_run(project, store):
    (project / "plans" / "chain.yaml").write_text(
        PLAN.replace("name: toy", "name: chain")
        + """
  reader:
    notebook: notebooks/toy.ipynb
    after: [toy]
    params: {seed: 9}
    presets: {smoke: {}}
"""
    )
    results = runner.run_plan(project / "plans" / "chain.yaml", "smoke", {"fail": True}, root=project, store=store)
    assert [result.status for result in results] == ["failed", "failed", "blocked"]
    assert results[-1].detail == "needs toy, which did not finish in this run; fix that and rerun"
    assert not find_runs(open_store(), "toy/plans", plan_key=results[-1].job.plan_key)  # it never started


@pytest.mark.parametrize(
    "after, message",
    [
        ("[later]", "later is not an earlier entry of this plan"),
        ("[reader]", "reader is not an earlier entry of this plan"),
        ("toy", "a list of entry keys"),
    ],
)
def test_after_names_only_earlier_entries(project, after, message):
    (project / "plans" / "bad.yaml").write_text(
        PLAN
        + f"""
  reader:
    notebook: notebooks/toy.ipynb
    after: {after}
  later:
    notebook: notebooks/toy.ipynb
"""
    )
    with pytest.raises(plans.PlanError, match=f"entry 'reader'.after: {message}"):
        plans.load_plan(project / "plans" / "bad.yaml", root=project)


def test_a_second_runner_skips_the_job_another_one_is_running(project, store):
    import subprocess
    import sys

    jobs = plans.expand(plans.load_plan(project / "plans" / "toy.yaml", root=project), "smoke")
    hold = (
        "import sys, time\nfrom randnas.record.locks import job_lock\nfrom randnas.record.store import open_store\n"
        "with job_lock(open_store(), sys.argv[1]):\n"
        "    print('held', flush=True)\n    time.sleep(120)\n"
    )
    holder = subprocess.Popen([sys.executable, "-c", hold, jobs[0].plan_key], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"  # as if another runner were training the first job
        results = runner.run_plan(project / "plans" / "toy.yaml", "smoke", root=project, store=store)
    finally:
        holder.kill()
        holder.wait()
    assert [r.status for r in results] == ["skipped", "ran"]
    assert results[0].detail.startswith(f"plan job {jobs[0].plan_key} is being run by process {holder.pid}")
    assert find_runs(open_store(), plan_key=jobs[0].plan_key) == []  # neither created, resumed nor ended by this runner


ORPHAN_PARAMETERS = (
    'preset = "smoke"\nplan_key = ""\ndata_root = ""\nstore = ""\nheld_lock = ""\nseed = 0\npid_dir = ""'
)
ORPHAN_BODY = """import os, time
from pathlib import Path
from randnas.backends import ProcessPoolBackend
backend = ProcessPoolBackend(1)
worker = backend.result(backend.submit(os.getpid))
Path(pid_dir, "pids").write_text(f"{os.getpid()} {worker}")
time.sleep(120)
"""


def test_sigkill_of_the_runner_leaves_no_kernel_or_pool_worker_alive(project, store, tmp_path):
    import os
    import signal
    import subprocess
    import sys
    import time

    write_notebook(project / "notebooks" / "orphan.ipynb", ORPHAN_PARAMETERS, ORPHAN_BODY)
    (project / "plans" / "orphan.yaml").write_text(
        "name: orphan\nentries:\n  orphan:\n    notebook: notebooks/orphan.ipynb\n"
        f"    params: {{pid_dir: {tmp_path}}}\n"
        "    presets: {smoke: {}}\n"
    )
    runner = subprocess.Popen(
        [sys.executable, "-m", "randnas.cli", "run", "plans/orphan.yaml", "--preset", "smoke", "--store", str(store)],
        cwd=project,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    pids_file = tmp_path / "pids"
    deadline = time.monotonic() + 240
    while not pids_file.is_file() and time.monotonic() < deadline and runner.poll() is None:
        time.sleep(0.5)
    assert pids_file.is_file(), "the notebook never started its pool worker"
    kernel, worker = (int(pid) for pid in pids_file.read_text().split())
    runner.send_signal(signal.SIGKILL)
    runner.wait()

    def alive(pid: int) -> bool:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        # a dead child not yet reaped by its (dead) parent is a zombie: it runs nothing
        try:
            with open(f"/proc/{pid}/stat") as stat:
                return stat.read().split(")")[-1].split()[0] != "Z"
        except FileNotFoundError:
            return False

    deadline = time.monotonic() + 30
    while (alive(kernel) or alive(worker)) and time.monotonic() < deadline:
        time.sleep(0.2)
    survivors = [pid for pid in (kernel, worker) if alive(pid)]
    for pid in survivors:
        os.kill(pid, signal.SIGKILL)
    assert survivors == []


def test_a_job_whose_run_lost_a_metric_file_is_not_done_it_is_set_aside_and_trained_again(project, store):
    from randnas.record.integrity import check_store

    job = plans.expand(plans.load_plan(project / "plans" / "toy.yaml", root=project), "smoke")[0]
    first = runner.execute_job(job, project, str(store))
    assert first.status == "ran" and check_store(store)[1] == []
    metric = next(store.glob(f"*/{first.detail}/metrics/valid/value"))
    metric.unlink()  # deleted by accident, or lost with a full disk
    assert check_store(store)[1] == [f"{metric}: missing (the run logged metric 'valid/value')"]
    again = runner.execute_job(job, project, str(store))
    assert again.status == "ran" and again.detail != first.detail
    assert [run.info.run_id for run in find_runs(open_store(), "toy/plans")] == [
        again.detail
    ]  # the damaged run is set aside
    assert check_store(store)[1] == []  # ... and no longer counted; its files stay on disk
    assert metric.parent.parent.parent.is_dir()


def test_a_run_is_stale_when_code_its_notebook_loads_changed_not_any_code(tmp_path):
    from randnas.staleness import notebook_dependencies, stale_reason

    repo = tmp_path / "repo"
    (repo / "randnas" / "search").mkdir(parents=True)
    (repo / "randnas" / "__init__.py").write_text("")
    (repo / "randnas" / "search" / "__init__.py").write_text("")
    (repo / "randnas" / "search" / "a.py").write_text("def f():\n    from randnas import b\n    return b.x\n")
    (repo / "randnas" / "b.py").write_text("x = 1\n")
    (repo / "randnas" / "report.py").write_text("y = 1\n")  # nothing the notebook loads
    body = "from randnas.search.a import f\nprint(f())\n"
    notebook = write_notebook(repo / "notebooks" / "toy.ipynb", body=body)
    git = lambda *args: subprocess.run(
        ["git", *args], cwd=repo, check=True, capture_output=True, text=True
    ).stdout.strip()
    commit = lambda message: git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qam", message)
    git("init", "-q")
    git("add", "-A")
    commit("one")
    first = git("rev-parse", "HEAD")
    assert notebook_dependencies(repo, notebook) == (
        "randnas/__init__.py",
        "randnas/b.py",  # through a lazy import inside a function of a.py
        "randnas/search/__init__.py",
        "randnas/search/a.py",
    )
    tags = lambda commit, dirty="false": {v.TAG_GIT_COMMIT: commit, v.TAG_GIT_DIRTY: dirty}
    assert stale_reason(repo, notebook, tags(first)) == ""
    assert stale_reason(repo, notebook, tags(first, "true")) == "made from a work tree with uncommitted changes"
    (repo / "randnas" / "report.py").write_text("y = 2\n")
    commit("the book's code changed")
    assert stale_reason(repo, notebook, tags(first)) == ""
    (repo / "randnas" / "b.py").write_text("x = 2\n")
    commit("a dependency changed")
    assert stale_reason(repo, notebook, tags(first)) == f"randnas/b.py changed since its commit {first[:8]}"
    assert stale_reason(repo, notebook, tags("f" * 40)) == "its commit ffffffff is not in this checkout's history"
    assert stale_reason(repo, notebook, tags("unknown")) == "made outside a git checkout"


# notebooks that draw their own figures and tables with the book's report helpers: those are their code too
REPORTING = {"datasets.ipynb", "surrogate_asha.ipynb"}


def test_every_notebook_of_the_default_plan_depends_on_the_record_writer_and_not_on_the_report():
    from randnas.staleness import notebook_dependencies

    for notebook in sorted((REPO / "notebooks").glob("*.ipynb")):
        files = notebook_dependencies(REPO, notebook)
        assert "randnas/record/writer.py" in files, notebook.name
        assert not [path for path in files if path.startswith("randnas/report/")] or notebook.name in REPORTING, (
            notebook.name,
            [path for path in files if path.startswith("randnas/report/")],
        )


def test_an_executed_copy_is_titled_by_what_it_is_not_by_its_plan_key():
    plan = plans.load_plan(REPO / "plans" / "default.yaml", root=REPO)
    titles = {job.plan_key.split("@")[0]: runner.job_title(job) for job in plans.expand(plan, "cpu")}
    assert (
        titles["default/cnn-darts/cpu/setting-darts-second_seed-0_repeat-2"]
        == "CNN DARTS search: setting darts-second, seed 0, repeat 2 (cpu)"
    )
    assert titles["default/ptb-asha/cpu/seed-0"] == "PTB ASHA search: seed 0 (cpu)"
    assert titles["default/datasets/cpu/default"] == "Datasets (cpu)"
