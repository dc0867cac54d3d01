"""The worst requests we can build, sent to the real CKAN: none may hurt it.

Issue #17: a ``q`` of a few hundred words drove PostgreSQL to 16.7 GB; 100–200
words gave HTTP 500 (a RecursionError); 400 words ran for minutes; a 50 MB
body held one of the two workers for over a minute. Here each hostile
request must come back quickly with 400/413 (or a correct 200 when it is
harmless), while a thread asks ``status_show`` throughout — it must never
fail nor take more than 2 s — and watches the memory of the gunicorn workers
and the PostgreSQL processes. Afterwards PostgreSQL, Redis and the same two
workers are still there and a normal search still works.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import requests

from tests.integration.gdc_fields import GDC_STATISTICS

pytestmark = pytest.mark.integration

ANSWER_WITHIN = 4.0  # seconds, for every hostile request
STATUS_WITHIN = 2.0  # seconds, for every status_show while they run
WORKER_RSS_MAX = 700 * 1024  # kB: idle workers use about 200 MB
POSTGRES_RSS_MAX = 400 * 1024  # kB, per PostgreSQL process (shared_buffers is 64 MB)
DATASETS = 6
CLOSED_EARLY = 0  # "status" of a request whose connection the server closed before the client read an answer


# --------------------------------------------------------------- processes --


def _children(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return sorted(found)


def _rss_kb(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def _alive(pid: int) -> bool:
    return Path(f"/proc/{pid}").exists()


@dataclass
class Processes:
    gunicorn: int
    workers: list[int]
    postmaster: int

    @classmethod
    def of(cls, run_dir: Path) -> Processes:
        gunicorn = int((run_dir / "gunicorn.pid").read_text().strip())
        postmaster = int((run_dir / "pgdata" / "postmaster.pid").read_text().split()[0])
        return cls(gunicorn, _children(gunicorn), postmaster)


@dataclass
class Watch:
    """What the status thread saw."""

    checks: int = 0
    failures: list[str] = field(default_factory=list)
    slowest: float = 0.0
    worker_rss: int = 0
    postgres_rss: int = 0


def _watch(url: str, processes: Processes, stop: threading.Event, seen: Watch) -> None:
    while not stop.is_set():
        started = time.monotonic()
        try:
            response = requests.get(f"{url}/api/3/action/status_show", timeout=STATUS_WITHIN + 1)
            elapsed = time.monotonic() - started
            if response.status_code != 200 or not response.json()["success"]:
                seen.failures.append(f"status_show answered {response.status_code}")
            elif elapsed > STATUS_WITHIN:
                seen.failures.append(f"status_show took {elapsed:.2f} s")
            seen.slowest = max(seen.slowest, elapsed)
        except requests.RequestException as error:
            seen.failures.append(f"status_show failed: {type(error).__name__}")
        seen.checks += 1
        seen.worker_rss = max([seen.worker_rss, *(_rss_kb(p) for p in _children(processes.gunicorn))])
        seen.postgres_rss = max(
            [seen.postgres_rss, _rss_kb(processes.postmaster), *(_rss_kb(p) for p in _children(processes.postmaster))]
        )
        stop.wait(0.2)


@pytest.fixture(scope="module")
def catalog(ckan_server) -> list[str]:
    headers = {"Authorization": ckan_server.token}

    def call(action: str, **data: object) -> dict:
        response = requests.post(f"{ckan_server.url}/api/3/action/{action}", json=data, headers=headers, timeout=60)
        assert response.status_code == 200, response.text
        return response.json()["result"]

    call("organization_create", name="dopa", title="กรมการปกครอง")
    names = []
    for i in range(DATASETS):
        package = call(
            "package_create",
            name=f"tambon-hostile-{i}",
            title=f"ข้อมูลพื้นฐานหมู่บ้าน ชุดที่ {i}",
            notes="จำนวนครัวเรือนรายหมู่บ้าน household counts by village",
            resources=[{"name": f"villages-{i}.csv", "url": "https://example.invalid/v.csv", "format": "CSV"}],
            **GDC_STATISTICS,
        )
        names.append(package["name"])
    return names


# ----------------------------------------------------------------- attacks --


@dataclass(frozen=True)
class Attack:
    label: str
    method: str  # GET, POST (JSON), RAW (bytes body), FORM
    path: str
    payload: object = None
    expect: frozenset[int] = frozenset({400})
    headers: tuple[tuple[str, str], ...] = ()


def _words(n: int, word: str = "word") -> str:
    return " ".join(f"{word}{i}" for i in range(n))


def _search(label: str, expect: set[int] | None = None, method: str = "POST", **params: object) -> Attack:
    return Attack(label, method, "/api/3/action/package_search", params, frozenset(expect or {400}))


def _chunks(total: int, size: int = 64 * 1024) -> Iterator[bytes]:
    sent = 0
    while sent < total:
        yield b"x" * size
        sent += size


ATTACKS = [
    _search("5,000 words in q (POST)", q=_words(5000)),
    _search("400 words in q (GET)", method="GET", q=" ".join("a" for _ in range(400))),
    _search("3,000 words in q (GET, longer than a request line)", {400, 414}, method="GET", q=_words(3000)),
    _search("300-term OR chain in q", q=" OR ".join(f"w{i}" for i in range(300))),
    _search("300-term OR chain in fq", fq=" OR ".join(f"name:w{i}" for i in range(300))),
    _search("200 nested parentheses", q="(" * 200 + "x" + ")" * 200),
    _search("900 NOT prefixes", q="!" * 900 + "x"),
    _search("fq nested 50 deep", fq="name:" + "(" * 50 + "x" + ")" * 50),
    _search("q longer than 1,000 characters", q="ก" * 5000),
    _search("NUL byte in q", q="หมู่บ้าน\x00x"),
    _search("NUL byte in fq", fq="name:a\x00b"),
    Attack("NUL byte in a URL", "GET", "/api/3/action/package_show?id=a%00b"),
    Attack("NUL byte in a page path", "GET", "/dataset/a%00b"),
    _search("unbalanced quote in q (harmless)", {200}, q='"หมู่บ้าน'),
    _search("999 quotes in q (harmless)", {200, 400}, q='"' * 999),
    _search("unbalanced quote in fq", fq='name:"x'),
    _search("sort injection", sort="name; DROP TABLE package"),
    _search("sort injection with direction", sort="name asc; DELETE FROM package --"),
    _search("fq SQL injection", {200, 400}, fq="name:x') OR 1=1--"),
    _search("fq quoted SQL injection (harmless)", {200}, fq="name:\"x' OR '1'='1\""),
    _search("q SQL injection (harmless)", {200}, q="'; DROP TABLE package; --"),
    _search("rows = 10^9", rows=10**9),
    _search("rows = 10^30 as text", rows="1" + "0" * 30),
    _search("start = 10^15", start=10**15),
    _search("negative rows", {409}, rows=-1),
    _search("Solr local params in q", q="{!lucene}หมู่บ้าน"),
    _search("Solr local params in fq", fq="{!frange l=0 u=1}sum(1)"),
    _search("Solr local params mid-q", q="x {!dismax qf=name}y"),
    _search("_query_ magic field", q='_query_:"{!dismax}x"'),
    _search("_val_ magic field", fq='_val_:"sum(1,2)"'),
    _search("escaped magic field", q="x \\_query\\_:y"),
    _search("1,000 facet fields", **{"facet.field": [f"f{i}" for i in range(1000)]}),
    Attack(
        "facet.field nested 2,000 deep (GET)",
        "GET",
        "/api/3/action/package_search?facet.field=" + "%5B" * 2000,
    ),
    _search("date math overflow in fq", fq="metadata_modified:[NOW-99999999999YEARS TO *]"),
    Attack("JSON body nested 500,000 deep", "RAW", "/api/3/action/package_search", b"[" * 500_000),
    Attack(
        "50 MB JSON body",
        "RAW",
        "/api/3/action/package_search",
        b" " * (50 * 1024 * 1024),
        frozenset({413, CLOSED_EARLY}),
    ),
    Attack(
        "50 MB form body",
        "FORM",
        "/api/3/action/package_search",
        b"q=" + b"a" * (50 * 1024 * 1024),
        frozenset({413, CLOSED_EARLY}),
    ),
    Attack("5 MB chunked body", "CHUNKED", "/api/3/action/package_search", 5 * 1024 * 1024, frozenset({413})),
    Attack(
        "50 MB body to datastore_upsert without a token",
        "RAW",
        "/api/3/action/datastore_upsert",
        b" " * (50 * 1024 * 1024),
        frozenset({413, CLOSED_EARLY}),
    ),
    Attack("200 terms in resource_search", "POST", "/api/3/action/resource_search", {"query": ["name:a"] * 200}),
    Attack("resource_search limit 10^9", "POST", "/api/3/action/resource_search", {"query": "name:a", "limit": 10**9}),
    Attack("100,000-character autocomplete", "POST", "/api/3/action/package_autocomplete", {"q": "a" * 100_000}),
    Attack(
        "150 request headers",
        "GET",
        "/api/3/action/status_show",
        None,
        frozenset({400, 431}),
        tuple((f"X-Hostile-{i}", "x") for i in range(150)),
    ),
    Attack("33 words on /catalog.ttl", "GET", "/catalog.ttl?q=" + "+".join(["a"] * 33)),
    Attack("local params on the search page", "GET", "/dataset/?q=%7B%21lucene%7Dx"),
    Attack("page 10^8 on the search page", "GET", "/dataset/?page=100000000"),
]


def _send(url: str, attack: Attack) -> tuple[int, float]:
    headers = dict(attack.headers)
    started = time.monotonic()
    target = url + attack.path
    timeout = ANSWER_WITHIN + 6
    if attack.method == "GET":
        response = requests.get(target, params=attack.payload, headers=headers, timeout=timeout)
    elif attack.method == "POST":
        response = requests.post(target, json=attack.payload, headers=headers, timeout=timeout)
    elif attack.method == "CHUNKED":
        response = requests.post(
            target,
            data=_chunks(int(attack.payload)),
            headers={"Content-Type": "application/json"},
            timeout=timeout,
        )
    else:
        content_type = "application/x-www-form-urlencoded" if attack.method == "FORM" else "application/json"
        try:
            response = requests.post(
                target, data=attack.payload, headers={"Content-Type": content_type}, timeout=timeout
            )
        except requests.ConnectionError:
            # refused before the body was read: the server may close while the client still sends,
            # before the client reads the 413 (test_a_body_over_the_cap_is_refused_before_it_is_read)
            return CLOSED_EARLY, time.monotonic() - started
    return response.status_code, time.monotonic() - started


def _read_response(conn: socket.socket) -> bytes:
    """The whole answer: headers, then Content-Length bytes of body (a busy machine can deliver them in
    separate segments; one recv() may hold the headers alone), or what came before the server closed."""
    answer = b""
    while b"\r\n\r\n" not in answer or len(answer.partition(b"\r\n\r\n")[2]) < _content_length(answer):
        chunk = conn.recv(65536)
        if not chunk:
            break
        answer += chunk
    return answer


def _content_length(answer: bytes) -> int:
    for line in answer.partition(b"\r\n\r\n")[0].split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return int(value.strip())
    return 0


def test_a_body_over_the_cap_is_refused_before_it_is_read(ckan_server, catalog):
    """Only the headers and 64 kB of a declared 50 MB body are sent: the 413 must come anyway."""
    host, port = ckan_server.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=ANSWER_WITHIN) as conn:
        conn.sendall(
            b"POST /api/3/action/package_search HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Length: 52428800\r\n\r\n" + b" " * 65536
        )
        answer = _read_response(conn)
    status_line, _, rest = answer.partition(b"\r\n")
    assert status_line.startswith(b"HTTP/1.1 413"), answer[:200]
    body = json.loads(rest.partition(b"\r\n\r\n")[2].decode("utf-8"))
    assert "ใหญ่เกินไป" in body["error"]["message"] and "too large" in body["error"]["message"]


def test_hostile_requests_are_refused_quickly_while_the_server_keeps_answering(ckan_server, catalog):
    before = Processes.of(ckan_server.run_dir)
    assert len(before.workers) == 2
    seen = Watch()
    stop = threading.Event()
    watcher = threading.Thread(target=_watch, args=(ckan_server.url, before, stop, seen), daemon=True)
    watcher.start()
    problems = []
    started = time.monotonic()
    try:
        for attack in ATTACKS:
            try:
                status, elapsed = _send(ckan_server.url, attack)
            except requests.RequestException as error:
                problems.append(f"{attack.label}: {type(error).__name__}")
                continue
            if status not in attack.expect:
                problems.append(f"{attack.label}: HTTP {status}, expected {sorted(attack.expect)}")
            if elapsed > ANSWER_WITHIN:
                problems.append(f"{attack.label}: {elapsed:.1f} s")
        time.sleep(0.5)  # one more status check after the last attack
    finally:
        stop.set()
        watcher.join(timeout=10)
    assert not problems, problems
    assert time.monotonic() - started < 60
    # the same two workers: none crashed, none was killed for running too long
    assert Processes.of(ckan_server.run_dir).workers == before.workers
    assert seen.checks >= 5 and not seen.failures, (seen.checks, seen.failures)
    assert seen.slowest <= STATUS_WITHIN
    assert 0 < seen.worker_rss <= WORKER_RSS_MAX, seen.worker_rss
    assert 0 < seen.postgres_rss <= POSTGRES_RSS_MAX, seen.postgres_rss


def test_the_largest_allowed_query_answers_in_time(ckan_server, catalog):
    """32 distinct Thai and English terms (the cap) are searched, not refused, within a few seconds."""
    words = ["หมู่บ้าน", "household"] + [f"ไม่มีคำนี้{i}" for i in range(15)] + [f"absent{i}" for i in range(15)]
    started = time.monotonic()
    response = requests.post(
        f"{ckan_server.url}/api/3/action/package_search", json={"q": " OR ".join(words)}, timeout=30
    )
    assert response.status_code == 200 and time.monotonic() - started < ANSWER_WITHIN
    assert response.json()["result"]["count"] == DATASETS  # every dataset has หมู่บ้าน and household
    refused = requests.post(
        f"{ckan_server.url}/api/3/action/package_search", json={"q": " ".join([*words, "extra"])}, timeout=30
    )
    assert refused.status_code == 400
    message = refused.json()["error"]["message"]
    assert "มากเกินไป" in message and "too many terms" in message and "33" in message


def test_afterwards_postgres_and_both_workers_are_alive_and_search_works(ckan_server, catalog):
    after = Processes.of(ckan_server.run_dir)
    assert len(after.workers) == 2 and all(_alive(pid) for pid in after.workers)
    assert _alive(after.postmaster)
    status = ckan_server.ckan_sh("status")
    assert status.returncode == 0, status.stdout
    response = requests.get(
        f"{ckan_server.url}/api/3/action/package_search", params={"q": "หมู่บ้าน", "rows": 100}, timeout=30
    )
    assert response.status_code == 200
    result = response.json()["result"]
    assert result["count"] == DATASETS  # the package table survived the injections
    assert sorted(d["name"] for d in result["results"]) == sorted(catalog)


def _secret(run_dir: Path, name: str) -> str:
    for line in (run_dir / "secrets").read_text().splitlines():
        key, _, value = line.partition("=")
        if key == name:
            return value
    raise KeyError(name)


@pytest.mark.parametrize(
    ("role", "database", "secret"),
    [
        ("ckan_default", "ckan_default", "CKAN_DB_PASSWORD"),
        ("datastore_ro", "datastore_default", "DATASTORE_RO_PASSWORD"),
    ],
)
def test_database_roles_cancel_long_statements(ckan_server, role, database, secret):
    """CKAN's connections (as ckan.sh configures them) get PostgreSQL's statement_timeout."""
    psql = shutil.which("psql")
    assert psql, "psql (Debian's postgresql-client) is installed with the server"
    port = ckan_server.env["TAMBON_CKAN_PG_PORT"]
    command = [psql, "-X", "-h", "127.0.0.1", "-p", port, "-U", role, "-d", database, "-tA"]
    env = {**os.environ, "PGPASSWORD": _secret(ckan_server.run_dir, secret)}
    shown = subprocess.run(
        [*command, "-c", "SHOW statement_timeout"], env=env, capture_output=True, text=True, timeout=30
    )
    assert shown.stdout.strip() == "5s", shown
    started = time.monotonic()
    slow = subprocess.run([*command, "-c", "SELECT pg_sleep(30)"], env=env, capture_output=True, text=True, timeout=60)
    assert "statement timeout" in slow.stderr and time.monotonic() - started < 10, slow
