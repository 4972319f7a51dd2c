"""Does a flood of admin logins slow the webhook? A benchmark, not a test.

    make manage ARGS=...  (no): run it through the launcher, like make bench:
    .venv/bin/python scripts/embedded_db.py exec -- .venv/bin/python -m loadtest.login_flood

Starts the service as production runs it (loadtest.bench's server: uvicorn, DEBUG off, signed
webhooks), then runs the same duplicate storm twice: alone, and while FLOODS threads each post
wrong admin logins as fast as the server answers (a fresh username each time, as a guesser who
rotates names, so django-axes' per-name lockout never stops them). Prints the storm's median and
p99 latency and the logins' answers for both (docs/security.md, "Admin").
"""

import argparse
import asyncio
import collections
import json
import os
import re
import sys
import threading
import uuid

import httpx

from loadtest.bench_service import BenchService, command_run, production_env
from loadtest.storm import storm_run
from loadtest.storm_plan import StormConfig

FLOODS = 8


def login_flood(url: str, stop: threading.Event, statuses: collections.Counter) -> None:
    with httpx.Client(base_url=url, timeout=30) as client:
        while not stop.is_set():
            form = client.get("/admin/login/")
            token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form.text)
            response = client.post(
                "/admin/login/",
                data={
                    "username": f"guess-{uuid.uuid4().hex[:12]}",
                    "password": "wrong-password",
                    "csrfmiddlewaretoken": token.group(1) if token else "",
                    "next": "/admin/",
                },
                headers={"Referer": f"{url}/admin/login/"},
            )
            statuses[response.status_code] += 1


def storm(url: str, env: dict[str, str], ops: int, concurrency: int) -> dict:
    report = asyncio.run(
        storm_run(
            StormConfig(
                url=url,
                secret=env["BANK_WEBHOOK_SECRETS"],
                token=env["API_TOKENS"],
                ops=ops,
                concurrency=concurrency,
            )
        )
    )
    return {"rps": report.rps, "p50_ms": report.p50_ms, "p99_ms": report.p99_ms, "ok": report.ok}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m loadtest.login_flood", description=__doc__)
    parser.add_argument("--ops", type=int, default=1500)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 2)
    args = parser.parse_args(argv)
    database_url = os.environ.get("DATABASE_URL")
    if not database_url:
        sys.exit("DATABASE_URL is not set (run it through scripts/embedded_db.py exec).")
    env = production_env(database_url)
    # Plain HTTP here (TLS ends in front in production): cookies a client can send back, or
    # every login post would be a CSRF refusal that hashes nothing.
    env |= {"SESSION_COOKIE_SECURE": "0", "CSRF_COOKIE_SECURE": "0"}
    command_run([sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"], env)
    results = {}
    with BenchService(env, workers=args.workers) as url:
        storm(url, env, 300, args.concurrency)  # warm-up
        results["alone"] = storm(url, env, args.ops, args.concurrency)
        stop, statuses = threading.Event(), collections.Counter()
        floods = [
            threading.Thread(target=login_flood, args=(url, stop, statuses)) for _ in range(FLOODS)
        ]
        for flood in floods:
            flood.start()
        try:
            results[f"with {FLOODS} login floods"] = storm(url, env, args.ops, args.concurrency)
        finally:
            stop.set()
            for flood in floods:
                flood.join()
        results["login answers"] = dict(statuses)
    print(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
