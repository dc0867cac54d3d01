"""The code location loads in Dagster's own tooling (what `dagster dev` loads), with checks from declarations."""

import os
import subprocess
import sys
from pathlib import Path

from pipelines.definitions import defs

REPO = Path(__file__).resolve().parents[2]


def test_dagster_validates_the_code_location():
    run = subprocess.run(
        [
            str(Path(sys.executable).with_name("dagster")),
            "definitions",
            "validate",
            "-m",
            "pipelines.definitions",
        ],
        cwd=REPO,
        env={**os.environ, "DAGSTER_HOME": str(REPO)},
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    assert "Validation successful" in run.stdout + run.stderr


def test_every_dataset_folder_gets_its_assets_checks_and_job(village_spec):
    graph = defs.resolve_asset_graph()
    keys = {k.to_user_string() for k in graph.get_all_asset_keys()}
    stages = ("raw_files", "validated", "quarantine", "quality", "aggregates", "published")
    assert {f"{village_spec.name}/{s}" for s in stages} <= keys
    checks = {c.name for c in graph.asset_check_keys}
    assert {"rows_balance", "quarantine_rate", "completeness", "no_personal_data"} <= checks
    assert defs.resolve_job_def(f"{village_spec.name}_round").partitions_def is not None
