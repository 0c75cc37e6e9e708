"""The performance benchmark: `make bench` (full, < 10 min) or `make bench-quick` (< 1 min).

Starts a mock OpenAI-compatible LLM (bench/mock_llm.py) and the real service
(`homework serve`, temp SQLite or PostgreSQL database migrated by `homework migrate`) as
subprocesses on loopback, runs scenarios S1-S4 over real HTTP, prints a table with each
target beside its figure and writes bench/results.json.

  S1  one draft at a time, 0 ms mock: service overhead per draft (client latency minus the
      mock's own time), service CPU per draft, vs a bare litellm.acompletion (the floor)
  S2  N concurrent drafts with a 2 s mock: throughput as a fraction of ideal N/latency
  S3  fault mix: LLM calls per finished draft, drafts lost, error statuses
  S4  review reads (the draft view page, and GET /api/v1/drafts/{id}) from a second
      process, 10,000 drafts seeded,
      on SQLite and PostgreSQL; plus memory, start-up time, prompt tokens and static prefix
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import json
import os
import platform
import random
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

import httpx

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
HOMEWORK = str(BIN / "homework")
RESULTS = ROOT / "bench" / "results.json"
PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
PG_DB = "bench_homework"
PG_URL = f"postgresql+psycopg://postgres@127.0.0.1:5432/{PG_DB}"
MODEL = "openai/mock-model"
BENCH_EMAIL, BENCH_PASSWORD = "bench@example.org", "bench-password-123"
REQUESTS = [
    "She's stopped going out since the layoff; something tiny to get her moving, she has "
    "coffee on the porch every morning.",
    "He lies awake for hours and then naps in the afternoon; he wants to sleep better.",
    "Panic in supermarkets; she has started avoiding the shops and sends her partner.",
    "He worries all evening about work and can't switch off before bed.",
    "When she feels criticised she assumes everyone thinks she's useless; catch the thoughts.",
    "Strong urges to drink after work; he wants a way to ride them out.",
]


# --- processes ------------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process, from /proc/<pid>/stat."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_mb(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def wait_http(url: str, timeout_s: float, proc: subprocess.Popen[bytes] | None = None) -> bool:
    deadline = time.monotonic() + timeout_s
    with httpx.Client(timeout=2.0) as http:
        while time.monotonic() < deadline:
            if proc is not None and proc.poll() is not None:
                return False
            with contextlib.suppress(httpx.HTTPError):
                if http.get(url).status_code == 200:
                    return True
            time.sleep(0.02)
    return False


def stop(proc: subprocess.Popen[bytes] | None) -> None:
    if proc is None or proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)


class Mock:
    def __init__(self, logdir: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = open(logdir / "mock.log", "wb")  # noqa: SIM115
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bench.mock_llm", "--port", str(self.port)], cwd=ROOT,
            stdout=self.log, stderr=subprocess.STDOUT)
        if not wait_http(f"{self.url}/stats", 30, self.proc):
            raise RuntimeError("mock LLM did not start (see mock.log)")
        self.http = httpx.Client(base_url=self.url, timeout=30)

    def configure(self, **config: Any) -> None:
        body = {"latency_ms": 0, "distribution": "fixed", "faults": {}, "timeout_sleep_s": 30,
                **config}
        self.http.post("/config", json=body).raise_for_status()

    def stats(self, calls: bool = False, last: bool = False) -> dict[str, Any]:
        params = {"calls": "1" if calls else "0", "last": "1" if last else "0"}
        return self.http.get("/stats", params=params).json()  # type: ignore[no-any-return]

    def close(self) -> None:
        self.http.close()
        stop(self.proc)
        self.log.close()


class Service:
    """One `homework serve` on its own database, with an org key and one client."""

    def __init__(self, name: str, logdir: Path, mock: Mock, database_url: str | None = None,
                 llm_timeout_s: float = 30.0, extra_env: dict[str, str] | None = None,
                 workers: int = 1) -> None:
        self.workers = workers
        self.dir = logdir / name
        self.dir.mkdir(parents=True, exist_ok=True)
        self.database_url = database_url or f"sqlite:///{self.dir / 'bench.db'}"
        self.env = {**os.environ, "HOMEWORK_DATABASE_URL": self.database_url,
                    "HOMEWORK_LLM_MODEL": MODEL, "HOMEWORK_LLM_API_BASE": f"{mock.url}/v1",
                    "HOMEWORK_LLM_TIMEOUT_SECONDS": str(llm_timeout_s),
                    "OPENAI_API_KEY": "x", "NO_PROXY": "127.0.0.1,localhost",
                    "no_proxy": "127.0.0.1,localhost", **(extra_env or {})}
        self.env = {k: v for k, v in self.env.items() if v is not None}
        self.proc: subprocess.Popen[bytes] | None = None
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._run(["migrate"])
        self.key = self._run(["create-api-key", "--organisation", "Bench",
                              "--name", "bench"]).strip().splitlines()[-1]
        try:  # for S4's page reads; a second server on the same database finds it there
            self._run(["create-clinician", "--organisation", "Bench", "--email", BENCH_EMAIL,
                       "--name", "Bench Clinician", "--password", BENCH_PASSWORD])
        except RuntimeError as exc:
            if "already exists" not in str(exc):
                raise
        self.headers = {"Authorization": f"Bearer {self.key}"}

    def _run(self, args: list[str]) -> str:
        done = subprocess.run([HOMEWORK, *args], env=self.env, cwd=self.dir,
                              capture_output=True, timeout=90, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"homework {' '.join(args)} failed: {done.stderr.decode()[-800:]}")
        return done.stdout.decode()

    def start(self, env: dict[str, str] | None = None) -> float:
        """Start and wait for /healthz (up, database answering); returns seconds to ready."""
        log = open(self.dir / "serve.log", "ab")  # noqa: SIM115
        started = time.perf_counter()
        self.proc = subprocess.Popen([HOMEWORK, "serve", "--port", str(self.port),
                                      "--workers", str(self.workers)],
                                     env={**self.env, **(env or {})}, cwd=self.dir,
                                     stdout=log, stderr=subprocess.STDOUT)
        ok = wait_http(f"{self.url}/healthz", 60, self.proc)
        elapsed = time.perf_counter() - started
        log.close()
        if not ok:
            tail = (self.dir / "serve.log").read_text(errors="replace")[-1500:]
            stop(self.proc)
            raise RuntimeError(f"service did not become ready: {tail}")
        self.warm_s = self._wait_warm(started)
        with httpx.Client(base_url=self.url, headers=self.headers, timeout=30) as http:
            r = http.put("/api/v1/clients", json={"external_id": "BENCH-1",
                                                   "name": "Alex Example"})
            if r.status_code not in (200, 201):
                raise RuntimeError(f"client upsert failed: {r.status_code} {r.text[:300]}")
            self.client_id = int(r.json()["id"])
        return elapsed

    def _wait_warm(self, started: float) -> float | None:
        """Seconds from launch until /healthz says the warm-up is done (litellm imported):
        no scenario is measured while the import still shares the CPU."""
        deadline = time.monotonic() + 60
        with httpx.Client(base_url=self.url, timeout=5) as http:
            while time.monotonic() < deadline:
                with contextlib.suppress(httpx.HTTPError, ValueError):
                    if http.get("/healthz").json().get("warm"):
                        return time.perf_counter() - started
                time.sleep(0.05)
        return None

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def draft_body(self, i: int) -> dict[str, Any]:
        return {"client_id": self.client_id, "request": REQUESTS[i % len(REQUESTS)]}

    def close(self) -> None:
        stop(self.proc)


# --- statistics -----------------------------------------------------------------------------

def pct(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    k = (len(ordered) - 1) * q / 100
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def summary_ms(seconds: list[float]) -> dict[str, float | None]:
    ms = [s * 1000 for s in seconds]
    return {"n": len(ms), "p50": pct(ms, 50), "p95": pct(ms, 95), "p99": pct(ms, 99),
            "mean": statistics.fmean(ms) if ms else None}


# --- S1: one at a time ----------------------------------------------------------------------

def s1_sequential(svc: Service, mock: Mock, n: int, warmup: int) -> dict[str, Any]:
    mock.configure(latency_ms=0)
    overheads, latencies, cpus, statuses, calls = [], [], [], Counter(), []
    cold: float | None = None
    with httpx.Client(base_url=svc.url, headers=svc.headers, timeout=180) as http:
        for i in range(warmup + n):
            before = mock.stats()["mock_seconds"]
            cpu0 = cpu_seconds(svc.pid)
            t0 = time.perf_counter()
            r = http.post("/api/v1/drafts", json=svc.draft_body(i))
            elapsed = time.perf_counter() - t0
            cpu1 = cpu_seconds(svc.pid)
            mock_s = mock.stats()["mock_seconds"] - before
            body = r.json() if r.headers.get("content-type", "").startswith("application") else {}
            statuses[f"{r.status_code}:{body.get('status')}"] += 1
            if i == 0:
                cold = elapsed
            if i == warmup - 1:  # count only the measured drafts' calls (was: reset after
                mock.http.post("/reset")  # the first, so 2 warm-up calls inflated calls/draft)
            if i < warmup:
                continue
            latencies.append(elapsed)
            overheads.append(elapsed - mock_s)
            cpus.append(cpu1 - cpu0)
            calls.append(body.get("llm_calls"))
    stats = mock.stats(calls=True, last=True)
    reported = sum(c for c in calls if isinstance(c, int))
    return {"n": n, "statuses": dict(statuses), "cold_first_draft_ms": (cold or 0) * 1000,
            "mock_calls": stats["calls"], "service_reported_calls": reported,
            "accounting_matches_mock": reported == stats["calls"],
            "latency_ms": summary_ms(latencies), "overhead_ms": summary_ms(overheads),
            "service_cpu_ms_per_draft": summary_ms(cpus),
            "llm_calls_per_draft": stats["calls"] / n if n else None,
            "llm_calls_reported": dict(Counter(str(c) for c in calls)),
            "_records": stats.get("records", []), "_last_request": stats.get("last_request")}


# --- the floor: bare litellm in this process ------------------------------------------------

async def _floor(mock: Mock, messages: list[dict[str, Any]], n: int, warmup: int) -> dict:
    import litellm

    overheads: list[float] = []
    latencies: list[float] = []
    async with httpx.AsyncClient(base_url=mock.url, timeout=30) as http:
        for i in range(warmup + n):
            before = (await http.get("/stats")).json()["mock_seconds"]
            t0 = time.perf_counter()
            await litellm.acompletion(model=MODEL, api_base=f"{mock.url}/v1", api_key="x",
                                      messages=messages, timeout=30)
            elapsed = time.perf_counter() - t0
            mock_s = (await http.get("/stats")).json()["mock_seconds"] - before
            if i >= warmup:
                latencies.append(elapsed)
                overheads.append(elapsed - mock_s)
    return {"n": n, "latency_ms": summary_ms(latencies), "overhead_ms": summary_ms(overheads)}


def floor(mock: Mock, messages: list[dict[str, Any]] | None, n: int) -> dict[str, Any]:
    mock.configure(latency_ms=0)
    t0 = time.perf_counter()
    import litellm  # noqa: F401

    import_s = time.perf_counter() - t0
    messages = messages or [{"role": "system", "content": "x" * 4000},
                            {"role": "user", "content": REQUESTS[0]}]
    out = asyncio.run(_floor(mock, messages, n, warmup=3))
    out["litellm_import_s"] = import_s
    return out


# --- S2 / S3: concurrent drafts -------------------------------------------------------------

REQUEST_TIMEOUT_S = 120.0


async def _create_many(svc: Service, n: int, concurrency: int, verify: bool) -> dict:
    limits = httpx.Limits(max_connections=concurrency + 10,
                          max_keepalive_connections=concurrency + 10)
    gate = asyncio.Semaphore(concurrency)
    results: list[dict[str, Any]] = []
    async with httpx.AsyncClient(base_url=svc.url, headers=svc.headers,
                                 timeout=REQUEST_TIMEOUT_S, limits=limits) as http:
        async def one(i: int) -> None:
            async with gate:
                t0 = time.perf_counter()
                try:
                    r = await http.post("/api/v1/drafts", json=svc.draft_body(i))
                    code = r.status_code
                    body = r.json() if code < 500 or "json" in r.headers.get(
                        "content-type", "") else {}
                except (httpx.HTTPError, ValueError) as exc:
                    code, body = 0, {"transport_error": type(exc).__name__}
                results.append({"t0": t0, "t1": time.perf_counter(), "code": code,
                                "id": body.get("id"), "status": body.get("status"),
                                "error": body.get("error"), "llm_calls": body.get("llm_calls"),
                                "title": body.get("title")})

        await asyncio.gather(*(one(i) for i in range(n)))
        if verify:
            for res in results:
                if res["id"] is None:
                    continue
                try:
                    r = await http.get(f"/api/v1/drafts/{res['id']}", timeout=10)
                except httpx.HTTPError:
                    continue
                res["stored_status"] = r.json().get("status") if r.status_code == 200 else None
    return {"results": results}


def s2_concurrent(svc: Service, mock: Mock, sizes: list[int], latency_ms: float) -> dict:
    out: dict[str, Any] = {"mock_latency_ms": latency_ms, "by_n": {}}
    for n in sizes:
        mock.configure(latency_ms=latency_ms)
        t0 = time.perf_counter()
        results = asyncio.run(_create_many(svc, n, n, verify=False))["results"]
        wall = time.perf_counter() - t0
        stats = mock.stats()
        per_call = stats["mock_seconds"] / stats["calls"] if stats["calls"] else 0.0
        overheads = [(r["t1"] - r["t0"]) - (r["llm_calls"] or 1) * per_call
                     for r in results if r["code"] == 201]
        ideal_wall = latency_ms / 1000
        out["by_n"][str(n)] = {
            "n": n, "wall_s": wall, "throughput_per_s": n / wall,
            "ideal_per_s": n / ideal_wall, "fraction_of_ideal": ideal_wall / wall,
            "ok": sum(r["code"] == 201 for r in results),
            "codes": dict(Counter(str(r["code"]) for r in results)),
            "llm_calls_per_draft": stats["calls"] / n, "overhead_ms": summary_ms(overheads)}
    return out


TERMINAL = ("in_review", "drafting_failed")


def s3_faults(svc: Service, mock: Mock, n: int, concurrency: int, faults: dict[str, float],
              latency_ms: float, timeout_sleep_s: float) -> dict[str, Any]:
    mock.configure(latency_ms=latency_ms, faults=faults, timeout_sleep_s=timeout_sleep_s,
                   seed=42)
    t0 = time.perf_counter()
    results = asyncio.run(_create_many(svc, n, concurrency, verify=True))["results"]
    wall = time.perf_counter() - t0
    stats = mock.stats(calls=True)
    stored = [r for r in results if r.get("stored_status") in TERMINAL]
    finished = [r for r in stored if r["stored_status"] == "in_review"]
    lost = n - len(stored)
    return {
        "n": n, "faults": faults, "wall_s": wall, "llm_calls": stats["calls"],
        "mock_outcomes": stats["by_outcome"],
        "mock_fault_fraction": (1 - stats["by_outcome"].get("ok", 0) / stats["calls"]
                                if stats["calls"] else None),
        "llm_calls_per_draft": stats["calls"] / n,
        "llm_calls_per_finished_draft": stats["calls"] / len(finished) if finished else None,
        "finished": len(finished), "failed_with_status": len(stored) - len(finished),
        "drafts_lost": lost,
        "http_codes": dict(Counter(str(r["code"]) for r in results)),
        "errors": dict(Counter(str(r["error"]) for r in results if r["error"])),
        "_records": stats.get("records", []),
    }


# --- S4: review reads -----------------------------------------------------------------------

def seed_drafts(database_url: str, client_id: int, n: int) -> dict[str, Any]:
    """Bulk-insert n drafts, each with one revision, straight through SQLAlchemy."""
    from sqlalchemy import create_engine, func, insert, select, text

    from bench.mock_llm import build_worksheet, load_templates
    from service.models import Client, Draft, DraftRevision

    t0 = time.perf_counter()
    engine = create_engine(database_url)
    templates = list(load_templates().values())
    now = dt.datetime.now(dt.UTC)
    with engine.begin() as conn:
        org_id = conn.scalar(select(Client.organisation_id).where(Client.id == client_id))
        start = (conn.scalar(select(func.max(Draft.id))) or 0) + 1
        for lo in range(0, n, 1000):
            ids = range(start + lo, start + min(lo + 1000, n))
            drafts, revisions = [], []
            for i in ids:
                t = templates[i % len(templates)]
                drafts.append({
                    "id": i, "organisation_id": org_id, "client_id": client_id,
                    "created_by": "bench", "request_text": REQUESTS[i % len(REQUESTS)],
                    "preferences": {"homework_word": "practice", "preferred_modality": None,
                                    "known_cues": []}, "next_session_date": None,
                    "template_id": t["id"], "status": "in_review", "current_revision": 1,
                    "candidates": [{"template_id": t["id"], "score": 1.0, "reason": "bench"}],
                    "drafter": MODEL, "llm_calls": 1, "prompt_tokens": 1500,
                    "completion_tokens": 500, "cost_usd": 0.0, "created_at": now,
                    "updated_at": now})
                revisions.append({"draft_id": i, "number": 1, "author": f"ai:{MODEL}",
                                  "worksheet": build_worksheet(t, now.date()), "findings": [],
                                  "created_at": now})
            conn.execute(insert(Draft.__table__), drafts)
            conn.execute(insert(DraftRevision.__table__), revisions)
        if engine.dialect.name == "postgresql":
            for table in ("drafts", "draft_revisions"):
                conn.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                                  f"(SELECT max(id) FROM {table}))"))
    # Settle the bulk load as a database grown over months would be: the write-ahead log
    # checkpointed on SQLite (else the service's commits would copy it back), fresh planner
    # statistics on PostgreSQL.
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        else:
            conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql(
                "VACUUM ANALYZE drafts, draft_revisions")
    engine.dispose()
    # and the tens of MB just written on disk, not dirty in the page cache for the service's
    # first fsyncs to wait on (neither step removed the transient `s4_reads` warms past)
    os.sync()
    return {"seeded": n, "first_id": start, "last_id": start + n - 1,
            "seconds": time.perf_counter() - t0}


async def _sign_in(http: httpx.AsyncClient) -> None:
    """The clinician's session cookie, through the login form as a browser gets it."""
    page = await http.get("/login")
    token = page.text.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    r = await http.post("/login", data={"email": BENCH_EMAIL, "password": BENCH_PASSWORD,
                                        "csrf_token": token})
    if r.status_code != 303:
        raise RuntimeError(f"bench login failed: {r.status_code}")


