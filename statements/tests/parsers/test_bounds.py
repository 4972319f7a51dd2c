"""100,000-line statements parse in bounded memory: the parsers keep the lines, not the file's
structure. Times are printed (`-s`), never asserted; docs/decisions/0142 has the numbers."""

import pytest

from testsupport.statements import (
    benchmark_specs,
    camt053_statement,
    one_c_statement,
    parse_measure,
)

LINES = 100_000
# What the parsed lines themselves take is about 45 MiB; the whole camt.053 tree of this file
# would add about 470 MiB (seen with the entries left in the tree).
GROWTH_LIMIT_MIB = 128


@pytest.mark.processes
@pytest.mark.parametrize(
    ("label", "make"),
    [
        ("1C 1.03 cp1251", lambda specs: one_c_statement(specs)),
        ("camt.053.001.08", lambda specs: camt053_statement(specs)),
    ],
)
def test_a_100k_line_statement_parses_in_bounded_memory(tmp_path, label, make):
    path = tmp_path / "statement"
    path.write_bytes(make(benchmark_specs(LINES)))
    measured = parse_measure(str(path), label)
    growth_mib = (measured.rss_peak_kib - measured.rss_before_kib) / 1024
    print(f"{label}: {measured.seconds:.1f} s, +{growth_mib:.1f} MiB while parsing")
    assert measured.lines == LINES
    assert growth_mib < GROWTH_LIMIT_MIB
