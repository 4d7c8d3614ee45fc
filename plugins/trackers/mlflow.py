"""`mlflow`: an MLflow run in a SQLite store inside the run directory
(`RUN/mlflow/mlflow.db`, artifacts in `RUN/mlflow/artifacts`): no server, no login, no
network. SQLite is MLflow's recommended local backend (MLflow 3 refuses its old `./mlruns`
file store by default); SQLAlchemy and Alembic come with Dagster. Needs the `mlflow`
extra (`pip install 'gantk[mlflow]'`, mlflow-skinny).

    gantk run dcgan --log mlflow
    mlflow ui --backend-store-uri sqlite:///RUN/mlflow/mlflow.db

The config becomes the run's params, losses `train/*` and scores `scores/*` metrics, the
sample grids artifacts under `samples/`. A resumed run continues the same MLflow run.
MLflow cannot delete metric points: what an interrupted session logged after its last
checkpoint stays beside the resumed values (metrics.jsonl and TensorBoard drop it)."""

from __future__ import annotations

import importlib.util
import json
import logging
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gantk import hookimpl
from gantk.contract.specs import TrackerSpec

if TYPE_CHECKING:
    from gantk.training.config import RunConfig

FOLDER = "mlflow"
EXPERIMENT = "gantk"
PARAMS_PER_BATCH = 100  # MLflow's log_batch limit


def mlflow_missing() -> str | None:
    for module, extra in (("mlflow", "gantk[mlflow]"), ("sqlalchemy", "sqlalchemy alembic")):
        if importlib.util.find_spec(module) is None:
            return f"the {module} package is not installed; pip install '{extra}'"
    return None


def config_params(config: RunConfig) -> dict[str, str]:
    """The run config as MLflow params: `model.KEY` for architecture options, JSON text
    for anything that is not a string."""
    raw = json.loads(config.model_dump_json())
    flat = {**{k: v for k, v in raw.items() if k != "model"},
            **{f"model.{k}": v for k, v in raw.get("model", {}).items()}}
    return {k: v if isinstance(v, str) else json.dumps(v) for k, v in flat.items()}


class MlflowSink:
    def __init__(self, run_dir: Path) -> None:
        self.run_dir = Path(run_dir)
        self.folder = self.run_dir / FOLDER
        self.client: Any = None
        self.run_id: str | None = None

    def start(self, config: RunConfig, step: int) -> None:
        from mlflow.entities import Param
        from mlflow.tracking import MlflowClient

        logging.getLogger("mlflow").setLevel(logging.WARNING)  # no table-creation chatter
        self.folder.mkdir(parents=True, exist_ok=True)
        database = (self.folder / "mlflow.db").resolve()
        self.client = MlflowClient(tracking_uri=f"sqlite:///{database}")
        self.run_id = self._run(config)
        # params are immutable in MLflow: a resumed run adds new keys only
        known = self.client.get_run(self.run_id).data.params
        params = [Param(k, v) for k, v in config_params(config).items() if k not in known]
        for i in range(0, len(params), PARAMS_PER_BATCH):
            self.client.log_batch(self.run_id, params=params[i:i + PARAMS_PER_BATCH])

    def _run(self, config: RunConfig) -> str:
        """The MLflow run of this run directory: continued on resume, else created."""
        from gantk.atomic import write_text_atomic

        id_file = self.folder / "run_id"
        if id_file.is_file():
            run_id = id_file.read_text().strip()
            self.client.update_run(run_id, status="RUNNING")
            return run_id
        experiment = self.client.get_experiment_by_name(EXPERIMENT)
        experiment_id = experiment.experiment_id if experiment else self.client.create_experiment(
            EXPERIMENT, artifact_location=(self.folder / "artifacts").resolve().as_uri())
        run = self.client.create_run(experiment_id, run_name=self.run_dir.name,
                                     tags={"gantk.preset": config.preset or "",
                                           "gantk.run_dir": str(self.run_dir.resolve())})
        write_text_atomic(id_file, run.info.run_id)
        return run.info.run_id

    def _metrics(self, prefix: str, step: int, values: dict[str, Any]) -> None:
        from mlflow.entities import Metric

        from gantk.training.sinks import numbers

        now = int(time.time() * 1000)
        metrics = [Metric(f"{prefix}/{k}", v, now, step)
                   for k, v in numbers(values).items() if k != "step"]
        self.client.log_batch(self.run_id, metrics=metrics)

    def scalars(self, step: int, values: dict[str, float]) -> None:
        self._metrics("train", step, values)

    def scores(self, step: int, results: dict[str, Any]) -> None:
        self._metrics("scores", step, results)

    def image(self, step: int, name: str, path: Path) -> None:
        self.client.log_artifact(self.run_id, str(path), artifact_path="samples")

    def close(self) -> None:
        if self.client is not None and self.run_id is not None:
            self.client.set_terminated(self.run_id)


def open_mlflow(run_dir: Path, config: RunConfig) -> MlflowSink:
    return MlflowSink(run_dir)


@hookimpl
def register_trackers(register):
    register(TrackerSpec(
        "mlflow", open_mlflow, unavailable=mlflow_missing,
        description="an MLflow run in RUN/mlflow (SQLite store, no server): params, "
                    "losses, scores, sample grids (optional extra: gantk[mlflow])"))
