import pathlib

import pytest

FILES = pathlib.Path(__file__).resolve().parent.parent / "files"


@pytest.fixture
def statement_file():
    """The bytes of a hand-written file in statements/tests/files/."""
    return lambda name: (FILES / name).read_bytes()
