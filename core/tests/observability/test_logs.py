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


def test_plain_format_leaves_a_background_jobs_context_dicts_to_json():
    """procrastinate puts the whole job and worker as dicts in every line's extra: in a terminal
    that is ~600 characters after a sentence that already names the job."""
    record = logging.makeLogRecord(
        {
            "name": "procrastinate.worker",
            "levelname": "INFO",
            "msg": (
                "Job payments.credit[12](payment_id=5) ended with status: Success, lasted 0.021 s"
            ),
            # procrastinate's Worker._log_extra, as of 3.x
            "action": "job_success",
            "worker": {"name": "worker", "worker_id": 3, "job_id": 12, "queues": []},
            "job": {
                "id": 12,
                "queue": "default",
                "lock": None,
                "queueing_lock": None,
                "task_name": "payments.credit",
                "priority": 0,
                "task_kwargs": {"payment_id": 5},
                "scheduled_at": None,
                "attempts": 0,
                "abort_requested": False,
                "worker_id": 3,
                "call_string": "payments.credit[12](payment_id=5)",
            },
            "start_timestamp": 1764878400.1,
            "end_timestamp": 1764878400.121,
            "result": None,
        }
    )

    line = plain_formatter().format(record)

    assert line.endswith(
        "Job payments.credit[12](payment_id=5) ended with status: Success, lasted 0.021 s"
        " action=job_success start_timestamp=1764878400.1 end_timestamp=1764878400.121"
    )
    assert len(line) < 220