async def _load(url: str, key: str, lo: int, hi: int, duration_s: float, concurrency: int,
                max_requests: int, page: bool) -> dict[str, Any]:
    """GET the draft JSON (API key) or the clinician's draft view page (session cookie)."""
    rng = random.Random(7)
    latencies: list[float] = []
    codes: Counter[str] = Counter()
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    headers = {} if page else {"Authorization": f"Bearer {key}"}
    path = "/drafts/{}" if page else "/api/v1/drafts/{}"
    async with httpx.AsyncClient(base_url=url, headers=headers, timeout=30,
                                 limits=limits) as http:
        if page:
            await _sign_in(http)
        for _ in range(min(20, max_requests)):  # warm-up, not counted
            with contextlib.suppress(httpx.HTTPError):
                await http.get(path.format(rng.randint(lo, hi)), timeout=5)
        deadline = time.perf_counter() + duration_s

        async def worker() -> None:
            while time.perf_counter() < deadline and len(latencies) < max_requests:
                t0 = time.perf_counter()
                try:
                    r = await http.get(path.format(rng.randint(lo, hi)))
                    codes[str(r.status_code)] += 1
                except httpx.HTTPError as exc:
                    codes[type(exc).__name__] += 1
                latencies.append(time.perf_counter() - t0)

        t0 = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        wall = time.perf_counter() - t0
    return {"requests": len(latencies), "wall_s": wall, "rps": len(latencies) / wall,
            "concurrency": concurrency, "codes": dict(codes), "latency_ms": summary_ms(latencies)}


