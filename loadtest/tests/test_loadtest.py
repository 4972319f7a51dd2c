"""The duplicate-storm load tester (`python -m loadtest`): its verdict against real servers in each
mode, and that the verdict fails when the books or the answers are wrong.

The CLI runs as a subprocess against the session's uvicorn servers, as an operator would run it;
retry and failure handling are checked in-process against a fake server (httpx.MockTransport),
where failures can be scripted exactly.
"""

import asyncio
import json
import os
import re
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator

import httpx
import pytest

from loadtest.storm import _Storm, storm_run
from loadtest.storm_plan import LANE_CONNECTIONS, StormConfig, lane_sizes, organizations_generate
from testsupport.api import WEBHOOK
from testsupport.deliveries import payload
from testsupport.launch import ROOT, process_stop
from testsupport.servers import PRODUCTION_ENV, WORKER_ENV, start_worker, uvicorn_server

# Servers write to the test database: empty it after each test that starts a storm against one.
real_database = pytest.mark.django_db(transaction=True)

SECRET = PRODUCTION_ENV["BANK_WEBHOOK_SECRETS"]
TOKEN = PRODUCTION_ENV["API_TOKENS"]


@pytest.fixture(scope="module")
def production_url(django_db_setup) -> Iterator[str]:
    """A production-mode uvicorn for this module only: the session's production_server_url would
    stay up, holding its database connections, through every later test module."""
    with uvicorn_server(workers=1, **PRODUCTION_ENV) as url:
        yield url


