"""Only the bank can credit, only token holders can read.

Signatures here are computed independently of payments.webhook_signing (hmac + base64 in the
test), so a mistake shared by the signer and the verifier cannot hide. Verification and tokens
are switched on per test with pytest-django's `settings` fixture; the rest of the suite runs in
development mode with both off.
"""

import base64
import hashlib
import hmac
import json
import logging
import time
import uuid
from types import SimpleNamespace

import pytest
from django.test import Client

from payments import webhook_signing
from payments.apps import warn_if_unprotected
from payments.errors import WebhookSignatureInvalid
from payments.models import BalanceLog, Organization, Payment
from payments.webhook_signing import webhook_sign_headers, webhook_verify
from testsupport.api import WEBHOOK
from testsupport.deliveries import payload

pytestmark = pytest.mark.django_db

BALANCE = "/api/organizations/1234567890/balance/"
TOLERANCE = 300


def make_secret(seed: str) -> str:
    return "whsec_" + base64.b64encode(hashlib.sha256(seed.encode()).digest()).decode()


OLD_SECRET = make_secret("old")
NEW_SECRET = make_secret("new")
FOREIGN_SECRET = make_secret("not the bank")
TOKENS = [
    "reader-one-0123456789abcdefghijklmnopqrstu",
    "reader-two-0123456789abcdefghijklmnopqrstu",
]


