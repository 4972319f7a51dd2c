"""`make bench-instructions`: what one webhook delivery costs the service's Python, in CPU
instructions, a number that does not move with the machine's load.

    python -m loadtest.instructions [--ops 300] [--no-valgrind] [--profile FILE]

Throughput on a shared machine varies from run to run more than a change in the request's path
does. This counts instead: the production ASGI stack (core.http.stack:
the request-id and webhook layers, Django's handler, every MIDDLEWARE entry, the adrf view, the
signature check, the crediting on the async pool) runs in this process, without uvicorn or a
network, and receives --ops signed operations three times each (one new delivery, two
duplicates), one after the other. Under valgrind's callgrind, only that loop is instrumented;
the result is instructions per delivery, repeatable run to run (docs/performance.md;
PostgreSQL's own work runs in its server process and is not counted). With --no-valgrind, or
without valgrind, it reports CPU time per delivery instead, which is as noisy as the machine.

With DATABASE_URL set (make bench-instructions sets it, to the embedded PostgreSQL unless you
gave one). A benchmark, not a test: it exits 1 only if a delivery is not answered 200.
"""

import argparse
import asyncio
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time

from loadtest.bench_service import bench_log, command_run, log_level_argument, production_env
from loadtest.storm_plan import JSON_HEADERS, operations_plan, organizations_generate
from testsupport.api import WEBHOOK
from testsupport.launch import ROOT

