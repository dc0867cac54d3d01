"""CKAN's own search tests, run against our PostgreSQL search (ckanext-tambon) as a conformance suite.

Why: our extension answers ``package_search`` instead of Solr. CKAN's test suite says
what ``package_search`` must do (query syntax, filters, facets, sorting, permission
labels, autocomplete); running it unchanged from the installed CKAN (the tests ship
in the wheel: ``site-packages/ckan/tests``) against our extension is the strictest
check of "behaves like CKAN with Solr" we can have without writing our own guesses.

What it does, every time from nothing:

1. installs the pinned test dependencies (``requirements.txt``) into the CKAN
   virtualenv when missing (a stamp in the venv remembers the file's hash);
2. starts a throw-away cluster with ``ckan.sh start`` (PostgreSQL, Redis, CKAN) in its
   own run dir (``.cache/ckan/run-conformance-PORT``, wiped before and after) on its own
   ports (5056, 24356, 63756; ``TAMBON_CONFORMANCE_PORTS=web,postgres,redis`` to change);
3. creates the test databases ``ckan_test_N`` and ``datastore_test_N`` of each shard
   (CKAN's fixtures empty them between tests) owned by a role of their own;
4. writes each shard's test ini: the generated ``ckan.ini`` with ``test-settings.ini``
   applied (its databases, a Redis database of its own);
5. runs CKAN's pytest in the CKAN venv on the test files of ``tests.txt``, its ``[shard]``
   parts side by side (the two halves take about a minute each; one after the other, two),
   with ``skip.txt`` applied by ``conformance_plugin.py``; optionally, beside them, the
   control run (our search plugin removed: the same tests must fail, so passes come from our plugin);
6. prints the result (Thai and English), writes it as JSON, and stops the cluster.

    python catalog/ckan/conformance/run.py [--json OUT] [--control] [--keep] [-k EXPR] [TEST_ID ...]

Exit status: 0 when every test not in ``skip.txt`` passed (and, with ``--control``, the
control failed as it must); 1 otherwise. Standard library only: any Python 3.11 runs it.
"""

from __future__ import annotations

import argparse
import configparser
import hashlib
import json
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO_ROOT = HERE.parents[2]
CKAN_SH = REPO_ROOT / "catalog" / "ckan" / "ckan.sh"
REQUIREMENTS = HERE / "requirements.txt"
SETTINGS = HERE / "test-settings.ini"
PYTEST_INI = HERE / "pytest.ini"
SKIP_LIST = HERE / "skip.txt"
SELECTION = HERE / "tests.txt"
SEARCH_PLUGIN = "tambon_pgsearch"
# the cluster's ports unless TAMBON_CONFORMANCE_PORTS says otherwise (the integration tests use 5055/24355/63755)
DEFAULT_PORTS = {"TAMBON_CKAN_PORT": "5056", "TAMBON_CKAN_PG_PORT": "24356", "TAMBON_CKAN_REDIS_PORT": "63756"}
# the control run: these tests must fail without our plugin (they search)
CONTROL_TESTS = ("ckan/tests/logic/action/test_get.py::TestPackageSearch",)
CONTROL_MAX_PASSED = 3
PYTEST_TIMEOUT = 900
# one test: CKAN's slowest take a few seconds; a test waiting on a lock fails after this, alone
TEST_TIMEOUT = 120
# what PostgreSQL allows one statement of the test role: production's role has 5 s (ckan.sh); more here,
# for a slow CI machine, but a statement stuck on a lock still ends (as an error naming the statement)
STATEMENT_TIMEOUT = "30s"
TEST_ROLE = "ckan_conformance"
TEST_DATABASES = ("ckan_test", "datastore_test")


def log(message: str) -> None:
    print(f"[conformance] {message}", file=sys.stderr, flush=True)


@dataclass(frozen=True)
class Cluster:
    """A throw-away CKAN cluster started by ckan.sh: its settings (env) and run dir."""

    env: dict[str, str]
    run_dir: Path
    venv: Path

    @property
    def python(self) -> Path:
        return self.venv / "bin" / "python"

    def ckan_sh(self, command: str, timeout: float, check: bool = True) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["bash", str(CKAN_SH), command], env=self.env, check=check, timeout=timeout, text=True)


