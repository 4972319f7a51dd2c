"""A flood of admin logins cannot take the machine: each client address has a small budget of
requests to the login page (the form and its posts), spent before the form is rendered or read
or a password hashed (past it a 429 of a few bytes, nothing rendered), and the password hashes
themselves run one at a time on this host (core.auth.password_hashing).

django-axes locks a username and address pair after its failures; a guesser who rotates
usernames is never locked by it, and each of its attempts cost a PBKDF2 hash (about 330 ms of
CPU) taken from the webhook's workers. Measurements: docs/security.md, "Admin".
"""

import threading
import time

from django.http import HttpResponse
from django.utils.deprecation import MiddlewareMixin

from core.auth import LoginBusy
from core.http.exception_handler import admin_refusal
from core.http.fastpath.middleware import AdminOnlyMixin, InlineMiddlewareMixin

# An address may make LOGIN_BURST requests to the login page at once, then one more every
# LOGIN_REFILL_SECONDS (20 a minute; a login is two: the form, then its post): an operator who
# mistypes never meets it; a guesser gets about 10 guesses a minute per address and worker.
LOGIN_BURST = 20
LOGIN_REFILL_SECONDS = 3.0
# Addresses remembered per process; past it the oldest are forgotten (their budget is full again
# anyway after LOGIN_BURST * LOGIN_REFILL_SECONDS).
MAX_ADDRESSES = 10_000


class LoginBudget:
    """A token bucket per client address, in this process."""

    def __init__(self) -> None:
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def take(self, address: str, now: float) -> float | None:
        """None if address may post a login now; else the seconds until it may."""
        with self._lock:
            tokens, since = self._buckets.pop(address, (LOGIN_BURST, now))
            tokens = min(LOGIN_BURST, tokens + (now - since) / LOGIN_REFILL_SECONDS)
            if tokens < 1:
                self._buckets[address] = (tokens, now)
                return (1 - tokens) * LOGIN_REFILL_SECONDS
            self._buckets[address] = (tokens - 1, now)  # re-inserted: the newest, evicted last
            if len(self._buckets) > MAX_ADDRESSES:
                del self._buckets[next(iter(self._buckets))]
            return None


class AdminLoginThrottleMiddleware(AdminOnlyMixin, InlineMiddlewareMixin, MiddlewareMixin):
    """The budget is checked on the event loop (no thread hop): a flood's refusals never queue
    behind the hashes the worker's one sync thread is running."""

    def __init__(self, get_response):
        super().__init__(get_response)
        self.login_path = f"{self.admin_prefix}login/"
        self.budget = LoginBudget()

    def process_request(self, request):
        if request.path_info != self.login_path:
            return None
        address = request.META.get("REMOTE_ADDR", "")
        wait = self.budget.take(address, time.monotonic())
        if wait is None:
            return None
        # Plain text: a flood's refusals must cost less than the page it asked for.
        retry_after = max(1, round(wait))
        return HttpResponse(
            f"Too many login attempts from this address: try again in {retry_after} s.\n",
            status=429,
            content_type="text/plain; charset=utf-8",
            headers={"Retry-After": str(retry_after)},
        )

    def process_exception(self, request, exception):
        if not isinstance(exception, LoginBusy):
            return None
        response = admin_refusal(
            request,
            title="Log in later",
            explanation="The console is busy checking other logins. Try again in a moment.",
            status=503,
        )
        response["Retry-After"] = "1"
        return response
