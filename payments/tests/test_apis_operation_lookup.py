"""GET /api/operations/<operation_id>/ finds an operation by every spelling the webhook accepts."""

import uuid

import httpx
import pytest

from testsupport.api import WEBHOOK
from testsupport.deliveries import payload

pytestmark = pytest.mark.django_db(transaction=True)

OPERATION_ID = uuid.UUID("ccf0a86d-041b-4991-bcf7-e2352f7b8a4a")
HEX = OPERATION_ID.hex

# What the webhook's operation_id field accepts for one operation: Python's UUID parser takes
# any case, hyphens anywhere or none, braces and a urn:uuid: prefix.
SPELLINGS = [
    str(OPERATION_ID),
    str(OPERATION_ID).upper(),
    HEX,
    HEX.upper(),
    "{" + str(OPERATION_ID) + "}",
    f"urn:uuid:{OPERATION_ID}",
    "-".join(HEX[i : i + 4] for i in range(0, 32, 4)),
]
# And what it refuses.
NOT_OPERATION_IDS = [
    str(OPERATION_ID)[:-1],
    str(OPERATION_ID) + "0",
    str(OPERATION_ID).replace("c", "g", 1),
    "not-a-uuid",
]


async def test_every_accepted_spelling_finds_the_operation(live_server_url):
    async with httpx.AsyncClient(base_url=live_server_url, timeout=30) as client:
        credited = await client.post(WEBHOOK, json=payload(operation_id=str(OPERATION_ID).upper()))
        repeats = [
            await client.post(WEBHOOK, json=payload(operation_id=spelling))
            for spelling in SPELLINGS
        ]
        found = [await client.get(f"/api/operations/{spelling}/") for spelling in SPELLINGS]

    assert credited.json()["status"] == "credited"
    assert [r.json()["status"] for r in repeats] == ["duplicate"] * len(SPELLINGS)
    assert [(r.status_code, r.json().get("operation_id")) for r in found] == [
        (200, str(OPERATION_ID))
    ] * len(SPELLINGS)


async def test_spellings_the_webhook_refuses_are_not_found(live_server_url):
    async with httpx.AsyncClient(base_url=live_server_url, timeout=30) as client:
        refused = [
            await client.post(WEBHOOK, json=payload(operation_id=spelling))
            for spelling in NOT_OPERATION_IDS
        ]
        looked_up = [
            await client.get(f"/api/operations/{spelling}/") for spelling in NOT_OPERATION_IDS
        ]

    assert [r.status_code for r in refused] == [400] * len(NOT_OPERATION_IDS)
    assert all("operation_id" in r.json()["error"]["fields"] for r in refused)
    assert [(r.status_code, r.json()["error"]["code"]) for r in looked_up] == [
        (404, "not_found")
    ] * len(NOT_OPERATION_IDS)