def load_worker(args: argparse.Namespace) -> None:
    out = asyncio.run(_load(args.url, args.key, args.lo, args.hi, args.duration,
                            args.concurrency, args.max_requests, args.page))
    print(json.dumps(out))


WRK_SCRIPT = ROOT / "bench" / "review_reads.lua"
_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1000.0}


def _wrk_ms(text: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s)", text).groups()  # type: ignore[union-attr]
    return float(number) * _UNITS[unit]


def _session_cookie(svc: Service) -> str:
    """Log the bench clinician in once; wrk then sends the cookie with every request."""
    async def sign_in() -> str:
        async with httpx.AsyncClient(base_url=svc.url, timeout=30) as http:
            await _sign_in(http)
            return "; ".join(f"{k}={v}" for k, v in http.cookies.items())
    return asyncio.run(sign_in())


def wrk_load(svc: Service, path: str, header: str, lo: int, hi: int, duration_s: float,
             connections: int, warm_s: float) -> dict[str, Any]:
    """wrk (C, from Debian) as the second process: it costs the 2-core machine far less CPU
    per request than a Python client, so the figure is the service's, not the loader's."""
    env = {**os.environ, "LO": str(lo), "HI": str(hi), "PREFIX": path}
    base = ["wrk", "-t1", f"-c{connections}", "-s", str(WRK_SCRIPT), "-H", header, svc.url]
    subprocess.run([*base[:3], f"-d{warm_s:g}s", *base[3:]], env=env, capture_output=True,
                   timeout=60, check=False)  # warm-up, not counted: every worker's caches
    done = subprocess.run([*base[:3], f"-d{duration_s:g}s", "--latency", *base[3:]], env=env,
                          capture_output=True, text=True, timeout=duration_s + 60, check=False)
    out = done.stdout
    if done.returncode != 0 or "Requests/sec" not in out:
        raise RuntimeError(f"wrk failed: {done.stderr[-500:]} {out[-500:]}")
    percentiles = dict(re.findall(r"^\s+(50|75|90|99)%\s+(\S+)$", out, re.M))
    requests = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = re.search(r"Socket errors: (.*)", out)
    return {"loader": "wrk", "connections": connections, "requests": requests,
            "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),  # type: ignore[union-attr]
            "non_2xx": int(bad.group(1)) if bad else 0,
            "socket_errors": errors.group(1) if errors else None,
            "latency_ms": {f"p{q}": _wrk_ms(v) for q, v in percentiles.items()}}


