"""The duplicate-storm engine: deliver every operation several times at once, as a bank does,
then check that each organization's balance moved by exactly the sum of its unique operations.

No Django here: it talks to a running server over HTTP only, so it can load any deployment.
The generator shares the CPU with the server it measures, so the per-request work is kept
small: bodies are serialized once, each operation is signed once for all its copies, and the
answers are tallied in counters.
"""

import asyncio
import contextlib
import json
import random
import ssl
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import NamedTuple

import httpx

from loadtest.storm_plan import (
    ACKNOWLEDGED,
    JSON_HEADERS,
    NO_RESPONSE,
    OUTCOMES,
    OrganizationResult,
    StormConfig,
    StormError,
    StormReport,
    _Operation,
    lane_sizes,
    operations_plan,
    organizations_generate,
    percentile_ms,
)
from payments.outcomes import PaymentOutcome
from payments.webhook_signing import webhook_sign_headers
from testsupport.api import BALANCE, WEBHOOK


async def storm_run(config: StormConfig) -> StormReport:
    """Read the balances, send the storm, read them again (waiting for a worker's credits in
    background mode) and report. Raises StormError if the balances cannot be read."""
    rng = random.Random()  # noqa: S311 (amounts, payers and jitter; nothing secret)
    inns = config.orgs or organizations_generate(config.org_count)
    plan = operations_plan(inns=inns, count=config.ops, rng=rng)
    late = rng.sample(plan, round(len(plan) * config.late_fraction))
    expected, counts = Counter(), Counter()
    for operation in plan:
        expected[operation.inn] += operation.amount
        counts[operation.inn] += 1

    total = len(plan) * config.dup + len(late)
    async with contextlib.AsyncExitStack() as stack:
        # One TLS context for all lanes: each one built costs the generator's CPU.
        tls = ssl.create_default_context()
        lanes = []
        for size in lane_sizes(config.concurrency, config.dup):
            client = httpx.AsyncClient(
                base_url=config.url,
                limits=httpx.Limits(max_connections=size, max_keepalive_connections=size),
                timeout=config.timeout,
                http1=True,
                http2=False,
                verify=tls,
                transport=config.transport,
            )
            lanes.append(_Lane(await stack.enter_async_context(client), asyncio.Semaphore(size)))
        storm = _Storm(config, lanes, total=total, rng=rng)
        before = await storm.balances_read(inns)
        started = time.perf_counter()
        await storm.send(plan, copies=config.dup)
        await storm.send(late, copies=1)
        sent = time.perf_counter()
        if config.after_send is not None:
            await config.after_send(tuple(inns))
        after, drain_seconds = await storm.balances_settle(
            inns, before=before, expected=expected, since=sent
        )

    organizations = [
        OrganizationResult(
            inn=inn,
            operations=counts[inn],
            before=before[inn],
            after=after[inn],
            expected_delta=expected[inn],
            actual_delta=after[inn] - before[inn],
            correct=after[inn] - before[inn] == expected[inn],
        )
        for inn in inns
    ]
    seconds = sent - started
    latencies = sorted(storm.latencies)
    requests = len(latencies)
    return StormReport(
        url=config.url,
        operations=len(plan),
        copies=config.dup,
        late_repeats=len(late),
        requests=requests,
        seconds=round(seconds, 3),
        rps=round(requests / seconds, 1) if seconds else 0.0,
        p50_ms=percentile_ms(latencies, 50),
        p95_ms=percentile_ms(latencies, 95),
        p99_ms=percentile_ms(latencies, 99),
        max_ms=percentile_ms(latencies, 100),
        statuses=dict(sorted(storm.statuses.items())),
        outcomes=dict(storm.outcomes),
        retries=storm.retries,
        retried=dict(storm.retried),
        server_errors=storm.server_errors,
        organizations=organizations,
        drain_seconds=None if drain_seconds is None else round(drain_seconds, 3),
        problems=_problems(storm, plan, organizations, config),
    )


class _Answer(NamedTuple):
    response: httpx.Response | None  # None: no HTTP answer to the last attempt
    seconds: float  # the last attempt's
    retried: list[str]  # what each retried attempt got: "503", "ConnectError", ...
    error: str  # the last attempt's transport error, if it had one


