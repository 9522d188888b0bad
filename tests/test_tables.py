"""Tables 1-9 as specs: the same rows and columns as the paper's numbers, and recipes that make sense."""

import pytest

from suite.errors import SuiteError
from suite.paper_numbers import TABLES as NUMBERS
from suite.paper_numbers import read_paper_table
from suite.pretrain.catalog import METHODS
from suite.tables import RESIM, SOURCES, SUPERVISED, TABLES, table, with_extra_methods


@pytest.mark.parametrize("number", NUMBERS)
def test_spec_and_paper_numbers_have_the_same_shape(number):
    spec, paper = TABLES[number], read_paper_table(number)
    assert tuple(row.label for row in spec.rows) == paper.labels
    assert tuple(column.name for column in spec.columns) == paper.metrics


@pytest.mark.parametrize("number", NUMBERS)
def test_every_stage_names_a_known_method_and_source(number):
    known = {*METHODS.names(), SUPERVISED, RESIM}
    for row in TABLES[number].rows:
        for stage in row.stages:
            assert stage.method in known and stage.data in SOURCES, (row.label, stage)
        # a stage after the first continues from it: only the first may be IN
        assert all(stage.data != "IN" for stage in row.stages[1:]), row.label


def test_liftedcl_starts_from_mocov2_weights_and_ours_star_from_pixpro():
    ours = TABLES[4].row(("Ours IN+CC",))
    assert [(s.method, s.data) for s in ours.stages] == [("moco-v2", "IN"), ("liftedcl", "CC")]
    star = TABLES[1].row(("Ours* IN+CC",))
    assert [(s.method, s.data) for s in star.stages] == [("pixpro", "IN"), ("liftedcl", "CC")]
    # Table 8's full model is Table 4's "Ours IN+CC" recipe
    assert TABLES[8].row(("Inv. + Equiv. + Lifting",)).stages == ours.stages


def test_lower_is_better_only_for_errors():
    lower = {c.name for t in TABLES.values() for c in t.columns if c.lower_is_better}
    assert lower == {"MPJPE", "PA-MPJPE", "Reconst. error"}


def test_extra_method_rows_and_errors():
    extended = with_extra_methods(TABLES[7], ("moco-v2",))
    extra = extended.rows[-1]
    assert extra.label == ("moco-v2 IN+CC", "", "") and len(extended.rows) == len(TABLES[7].rows) + 1
    assert [(s.method, s.data) for s in extra.stages] == [("moco-v2", "IN"), ("moco-v2", "CC")]
    with pytest.raises(SuiteError, match="already has"):
        with_extra_methods(with_extra_methods(TABLES[4], ("x",)), ("x",))
    with pytest.raises(SuiteError, match="no Table 10"):
        table(10)