def sign(body: bytes, *, secret: str, msg_id: str, timestamp: str) -> str:
    """The Standard Webhooks v1 signature, written out from the spec."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    digest = hmac.new(key, f"{msg_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def signed(body: bytes, *, secret: str = OLD_SECRET, msg_id: str = "msg_1", timestamp=None):
    timestamp = str(int(time.time()) if timestamp is None else timestamp)
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": timestamp,
        "webhook-signature": sign(body, secret=secret, msg_id=msg_id, timestamp=timestamp),
    }


def delivery_body(**overrides) -> bytes:
    return json.dumps(payload(**overrides)).encode()


def ledger() -> tuple:
    """Everything a credit would change."""
    return (
        Payment.objects.count(),
        BalanceLog.objects.count(),
        Organization.objects.count(),
        list(Organization.objects.order_by("inn").values_list("inn", "balance")),
    )


@pytest.fixture
def client() -> Client:
    return Client()


@pytest.fixture
def signing_on(settings):
    settings.BANK_WEBHOOK_SECRETS = [OLD_SECRET, NEW_SECRET]
    settings.WEBHOOK_TOLERANCE_SECONDS = TOLERANCE


@pytest.fixture
def tokens_on(settings):
    settings.API_TOKENS = TOKENS


def post(client: Client, body: bytes, headers: dict, content_type: str = "application/json"):
    return client.post(WEBHOOK, data=body, content_type=content_type, headers=headers)


# --- The signing module ---------------------------------------------------------------------------


def test_signer_reproduces_the_standard_webhooks_published_vector():
    headers = webhook_sign_headers(
        secret="whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
        body=b'{"test": 2432232314}',
        msg_id="msg_p5jXN8AQM9LWM0D4loKWxJek",
        timestamp=1614265330,
    )

    assert headers == {
        "webhook-id": "msg_p5jXN8AQM9LWM0D4loKWxJek",
        "webhook-timestamp": "1614265330",
        "webhook-signature": "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
    }


def test_signer_matches_an_independent_hmac_over_raw_bytes():
    body = b'{"amount": 1, "note": "\xd0\xbf\xd1\x80\xd0\xb8\xd0\xb2\xd0\xb5\xd1\x82"}'

    headers = webhook_sign_headers(secret=NEW_SECRET, body=body, msg_id="msg_x", timestamp=42)

    assert headers["webhook-signature"] == sign(
        body, secret=NEW_SECRET, msg_id="msg_x", timestamp="42"
    )


@pytest.mark.parametrize(
    "secret",
    ["MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "whsec_not base64!", "whsec_" + "QUJD" * 5],
)
def test_signer_refuses_a_malformed_or_short_secret(secret):
    with pytest.raises(ValueError, match="webhook secret"):
        webhook_sign_headers(secret=secret, body=b"{}", msg_id="m", timestamp=1)


@pytest.mark.parametrize(
    ("age", "accepted"),
    [(-TOLERANCE - 1, False), (-TOLERANCE, True), (TOLERANCE, True), (TOLERANCE + 1, False)],
)
def test_verifier_tolerance_is_inclusive_both_ways(age, accepted):
    now = 1_700_000_000
    headers = signed(b"{}", timestamp=now - age)

    def verify():
        return webhook_verify(
            secrets=[OLD_SECRET], body=b"{}", headers=headers, tolerance_seconds=TOLERANCE, now=now
        )

    if accepted:
        assert verify() == "msg_1"
    else:
        with pytest.raises(WebhookSignatureInvalid) as caught:
            verify()
        assert caught.value.details == {"reason": "timestamp_out_of_tolerance"}


# --- The webhook endpoint with verification on ----------------------------------------------------


@pytest.mark.parametrize("secret", [OLD_SECRET, NEW_SECRET], ids=["old", "new"])
def test_delivery_signed_with_either_rotated_secret_is_credited(client, signing_on, secret):
    body = delivery_body()

    response = post(client, body, signed(body, secret=secret))

    assert response.status_code == 200
    assert response.json()["status"] == "credited"
    assert Organization.objects.get(inn="1234567890").balance == 145000


def test_one_good_signature_among_several_is_enough(client, signing_on):
    body = delivery_body()
    headers = signed(body, secret=NEW_SECRET)
    foreign = sign(
        body, secret=FOREIGN_SECRET, msg_id="msg_1", timestamp=headers["webhook-timestamp"]
    )
    headers["webhook-signature"] = f"v1a,c2lnbg== {foreign} {headers['webhook-signature']}"

    response = post(client, body, headers)

    assert response.status_code == 200


def _drop(name):
    return lambda body, headers: (body, {k: v for k, v in headers.items() if k != name})


def _set(name, value):
    return lambda body, headers: (body, {**headers, name: value})


def _resigned(*, age: int = 0, secret: str = OLD_SECRET):
    """Signed correctly, `age` seconds ago (negative: in the future), at the time of the test."""
    return lambda body, headers: (
        body,
        signed(body, secret=secret, timestamp=int(time.time()) - age),
    )


def _tampered_body(body, headers):
    return body.replace(b'"amount": 145000', b'"amount": 945000'), headers


def _shifted_timestamp(body, headers):
    return body, {**headers, "webhook-timestamp": str(int(headers["webhook-timestamp"]) - 1)}


def _unknown_version_only(body, headers):
    digest = headers["webhook-signature"].removeprefix("v1,")
    return body, {**headers, "webhook-signature": f"v2,{digest} v1a,{digest}"}


REJECTIONS = {
    "no headers": (lambda body, headers: (body, {}), "missing_headers"),
    "no webhook-id": (_drop("webhook-id"), "missing_headers"),
    "no webhook-timestamp": (_drop("webhook-timestamp"), "missing_headers"),
    "no webhook-signature": (_drop("webhook-signature"), "missing_headers"),
    "empty webhook-signature": (_set("webhook-signature", ""), "missing_headers"),
    "timestamp not a number": (_set("webhook-timestamp", "yesterday"), "bad_timestamp"),
    "timestamp with fraction": (_set("webhook-timestamp", "1714251600.5"), "bad_timestamp"),
    "negative timestamp": (_set("webhook-timestamp", "-1714251600"), "bad_timestamp"),
    "timestamp of 16 digits": (_set("webhook-timestamp", "1714251600000000"), "bad_timestamp"),
    "non-ascii digits": (_set("webhook-timestamp", "١٧١٤٢٥١٦٠٠"), "bad_timestamp"),
    "stale": (_resigned(age=TOLERANCE + 60), "timestamp_out_of_tolerance"),
    "future": (_resigned(age=-TOLERANCE - 60), "timestamp_out_of_tolerance"),
    "wrong key": (_resigned(secret=FOREIGN_SECRET), "no_matching_signature"),
    "tampered body": (_tampered_body, "no_matching_signature"),
    "tampered id": (_set("webhook-id", "msg_2"), "no_matching_signature"),
    "tampered timestamp": (_shifted_timestamp, "no_matching_signature"),
    "digest of wrong length": (_set("webhook-signature", "v1,c2lnbg=="), "no_matching_signature"),
    "signature without version": (_set("webhook-signature", "c2lnbg=="), "malformed_signature"),
    "signature without digest": (_set("webhook-signature", "v1,"), "malformed_signature"),
    "digest not base64": (_set("webhook-signature", "v1,not base64!"), "malformed_signature"),
    "no v1 entry": (_unknown_version_only, "malformed_signature"),
}


@pytest.mark.parametrize(("tamper", "reason"), REJECTIONS.values(), ids=REJECTIONS.keys())
def test_unverified_delivery_is_401_with_reason_and_credits_nothing(
    client, signing_on, tamper, reason
):
    Organization.objects.create(inn="1234567890")
    before = ledger()
    body = delivery_body()
    body, headers = tamper(body, signed(body))

    response = post(client, body, headers)

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "invalid_signature"
    assert response.json()["error"]["reason"] == reason
    assert response["WWW-Authenticate"] == 'StandardWebhooks realm="bank-webhook"'
    assert ledger() == before


@pytest.mark.parametrize(
    ("age", "status"),
    [(-TOLERANCE - 1, 401), (-TOLERANCE, 200), (TOLERANCE, 200), (TOLERANCE + 1, 401)],
)
def test_tolerance_boundary_over_http(client, signing_on, monkeypatch, age, status):
    """Exactly TOLERANCE seconds either way is accepted, one more is refused (clock pinned)."""
    now = int(time.time())
    monkeypatch.setattr(webhook_signing, "time", SimpleNamespace(time=lambda: now))
    body = delivery_body()

    response = post(client, body, signed(body, timestamp=now - age))

    assert response.status_code == status
    assert Payment.objects.count() == (1 if status == 200 else 0)


def test_replayed_delivery_inside_the_window_is_only_a_duplicate(client, signing_on):
    body = delivery_body()
    headers = signed(body)

    first = post(client, body, headers)
    replay = post(client, body, headers)

    assert [first.json()["status"], replay.json()["status"]] == ["credited", "duplicate"]
    assert Organization.objects.get(inn="1234567890").balance == 145000


@pytest.mark.parametrize("body", [b"{not json", b"\xff\xfe", b"[" * 5000, b""])
def test_malformed_body_without_signature_is_401_not_parsed(client, signing_on, body):
    response = post(client, body, {})

    assert response.status_code == 401
    assert response.json()["error"]["reason"] == "missing_headers"


def test_malformed_body_with_valid_signature_reaches_the_parser(client, signing_on):
    body = b"{not json"

    response = post(client, body, signed(body))

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "malformed_json"


def test_huge_body_without_signature_is_413(client, signing_on):
    response = post(client, b"{" + b" " * (64 * 1024) + b"}", {})

    assert response.status_code == 413
    assert response.json()["error"]["code"] == "payload_too_large"


def test_unsigned_non_json_is_401_and_signed_non_json_is_415(client, signing_on):
    body = b"operation_id=1"

    unsigned = post(client, body, {}, content_type="text/plain")
    signed_plain = post(client, body, signed(body), content_type="text/plain")

    assert (unsigned.status_code, signed_plain.status_code) == (401, 415)
    assert signed_plain.json()["error"]["code"] == "unsupported_media_type"


def test_rejection_is_logged_without_secret_or_signature(client, signing_on, caplog):
    body = delivery_body()
    headers = signed(body, secret=FOREIGN_SECRET, msg_id="msg_\nforged")

    with caplog.at_level(logging.WARNING, logger="payments.auth"):
        post(client, body, headers)

    [record] = [r for r in caplog.records if r.name == "payments.auth"]
    assert record.levelno == logging.WARNING
    message = record.getMessage()
    assert "reason=no_matching_signature" in message
    assert "'msg_\\nforged'" in message  # repr: a forged id cannot inject log lines
    digest = headers["webhook-signature"].removeprefix("v1,")
    for secret in (OLD_SECRET, NEW_SECRET, FOREIGN_SECRET):
        assert secret.removeprefix("whsec_") not in caplog.text
    assert digest not in caplog.text


def test_unsigned_delivery_is_accepted_while_verification_is_off(client):
    body = delivery_body()

    response = post(client, body, {})

    assert response.status_code == 200


# --- Read tokens ----------------------------------------------------------------------------------


@pytest.fixture
def organization(ledger_unguarded):
    return Organization.objects.create(inn="1234567890", balance=145000)


@pytest.mark.parametrize("token", TOKENS, ids=["first", "second"])
def test_balance_with_a_configured_token_is_served(client, tokens_on, organization, token):
    response = client.get(BALANCE, headers={"Authorization": f"Bearer {token}"})

    assert response.status_code == 200
    assert response.json() == {"inn": "1234567890", "balance": 145000}


@pytest.mark.parametrize(
    ("authorization", "reason", "challenge"),
    [
        (None, "missing_token", 'Bearer realm="payments"'),
        ("Bearer", "missing_token", 'Bearer realm="payments"'),
        (f"Basic {TOKENS[0]}", "missing_token", 'Bearer realm="payments"'),
        (f"{TOKENS[0]}", "missing_token", 'Bearer realm="payments"'),
        (
            "Bearer not-a-configured-token",
            "unknown_token",
            'Bearer realm="payments", error="invalid_token"',
        ),
        (
            f"Bearer {TOKENS[0][:-1]}",
            "unknown_token",
            'Bearer realm="payments", error="invalid_token"',
        ),
        (f"Bearer {TOKENS[0]}x", "unknown_token", 'Bearer realm="payments", error="invalid_token"'),
    ],
    ids=["none", "empty bearer", "basic", "no scheme", "unknown", "prefix", "extended"],
)
def test_balance_without_a_valid_token_is_401(
    client, tokens_on, organization, authorization, reason, challenge
):
    headers = {"Authorization": authorization} if authorization else {}

    response = client.get(BALANCE, headers=headers)

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "invalid_token"
    assert response.json()["error"]["reason"] == reason
    assert response["WWW-Authenticate"] == challenge
    assert "145000" not in response.content.decode()


def test_unknown_organization_without_token_is_401_not_404(client, tokens_on):
    """Without a token a client cannot even learn which INNs exist."""
    response = client.get("/api/organizations/5555555555/balance/")

    assert response.status_code == 401


def test_operation_status_needs_a_token_too(client, tokens_on):
    operation = f"/api/operations/{uuid.uuid4()}/"

    refused = client.get(operation)
    allowed = client.get(operation, headers={"Authorization": f"Bearer {TOKENS[1]}"})

    assert refused.status_code == 401
    assert refused.json()["error"]["code"] == "invalid_token"
    assert allowed.status_code == 404  # admitted; the operation just does not exist


def test_webhook_needs_no_read_token(client, tokens_on):
    response = post(client, delivery_body(), {})

    assert response.status_code == 200


# --- Security headers and development warnings ----------------------------------------------------


def test_responses_carry_security_headers(client, organization):
    response = client.get(BALANCE)

    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["X-Frame-Options"] == "DENY"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"


def test_hsts_is_sent_over_https_when_configured(client, settings, organization):
    settings.SECURE_HSTS_SECONDS = 31536000
    settings.SECURE_HSTS_INCLUDE_SUBDOMAINS = True

    response = client.get(BALANCE, secure=True)

    assert response["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"


@pytest.mark.parametrize(
    ("proxy_header", "secure"), [(None, False), (("HTTP_X_FORWARDED_PROTO", "https"), True)]
)
def test_forwarded_proto_is_trusted_only_when_opted_in(
    client, settings, organization, proxy_header, secure
):
    settings.SECURE_HSTS_SECONDS = 60
    settings.SECURE_PROXY_SSL_HEADER = proxy_header

    response = client.get(BALANCE, headers={"X-Forwarded-Proto": "https"})

    assert response.has_header("Strict-Transport-Security") is secure


def test_open_endpoints_are_announced_at_startup(settings, caplog):
    settings.BANK_WEBHOOK_SECRETS = []
    settings.API_TOKENS = []

    with caplog.at_level(logging.WARNING, logger="payments.apps"):
        warn_if_unprotected()

    messages = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(messages) == 2
    assert "webhook signatures are NOT verified" in messages[0]
    assert "readable WITHOUT a token" in messages[1]


def test_nothing_is_announced_when_both_are_configured(settings, caplog):
    settings.BANK_WEBHOOK_SECRETS = [OLD_SECRET]
    settings.API_TOKENS = TOKENS

    with caplog.at_level(logging.WARNING, logger="payments.apps"):
        warn_if_unprotected()

    assert caplog.records == []