COPIES = 3  # deliveries per operation: 1 new, 2 duplicates, as `make bench` sends them
_UNDER_VALGRIND = "LOADTEST_UNDER_VALGRIND"


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    database_url = os.environ.get("DATABASE_URL")
    if not database_url:
        sys.exit("DATABASE_URL is not set (run it through `make bench-instructions`).")
    if os.environ.get(_UNDER_VALGRIND):
        return asyncio.run(_measure(args.ops, toggle_callgrind=True))
    # Signed before the loop, checked in it: valgrind on a busy machine can take longer than the
    # default 300 s tolerance, and expired deliveries would count the cost of a 401 (3600: the
    # most the settings allow).
    env = {
        **production_env(database_url, log_level=args.log_level),
        "WEBHOOK_TOLERANCE_SECONDS": "3600",
    }
    command_run([sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"], env)
    valgrind = shutil.which("valgrind")
    if args.no_valgrind or not valgrind:
        if not args.no_valgrind:
            bench_log("valgrind not found: CPU time instead of instructions (apt install valgrind)")
        os.environ.update(env)
        return asyncio.run(_measure(args.ops, toggle_callgrind=False))
    return _under_callgrind(valgrind, env, args.ops, profile=args.profile)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m loadtest.instructions", description=__doc__)
    parser.add_argument("--ops", type=int, default=300, help="operations, 3 deliveries each")
    parser.add_argument("--no-valgrind", action="store_true", help="CPU time, not instructions")
    log_level_argument(parser)
    parser.add_argument(
        "--profile", metavar="FILE", help="keep callgrind's output there (callgrind_annotate FILE)"
    )
    return parser


def _under_callgrind(
    valgrind: str, env: dict[str, str], ops: int, *, profile: str | None = None
) -> int:
    """Run this module again under callgrind, instrumenting nothing until the loop starts."""
    with tempfile.TemporaryDirectory(prefix="bench-instructions-") as scratch:
        command = [
            valgrind, "--tool=callgrind", "--instr-atstart=no",
            f"--callgrind-out-file={scratch}/callgrind.out",
            sys.executable, "-m", "loadtest.instructions", "--ops", str(ops),
        ]  # fmt: skip
        # The system allocator: valgrind runs pymalloc's arenas far slower, and counts them.
        child_env = {**env, _UNDER_VALGRIND: "1", "PYTHONMALLOC": "malloc"}
        bench_log(f"callgrind: {ops} operations x {COPIES} deliveries (about a minute per 300)")
        result = subprocess.run(  # noqa: S603
            command, cwd=ROOT, env=child_env, capture_output=True, text=True, check=False
        )
        if profile:
            shutil.copyfile(f"{scratch}/callgrind.out", profile)
    sys.stdout.write(result.stdout)
    collected = re.search(r"Collected : (\d+)", result.stderr)
    if result.returncode != 0 or not collected:
        sys.stderr.write(result.stderr[-4000:])
        return 1
    deliveries = ops * COPIES
    per_delivery = int(collected.group(1)) / deliveries
    print(f"instructions per delivery: {per_delivery / 1e6:.3f} M ({deliveries} deliveries)")
    return 0


async def _measure(ops: int, *, toggle_callgrind: bool, warm_up: int = 50) -> int:
    """Deliver `warm_up` operations, then `ops` measured ones, COPIES times each."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "core.settings")
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="bench-metrics-")
    from django.conf import settings

    from core.http.stack import asgi_stack_build
    from payments.webhook_signing import webhook_sign_headers

    app = asgi_stack_build()
    lifespan = _Lifespan(app)
    await lifespan.start()
    try:
        inns = organizations_generate(5)
        rng = random.Random(1)  # noqa: S311 (amounts and payers; nothing secret)
        secret = settings.BANK_WEBHOOK_SECRETS[0]

        def signed(count: int) -> list[tuple[bytes, list[tuple[bytes, bytes]]]]:
            deliveries = []
            for operation in operations_plan(inns=inns, count=count, rng=rng):
                headers = webhook_sign_headers(
                    secret=secret,
                    body=operation.body,
                    msg_id=operation.msg_id,
                    timestamp=int(time.time()),
                )
                deliveries.append((operation.body, _raw_headers(operation.body, headers)))
            return deliveries

        # Warm-up: imports, URL resolver caches, the pool's connections.
        statuses = [await _deliver(app, *delivery) for delivery in signed(warm_up)]
        measured = signed(ops)
        _callgrind(toggle_callgrind, "on")
        started = time.process_time()
        for delivery in measured:
            for _ in range(COPIES):
                statuses.append(await _deliver(app, *delivery))
        cpu = time.process_time() - started
        _callgrind(toggle_callgrind, "off")
    finally:
        await lifespan.stop()
    failed = len([status for status in statuses if status != 200])
    if not toggle_callgrind:
        per_delivery = cpu / (ops * COPIES) * 1e6
        print(f"CPU time per delivery: {per_delivery:.0f} us ({ops * COPIES} deliveries)")
    if failed:
        print(f"{failed} deliveries were not answered 200", file=sys.stderr)
    return 1 if failed else 0


def _callgrind(toggle: bool, state: str) -> None:
    if toggle:
        subprocess.run(  # noqa: S603
            ["callgrind_control", "--instr=" + state, str(os.getpid())],  # noqa: S607
            capture_output=True,
            check=True,
        )


def _raw_headers(body: bytes, signature: dict[str, str]) -> list[tuple[bytes, bytes]]:
    headers = {**JSON_HEADERS, **signature, "content-length": str(len(body))}
    return [(b"host", b"127.0.0.1"), *((k.encode(), v.encode()) for k, v in headers.items())]


async def _deliver(app, body: bytes, headers: list[tuple[bytes, bytes]]) -> int:
    """One POST through the ASGI app, as uvicorn would hand it over; returns the status."""
    scope = {
        "type": "http", "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1", "method": "POST", "scheme": "http",
        "path": WEBHOOK, "raw_path": WEBHOOK.encode(), "query_string": b"",
        "root_path": "", "headers": headers,
        "client": ("127.0.0.1", 50000), "server": ("127.0.0.1", 80),
    }  # fmt: skip
    messages = [{"type": "http.request", "body": body, "more_body": False}]
    status = 0

    async def receive():
        if messages:
            return messages.pop()
        await asyncio.Event().wait()  # no disconnect: the handler cancels this when done

    async def send(message):
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]

    await app(scope, receive, send)
    return status


class _Lifespan:
    """The server's startup and shutdown (the lifespan layer opens and closes the async pool)."""

    def __init__(self, app) -> None:
        self.app = app
        self.inbox: asyncio.Queue = asyncio.Queue()
        self.events: dict[str, asyncio.Event] = {}

    async def start(self) -> None:
        self.task = asyncio.ensure_future(self.app({"type": "lifespan"}, self._receive, self._send))
        await self._step("startup")

    async def stop(self) -> None:
        await self._step("shutdown")
        await self.task

    async def _step(self, name: str) -> None:
        self.events[name] = asyncio.Event()
        await self.inbox.put({"type": f"lifespan.{name}"})
        await self.events[name].wait()

    async def _receive(self):
        return await self.inbox.get()

    async def _send(self, message) -> None:
        step, _, outcome = message["type"].removeprefix("lifespan.").partition(".")
        if outcome == "failed":
            raise RuntimeError(f"lifespan {step} failed: {message.get('message')}")
        self.events[step].set()


if __name__ == "__main__":
    sys.exit(main())
