"""The Celery app of our workers: ``celery -A pipelines.celery_worker worker -Q dagster -n <name>@%h``.

dagster-celery's own ``dagster_celery.app`` reads its broker from a generated config module; ours reads
the same settings as the executor that sends the tasks (``TAMBON_CELERY_BROKER``, ``TAMBON_CELERY_BACKEND``,
``pipelines/executors.py``), so a worker and a run started from one environment always meet on one broker.
The task is dagster-celery's ``execute_plan``: it loads the job from ``pipelines.definitions``, reads the run
from the instance the task names (PostgreSQL: the worker needs ``DAGSTER_PG_*``) and runs one step there.
"""

from __future__ import annotations

from dagster_celery.executor import CeleryExecutor
from dagster_celery.make_app import make_app
from dagster_celery.tasks import create_task

from pipelines.executors import celery_settings

app = make_app(CeleryExecutor.for_cli(**celery_settings()).app_args())
execute_plan = create_task(app)
