"""Statement files of the surfaces' tests: made by testsupport.statements, or kept in files/."""

import datetime
import pathlib
import uuid

from testsupport.statements import LineSpec, camt053_statement, one_c_statement

FILES = pathlib.Path(__file__).parent / "files"
INN = "7707083893"
# The task's example: 21:00Z on 27.04 is 28.04 in Moscow, the bank's zone (the files' day).
TASK_DATE = datetime.datetime(2024, 4, 27, 21, 0, tzinfo=datetime.UTC)


def incoming(amount: int = 145000, number: str = "PAY-328", **fields) -> LineSpec:
    return LineSpec(amount=amount, payer_inn=INN, document_number=number, **fields)


def one_c(*lines: LineSpec, encoding: str = "Windows", **options) -> bytes:
    return one_c_statement(lines, encoding=encoding, **options)


def camt(*lines: LineSpec, version: str = "08", **options) -> bytes:
    return camt053_statement(lines, version=version, **options)


# Each format a statement comes in, as (name, build(lines) -> bytes, carries operation ids).
FORMATS = {
    "1c-windows": lambda *lines, **o: one_c(*lines, encoding="Windows", **o),
    "1c-dos": lambda *lines, **o: one_c(*lines, encoding="DOS", version="1.02", **o),
    "camt053.001.02": lambda *lines, **o: camt(*lines, version="02", **o),
    "camt053.001.08": lambda *lines, **o: camt(*lines, version="08", **o),
}


def operation_id() -> uuid.UUID:
    return uuid.uuid4()