def cluster_env(base: dict[str, str] | None = None) -> dict[str, str]:
    """ckan.sh's settings for the conformance cluster. The ports are DEFAULT_PORTS unless
    TAMBON_CONFORMANCE_PORTS="web,postgres,redis" says otherwise: never the caller's TAMBON_CKAN_*
    ones, which usually name a catalog that is running (the run would stop at "port taken", or worse)."""
    env = dict(os.environ if base is None else base)
    ports = dict(DEFAULT_PORTS)
    if env.get("TAMBON_CONFORMANCE_PORTS"):
        values = [p.strip() for p in env["TAMBON_CONFORMANCE_PORTS"].split(",")]
        if len(values) != 3 or not all(v.isdigit() for v in values):
            raise SystemExit("TAMBON_CONFORMANCE_PORTS must be three ports: web,postgres,redis")
        ports = dict(zip(DEFAULT_PORTS, values, strict=True))
    env.update(ports)
    home = Path(env.get("TAMBON_CKAN_HOME") or REPO_ROOT / ".cache" / "ckan").resolve()
    env["TAMBON_CKAN_HOME"] = str(home)
    env["TAMBON_CKAN_RUN"] = str(home / f"run-conformance-{env['TAMBON_CKAN_PORT']}")
    return env


def start_cluster(env: dict[str, str]) -> Cluster:
    """A fresh run dir every time (a stale one from a killed run is stopped and wiped first)."""
    home = Path(env["TAMBON_CKAN_HOME"])
    cluster = Cluster(env=env, run_dir=Path(env["TAMBON_CKAN_RUN"]), venv=home / "venv")
    cluster.ckan_sh("stop", timeout=120, check=False)
    shutil.rmtree(cluster.run_dir, ignore_errors=True)
    cluster.ckan_sh("install", timeout=900)
    ensure_test_requirements(cluster.venv)
    cluster.ckan_sh("start", timeout=300)
    return cluster


def stop_cluster(cluster: Cluster, keep: bool = False) -> None:
    cluster.ckan_sh("stop", timeout=120, check=False)
    if not keep:
        shutil.rmtree(cluster.run_dir, ignore_errors=True)


def ensure_test_requirements(venv: Path) -> None:
    """pip only when requirements.txt changed since the last install into this venv (or the venv is new:
    ckan.sh rebuilds it, without our stamp, when CKAN's own requirements change)."""
    stamp = venv / ".tambon-conformance-requirements"
    want = hashlib.sha256(REQUIREMENTS.read_bytes()).hexdigest()[:16]
    if stamp.is_file() and stamp.read_text().strip() == want:
        return
    log(f"installing CKAN's test dependencies into {venv} ({REQUIREMENTS.name})")
    subprocess.run(
        [str(venv / "bin" / "pip"), "install", "--quiet", "--disable-pip-version-check", "-r", str(REQUIREMENTS)],
        check=True,
        timeout=600,
    )
    stamp.write_text(want + "\n")


def psql(cluster: Cluster, sql: str, database: str = "postgres") -> None:
    """psql as PostgreSQL's superuser over the cluster's socket (trust), as ckan.sh does."""
    command = [
        *_pg_bin("psql"),
        "-X",
        "-q",
        "-v",
        "ON_ERROR_STOP=1",
        "-h",
        str(cluster.run_dir / "pgsock"),
        "-p",
        cluster.env["TAMBON_CKAN_PG_PORT"],
        "-U",
        "postgres",
        "-d",
        database,
    ]
    subprocess.run(command, input=sql, text=True, check=True, timeout=120, capture_output=True, cwd="/")


def _pg_bin(program: str) -> list[str]:
    candidates = sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{program}"), key=lambda p: int(p.parts[-3]))
    path = str(candidates[-1]) if candidates else program
    return ["runuser", "-u", "postgres", "--", path] if os.geteuid() == 0 else [path]


