"""sql_steps.steps_joined: several statements' parameters in one namespace, never silently mixed."""

import pytest

from payments.services.sql_steps import steps_joined


def test_steps_sharing_a_parameter_with_one_value_are_joined():
    shared = {"payer_inn": "6124954561", "amount": 145000}

    joined = steps_joined(("SELECT %(payer_inn)s", shared), ("SELECT %(amount)s", shared))

    assert joined.statements == ("SELECT %(payer_inn)s", "SELECT %(amount)s")
    assert joined.params == shared


def test_steps_giving_one_name_two_values_are_refused():
    with pytest.raises(ValueError, match="'amount'"):
        steps_joined(("SELECT %(amount)s", {"amount": 1}), ("SELECT %(amount)s", {"amount": 2}))