@dataclass(slots=True)
class _Lane:
    """A client and as many concurrency slots as its pool has connections."""

    client: httpx.AsyncClient
    slots: asyncio.Semaphore


class _Storm:
    """One run's lanes and tallies."""

    def __init__(
        self, config: StormConfig, lanes: list[_Lane], *, total: int, rng: random.Random
    ) -> None:
        self.config = config
        self.lanes = lanes
        self.total = total
        self.rng = rng
        self.read_headers = {"authorization": f"Bearer {config.token}"} if config.token else {}
        self.latencies: list[float] = []
        self.statuses: Counter[int] = Counter()
        self.outcomes: Counter[str] = Counter()
        self.retried: Counter[str] = Counter()
        self.retries = 0
        self.server_errors = 0

    async def send(self, plan: list[_Operation], *, copies: int) -> None:
        """Send each operation `copies` times, all copies at once, with at most `concurrency`
        requests in flight: each lane takes the next operation as soon as it has the slots."""
        operations = iter(plan)
        await asyncio.gather(*(self._lane_send(lane, operations, copies) for lane in self.lanes))

    async def _lane_send(self, lane: _Lane, operations: Iterator[_Operation], copies: int) -> None:
        tasks: set[asyncio.Task] = set()
        try:
            for operation in operations:
                # Take the slots of all copies first, so that none of them waits for a slot
                # while the others are already at the server. Only this loop acquires the
                # lane's slots, so holding some while waiting for more cannot deadlock.
                for _ in range(copies):
                    await lane.slots.acquire()
                task = asyncio.create_task(self._operation_send(lane, operation, copies))
                tasks.add(task)
                task.add_done_callback(tasks.discard)
            await asyncio.gather(*tasks)
        finally:
            for task in tasks:
                task.cancel()

    async def _operation_send(self, lane: _Lane, operation: _Operation, copies: int) -> None:
        headers = self._delivery_headers(operation)
        await asyncio.gather(*(self._deliver(lane, operation, headers) for _ in range(copies)))

    def _delivery_headers(self, operation: _Operation) -> dict[str, str]:
        if self.config.secret is None:
            return JSON_HEADERS
        # Signed when sent, not when planned: a long run must stay inside the server's
        # timestamp tolerance. The copies and retries of a delivery share its webhook-id.
        signature = webhook_sign_headers(
            secret=self.config.secret,
            body=operation.body,
            msg_id=operation.msg_id,
            timestamp=int(time.time()),
        )
        return {**JSON_HEADERS, **signature}

    async def _deliver(self, lane: _Lane, operation: _Operation, headers: dict[str, str]) -> None:
        try:
            response, seconds, retried, _ = await self._request(
                lane.client, "POST", WEBHOOK, content=operation.body, headers=headers
            )
        finally:
            lane.slots.release()
        self.latencies.append(seconds)
        self.retries += len(retried)
        for reason in retried:
            self.retried[reason] += 1
            if reason == "500":
                self.server_errors += 1
        status = NO_RESPONSE if response is None else response.status_code
        self.statuses[status] += 1
        if status >= 500:
            self.server_errors += 1
        if status == 200:
            outcome = _outcome(response.content)
            self.outcomes[outcome] += 1
            if outcome in ACKNOWLEDGED:
                operation.acknowledged += 1
        if self.config.progress is not None:
            self.config.progress("send", len(self.latencies), self.total)

    async def _request(
        self, client: httpx.AsyncClient, method: str, path: str, **kwargs
    ) -> _Answer:
        """Send until an answer that is not worth retrying, or the attempts run out, as a bank
        does: a connection error, 429 or 5xx is retried after Retry-After (if given) or a
        jittered exponential backoff."""
        retried = []
        for attempt in range(1, self.config.max_attempts + 1):
            started = time.perf_counter()
            try:
                response = await client.request(method, path, **kwargs)
            except httpx.TransportError as exc:
                response, reason, delay = None, type(exc).__name__, None
            else:
                if not _retryable(response.status_code):
                    return _Answer(response, time.perf_counter() - started, retried, "")
                reason, delay = str(response.status_code), self._retry_after(response)
            seconds = time.perf_counter() - started
            if attempt == self.config.max_attempts:
                return _Answer(response, seconds, retried, "" if response is not None else reason)
            retried.append(reason)
            await asyncio.sleep(self._backoff(attempt) if delay is None else delay)
        raise AssertionError("unreachable")  # pragma: no cover

    def _retry_after(self, response: httpx.Response) -> float | None:
        try:
            seconds = float(response.headers.get("retry-after", ""))
        except ValueError:
            return None  # absent, or an HTTP date: back off instead
        return min(max(seconds, 0.0), self.config.retry_after_cap)

    def _backoff(self, attempt: int) -> float:
        ceiling = min(self.config.backoff_cap, self.config.backoff_base * 2 ** (attempt - 1))
        return ceiling * self.rng.uniform(0.5, 1.0)

    async def balances_read(self, inns: Sequence[str]) -> dict[str, int]:
        balances = await asyncio.gather(*(self._balance_read(inn) for inn in inns))
        return dict(zip(inns, balances, strict=True))

    async def _balance_read(self, inn: str) -> int:
        path = BALANCE.format(inn=inn)
        response, _, _, error = await self._request(
            self.lanes[0].client, "GET", path, headers=self.read_headers
        )
        if response is None:
            raise StormError(
                f"GET {self.config.url}{path}: no answer in {self.config.max_attempts} "
                f"attempts (last: {error})"
            )
        if response.status_code == 404:
            return 0  # not created yet: its first payment will create it
        if response.status_code != 200:
            hint = " (give --token or API_TOKEN)" if response.status_code == 401 else ""
            raise StormError(
                f"GET {self.config.url}{path}: {response.status_code}{hint} {response.text[:200]}"
            )
        return int(response.json()["balance"])

    async def balances_settle(
        self,
        inns: Sequence[str],
        *,
        before: dict[str, int],
        expected: Counter,
        since: float,
    ) -> tuple[dict[str, int], float | None]:
        """Read the balances again; in background mode (some answer was "accepted") until each
        has moved by its expected amount, one has moved further (balances only grow, so it
        never will), or wait_credited runs out. Returns them and the seconds from `since` to
        the read that matched (None if none did)."""
        waiting = self.outcomes[PaymentOutcome.ACCEPTED.value] > 0
        deadline = since + self.config.wait_credited
        while True:
            read_at = time.perf_counter()
            after = await self.balances_read(inns)
            deltas = {inn: after[inn] - before[inn] for inn in inns}
            matched = sum(deltas[inn] == expected[inn] for inn in inns)
            if waiting and self.config.progress is not None:
                self.config.progress("credit", matched, len(inns))
            if matched == len(inns):
                return after, read_at - since
            overshot = any(deltas[inn] > expected[inn] for inn in inns)
            if not waiting or overshot or read_at >= deadline:
                return after, None
            await asyncio.sleep(self.config.poll_interval)