def create_test_databases(cluster: Cluster, count: int) -> list[dict[str, str]]:
    """``count`` pairs of empty ``ckan_test_N`` and ``datastore_test_N`` owned by a role with a fresh random
    password (one password for all: set once, before any shard connects); CKAN's fixtures create the tables
    (``reset_db``). Returns each pair's URLs."""
    password = secrets.token_hex(16)
    names = [[f"{name}_{n}" for name in TEST_DATABASES] for n in range(1, count + 1)]
    every = [name for pair in names for name in pair]
    statements = [f"DROP DATABASE IF EXISTS {name} WITH (FORCE);" for name in every] + [
        f"SELECT 'CREATE ROLE {TEST_ROLE} LOGIN' WHERE NOT EXISTS "
        f"(SELECT 1 FROM pg_roles WHERE rolname = '{TEST_ROLE}') \\gexec",
        f"ALTER ROLE {TEST_ROLE} PASSWORD '{password}';",
        f"ALTER ROLE {TEST_ROLE} SET statement_timeout = '{STATEMENT_TIMEOUT}';",
    ]
    statements += [f"CREATE DATABASE {name} OWNER {TEST_ROLE} ENCODING 'UTF8';" for name in every]
    psql(cluster, "\n".join(statements) + "\n")
    base = f"postgresql://{TEST_ROLE}:{password}@127.0.0.1:{cluster.env['TAMBON_CKAN_PG_PORT']}"
    urls = []
    for pair in names:
        # as ckan.sh does for ckan_default: trigram matching for the search index (created by the superuser)
        psql(cluster, "CREATE EXTENSION IF NOT EXISTS pg_trgm;\n", database=pair[0])
        urls.append({f"{name}_url": f"{base}/{database}" for name, database in zip(TEST_DATABASES, pair, strict=True)})
    return urls


def write_test_ini(cluster: Cluster, urls: dict[str, str], plugins: str, path: Path, redis_db: int) -> Path:
    """The cluster's generated ckan.ini (its secrets, logging, declared defaults) with test-settings.ini applied;
    ``redis_db``: the Redis database the tests flush (the cluster's own CKAN uses 0)."""
    shutil.copyfile(cluster.run_dir / "ckan.ini", path)
    path.chmod(0o600)
    settings = configparser.ConfigParser(interpolation=None, comment_prefixes=("#",), delimiters=("=",))
    settings.optionxform = str  # type: ignore[assignment,method-assign]  # keys are case-sensitive
    settings.read(SETTINGS, encoding="utf-8")
    values = {**urls, "redis_port": cluster.env["TAMBON_CKAN_REDIS_PORT"], "redis_db": redis_db, "plugins": plugins}
    pairs = [f"{key}={value.format(**values)}" for key, value in settings["app:main"].items()]
    subprocess.run(
        [str(cluster.venv / "bin" / "ckan"), "config-tool", str(path), *pairs],
        check=True,
        timeout=120,
        capture_output=True,
        text=True,
    )
    return path


def selection() -> list[list[str]]:
    """The CKAN test files, classes or tests of tests.txt (one a line, # comments), in its ``[shard]`` parts
    (run side by side); a file without ``[shard]`` lines is one part."""
    shards: list[list[str]] = [[]]
    for raw in SELECTION.read_text(encoding="utf-8").splitlines():
        line = raw.split("#", 1)[0].strip()
        if line == "[shard]":
            if shards[-1]:
                shards.append([])
        elif line:
            shards[-1].append(line)
    return [shard for shard in shards if shard]


@dataclass
class Outcome:
    """One pytest run of CKAN's tests: pytest's exit status and every test's outcome by test id."""

    exitstatus: int
    seconds: float
    tests: dict[str, dict[str, Any]] = field(default_factory=dict)
    output_tail: str = ""
    #: skip.txt entries that named no collected test (None: not checked, a partial selection)
    unused_skips: list[str] | None = None

    @staticmethod
    def merged(parts: list[Outcome], check_skips: bool) -> Outcome:
        """The shards as one run: the worst exit status, the longest time (they ran side by side), every test;
        a skip.txt entry is unused when no shard collected a test it names."""
        unused = set.intersection(*(set(part.unused_skips or []) for part in parts)) if check_skips else None
        return Outcome(
            exitstatus=max(parts, key=lambda part: abs(part.exitstatus)).exitstatus,
            seconds=max(part.seconds for part in parts),
            tests={test_id: test for part in parts for test_id, test in part.tests.items()},
            output_tail="\n".join(part.output_tail for part in parts if not part.tests),
            unused_skips=sorted(unused) if unused is not None else None,
        )

    def ids(self, *outcomes: str) -> list[str]:
        return sorted(test_id for test_id, t in self.tests.items() if t["outcome"] in outcomes)

    def counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for test in self.tests.values():
            counts[test["outcome"]] = counts.get(test["outcome"], 0) + 1
        return dict(sorted(counts.items()))

    def unlisted_skips(self) -> list[str]:
        """Tests skipped by CKAN's own conditions, not by skip.txt: not passing, so not allowed."""
        return sorted(i for i, t in self.tests.items() if t["outcome"] == "skipped" and not t.get("listed"))

    def problems(self) -> list[str]:
        """Every test that is neither passed nor accounted for by skip.txt, with why."""
        bad = self.ids("failed", "error", "xpassed") + self.unlisted_skips()
        problems = [f"{test_id}: {self.tests[test_id]['outcome']}: {self.tests[test_id]['message']}" for test_id in bad]
        return problems + [
            f"{entry}: skip.txt names no collected test (renamed or removed in CKAN? remove it)"
            for entry in self.unused_skips or []
        ]


