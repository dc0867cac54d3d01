"""The stages' worker processes start without running the parent's main module again."""

import subprocess
import sys
import textwrap

from domain.declarations import REPO_ROOT

SCRIPT = """
    import os, sys
    with open(sys.argv[1], "a") as marks:  # once for each process that runs this file
        marks.write(f"{os.getpid()}\\n")

    if __name__ == "__main__":
        from pipelines.worker_processes import start_pool

        pool, ready = start_pool(2)
        with pool:
            [future.result() for future in ready]
            print(pool.submit(os.getpid).result() != os.getpid())
"""


def test_workers_do_not_run_the_main_module(tmp_path):
    """A script that starts workers runs once, in its own process: its workers do not import it (the
    ``tambon`` script or a benchmark would otherwise cost each worker every import it makes)."""
    script, marks = tmp_path / "main.py", tmp_path / "marks.txt"
    script.write_text(textwrap.dedent(SCRIPT), encoding="utf-8")
    run = subprocess.run(
        [sys.executable, str(script), str(marks)], cwd=REPO_ROOT, capture_output=True, text=True, timeout=120
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "True"  # a worker answered
    assert len(marks.read_text().split()) == 1


def test_the_main_module_is_back_after_the_workers_start():
    from pipelines.worker_processes import start_pool

    main = sys.modules["__main__"]
    pool, ready = start_pool(1)
    with pool:
        ready[0].result(timeout=120)
    assert sys.modules["__main__"] is main
