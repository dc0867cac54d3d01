"""Which Dagster executor runs a round's steps: chosen by configuration (the environment), never by code.

``TAMBON_EXECUTOR``:

* ``in_process`` (default): every step of a run in the run's own process, one after another (what
  ``tambon run`` always did);
* ``multiprocess``: independent steps of a run side by side, each in a process of its own on this
  machine (``quality``, ``aggregates`` and ``field_workers`` after ``validated``);
  ``TAMBON_MAX_CONCURRENT`` caps how many at once (default: the number of CPUs);
* ``celery``: each step a Celery task, executed by ``celery`` workers on any number of processes or
  hosts (``dagster-celery``). ``TAMBON_CELERY_BROKER`` is the broker (Redis, e.g.
  ``redis://127.0.0.1:6379/0``), ``TAMBON_CELERY_BACKEND`` where results go back (default: the
  broker). Workers run ``celery -A pipelines.celery_worker worker -Q dagster`` with the same
  environment (docs/scaling.md).

The multiprocess and Celery executors need a persistent Dagster instance that every step's process
reaches (their steps write their events there): PostgreSQL (``deploy/dagster.postgres.yaml``) for
Celery workers, or the local SQLite instance for multiprocess on one machine.

Whatever the choice, the executor is wrapped so that the process orchestrating a run holds the run's
locks (``pipelines/run_lock.py``) from before its first step to after its last, naming the run: the
steps, in whatever process they run, join those locks instead of taking them, so two runs of one
dataset and partition never interleave and a step never waits for the process that launched it.
"""

from __future__ import annotations

import os
import sys
import warnings
from collections.abc import Iterator, Mapping
from contextlib import ExitStack
from pathlib import Path
from typing import TYPE_CHECKING, Any

import dagster as dg

from catalog.query import UserError
from domain.layout import Layout
from pipelines import run_lock

if TYPE_CHECKING:
    from dagster._core.execution.context.system import PlanOrchestrationContext
    from dagster._core.execution.plan.plan import ExecutionPlan

EXECUTOR_ENV = "TAMBON_EXECUTOR"
BROKER_ENV = "TAMBON_CELERY_BROKER"
BACKEND_ENV = "TAMBON_CELERY_BACKEND"
MAX_CONCURRENT_ENV = "TAMBON_MAX_CONCURRENT"
IN_PROCESS, MULTIPROCESS, CELERY = "in_process", "multiprocess", "celery"
CHOICES = (IN_PROCESS, MULTIPROCESS, CELERY)
PARTITION_TAG = "dagster/partition"


class ExecutorSettingError(UserError):
    """A setting of the executor that cannot work, said in Thai then English with what to set: ``tambon`` prints
    it without a traceback (exit 2), and ``dagster dev`` shows it as the reason the code location did not load."""


def chosen(environ: Mapping[str, str] | None = None) -> str:
    """The executor ``TAMBON_EXECUTOR`` names (``in_process`` when unset or empty); any other word is refused."""
    environ = os.environ if environ is None else environ
    name = (environ.get(EXECUTOR_ENV) or IN_PROCESS).strip().lower().replace("-", "_")
    if name not in CHOICES:
        raise ExecutorSettingError(
            f"{EXECUTOR_ENV}={name!r} ไม่รู้จัก ใช้ค่าใดค่าหนึ่ง: {', '.join(CHOICES)}",
            f"{EXECUTOR_ENV}={name!r} is not an executor: use one of {', '.join(CHOICES)}",
        )
    return name


