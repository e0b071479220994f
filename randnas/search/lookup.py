"""Finding a genotype for stage 2: by name, as a DARTS string, from an MLflow run, or from a search."""

from __future__ import annotations

from randnas import tracking
from randnas.spaces.cnn import CnnGenotype, cnn_genotype_from_dict
from randnas.spaces.common import GenotypeError
from randnas.spaces.named import resolve_genotype

CNN_SEARCH_EXPERIMENT = "cnn/rsws"
GENOTYPE_ARTIFACT = "genotype.json"
TAG_SETTING = "randnas.setting"


def cnn_genotype_from_run(run_id: str) -> CnnGenotype:
    try:
        return cnn_genotype_from_dict(tracking.load_json_artifact(run_id, GENOTYPE_ARTIFACT))
    except OSError as error:
        raise GenotypeError(f"run {run_id} has no {GENOTYPE_ARTIFACT} artifact: {error}") from None


def find_cnn_genotype(spec: str, preset: str = "", search_setting: str = "", search_seed: int = 0) -> tuple[CnnGenotype, str]:
    """The genotype `spec` names, and the MLflow run it came from ("" for a named or written genotype).

    `spec` is a registered name (DARTS_V2), a DARTS `Genotype(...)` string, `run:<MLflow run id>`, or
    `rsws`: the pick of the newest FINISHED `cnn/rsws` run of this preset, setting and seed.
    """
    if spec.startswith("run:"):
        run_id = spec.removeprefix("run:").strip()
        return cnn_genotype_from_run(run_id), run_id
    if spec == "rsws":
        wanted = {tracking.TAG_PRESET: preset, TAG_SETTING: search_setting, tracking.TAG_SEED: str(search_seed)}
        run = tracking.newest_finished_run(CNN_SEARCH_EXPERIMENT, wanted)
        if run is None:
            raise GenotypeError(
                f"no FINISHED {CNN_SEARCH_EXPERIMENT} run with preset {preset!r}, setting {search_setting!r} and "
                f"seed {search_seed}: run that search first (its plan entry comes before this one)"
            )
        return cnn_genotype_from_run(run.info.run_id), run.info.run_id
    return resolve_genotype("cnn", spec), ""
