"""The paper's numbers as transcribed: every printed difference equals value minus the reference row."""

import numpy as np
import pytest

from suite.paper_numbers import TABLES, read_paper_table

# Cells whose printed difference the paper itself rounds differently from its printed values.
PAPER_ROUNDING = {(2, ("MoCo-v2 IN+CC",), "Total")}  # 88.6 − 88.5 printed as +0.2


@pytest.mark.parametrize("number", TABLES)
def test_printed_differences_match_the_values(number):
    table = read_paper_table(number)
    assert table.values.shape == (len(table.labels), len(table.metrics)) == table.printed_deltas.shape
    assert len(set(table.labels)) == len(table.labels)
    reference = None if table.reference_row is None else table.values[table.reference_row]
    for row, label in enumerate(table.labels):
        for column, metric in enumerate(table.metrics):
            printed = table.printed_deltas[row, column]
            if np.isnan(printed):
                continue
            difference = round(table.values[row, column] - reference[column], 1)
            tolerance = 0.1 + 1e-9 if (number, label, metric) in PAPER_ROUNDING else 1e-9
            assert abs(difference - printed) <= tolerance, (number, label, metric)


def test_shapes_and_a_few_values_as_printed():
    shapes = {n: read_paper_table(n).values.shape for n in TABLES}
    assert shapes == {
        1: (10, 6), 2: (10, 8), 3: (9, 3), 4: (9, 2), 5: (5, 1), 6: (5, 2), 7: (9, 2), 8: (5, 2), 9: (4, 2)
    }  # fmt: skip
    table4 = read_paper_table(4)
    ours = table4.labels.index(("Ours IN+CC",))
    assert table4.metrics == ("MPJPE", "PA-MPJPE")
    assert tuple(table4.values[ours]) == (56.9, 42.5)
    table7 = read_paper_table(7)
    assert table7.label_columns == ("pre-train", "Pre-train dataset", "epoch")
    assert np.isnan(table7.values).sum() == 0 and table7.labels[0] == ("Random init.", "-", "-")