def celery_settings(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """Broker and result backend of the Celery app, the same for the run's orchestrator and for the workers."""
    environ = os.environ if environ is None else environ
    broker = (environ.get(BROKER_ENV) or "").strip()
    if not broker:
        raise ExecutorSettingError(
            f"{EXECUTOR_ENV}=celery ต้องตั้ง {BROKER_ENV} เป็นที่อยู่ของ broker เช่น redis://127.0.0.1:6379/0",
            f"{EXECUTOR_ENV}=celery needs {BROKER_ENV}, the broker's URL, e.g. redis://127.0.0.1:6379/0",
        )
    return {"broker": broker, "backend": (environ.get(BACKEND_ENV) or "").strip() or broker}


def _max_concurrent(environ: Mapping[str, str]) -> int:
    text = (environ.get(MAX_CONCURRENT_ENV) or "0").strip()
    if not text.isdigit():
        raise ExecutorSettingError(
            f"{MAX_CONCURRENT_ENV}={text!r} ต้องเป็นจำนวนเต็มไม่ติดลบ (0 คือเท่าจำนวน CPU)",
            f"{MAX_CONCURRENT_ENV}={text!r} must be a whole number (0: as many as CPUs)",
        )
    return int(text)


def executor_def(environ: Mapping[str, str] | None = None) -> dg.ExecutorDefinition:
    """The executor of every job in ``pipelines.definitions``, from the environment, holding the run's locks."""
    environ = os.environ if environ is None else environ
    name = chosen(environ)
    if name == MULTIPROCESS:
        inner = dg.multiprocess_executor.configured({"max_concurrent": _max_concurrent(environ)})
    elif name == CELERY:
        from celery.exceptions import DuplicateTaskNameWarning
        from dagster_celery import celery_executor

        # dagster-celery declares its one task again on the same app for every step it sends: the same code under
        # the same name, which Celery 5.7 warns about on every run. Nothing to act on, so not shown.
        warnings.filterwarnings("ignore", category=DuplicateTaskNameWarning)
        inner = celery_executor.configured(celery_settings(environ))
    else:
        inner = dg.in_process_executor
    return holding_run_locks(inner)


def holding_run_locks(inner: dg.ExecutorDefinition) -> dg.ExecutorDefinition:
    """``inner``, whose runs hold their datasets' locks for the partition in the orchestrating process."""
    creation = inner.executor_creation_fn
    assert creation is not None, inner.name
    return dg.ExecutorDefinition(
        name=inner.name,
        config_schema=inner.config_schema,
        requirements=inner.get_requirements,
        executor_creation_fn=lambda init_context: RunLockingExecutor(creation(init_context)),
        description=f"{inner.description or inner.name}, holding the run's dataset locks (pipelines/run_lock.py)",
    )


def lock_names(plan_context: PlanOrchestrationContext, execution_plan: ExecutionPlan) -> list[str]:
    """The datasets (and scorecards) whose lock the run's steps take: the first part of their asset keys."""
    layer = plan_context.job.get_definition().asset_layer
    names: set[str] = set()
    for step_key in execution_plan.step_keys_to_execute:
        assets = layer.get_assets_def_for_node(execution_plan.get_step_by_key(step_key).node_handle)
        names |= {key.path[0] for key in assets.keys} if assets is not None else set()
    return sorted(names)  # one order for every run: two runs never take each other's locks crosswise


def _layout(run_config: Mapping[str, Any]) -> Layout:
    """The data folder the run's ``locks`` resource uses: its run config when given, else ``TAMBON_DATA_DIR``."""
    data_dir = run_config.get("resources", {}).get("locks", {}).get("config", {}).get("data_dir")
    return Layout(Path(data_dir).resolve()) if data_dir else Layout.from_env()


class RunLockingExecutor(dg.Executor):
    """An executor that holds the run's locks around another executor's whole run; everything else is the other's.

    Attributes it does not define (``app_args`` of the Celery executor, ...) are the inner executor's, so code
    that reads ``plan_context.executor`` (dagster-celery's execution loop does) sees the executor it expects.
    """

    def __init__(self, inner: dg.Executor) -> None:
        self.inner = inner

    def __getattr__(self, name: str) -> Any:
        if name == "inner":  # not set yet (an unpickled copy): no recursion
            raise AttributeError(name)
        return getattr(self.inner, name)

    @property
    def retries(self) -> Any:
        return self.inner.retries

    @property
    def step_dependency_config(self) -> Any:
        return self.inner.step_dependency_config

    def get_step_event_or_retry_event(self, *args: Any, **kwargs: Any) -> Any:
        return self.inner.get_step_event_or_retry_event(*args, **kwargs)

    def execute(self, plan_context: PlanOrchestrationContext, execution_plan: ExecutionPlan) -> Iterator[Any]:
        run = plan_context.dagster_run
        key = run.tags.get(PARTITION_TAG)
        names = lock_names(plan_context, execution_plan) if key else []

        def tell(message: str) -> None:
            plan_context.log.warning(message)
            if os.environ.get("TAMBON_PROGRESS") == "1":
                print(f"  • {message}", file=sys.stderr, flush=True)

        with ExitStack() as stack:
            layout = _layout(run.run_config)
            for name in names:
                removed = stack.enter_context(run_lock.hold(layout, name, key, on_wait=tell, run_id=run.run_id))
                if removed:
                    tell(
                        f"ลบไฟล์ชั่วคราวที่การประมวลผลที่ถูกหยุดกลางคันทิ้งไว้ {len(removed)} รายการ"
                        f" / removed {len(removed)} temporary files left by an interrupted run"
                    )
            yield from self.inner.execute(plan_context, execution_plan)