def loadtest_cli(*args: str, **env: str) -> subprocess.CompletedProcess:
    """Run `python -m loadtest` with `env` and none of the tool's variables inherited."""
    inherited = {
        k: v for k, v in os.environ.items() if k not in {"BANK_WEBHOOK_SECRET", "API_TOKEN"}
    }
    return subprocess.run(
        [sys.executable, "-m", "loadtest", *args],
        cwd=ROOT,
        env={**inherited, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def small_storm(url: str) -> list[str]:
    return ["--url", url, "--ops", "100", "--dup", "3", "--concurrency", "16", "--json"]


def assert_storm_exact(report: dict) -> None:
    """100 operations x 3 copies + 5 late repeats, each credited once, every balance exact."""
    assert report["verdict"] == "CORRECT"
    assert report["ok"] is True
    assert report["problems"] == []
    assert (report["operations"], report["copies"], report["late_repeats"]) == (100, 3, 5)
    assert report["requests"] == 100 * 3 + 5
    assert report["statuses"] == {"200": 305}
    assert report["outcomes"] == {"credited": 100, "duplicate": 205}
    assert (report["retries"], report["server_errors"]) == (0, 0)
    assert report["rps"] > 0
    assert 0 < report["p50_ms"] <= report["p95_ms"] <= report["p99_ms"] <= report["max_ms"]
    organizations = report["organizations"]
    assert len(organizations) == 5
    assert sum(org["operations"] for org in organizations) == 100
    for org in organizations:
        assert re.fullmatch(r"[0-9]{10}", org["inn"])
        assert org["before"] == 0  # new organizations of this run
        assert org["after"] - org["before"] == org["actual_delta"] == org["expected_delta"]
        assert org["correct"] is True
    # Sync mode: the first read after sending already matches.
    assert report["drain_seconds"] is not None
    assert report["drain_seconds"] < 1


@real_database
def test_storm_against_the_dev_server_unsigned_is_correct(live_server_url):
    result = loadtest_cli(*small_storm(live_server_url))

    assert result.returncode == 0, result.stdout + result.stderr
    assert_storm_exact(json.loads(result.stdout))


@pytest.mark.processes
@real_database
def test_signed_storm_with_token_against_the_production_server_is_correct(production_url):
    result = loadtest_cli(*small_storm(production_url), BANK_WEBHOOK_SECRET=SECRET, API_TOKEN=TOKEN)

    assert result.returncode == 0, result.stdout + result.stderr
    assert_storm_exact(json.loads(result.stdout))


@pytest.mark.processes
@real_database
def test_unsigned_storm_against_the_production_server_is_incorrect_and_exits_1(
    production_url,
):
    result = loadtest_cli(
        "--url", production_url, "--ops", "10", "--dup", "2", "--late", "0",
        "--token", TOKEN, "--hot", "--json",
    )  # fmt: skip

    assert result.returncode == 1, result.stdout + result.stderr
    report = json.loads(result.stdout)
    assert report["verdict"] == "INCORRECT"
    assert report["statuses"] == {"401": 20}
    [org] = report["organizations"]
    assert (org["actual_delta"], org["correct"]) == (0, False)
    assert report["problems"] == [
        "20 deliveries answered 401",
        f"{org['inn']}: balance moved by 0, expected {org['expected_delta']}",
    ]


@pytest.mark.processes
def test_balance_reads_refused_for_want_of_a_token_exit_2(production_url):
    result = loadtest_cli("--url", production_url, "--ops", "1", "--json")

    assert result.returncode == 2
    assert result.stdout == ""
    assert "401 (give --token or API_TOKEN)" in result.stderr


@real_database
def test_table_summary_names_every_number_and_the_verdict(live_server_url):
    result = loadtest_cli("--url", live_server_url, "--ops", "10", "--dup", "2", "--hot")

    assert result.returncode == 0, result.stdout + result.stderr
    for label in ("requests", "req/s", "p50", "statuses", "200: 20", "retries", "Balances"):
        assert label in result.stdout
    assert "Verdict: CORRECT (exit 0)" in result.stdout


@real_database
async def test_a_credit_behind_the_storms_back_makes_the_verdict_incorrect(live_server_url):
    """One extra payment to an organization of the storm, made after sending and before the
    final read: the storm must see a balance that moved by more than its own operations."""

    async def credit_once_more(inns: tuple[str, ...]) -> None:
        async with httpx.AsyncClient(base_url=live_server_url) as client:
            extra = await client.post(WEBHOOK, json=payload(payer_inn=inns[0], amount=7))
        assert extra.json()["status"] == "credited"

    report = await storm_run(
        StormConfig(url=live_server_url, ops=20, dup=2, concurrency=8, after_send=credit_once_more)
    )

    assert report.statuses == {200: 41}
    assert (report.correct, report.ok, report.verdict) == (False, False, "INCORRECT")
    first = report.organizations[0]
    assert first.actual_delta == first.expected_delta + 7
    assert [org.inn for org in report.organizations if not org.correct] == [first.inn]
    assert report.problems == [
        f"{first.inn}: balance moved by {first.actual_delta}, expected {first.expected_delta}"
    ]


@pytest.mark.processes
@real_database
async def test_background_storm_waits_for_the_worker_and_reports_the_drain():
    worker = start_worker()
    try:
        with uvicorn_server(workers=1, WEBHOOK_PROCESSING="background", **WORKER_ENV) as url:
            report = await storm_run(StormConfig(url=url, ops=40, dup=3, concurrency=12))
    finally:
        process_stop(worker)

    assert report.ok, report.problems
    assert report.outcomes == {"accepted": 40, "duplicate": 40 * 2 + 2}
    assert report.drain_seconds is not None
    assert all(org.correct for org in report.organizations)


class FakeServer:
    """The service's contract in memory: credits an operation once (or, with dedupe=False, every
    copy); the first `failures` deliveries get `failure` instead."""

    def __init__(self, *, failures: int = 0, failure=None, dedupe: bool = True) -> None:
        self.failures = failures
        self.failure = failure
        self.dedupe = dedupe
        self.balances: Counter[str] = Counter()
        self.recorded: set[str] = set()

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if request.method == "GET":
            inn = request.url.path.split("/")[3]
            if inn not in self.balances:
                return httpx.Response(404, json={"error": {"code": "organization_not_found"}})
            return httpx.Response(200, json={"inn": inn, "balance": self.balances[inn]})
        if self.failures:
            self.failures -= 1
            return self.failure(request)
        body = json.loads(request.content)
        if self.dedupe and body["operation_id"] in self.recorded:
            return httpx.Response(200, json={"status": "duplicate"})
        self.recorded.add(body["operation_id"])
        self.balances[body["payer_inn"]] += body["amount"]
        return httpx.Response(200, json={"status": "credited"})


def unavailable(request: httpx.Request) -> httpx.Response:
    return httpx.Response(503, headers={"Retry-After": "0"}, json={"error": {}})


def refused(request: httpx.Request) -> httpx.Response:
    raise httpx.ConnectError("connection refused", request=request)


def fake_storm(server: FakeServer, **config) -> StormConfig:
    return StormConfig(
        url="http://bank.test",
        transport=httpx.MockTransport(server),
        ops=10,
        dup=2,
        concurrency=4,
        late_fraction=0,
        **config,
    )


@pytest.mark.parametrize(
    ("failure", "seen", "backoffs"), [(unavailable, "503", 0), (refused, "ConnectError", 5)]
)
async def test_failed_attempts_are_retried_counted_and_the_storm_stays_ok(
    failure, seen, backoffs, monkeypatch
):
    """A 503's Retry-After sets the wait (no backoff computed); a connection error, which has
    none, backs off."""
    backoff_attempts = []
    original_backoff = _Storm._backoff

    def backoff(storm, attempt):
        backoff_attempts.append(attempt)
        return original_backoff(storm, attempt)

    monkeypatch.setattr(_Storm, "_backoff", backoff)
    server = FakeServer(failures=5, failure=failure)

    report = await storm_run(fake_storm(server, backoff_base=0.001))

    assert (report.retries, report.retried) == (5, {seen: 5})
    assert report.requests == 20  # a retried delivery counts once
    assert report.statuses == {200: 20}
    assert report.outcomes == {"credited": 10, "duplicate": 10}
    assert (report.correct, report.ok, report.server_errors) == (True, True, 0)
    assert len(backoff_attempts) == backoffs


async def test_a_500_is_not_ok_even_when_the_retry_succeeds():
    def crash(request: httpx.Request) -> httpx.Response:
        return httpx.Response(500, json={"error": {}})

    report = await storm_run(fake_storm(FakeServer(failures=1, failure=crash), backoff_base=0))

    assert report.retried == {"500": 1}
    assert (report.correct, report.server_errors, report.ok) == (True, 1, False)


async def test_a_delivery_that_keeps_failing_gives_up_after_max_attempts():
    server = FakeServer(failures=10**6, failure=unavailable)

    report = await storm_run(fake_storm(server, max_attempts=3, backoff_base=0))

    assert report.statuses == {503: 20}
    assert (report.retries, report.server_errors) == (20 * 2, 20)
    assert report.problems[0] == "20 deliveries answered 503"
    assert not report.correct


async def test_a_server_that_credits_every_copy_is_incorrect():
    report = await storm_run(fake_storm(FakeServer(dedupe=False), orgs=("1234567890",)))

    assert report.outcomes == {"credited": 20}
    [org] = report.organizations
    assert org.actual_delta == 2 * org.expected_delta
    assert report.problems == [
        "10 operations answered credited/accepted more than once",
        f"1234567890: balance moved by {org.actual_delta}, expected {org.expected_delta}",
    ]


def test_generated_organizations_are_valid_inns_unique_to_the_run():
    first, second = organizations_generate(5), organizations_generate(5)

    assert all(re.fullmatch(r"[0-9]{10}", inn) for inn in first + second)
    assert len(set(first)) == 5
    assert not set(first) & set(second)


async def test_copies_of_an_operation_are_in_flight_together_within_the_concurrency_limit():
    in_flight: Counter[str] = Counter()  # operation_id -> copies at the server now
    most_copies: Counter[str] = Counter()
    most_requests = 0

    async def slow_server(request: httpx.Request) -> httpx.Response:
        nonlocal most_requests
        if request.method == "GET":
            return httpx.Response(404, json={})
        operation_id = json.loads(request.content)["operation_id"]
        in_flight[operation_id] += 1
        most_copies[operation_id] = max(most_copies[operation_id], in_flight[operation_id])
        most_requests = max(most_requests, in_flight.total())
        await asyncio.sleep(0.01)
        in_flight[operation_id] -= 1
        return httpx.Response(200, json={"status": "duplicate"})

    await storm_run(
        StormConfig(
            url="http://bank.test",
            transport=httpx.MockTransport(slow_server),
            ops=60,
            dup=3,
            concurrency=20,  # two lanes of 10: 3 operations in each, then a 4th as slots free
            late_fraction=0,
            wait_credited=0,
        )
    )

    assert set(most_copies.values()) == {3}
    assert 18 <= most_requests <= 20


@pytest.mark.parametrize(("concurrency", "dup"), [(64, 3), (16, 3), (12, 3), (70, 3), (30, 10)])
def test_lanes_share_the_concurrency_and_each_holds_all_copies(concurrency, dup):
    sizes = lane_sizes(concurrency, dup)

    assert sum(sizes) == concurrency
    assert min(sizes) >= max(dup, min(concurrency, LANE_CONNECTIONS))
    assert max(sizes) - min(sizes) <= 1
