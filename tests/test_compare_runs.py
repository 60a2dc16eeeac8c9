"""The book's run-comparison rule (dcgan_lib.compare_runs) passes chapter 08's graded check,
and refuses a side without a spread."""

import pytest

from dcgan_lib import checks, compare_runs


def test_library_rule_is_the_graded_exercises_rule():
    assert checks.check_compare_runs(compare_runs)


def test_winner_needs_the_gap_to_exceed_both_spreads():
    fid = compare_runs([10.0, 12.0, 14.0], [30.0, 35.0, 40.0], higher_is_better=False)
    assert fid["winner"] == "a" and fid["std_a"] == pytest.approx(2.0)
    assert compare_runs([0.5, 0.7], [0.55, 0.65], higher_is_better=True)["winner"] == "tie"


def test_one_score_a_side_is_refused():
    with pytest.raises(ValueError, match="at least two scores a side"):
        compare_runs([10.0], [20.0, 21.0], higher_is_better=False)
