"""What became of a webhook delivery, in one vocabulary for the service, the API's `status`,
the metrics' `outcome` label, the log line and the docs (a test holds docs/api.md and
docs/operations.md to it).

No Django here: the load tester reads it too.
"""

import enum


class PaymentOutcome(str, enum.Enum):
    """What the service did with a delivery: the webhook's 200 answer (`status`)."""

    CREDITED = "credited"  # new operation, credited in the request (sync mode)
    ACCEPTED = "accepted"  # new operation, recorded; a worker credits it (background mode)
    DUPLICATE = "duplicate"  # already recorded with the same content: nothing changed


class DeliveryFailure(str, enum.Enum):
    """Why a delivery was not processed, as the metrics and the log line name it."""

    CONFLICT = "conflict"  # 409: the operation is recorded with other content
    INVALID = "invalid"  # 400, 405, 406, 415: the request itself is wrong
    UNAUTHORIZED = "unauthorized"  # 401, 403: no valid signature
    TOO_LARGE = "too_large"  # 413
    UNAVAILABLE = "unavailable"  # 503: the database could not take it; the bank retries
    OVERFLOW = "overflow"  # 422: the balance would overflow
    DISCONNECTED = "disconnected"  # the client went away before its answer: not our failure
    ERROR = "error"  # 5xx, or no answer although the client stayed


# Every value of the metrics' `outcome` label.
WEBHOOK_OUTCOMES = tuple(outcome.value for outcome in (*PaymentOutcome, *DeliveryFailure))
