"""The README's performance paragraph, generated from the committed results files so the two cannot disagree.

Run: .venv/bin/python -m benchmarks.summary            # print the paragraph
     .venv/bin/python -m benchmarks.summary --write    # replace it in README.md (between the markers)
A test checks that README.md holds exactly what this prints.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from benchmarks.common import RESULTS
from randnas.repro import code_provenance

README = Path(__file__).resolve().parents[1] / "README.md"
START, END = "<!-- benchmarks:start -->", "<!-- benchmarks:end -->"


def _load(name: str, results: Path) -> dict | None:
    path = results / f"{name}.json"
    return json.loads(path.read_text()) if path.is_file() else None


def _span(values: list[float], digits: int, unit: str = "x") -> str:
    low, high = min(values), max(values)
    return (
        f"{low:.{digits}f}{unit}"
        if f"{low:.{digits}f}" == f"{high:.{digits}f}"
        else f"{low:.{digits}f}-{high:.{digits}f}{unit}"
    )


def _cnn(record: dict) -> str:
    rows = {key: value for key, value in record["results"].items() if key.startswith("C=")}
    ratios = [row["ratios"] for row in rows.values()]
    dense = ", ".join(f"{r['dense_step_over_single_step']:.1f}x ({c})" for c, r in zip(rows, ratios, strict=True))
    return (
        f"a `dense` supernet step costs {dense} a `single` one and "
        f"{_span([1 / r['single_memory_over_dense_memory'] for r in ratios], 1)} its memory, a `single` step costs "
        f"{_span([r['single_step_over_standalone_step'] for r in ratios], 2)} the stand-alone network's, "
        "and scoring in "
        f"`single` mode is {_span([r['single_scoring_over_dense_scoring'] for r in ratios], 1)} faster"
    )


def _ptb(record: dict) -> str:
    rows = [value for key, value in record["results"].items() if key.startswith("hidden=")]
    steps = [row[k] for row in rows for k in row if k.startswith("step_batch")]
    scores = [row["score_whole_valid"] for row in rows]
    share = [m["floor_s"] / m["ours_s"] * 100 for m in steps + scores]
    return (
        f"a PTB stage-1 step is {_span([m['speedup_vs_baseline'] for m in steps], 2)} faster than the DARTS-style cell "
        f"timed in the same run (scoring {_span([m['speedup_vs_baseline'] for m in scores], 2)}), "
        "and steps and scoring "
        f"run at {_span(share, 0, ' %')} of the fp32 matrix-product rate measured in that run"
    )


def _machine(record: dict) -> str:
    machine = record["machine"]
    return (
        f"{record['results']['device']}, torch {machine.get('version.torch', '?')}, {code_provenance(machine)}, "
        f"{record['when'][:10]}"
    )


def performance_paragraph(results: Path = RESULTS) -> str:
    parts = []
    for device, words in (("cpu", "On the 2-core CPU"), ("cuda", "On the GPU")):
        cnn, ptb = _load(f"cnn_stage1_{device}", results), _load(f"ptb_stage1_{device}", results)
        if cnn and ptb:
            parts.append(
                f"{words} ({_machine(cnn)}; PTB: {_machine(ptb)}), at batch 64 and 8 cells, {_cnn(cnn)}; {_ptb(ptb)}."
            )
    return "\n".join(parts)


def write_readme(readme: Path = README) -> None:
    text = readme.read_text()
    head, _, rest = text.partition(START)
    _, _, tail = rest.partition(END)
    readme.write_text(f"{head}{START}\n{performance_paragraph()}\n{END}{tail}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--write", action="store_true", help="replace the paragraph in README.md")
    args = parser.parse_args()
    if args.write:
        write_readme()
    print(performance_paragraph())


if __name__ == "__main__":
    main()