def python_load(svc: Service, page: bool, lo: int, hi: int, duration_s: float,
                concurrency: int) -> dict[str, Any]:
    """The fallback loader where wrk is not installed (it costs more CPU per request)."""
    cmd = [sys.executable, "-m", "bench.run", "--load-worker", "--url", svc.url, "--key",
           svc.key, "--lo", str(lo), "--hi", str(hi), "--duration", str(duration_s),
           "--concurrency", str(concurrency), "--max-requests", "200000",
           *(["--page"] if page else [])]
    done = subprocess.run(cmd, cwd=ROOT, capture_output=True, timeout=duration_s + 120,
                          check=False)
    if done.returncode != 0:
        raise RuntimeError(f"load worker failed: {done.stderr.decode()[-800:]}")
    return {"loader": "python", **json.loads(done.stdout.decode().strip().splitlines()[-1])}


def s4_reads(svc: Service, n_seed: int, duration_s: float, concurrency: int,
             warm_s: float) -> dict[str, Any]:
    """The draft view page (the S4 target) and the draft JSON, each loaded from a second
    process for duration_s, over n_seed seeded drafts.

    The first load is warmed for warm_s, not counted: for ~10 s after the bulk seed,
    whichever load runs first sees a p99 near 250 ms (not the WAL, which is checkpointed,
    nor dirty pages, which are synced, nor the collector); a database grown over months
    has no such moment.
    """
    seed = seed_drafts(svc.database_url, svc.client_id, n_seed)
    lo, hi = seed["first_id"], seed["last_id"]
    out: dict[str, Any] = {"seed": seed, "server_workers": svc.workers}
    if shutil.which("wrk"):
        cookie = _session_cookie(svc)
        out["page"] = wrk_load(svc, "/drafts/", f"Cookie: {cookie}", lo, hi, duration_s,
                               concurrency, warm_s)
        out["json"] = wrk_load(svc, "/api/v1/drafts/", f"Authorization: Bearer {svc.key}",
                               lo, hi, duration_s, concurrency, 2.0)
    else:
        out["page"] = python_load(svc, True, lo, hi, duration_s, concurrency)
        out["json"] = python_load(svc, False, lo, hi, duration_s, concurrency)
    out["rss_mb_after"] = rss_mb(svc.pid)
    return out


