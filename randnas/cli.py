"""The `randnas` command: thin parsing over plans, the record and data.

One module holds the parser and every command's handler, so a command's arguments and what it does are read
together; it is longer than the package's ~500-line rule because argparse's declarations are long, not because it
holds logic (each handler is a few lines over a library call)."""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

RUN_NAME_TAG = "mlflow.runName"  # MLflow keeps a run's name in this tag and in its meta.yaml alike


def _cmd_run(args: argparse.Namespace) -> int:
    from randnas import plans, runner
    from randnas.record.store import find_project_root, find_runs, open_store
    from randnas.record.vocabulary import FINISHED
    from randnas.staleness import stale_reason

    root = find_project_root()
    overrides = plans.parse_overrides(args.set or [])
    # the notebooks run in the project root: a relative data root means the folder as seen from here
    if args.data_root:
        args.data_root = str(Path(args.data_root).resolve())
    if args.dry_run:
        plan = plans.load_plan(args.plan, root=root)
        store = open_store(args.store)
        for job in plans.expand(plan, args.preset, overrides, data_root=args.data_root, only=args.only or ()):
            done = find_runs(store, plan_key=job.plan_key, status=FINISHED)
            missing = "" if done else "".join(f"  (needs <data root>/{folder})" for folder in job.missing_data())
            stale = stale_reason(root, job.notebook, done[0].data.tags) if done else ""
            print(
                f"{'done' if done else 'todo'}  {job.plan_key}  -> {job.output}{missing}"
                + (f"  (stale: {stale})" if stale else "")
            )
        return 0
    options = {"address": args.ray_address, "cpus_per_job": args.cpus_per_job, "gpus_per_job": args.gpus_per_job}
    try:
        with _sigterm_as_interrupt():
            results = runner.run_plan(
                args.plan,
                args.preset,
                overrides,
                root=root,
                store=args.store,
                data_root=args.data_root,
                backend=args.backend,
                backend_options=options if args.backend == "ray" else {},
                force=args.force,
                only=args.only or (),
            )
    except KeyboardInterrupt:
        print(
            "randnas: interrupted: the running job's MLflow run ended KILLED (its notebook is under "
            "_build/failed-runs/); rerun the same command to resume where it stopped",
            file=sys.stderr,
        )
        return 130
    for result in results:
        print(f"{result.status:8s} {result.job.plan_key}  {result.detail}")
    failed = [result for result in results if result.status in (runner.FAILED_JOB, runner.BLOCKED)]
    if failed:
        print(
            f"randnas: {len(failed)} of {len(results)} jobs failed or were blocked by a failed entry", file=sys.stderr
        )
        return 1
    return 0


@contextmanager
def _sigterm_as_interrupt() -> Iterator[None]:
    """`kill` stops a plan the way Ctrl-C does, so the running job's run is ended KILLED and its partial
    notebook kept, instead of the process vanishing and leaving the run RUNNING."""

    def interrupt(signum, frame):
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _port(text: str) -> int:
    port = _whole(text)
    if not 1 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"a port is 1 to 65535, got {port}")
    return port