def _retryable(status: int) -> bool:
    return status == 429 or status >= 500


def _outcome(content: bytes) -> str:
    try:
        outcome = json.loads(content).get("status")
    except (ValueError, AttributeError):
        return "unreadable"
    return outcome if outcome in OUTCOMES else f"unexpected: {outcome!r}"[:60]


def _problems(
    storm: _Storm,
    plan: list[_Operation],
    organizations: list[OrganizationResult],
    config: StormConfig,
) -> list[str]:
    """Why the run is not correct; empty when it is."""
    problems = []
    for status, count in sorted(storm.statuses.items()):
        if status == NO_RESPONSE:
            problems.append(f"{count} deliveries got no answer in {config.max_attempts} attempts")
        elif status != 200:
            problems.append(f"{count} deliveries answered {status}")
    for outcome, count in storm.outcomes.items():
        if outcome not in OUTCOMES:
            problems.append(f"{count} 200 answers with status {outcome}")
    doubled = sum(operation.acknowledged > 1 for operation in plan)
    if doubled:
        problems.append(f"{doubled} operations answered credited/accepted more than once")
    for organization in organizations:
        if not organization.correct:
            problems.append(
                f"{organization.inn}: balance moved by {organization.actual_delta}, "
                f"expected {organization.expected_delta}"
            )
    return problems