def pg_database() -> str | None:
    """Create (if missing) and empty the bench's own database; None if unreachable."""
    try:
        import psycopg
    except ImportError:
        return None
    try:
        with psycopg.connect(PG_ADMIN, autocommit=True, connect_timeout=3) as conn:
            exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s",
                                  (PG_DB,)).fetchone()
            if not exists:
                conn.execute(f'CREATE DATABASE "{PG_DB}"')
        with psycopg.connect(PG_URL.replace("+psycopg", ""), autocommit=True,
                             connect_timeout=3) as conn:
            conn.execute("DROP SCHEMA public CASCADE")
            conn.execute("CREATE SCHEMA public")
    except psycopg.Error:
        return None
    return PG_URL


# --- prompt tokens --------------------------------------------------------------------------

def prompt_report(first_calls: list[dict[str, Any]], repair_calls: list[dict[str, Any]]) -> dict:
    firsts = [r for r in first_calls if not r["repair"]]
    repairs = [r for r in repair_calls if r["repair"]]
    hashes = Counter(r["first_message_sha256"] for r in firsts + repairs)
    prefix = [r["first_message_tokens"] for r in firsts]
    return {
        "first_call_tokens": {"n": len(firsts), "p50": pct([r["prompt_tokens"] for r in firsts],
                                                           50),
                              "max": max((r["prompt_tokens"] for r in firsts), default=None)},
        "repair_call_tokens": {"n": len(repairs),
                               "p50": pct([r["prompt_tokens"] for r in repairs], 50),
                               "max": max((r["prompt_tokens"] for r in repairs), default=None)},
        "static_prefix_tokens": min(prefix) if prefix else None,
        "distinct_first_messages": len(hashes),
        "static_prefix_identical": len(hashes) == 1 if hashes else None,
        "templates_seen": sorted({r["template_id"] for r in firsts}),
    }


