"""Log lines: JSON in production, key=value lines in development, extra fields kept."""

import logging

from core.observability.logs import plain_formatter


def test_plain_format_puts_extra_fields_after_the_message():
    record = logging.makeLogRecord(
        {"name": "payments.webhook", "levelname": "INFO", "msg": "webhook credited"}
    )
    record.request_id = "abc"
    record.amount = 100
    record.balance_after = None

    line = plain_formatter().format(record)

    assert line.endswith(" INFO payments.webhook webhook credited request_id=abc amount=100")
