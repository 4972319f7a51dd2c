"""A storm's configuration, its plan of operations, and its report.

No Django here: the load tester runs against any deployment."""

import json
import math
import random
import re
import secrets
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone

import httpx

from payments.outcomes import PaymentOutcome
from payments.webhook_signing import webhook_secret_key

MAX_AMOUNT = 100_000


LANE_CONNECTIONS = 8  # see lane_sizes


MAX_GENERATED_ORGS = 1000  # three digits of the INN number the organization within the run


# The bodies a 200 may carry; "accepted" means a worker credits it later (background mode).
OUTCOMES = tuple(outcome.value for outcome in PaymentOutcome)


# The answers that acknowledge a new operation: more than one per operation is a double credit.
ACKNOWLEDGED = (PaymentOutcome.CREDITED.value, PaymentOutcome.ACCEPTED.value)


NO_RESPONSE = 0  # the status of a delivery whose every attempt failed without an HTTP answer


JSON_HEADERS = {"content-type": "application/json"}


_INN = re.compile(r"[0-9]{10}(?:[0-9]{2})?")


class StormError(Exception):
    """The storm could not run: the server is unreachable or refuses the balance reads."""


@dataclass(frozen=True)
class StormConfig:
    """What to send, where, and how a bank retries. Validated on creation (ValueError)."""

    url: str = "http://127.0.0.1:8000"
    ops: int = 5000
    dup: int = 3  # copies of each operation, in flight together
    concurrency: int = 64  # requests in flight at most; at least dup
    orgs: tuple[str, ...] = ()  # INNs to credit; empty: org_count fresh INNs of this run
    org_count: int = 5
    secret: str | None = None  # whsec_...: sign every delivery (Standard Webhooks)
    token: str | None = None  # bearer token for the balance reads
    late_fraction: float = 0.05  # operations sent once more after all others finished
    wait_credited: float = 60.0  # background mode: how long to wait for the worker's credits
    timeout: float = 30.0  # per attempt
    max_attempts: int = 8  # per delivery, the first included
    backoff_base: float = 0.1  # seconds before the first retry; doubles per attempt, jittered
    backoff_cap: float = 5.0
    retry_after_cap: float = 30.0  # Retry-After is honoured up to this many seconds
    poll_interval: float = 0.2
    # Called with the organizations' INNs after the last delivery, before balances are read
    # again (a test uses it to move a balance behind the storm's back).
    after_send: Callable[[tuple[str, ...]], Awaitable[None]] | None = None
    # Called as (phase, done, total): phase "send" counts answered deliveries, "credit" counts
    # organizations whose balance reached the expected value.
    progress: Callable[[str, int, int], None] | None = None
    transport: httpx.AsyncBaseTransport | None = None  # tests: an in-process server

    def __post_init__(self) -> None:
        if self.ops < 1 or self.dup < 1:
            raise ValueError("ops and dup must be at least 1")
        if self.concurrency < self.dup:
            raise ValueError("concurrency must be at least dup: the copies fly together")
        for inn in self.orgs:
            if not _INN.fullmatch(inn):
                raise ValueError(f"an INN is 10 or 12 digits, not {inn!r}")
        if len(set(self.orgs)) != len(self.orgs):
            raise ValueError("each organization may be named once")
        if not self.orgs and not 1 <= self.org_count <= MAX_GENERATED_ORGS:
            raise ValueError(f"org_count must be between 1 and {MAX_GENERATED_ORGS}")
        if not 0 <= self.late_fraction <= 1:
            raise ValueError("late_fraction must be between 0 and 1")
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if self.secret is not None:
            webhook_secret_key(self.secret)


@dataclass(frozen=True)
class OrganizationResult:
    inn: str
    operations: int  # unique operations sent for it
    before: int
    after: int
    expected_delta: int  # the sum of its unique operations' amounts
    actual_delta: int
    correct: bool


@dataclass(frozen=True)
class StormReport:
    """What the storm sent, what came back, and whether the books came out exact."""

    url: str
    operations: int
    copies: int
    late_repeats: int
    requests: int  # deliveries answered or given up on; a retried one counts once
    seconds: float  # from the first delivery to the last answer
    rps: float
    p50_ms: float  # latencies of each delivery's final attempt
    p95_ms: float
    p99_ms: float
    max_ms: float
    statuses: dict[int, int]  # final answers; 0 = no HTTP answer after the last attempt
    outcomes: dict[str, int]  # the "status" of the 200 answers
    retries: int
    retried: dict[str, int]  # what the retried attempts got: "503", "ConnectError", ...
    server_errors: int  # final 5xx answers, plus every 500 ever seen (retried or not)
    organizations: list[OrganizationResult]
    drain_seconds: float | None  # end of sending -> balances matched; None: they never did
    problems: list[str] = field(default_factory=list)  # why the verdict is INCORRECT

    @property
    def correct(self) -> bool:
        return not self.problems

    @property
    def ok(self) -> bool:
        """Correct, and the server never failed: the storm's exit code is 0 only then."""
        return self.correct and self.server_errors == 0

    @property
    def verdict(self) -> str:
        return "CORRECT" if self.correct else "INCORRECT"

    def as_dict(self) -> dict:
        return {**asdict(self), "correct": self.correct, "ok": self.ok, "verdict": self.verdict}


@dataclass(slots=True)
class _Operation:
    inn: str
    amount: int
    body: bytes
    msg_id: str
    acknowledged: int = 0  # "credited"/"accepted" answers; more than one is a double credit


def organizations_generate(count: int) -> tuple[str, ...]:
    """`count` 10-digit INNs under a random prefix of this run, so that repeated or concurrent
    runs credit organizations of their own (the service creates them on their first payment)."""
    prefix = secrets.randbelow(10**7)
    return tuple(f"{prefix:07d}{number:03d}" for number in range(count))


def operations_plan(*, inns: Sequence[str], count: int, rng: random.Random) -> list[_Operation]:
    """`count` operations with random payers and amounts, their bodies serialized once."""
    document_date = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    plan = []
    for number in range(1, count + 1):
        operation_id = str(uuid.uuid4())
        inn = rng.choice(inns)
        amount = rng.randint(1, MAX_AMOUNT)
        body = {
            "operation_id": operation_id,
            "amount": amount,
            "payer_inn": inn,
            "document_number": f"LT-{number}",
            "document_date": document_date,
        }
        plan.append(
            _Operation(
                inn=inn,
                amount=amount,
                body=json.dumps(body, separators=(",", ":")).encode(),
                msg_id=f"msg_{operation_id}",
            )
        )
    return plan


def lane_sizes(concurrency: int, dup: int) -> list[int]:
    """Split `concurrency` into lanes of about LANE_CONNECTIONS (at least `dup`), summing to it.

    httpcore's connection pool does O(connections**2) bookkeeping on every request and every
    response: with one client of many connections the generator would spend more CPU than the
    server it measures. Lanes of 8 keep it near httpx's floor (docs/performance.md).
    """
    count = max(1, concurrency // max(dup, LANE_CONNECTIONS))
    return [concurrency // count + (lane < concurrency % count) for lane in range(count)]


def percentile_ms(ordered: list[float], percent: int) -> float:
    """Nearest-rank percentile of sorted seconds, in milliseconds."""
    if not ordered:
        return 0.0
    rank = max(1, math.ceil(percent / 100 * len(ordered)))
    return round(ordered[rank - 1] * 1000, 2)