# --- report ---------------------------------------------------------------------------------

def machine() -> dict[str, Any]:
    model = "unknown"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return {"cpu_count": os.cpu_count(), "cpu_model": model,
            "python": platform.python_version(), "platform": platform.platform()}


def _get(data: dict[str, Any], path: str) -> Any:
    cur: Any = data
    for part in path.split("."):
        if not isinstance(cur, dict) or part not in cur:
            return None
        cur = cur[part]
    return cur


TARGETS: list[tuple[str, str, str, float, str]] = [
    # label, path into results, comparison, bound, unit
    ("S1 overhead p50", "s1.overhead_ms.p50", "<=", 4, "ms"),
    ("S1 overhead p95", "s1.overhead_ms.p95", "<=", 8, "ms"),
    ("S1 overhead p99", "s1.overhead_ms.p99", "<=", 15, "ms"),
    ("S1 service CPU / draft p50", "s1.service_cpu_ms_per_draft.p50", "", 0, "ms"),
    ("floor: bare litellm overhead p50", "floor.overhead_ms.p50", "", 0, "ms"),
    ("S1 overhead / bare litellm (p50)", "derived.overhead_ratio", "<=", 1.5, "x"),
    ("S1 LLM calls / draft (always valid)", "s1.llm_calls_per_draft", "<=", 1.0, ""),
    ("S2 N=1 fraction of ideal", "s2.by_n.1.fraction_of_ideal", "", 0, ""),
    ("S2 N=50 fraction of ideal", "s2.by_n.50.fraction_of_ideal", ">=", 0.99, ""),
    ("S2 N=200 fraction of ideal", "s2.by_n.200.fraction_of_ideal", ">=", 0.97, ""),
    ("S2 N=50 overhead p99", "s2.by_n.50.overhead_ms.p99", "", 0, "ms"),
    ("S2 N=200 overhead p99", "s2.by_n.200.overhead_ms.p99", "", 0, "ms"),
    ("S3 calls / draft, 5% validator-failing", "s3_validator.llm_calls_per_draft", "<=", 1.06,
     ""),
    ("S3 mix calls / finished draft", "s3_mix.llm_calls_per_finished_draft", "", 0, ""),
    ("S3 mix drafts lost", "s3_mix.drafts_lost", "<=", 0, ""),
    ("S3 mix failed with clear status", "s3_mix.failed_with_status", "", 0, ""),
    ("prompt tokens, first call (max)", "prompt.first_call_tokens.max", "<=", 2500, "tok"),
    ("prompt tokens, repair call (max)", "prompt.repair_call_tokens.max", "<=", 2500, "tok"),
    ("static prefix (first message) tokens", "prompt.static_prefix_tokens", ">=", 1024, "tok"),
    ("static prefix byte-identical", "prompt.static_prefix_identical", "==", 1, ""),
    ("RSS after start", "memory.rss_mb_after_start", "<=", 300, "MB"),
    ("RSS after 10,000 drafts", "memory.rss_mb_after_drafts", "<=", 300, "MB"),
    ("start-up to ready (no network)", "startup.seconds", "<=", 3, "s"),
    ("start-up to warm (litellm imported)", "startup.warm_seconds", "", 0, "s"),
    ("S4 SQLite review page p99", "s4_sqlite.page.latency_ms.p99", "<=", 20, "ms"),
    ("S4 SQLite review page req/s", "s4_sqlite.page.rps", ">=", 300, "/s"),
    ("S4 SQLite draft JSON p99", "s4_sqlite.json.latency_ms.p99", "<=", 20, "ms"),
    ("S4 SQLite draft JSON req/s", "s4_sqlite.json.rps", ">=", 300, "/s"),
    ("S4 PostgreSQL review page p99", "s4_postgres.page.latency_ms.p99", "<=", 20, "ms"),
    ("S4 PostgreSQL review page req/s", "s4_postgres.page.rps", ">=", 300, "/s"),
    ("S4 PostgreSQL draft JSON p99", "s4_postgres.json.latency_ms.p99", "<=", 20, "ms"),
    ("S4 PostgreSQL draft JSON req/s", "s4_postgres.json.rps", ">=", 300, "/s"),
]


