"""Generated bodies against the webhook: whatever a client sends, the answer is never a 500."""

import json
from datetime import timedelta, timezone

import pytest
from django.db import transaction
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from testsupport.api import WEBHOOK

FUZZ = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)

json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**30), max_value=10**30)
    | st.floats(allow_nan=False)
    | st.text(max_size=30)
)
json_values = st.recursive(
    json_scalars,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children)
    ),
    max_leaves=12,
)
plausible_fields = {
    "operation_id": st.uuids().map(str) | json_values,
    "amount": st.integers(min_value=-5, max_value=10**16) | json_values,
    "payer_inn": st.from_regex(r"\A[0-9]{9,13}\Z") | json_values,
    "document_number": st.text(max_size=70) | json_values,
    # Fixed offsets rather than st.timezones(), which needs a system tz database.
    "document_date": st.datetimes(
        timezones=st.builds(
            timezone, st.timedeltas(min_value=timedelta(hours=-23), max_value=timedelta(hours=23))
        )
    ).map(lambda d: d.isoformat())
    | json_values,
}
bodies = (
    st.fixed_dictionaries({}, optional=plausible_fields).map(json.dumps).map(str.encode)
    | json_values.map(json.dumps).map(str.encode)
    | st.binary(max_size=200)
)

ALLOWED = {200, 400, 409, 422}


@pytest.mark.django_db
@FUZZ
@given(body=bodies)
def test_no_generated_body_makes_the_webhook_answer_500(body):
    with transaction.atomic():
        response = Client().post(WEBHOOK, data=body, content_type="application/json")
        transaction.set_rollback(True)

    assert response.status_code in ALLOWED, (response.status_code, body)
    assert response["Content-Type"] == "application/json"
    json.loads(response.content)