def run_ckan_tests(
    cluster: Cluster,
    ini: Path,
    tests: list[str],
    report: Path,
    extra: list[str] | None = None,
    skip_list: Path | None = SKIP_LIST,
) -> Outcome:
    """CKAN's pytest in the CKAN venv, from its site-packages (so test ids are ``ckan/tests/...``)."""
    site_packages = Path(
        subprocess.run(
            [str(cluster.python), "-c", "import ckan, os; print(os.path.dirname(os.path.dirname(ckan.__file__)))"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
    )
    command = [
        str(cluster.python),
        "-m",
        "pytest",
        "-c",
        str(PYTEST_INI),
        "--rootdir",
        str(site_packages),
        f"--ckan-ini={ini}",
        "-p",
        "conformance_plugin",
        *([f"--conformance-skip-list={skip_list}"] if skip_list else []),
        f"--conformance-report={report}",
        "-q",
        "-rN",
        "--tb=line",
        f"--timeout={TEST_TIMEOUT}",
        *(extra or []),
        *tests,
    ]
    env = {**cluster.env, "PYTHONPATH": str(HERE), "CKAN_INI": str(ini), "PYTHONDONTWRITEBYTECODE": "1"}
    try:
        proc = subprocess.run(
            command, cwd=site_packages, env=env, capture_output=True, text=True, timeout=PYTEST_TIMEOUT
        )
    except subprocess.TimeoutExpired as error:
        output = error.stdout.decode(errors="replace") if isinstance(error.stdout, bytes) else error.stdout or ""
        return Outcome(
            exitstatus=-1, seconds=PYTEST_TIMEOUT, output_tail=f"timeout after {PYTEST_TIMEOUT} s\n{output[-3000:]}"
        )
    output = (proc.stdout + proc.stderr)[-4000:]
    if not report.is_file():
        return Outcome(exitstatus=proc.returncode, seconds=0.0, output_tail=output)
    data = json.loads(report.read_text(encoding="utf-8"))
    return Outcome(
        exitstatus=proc.returncode,
        seconds=data["seconds"],
        tests=data["tests"],
        output_tail=output,
        unused_skips=data.get("unused_skips"),
    )


def conformance(
    cluster: Cluster,
    workdir: Path,
    tests: list[str] | None = None,
    control: bool = False,
    extra: list[str] | None = None,
) -> dict[str, Any]:
    """The suite (its shards side by side, and the control run beside them): a JSON-able summary."""
    shards = [tests] if tests else selection()
    full = tests is None and not extra
    jobs = len(shards) + (1 if control else 0)
    urls = create_test_databases(cluster, jobs)
    log(f"running CKAN's tests ({'tests.txt' if tests is None else ' '.join(tests)}) in {len(shards)} part(s)")
    with ThreadPoolExecutor(jobs) as pool:
        parts = [
            pool.submit(
                run_ckan_tests,
                cluster,
                write_test_ini(cluster, urls[n], SEARCH_PLUGIN, workdir / f"test-{n + 1}.ini", redis_db=n + 1),
                shard,
                workdir / f"suite-{n + 1}.json",
                extra,
            )
            for n, shard in enumerate(shards)
        ]
        if control:
            log(f"control: the same tests without {SEARCH_PLUGIN} ({' '.join(CONTROL_TESTS)})")
            control_ini = write_test_ini(cluster, urls[-1], "", workdir / "control.ini", redis_db=jobs)
            control_run = pool.submit(
                run_ckan_tests, cluster, control_ini, list(CONTROL_TESTS), workdir / "control.json", skip_list=None
            )
        suite = Outcome.merged([part.result() for part in parts], check_skips=full)
        summary: dict[str, Any] = {"suite": _summary(suite)}
        if control:
            summary["control"] = _summary(control_run.result())
    summary["ok"] = _suite_ok(suite) and (not control or _control_ok(summary))
    return summary


def _suite_ok(outcome: Outcome) -> bool:
    return outcome.exitstatus in (0, 1) and bool(outcome.tests) and not outcome.problems()


def _control_ok(summary: dict[str, Any]) -> bool:
    """Without our plugin CKAN falls back to Solr, which is not there: the control's tests must fail, on
    Solr. A few may pass either way (a refusal CKAN makes before any search: test_local_parameters_not_supported,
    test_bad_solr_parameter), hence CONTROL_MAX_PASSED rather than none."""
    control = summary["control"]
    messages = list(control["failed_messages"].values())
    return (
        len(control["passed"]) <= CONTROL_MAX_PASSED
        and len(messages) >= control["total"] - CONTROL_MAX_PASSED > 0
        and all("solr" in message.lower() for message in messages)
    )


def _summary(outcome: Outcome) -> dict[str, Any]:
    listed = {
        section: sorted(i for i, t in outcome.tests.items() if t.get("listed") == section)
        for section in ("solr-only", "known failures, to fix (issue #17)")
    }
    return {
        "exitstatus": outcome.exitstatus,
        "seconds": outcome.seconds,
        "total": len(outcome.tests),
        "counts": outcome.counts(),
        "problems": outcome.problems(),
        "skipped_solr_only": len(listed["solr-only"]),
        "known_failures": [f"{i}: {outcome.tests[i]['message']}" for i in listed["known failures, to fix (issue #17)"]],
        "passed": outcome.ids("passed"),
        "failed_messages": {i: outcome.tests[i]["message"] for i in outcome.ids("failed", "error")},
        "seconds_by_file": _seconds_by_file(outcome),
        "output_tail": "" if outcome.tests else outcome.output_tail,
    }


def _seconds_by_file(outcome: Outcome) -> dict[str, float]:
    """Where the time goes (the suite must stay within a few minutes of CI)."""
    seconds: dict[str, float] = {}
    for test_id, test in outcome.tests.items():
        path = test_id.split("::", 1)[0]
        seconds[path] = round(seconds.get(path, 0.0) + test["seconds"], 1)
    return dict(sorted(seconds.items(), key=lambda item: -item[1]))


def print_report(summary: dict[str, Any]) -> None:
    suite = summary["suite"]
    counts = ", ".join(f"{k} {v}" for k, v in suite["counts"].items()) or "none"
    print(
        f"การทดสอบของ CKAN กับการค้นหาของเรา / CKAN's tests against our search: {suite['total']} tests ({counts}), "
        f"{suite['seconds']} s"
    )
    if suite["known_failures"]:
        print(f"ข้อบกพร่องที่รู้แล้ว (ต้องแก้, issue #17) / known failures, to fix (issue #17): {len(suite['known_failures'])}")
        for line in suite["known_failures"]:
            print(f"  - {line}")
    if suite["problems"]:
        print(f"ไม่ผ่านและไม่อยู่ใน skip.txt / not passing and not in skip.txt: {len(suite['problems'])}")
        for line in suite["problems"]:
            print(f"  ✗ {line}")
    if suite["output_tail"]:
        print(f"pytest ไม่ได้รายงานผล / pytest reported nothing:\n{suite['output_tail']}")
    if "control" in summary:
        control = summary["control"]
        counts = ", ".join(f"{k} {v}" for k, v in control["counts"].items()) or "none"
        verdict = "ตามคาด / as it must" if _control_ok(summary) else "ผิดคาด / UNEXPECTED"
        print(
            f"ชุดควบคุม (ไม่มี {SEARCH_PLUGIN}) / control (without {SEARCH_PLUGIN}): {control['total']} tests "
            f"({counts}): {verdict}"
        )
        first = next(iter(control["failed_messages"].values()), "")
        if first:
            print(f"  e.g. {first[:300]}")
    print("ผ่าน / PASS" if summary["ok"] else "ไม่ผ่าน / FAIL")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("tests", nargs="*", help="CKAN test ids to run instead of tests.txt (ckan/tests/...)")
    parser.add_argument("--json", type=Path, help="write the summary here")
    parser.add_argument("--control", action="store_true", help="also run the control without our search plugin")
    parser.add_argument("--keep", action="store_true", help="leave the run dir (stopped) for a look at the logs")
    parser.add_argument("-k", dest="keyword", help="pytest -k expression (a partial run)")
    args = parser.parse_args(argv)
    cluster = start_cluster(cluster_env())
    try:
        with tempfile.TemporaryDirectory(prefix="tambon-conformance-") as tmp:
            extra = ["-k", args.keyword] if args.keyword else None
            summary = conformance(cluster, Path(tmp), args.tests or None, control=args.control, extra=extra)
    finally:
        stop_cluster(cluster, keep=args.keep)
    if args.json:
        args.json.write_text(json.dumps(summary, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print_report(summary)
    return 0 if summary["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