def verdict(value: Any, op: str, bound: float) -> str:
    if value is None or not op:
        return "" if value is not None else "n/a"
    v = float(value)
    ok = {"<=": v <= bound + 1e-9, ">=": v >= bound - 1e-9, "==": v == bound}[op]
    return "✓" if ok else "✗"


def table(results: dict[str, Any]) -> str:
    lines = [f"{'metric':42} {'value':>12}  {'target':>10}  ok", "-" * 72]
    for label, path, op, bound, unit in TARGETS:
        value = _get(results, path)
        if isinstance(value, bool):
            shown = "yes" if value else "no"
        elif isinstance(value, float):
            shown = f"{value:.3f}" if abs(value) < 10 else f"{value:.1f}"
        else:
            shown = "n/a" if value is None else str(value)
        target = f"{op} {bound:g}" if op and op != "==" else ("yes" if op else "")
        lines.append(f"{label:42} {shown + (' ' + unit if unit and value is not None else ''):>12}"
                     f"  {target:>10}  {verdict(value, op, bound)}")
    return "\n".join(lines)


@contextlib.contextmanager
def scenario(results: dict[str, Any], name: str) -> Iterator[None]:
    t0 = time.perf_counter()
    print(f"[bench] {name} ...", flush=True)
    try:
        yield
    except Exception as exc:  # one failed scenario must not hide the others
        results.setdefault("errors", {})[name] = f"{type(exc).__name__}: {str(exc)[:600]}"
        print(f"[bench] {name} failed: {type(exc).__name__}: {str(exc)[:300]}", flush=True)
    results.setdefault("scenario_seconds", {})[name] = round(time.perf_counter() - t0, 2)
    print(f"[bench] {name} done in {time.perf_counter() - t0:.1f} s", flush=True)


# --- main -----------------------------------------------------------------------------------

def plan(quick: bool) -> dict[str, Any]:
    if quick:
        return {"s1": 20, "floor": 20, "s2": [1, 50], "s2_latency_ms": 1000, "s3": 60,
                "s3_concurrency": 20, "seed": 10_000, "load_s": 3.0, "pg_seed": 10_000,
                "pg_load_s": 3.0, "warm_s": 6.0}
    return {"s1": 200, "floor": 200, "s2": [1, 50, 200], "s2_latency_ms": 2000, "s3": 400,
            "s3_concurrency": 50, "seed": 10_000, "load_s": 15.0, "pg_seed": 10_000,
            "pg_load_s": 15.0, "warm_s": 12.0}


ONLY: set[str] = set()


def wanted(name: str) -> bool:
    """`--only s1,s4_sqlite` runs a subset while profiling; the default runs everything."""
    return not ONLY or name in ONLY