def _whole(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None


def _positive(text: str) -> int:
    value = _whole(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of at least 1, got {value}")
    return value


def _free_port(port: int) -> bool:
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        # as a server binds: connections of a UI just stopped, left in TIME_WAIT, do not make the port busy
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _cmd_ui(args: argparse.Namespace) -> int:
    import threading

    from randnas.backends import watch_group
    from randnas.record.store import find_project_root, open_store
    from randnas.record.viewer import ReadOnlyProxy, snapshot_store

    if not _free_port(args.port):
        print(f"randnas: error: port {args.port} on 127.0.0.1 is in use; choose another with --port", file=sys.stderr)
        return 2
    store = open_store(args.store)
    uri, cwd, snapshot = store.uri, None, None
    if store.folder is not None:
        # a snapshot, so that no request can change the record; under _build/ (ignored), replaced at each start
        snapshot = snapshot_store(store.folder, find_project_root() / "_build" / "mlflow-ui" / str(args.port))
        uri, cwd = str(snapshot), snapshot.parent  # the committed artifact paths resolve in the snapshot's folder
    upstream = _any_free_port()  # MLflow's own port, private: every request reaches it through the proxy
    command = [sys.executable, "-m", "mlflow", "ui", "--backend-store-uri", uri]
    command += ["--host", "127.0.0.1", "--port", str(upstream)]
    # the model-training mode: MLflow 3's default (GenAI) opens every experiment on an empty Traces page
    print(
        f"MLflow UI for {store.uri} on http://127.0.0.1:{args.port}/#/?workflowType=machine_learning "
        + ("(read-only: a snapshot, changes made in the UI are dropped when it stops; " if snapshot else "(")
        + "Ctrl-C or kill stops it)"
    )
    book = find_project_root() / "_build" / "html"
    if (book / "index.html").is_file():
        # the book served beside the UI: its run links open this UI, whatever the port
        print(f"the book, its run links opening this UI: http://127.0.0.1:{args.port}/book/index.html")
    else:
        book = None
        print("no built book to serve beside it (make book builds one)")
    # the server runs in its own process group (MLflow starts workers of its own), and that whole group
    # is stopped with this command: Ctrl-C or `kill` of `randnas ui` never leaves a server serving
    server = subprocess.Popen(
        command, env={**os.environ, "MLFLOW_ALLOW_FILE_STORE": "true"}, start_new_session=True, cwd=cwd
    )
    watcher = watch_group(server.pid)  # stops the server even when `randnas ui` itself is SIGKILLed
    proxy = ReadOnlyProxy(args.port, upstream, book)
    threading.Thread(target=lambda: (server.wait(), proxy.shutdown()), daemon=True).start()
    try:
        with _sigterm_as_interrupt():
            proxy.serve_forever()
            return server.wait()
    except KeyboardInterrupt:
        return 130
    finally:
        proxy.server_close()
        watcher.kill()
        if server.poll() is None:
            os.killpg(server.pid, signal.SIGTERM)
            try:
                server.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(server.pid, signal.SIGKILL)
        if snapshot is not None:
            shutil.rmtree(snapshot.parent, ignore_errors=True)


def _any_free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _cmd_data_check(args: argparse.Namespace) -> int:
    from randnas.data import check_datasets

    if args.data_root and not Path(args.data_root).is_dir():
        print(
            f"randnas: error: data root {args.data_root} is not a folder; give the folder that holds cifar10/ and ptb/",
            file=sys.stderr,
        )
        return 2
    statuses = check_datasets(args.data_root or None)
    for status in statuses:
        print(f"{'ok     ' if status.ok else 'missing'} {status.name:16s} {status.detail}")
    return 0 if all(status.ok for status in statuses if status.name in ("digits", "pydoc")) else 1


def _genotype_space(text: str, asked: str | None) -> str:
    """The space a genotype argument belongs to: as asked, else by its form, else by its name."""
    from randnas.spaces.named import list_genotypes

    if asked:
        return asked
    if text.strip().startswith("|") or (text.isdigit() and len(text) == 6):
        return "nb201"
    if "recurrent=" in text:
        return "rnn"
    if text.strip().startswith("Genotype(") or text in list_genotypes("cnn") or text.startswith("run:"):
        return "cnn"
    return "rnn" if text in list_genotypes("rnn") else "cnn"


def _cmd_genotype_describe(args: argparse.Namespace) -> int:
    space = _genotype_space(args.genotype, args.space)
    genotype = _genotype(space, args.genotype)
    print(genotype.to_darts())
    if space == "nb201":
        from randnas.data.nb201 import load_nb201_cifar10
        from randnas.nets.nb201 import Nb201Network, count_nb201_parameters

        print(
            f"index {genotype.to_index()}; parameters: "
            f"{count_nb201_parameters(Nb201Network(16, 5, cell=genotype)) / 1e6:.3f}M "
            "(C=16, 5 cells per stage, as NAS-Bench-201 trains it)"
        )
        bench = load_nb201_cifar10(args.data_root or None)
        found = bench.lookup(genotype.to_index())
        seeds = ", ".join(f"{v:.2f}" for v in found["per_seed"])
        print(
            f"NAS-Bench-201 CIFAR-10 (cifar10-valid, 200 epochs): {found['accuracy']:.2f} % (seeds {seeds}), "
            f"percentile {found['percentile']:.1f}, training {found['train_time']:.0f} s"
        )
        return 0
    if space == "cnn":
        from randnas.nets.cnn import NetworkCIFAR, count_parameters

        model = NetworkCIFAR(genotype, channels=args.channels, layers=args.layers, auxiliary=True)
        # the paper's counts exclude the auxiliary head, but Table 1's RSWS row (4.3M) matches the count with it
        without, with_head = count_parameters(model), sum(p.numel() for p in model.parameters())
        print(
            f"parameters: {without / 1e6:.2f}M (evaluation network, C={args.channels}, {args.layers} cells, "
            "auxiliary head excluded)"
        )
        print(f"parameters with the auxiliary head: {with_head / 1e6:.2f}M")
    else:
        from randnas.nets.rnn import RnnLanguageModel, RnnModelConfig, count_rnn_parameters

        model = RnnLanguageModel(RnnModelConfig(vocab_size=10_000, hidden=args.hidden))
        print(
            f"parameters: {count_rnn_parameters(model) / 1e6:.2f}M (language model, {args.hidden} units, "
            "10,000-word PTB vocabulary, tied embedding)"
        )
    return 0


def _cmd_genotype_sample(args: argparse.Namespace) -> int:
    from randnas.repro import numpy_generator
    from randnas.spaces.cnn import sample_none_free_cnn_genotype
    from randnas.spaces.registry import get_space

    if args.none_free and args.space != "cnn":
        print("randnas: error: --none-free narrows the CNN space's ops; drop it for --space rnn", file=sys.stderr)
        return 2
    rng = numpy_generator(args.seed)
    sample = sample_none_free_cnn_genotype if args.none_free else get_space(args.space).sample
    for _ in range(args.count):
        print(sample(rng).to_darts())
    return 0


def _genotype(space: str, spec: str):
    """The genotype a command-line argument names: a name, a text form, or `run:<id>` of the record's runs."""
    from randnas.experiments.train import find_genotype

    record = None
    if spec.startswith("run:"):
        from randnas.experiments.catalog import load_record

        record = load_record(hand_runs=True, check=False)
    return find_genotype(record, space, spec)[0]


def _cmd_record_check(args: argparse.Namespace) -> int:
    from randnas.record.integrity import check_store
    from randnas.record.store import find_project_root

    store = Path(args.store or find_project_root() / "mlruns").resolve()
    if not store.is_dir():
        print(f"randnas: error: no file store at {store}; give --store", file=sys.stderr)
        return 2
    runs, problems = check_store(store)
    for problem in problems:
        print(f"damaged: {problem}")
    if problems:
        print(
            f"randnas: {len(problems)} damaged file(s) in {store}: restore each from git (git checkout -- FILE) or "
            "delete its run's folder and rerun the plan entry",
            file=sys.stderr,
        )
        return 1
    print(f"ok: {runs} runs in {store} read back whole")
    return 0


def _cmd_record_adopt(args: argparse.Namespace) -> int:
    from randnas.record.store import adopt_run, open_store

    store = open_store(args.store)
    for run_id in args.run_ids:
        try:
            name = adopt_run(store, run_id)
        except KeyError:
            print(
                f"randnas: error: no run {run_id!r} in the record; copy its id from the MLflow UI or the "
                "notebook's output",
                file=sys.stderr,
            )
            return 2
        print(f"adopted {run_id} ({name}): the book counts it from the next `make book`")
    return 0


def _notebook_of_copy(copy: Path) -> str:
    """The repo-relative notebook an executed copy was made from (papermill's input path), "" if unknown."""
    import json

    try:
        path = json.loads(copy.read_text(encoding="utf-8"))["metadata"]["papermill"]["input_path"]
    except (OSError, ValueError, KeyError, TypeError):
        return ""
    return path if isinstance(path, str) and path.startswith("notebooks/") else ""


def _todays_plan_run_tags(run, root: Path) -> dict[str, str]:
    """A plan run's MLflow tags as today's runner writes them: named <preset>/<entry>/<job>, its description
    linking its book page, its source the notebook it ran ({} for a run outside a plan). MLflow's own tags: the
    manifest's digests cover the randnas ones, which stay as they are."""
    from randnas import plans, runner
    from randnas.record.vocabulary import NOTE_TAG, SOURCE_TAG, TAG_BOOK_PAGE, TAG_PLAN_KEY, plan_run_name

    plan_key = run.data.tags.get(TAG_PLAN_KEY, "")
    page = plans.book_output(plan_key)
    if not page:
        return {}
    wanted = {
        TAG_BOOK_PAGE: page,
        NOTE_TAG: runner.run_description(page, plan_key),
        RUN_NAME_TAG: plan_run_name(run.data.tags, run.info.run_name),
    }
    source = _notebook_of_copy(root / Path(page).with_suffix(".ipynb"))
    if source:  # the notebook the job ran, not the kernel's launcher script
        wanted[SOURCE_TAG] = source
    return wanted


def _describe_experiments(store) -> int:
    """Give each experiment this project makes its description in the MLflow UI; how many changed."""
    from randnas.experiments.catalog import experiment_description
    from randnas.record import store as record
    from randnas.record.vocabulary import NOTE_TAG

    described = 0
    for experiment_id, name in record.experiment_names(store).items():
        description = experiment_description(name)
        if description and store.client().get_experiment(experiment_id).tags.get(NOTE_TAG) != description:
            record.describe_experiment(store, experiment_id, description)
            described += 1
    return described


def _cmd_record_upgrade(args: argparse.Namespace) -> int:
    from randnas import runner
    from randnas.record import store as record
    from randnas.record.integrity import upgrade_manifest
    from randnas.record.vocabulary import FINISHED, PARENT_TAG

    store = record.open_store(args.store)
    root = record.find_project_root()
    manifests, refused = 0, []
    pages = 0
    for run in record.find_runs(store, status=FINISHED):
        if PARENT_TAG in run.data.tags:
            continue
        outcome = upgrade_manifest(store, run)
        manifests += outcome == "written"
        if outcome not in ("written", "current"):
            refused.append(f"run {run.info.run_id}: {outcome}")
        wanted = _todays_plan_run_tags(run, root)
        changed = {key: value for key, value in wanted.items() if run.data.tags.get(key) != value}
        if changed:
            record.set_run_tags(store, run.info.run_id, changed)
            pages += 1
    kinds = record.declare_experiment_kinds(store)
    described = _describe_experiments(store)
    titles = (
        runner.relabel_executed_copies(root / "plans" / "default.yaml", root)
        if (root / "plans" / "default.yaml").is_file()
        else 0
    )
    print(
        f"manifests written: {manifests}; runs renamed or described anew: {pages}; "
        f"experiments declared machine-learning ones: {kinds}; experiments described: {described}; "
        f"executed copies retitled: {titles}"
    )
    for line in refused:
        print(f"  not upgraded, damaged: {line}")
    if refused:
        print(
            f"randnas: {len(refused)} run(s) no longer match what they logged and were left as they are: restore "
            "each file from git (git checkout -- FILE) or rerun its plan entry",
            file=sys.stderr,
        )
        return 1
    return 0


def _cmd_asha_rungs(args: argparse.Namespace) -> int:
    from randnas.search.asha.rule import rung_resources

    resources = rung_resources(args.r, args.R, args.eta, args.layout)
    print(f"ASHA rungs for r={args.r:g}, R={args.R:g}, eta={args.eta} ({args.layout}):")
    for k, resource in enumerate(resources):
        print(f"  rung {k}: {resource} epochs")
    return 0


def _cmd_surrogate_predict(args: argparse.Namespace) -> int:
    from randnas.surrogate.nb301 import LABEL, check_epochs, load_nb301_surrogate

    genotype = _genotype("cnn", args.genotype)
    check_epochs(args.epoch)  # before loading the model: a bad epoch needs no data
    surrogate = load_nb301_surrogate(args.data_root or None)
    prediction = surrogate.predict([genotype], args.epoch)
    accuracy, runtime = float(prediction["val_accuracy"][0]), float(prediction["runtime"][0])
    print(f"{LABEL}, epoch {args.epoch:g}:")
    print(f"  validation accuracy {accuracy:.4f} ({100 * accuracy:.2f} %)")
    print(f"  cumulative training time {runtime:.0f} s ({runtime / 3600:.2f} GPU-hours)")
    return 0


def _cmd_record_export(args: argparse.Namespace) -> int:
    from randnas.record.portable import export_record
    from randnas.record.store import file_store_path, find_project_root

    root = find_project_root()
    store = Path(args.store or root / "mlruns").resolve()
    source_folder = file_store_path(args.source) if args.source else None
    if source_folder is not None and source_folder.resolve() == store:
        print(
            f"randnas: error: --from names the store being exported ({store}); give a tracking server or another store",
            file=sys.stderr,
        )
        return 2
    if not args.source and not store.is_dir():
        print(
            f"randnas: error: no file store at {store}; give --store, or --from a tracking server to copy from",
            file=sys.stderr,
        )
        return 2
    copied, portable, scrubbed = export_record(root, store, args.source)
    source = f" from {args.source}" if args.source else ""
    print(
        f"exported{source} into {store}: {copied} run(s) copied, {portable} meta.yaml file(s) made repo-relative, "
        f"{scrubbed} file(s) scrubbed of this machine's paths and user names"
    )
    return 0


def _cmd_record_scrub(args: argparse.Namespace) -> int:
    from randnas.record.portable import private_paths, scrub_record
    from randnas.record.store import find_project_root

    root = find_project_root()
    store = Path(args.store or root / "mlruns").resolve()
    changed = scrub_record(root, store)
    left = list(private_paths([p for p in [*store.rglob("*"), *(root / "book" / "runs").rglob("*")] if p.is_file()]))
    print(f"scrubbed {changed} file(s); {len(left)} line(s) still name a machine folder")
    for path, line in left[:20]:
        print(f"  {path}: {line}")
    return 0 if not left else 1


def build_parser() -> argparse.ArgumentParser:
    from randnas.plans import PRESET_DESCRIPTIONS, PRESETS
    from randnas.spaces.registry import SPACES

    parser = argparse.ArgumentParser(prog="randnas", description="Random search and reproducibility for NAS.")
    commands = parser.add_subparsers(dest="command", required=True)

    run = commands.add_parser("run", help="run an experiment plan with papermill, skipping completed entries")
    run.add_argument("plan", type=Path, help="a plan YAML file, e.g. plans/default.yaml")
    run.add_argument(
        "--preset", required=True, help="; ".join(f"{name}: {PRESET_DESCRIPTIONS[name]}" for name in PRESETS)
    )
    run.add_argument(
        "--set",
        action="append",
        metavar="KEY=VALUE",
        help="override a notebook parameter (repeatable); a list on a grid axis replaces it, e.g. seed=[3,4]",
    )
    run.add_argument(
        "--data-root",
        default=os.environ.get("RANDNAS_DATA", ""),
        help="folder with cifar10/ and ptb/ (default: $RANDNAS_DATA)",
    )
    run.add_argument(
        "--store", default=None, help="MLflow store: a folder or URI (default: $MLFLOW_TRACKING_URI, else ./mlruns)"
    )
    run.add_argument(
        "--backend",
        default="local",
        choices=["local", "ray"],
        help="local: one job after another; ray: each entry's jobs in parallel on a local Ray or a cluster",
    )
    run.add_argument(
        "--ray-address", default="", help="a Ray cluster to run on (default: $RAY_ADDRESS, else a local Ray)"
    )
    run.add_argument("--cpus-per-job", type=float, default=1.0, help="Ray: CPUs reserved per notebook job")
    run.add_argument("--gpus-per-job", type=float, default=0.0, help="Ray: GPUs reserved per notebook job")
    run.add_argument("--only", action="append", metavar="ENTRY", help="run only this entry of the plan (repeatable)")
    run.add_argument("--force", action="store_true", help="rerun entries that already have a FINISHED run")
    run.add_argument("--dry-run", action="store_true", help="list the jobs and whether each is done, run nothing")
    run.set_defaults(handler=_cmd_run)

    ui = commands.add_parser("ui", help="open the MLflow UI on 127.0.0.1")
    ui.add_argument("--port", type=_port, default=5000)
    ui.add_argument("--store", default=None)
    ui.set_defaults(handler=_cmd_ui)

    data = commands.add_parser("data", help="datasets")
    data_commands = data.add_subparsers(dest="data_command", required=True)
    check = data_commands.add_parser("check", help="load every dataset and say which are usable")
    check.add_argument(
        "--data-root", default="", help="folder with cifar10/ and ptb/ (default: $RANDNAS_DATA or ./data)"
    )
    check.set_defaults(handler=_cmd_data_check)

    genotype = commands.add_parser("genotype", help="search-space genotypes")
    genotype_commands = genotype.add_subparsers(dest="genotype_command", required=True)
    describe = genotype_commands.add_parser("describe", help="print a genotype and its evaluation network's size")
    describe.add_argument(
        "genotype", help="a name (DARTS_V2, ASHA200, ...), a DARTS Genotype(...) string, or run:<MLflow run id>"
    )
    describe.add_argument(
        "--space",
        choices=list(SPACES),
        help="cnn, rnn or nb201 (default: from the genotype's form or name; DARTS_V1/V2 name both)",
    )
    describe.add_argument(
        "--data-root", default="", help="nb201: folder with nb201/ (default: $RANDNAS_DATA, else the pinned package)"
    )
    describe.add_argument("--channels", type=int, default=36, help="CNN evaluation network width")
    describe.add_argument("--layers", type=int, default=20, help="CNN evaluation network cells")
    describe.add_argument("--hidden", type=int, default=850, help="recurrent model units")
    describe.set_defaults(handler=_cmd_genotype_describe)
    sample = genotype_commands.add_parser("sample", help="print uniformly sampled genotypes")
    sample.add_argument("--seed", type=int, required=True)
    sample.add_argument("--count", type=_positive, default=1)
    sample.add_argument("--space", choices=list(SPACES), default="cnn")
    sample.add_argument(
        "--none-free", action="store_true", help="CNN: draw ops from the 7 other than `none` (NAS-Bench-301's space)"
    )
    sample.set_defaults(handler=_cmd_genotype_sample)

    surrogate = commands.add_parser(
        "surrogate", help="the NAS-Bench-301 surrogate (YAHPO Gym nb301 v2) on DARTS CNN cells"
    )
    surrogate_commands = surrogate.add_subparsers(dest="surrogate_command", required=True)
    predict = surrogate_commands.add_parser(
        "predict", help="print a cell's predicted validation accuracy and training time"
    )
    predict.add_argument(
        "genotype", help="a CNN name (DARTS_V2, ...), a DARTS Genotype(...) string, or run:<MLflow run id>"
    )
    predict.add_argument("--epoch", type=float, default=98, help="epoch 1..98 (default 98, the surrogate's last)")
    predict.add_argument("--data-root", default="", help="folder with yahpo-nb301/ (default: $RANDNAS_DATA or ./data)")
    predict.set_defaults(handler=_cmd_surrogate_predict)

    record = commands.add_parser("record", help="the committed MLflow record")
    record_commands = record.add_subparsers(dest="record_command", required=True)
    scrub = record_commands.add_parser(
        "scrub", help="rewrite absolute paths of the recording machine in executed notebooks and params"
    )
    scrub.add_argument("--store", default=None, help="the file store (default: ./mlruns)")
    scrub.set_defaults(handler=_cmd_record_scrub)
    export = record_commands.add_parser(
        "export",
        help="make the file store the portable committed record (repo-relative "
        "artifact paths, no machine paths), copying in the book's runs from a tracking server with --from",
    )
    export.add_argument(
        "--from", dest="source", default=None, help="a tracking server (http://...) or another store to copy runs from"
    )
    export.add_argument("--store", default=None, help="the committed file store (default: ./mlruns)")
    export.set_defaults(handler=_cmd_record_export)
    check_record = record_commands.add_parser(
        "check", help="name every damaged file of the record (meta.yaml, metric files)"
    )
    check_record.add_argument("--store", default=None, help="the file store (default: ./mlruns)")
    check_record.set_defaults(handler=_cmd_record_check)
    upgrade = record_commands.add_parser(
        "upgrade",
        help="bring a record made by an older randnas up to date (run manifests, run names and "
        "book-page descriptions, experiment kinds and descriptions)",
    )
    upgrade.add_argument("--store", default=None, help="the tracking store (default: ./mlruns)")
    upgrade.set_defaults(handler=_cmd_record_upgrade)
    adopt = record_commands.add_parser(
        "adopt", help="take hand runs (notebooks run outside a plan) into the book's tables"
    )
    adopt.add_argument("run_ids", nargs="+", help="MLflow run ids")
    adopt.add_argument("--store", default=None, help="the tracking store (default: ./mlruns)")
    adopt.set_defaults(handler=_cmd_record_adopt)

    asha = commands.add_parser("asha", help="asynchronous successive halving")
    asha_commands = asha.add_subparsers(dest="asha_command", required=True)
    rungs = asha_commands.add_parser("rungs", help="print the rung resources for r, R and eta")
    rungs.add_argument("--r", type=float, default=1, help="minimum resource (epochs)")
    rungs.add_argument("--R", type=float, default=300, help="maximum resource (epochs)")
    rungs.add_argument("--eta", type=int, default=4, help="reduction factor")
    rungs.add_argument(
        "--layout",
        choices=["top_down", "bottom_up"],
        default="top_down",
        help="top_down as released (the top rung is R)",
    )
    rungs.set_defaults(handler=_cmd_asha_rungs)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    from randnas.configs import SettingError
    from randnas.data import DataError
    from randnas.plans import PlanError
    from randnas.record.locks import CheckpointsUnwritable
    from randnas.record.portable import RecordUnwritable
    from randnas.record.store import RecordUnreadable, StoreUnreachable
    from randnas.spaces import GenotypeError
    from randnas.surrogate.nb301 import SurrogateError

    args = build_parser().parse_args(argv)
    try:
        return args.handler(args)
    except (
        PlanError,
        DataError,
        GenotypeError,
        SurrogateError,
        SettingError,
        StoreUnreachable,
        RecordUnreadable,
        CheckpointsUnwritable,
        RecordUnwritable,
    ) as error:
        # what a person asked for cannot be done: one line; anything else is a bug and keeps its traceback
        print(f"randnas: error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
