"""Who may do what: webhook signatures, read tokens, response headers, TLS, the admin's login.

Empty secrets and tokens switch verification off: development only; with DEBUG=0 the system
checks refuse to start (manage.py and uvicorn alike, see core/asgi.py).
"""

from core.settings import env
from core.settings.env import (  # noqa: F401 (settings, read as they are)
    API_TOKENS,
    BANK_WEBHOOK_SECRETS,
    CSRF_COOKIE_SECURE,
    SECURE_HSTS_INCLUDE_SUBDOMAINS,
    SECURE_HSTS_PRELOAD,
    SECURE_HSTS_SECONDS,
    SECURE_SSL_REDIRECT,
    SESSION_COOKIE_SECURE,
    WEBHOOK_TOLERANCE_SECONDS,
)

# Response headers (SecurityMiddleware, XFrameOptionsMiddleware): nosniff, no framing, and a
# Referer for this site's own pages only. Not "no-referrer": under it browsers send
# `Origin: null` on the admin's form posts, which Django's CSRF check refuses (docs/security.md).
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

# "HTTP_X_FORWARDED_PROTO,https" makes a request carrying `X-Forwarded-Proto: https` count as
# secure. Only if the proxy always overwrites that header, or a client could claim HTTPS over
# plain HTTP.
SECURE_PROXY_SSL_HEADER = tuple(env.SECURE_PROXY_SSL_HEADER) or None

# A CSRF refusal (admin forms, or a POST to a path that does not exist) in the API's JSON shape.
CSRF_FAILURE_VIEW = "core.http.exception_handler.csrf_failure"

# Failed admin logins are counted per username and client address together (REMOTE_ADDR, which
# uvicorn takes from X-Forwarded-For only for FORWARDED_ALLOW_IPS): after ADMIN_LOGIN_FAILURE_LIMIT
# of them that pair gets 429 ("Account locked: too many login attempts...") until the cool-off ends
# or an operator unlocks it (`manage.py axes_reset_username <name>`, or `axes_reset` for all).
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    # Django's ModelBackend, except that a login never rewrites the password hash (core/auth.py).
    "core.auth.LoginBackend",
]
AXES_FAILURE_LIMIT = env.ADMIN_LOGIN_FAILURE_LIMIT
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_COOLOFF_TIME = env.ADMIN_LOGIN_COOLOFF_MINUTES / 60  # hours
AXES_RESET_ON_SUCCESS = True