def run(quick: bool) -> dict[str, Any]:
    global REQUEST_TIMEOUT_S
    p = plan(quick)
    REQUEST_TIMEOUT_S = 15.0 if quick else 120.0
    results: dict[str, Any] = {"quick": quick, "started_at": dt.datetime.now(dt.UTC).isoformat(
        timespec="seconds"), "machine": machine(), "plan": p}
    logdir = Path(tempfile.mkdtemp(prefix="homework-bench-"))
    mock = Mock(logdir)
    services: list[Service] = []
    s1_records: list[dict[str, Any]] = []
    repair_records: list[dict[str, Any]] = []
    try:
        svc: Service | None = None
        last: dict[str, Any] = {}
        with scenario(results, "startup"):
            svc = Service("sqlite", logdir, mock)
            services.append(svc)
            # as deployed: no cost-map switch from us, and no network on loopback-only runs
            env = {k: v for k, v in svc.env.items() if k != "LITELLM_LOCAL_MODEL_COST_MAP"}
            svc.env = env
            seconds = svc.start()
            results["startup"] = {"seconds": seconds, "warm_seconds": svc.warm_s}
            results["memory"] = {"rss_mb_after_start": rss_mb(svc.pid)}
        if svc is not None and svc.proc is not None and svc.proc.poll() is None:
            if wanted("s1"):
                with scenario(results, "s1"):
                    s1 = s1_sequential(svc, mock, p["s1"], warmup=3)
                    s1_records = s1.pop("_records")
                    last = s1.pop("_last_request") or {}
                    results["s1"] = s1
            if wanted("floor"):
                with scenario(results, "floor"):
                    results["floor"] = floor(mock, last.get("messages"),
                                             p["floor"])
            if wanted("s2"):
                with scenario(results, "s2"):
                    results["s2"] = s2_concurrent(svc, mock, p["s2"], p["s2_latency_ms"])
            if wanted("s4_sqlite"):
                with scenario(results, "s4_sqlite"):
                    results["s4_sqlite"] = s4_reads(svc, p["seed"], p["load_s"], concurrency=4,
                                                   warm_s=p["warm_s"])
                    results["memory"]["rss_mb_after_drafts"] = results["s4_sqlite"]["rss_mb_after"]
            svc.close()
        if wanted("s3"):
            with scenario(results, "s3"):
                svc3 = Service("faults", logdir, mock, llm_timeout_s=1.0)
                services.append(svc3)
                svc3.start()
                five = 0.05
                results["s3_mix"] = s3_faults(
                    svc3, mock, p["s3"], p["s3_concurrency"], latency_ms=20, timeout_sleep_s=2.5,
                    faults={"invalid_json": five, "schema_invalid": five, "validator_fail": five,
                            "rate_limit": five, "timeout": five})
                results["s3_mix"].pop("_records")
                results["s3_validator"] = s3_faults(svc3, mock, p["s3"], p["s3_concurrency"],
                                                    latency_ms=0, timeout_sleep_s=2.5,
                                                    faults={"validator_fail": five})
                repair_records = results["s3_validator"].pop("_records")
                svc3.close()
        if wanted("s4_postgres"):
            with scenario(results, "s4_postgres"):
                url = pg_database()
                if url is None:
                    results["s4_postgres"] = {"skipped": "PostgreSQL unreachable"}
                else:
                    # PostgreSQL is the engine for scale: one server process per core
                    svc4 = Service("postgres", logdir, mock, database_url=url,
                                   workers=os.cpu_count() or 1)
                    services.append(svc4)
                    svc4.start()
                    results["s4_postgres"] = s4_reads(svc4, p["pg_seed"], p["pg_load_s"],
                                                      concurrency=4, warm_s=p["warm_s"])
                    svc4.close()
        results["prompt"] = prompt_report(s1_records, repair_records)
    finally:
        for s in services:
            s.close()
        mock.close()
    s1o, flo = _get(results, "s1.overhead_ms.p50"), _get(results, "floor.overhead_ms.p50")
    results["derived"] = {"overhead_ratio": s1o / flo if s1o is not None and flo else None}
    results["logs"] = str(logdir)
    return results


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.run")
    parser.add_argument("--quick", action="store_true", help="small counts, < 1 minute")
    parser.add_argument("--only", default="", help="comma-separated scenarios, e.g. s1,s2")
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--load-worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--url")
    parser.add_argument("--key")
    parser.add_argument("--lo", type=int, default=1)
    parser.add_argument("--hi", type=int, default=1)
    parser.add_argument("--duration", type=float, default=3.0)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--max-requests", type=int, default=100_000)
    parser.add_argument("--page", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.load_worker:
        load_worker(args)
        return
    t0 = time.perf_counter()
    ONLY.update(filter(None, args.only.split(",")))
    results = run(args.quick)
    results["total_seconds"] = round(time.perf_counter() - t0, 1)
    tmp = args.out.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(results, indent=2, default=str))
    shutil.move(tmp, args.out)
    print()
    print(f"machine: {results['machine']['cpu_count']} cpu, {results['machine']['cpu_model']}, "
          f"python {results['machine']['python']}   quick={args.quick}   "
          f"total {results['total_seconds']} s")
    print(table(results))
    for name, error in results.get("errors", {}).items():
        print(f"error in {name}: {error[:300]}")
    print(f"results: {args.out}")


if __name__ == "__main__":
    main()
