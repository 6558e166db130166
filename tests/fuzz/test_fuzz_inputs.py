"""Every input file kind and every message conversion, fuzzed: no crash, and every rejection says why.

The targets (tests/fuzz/targets.py) mutate the repository's own map, Lanelet2, scenario, parameter,
rig and HMI variant files and valid messages; benchmarks/fuzz.py runs the same targets at scale.
"""

import os

import pytest
from hypothesis import given, settings

from tests.fuzz.targets import TARGETS, Target


def run_target(target: Target) -> dict[str, int]:
    """The target's check on generated inputs; the outcome counts (a broken property raises)."""
    ci = os.environ.get("HYPOTHESIS_PROFILE", "ci") == "ci"
    outcomes: dict[str, int] = {}

    @settings(max_examples=target.examples_in_ci if ci else settings.default.max_examples)
    @given(target.inputs)
    def run(value):
        outcome = target.check(value)
        outcomes[outcome] = outcomes.get(outcome, 0) + 1

    run()
    return outcomes


@pytest.mark.parametrize("name", [n for n in TARGETS if n.startswith("file:")])
def test_file_never_crashes_the_loader_and_every_rejection_names_file_field_and_reason(name):
    outcomes = run_target(TARGETS[name])
    assert outcomes.get("rejected", 0) > 0  # the mutations do reach the validation


@pytest.mark.parametrize("name", [n for n in TARGETS if n.startswith("message:")])
def test_message_conversion_rejects_or_gives_finite_core_values(name):
    outcomes = run_target(TARGETS[name])
    assert sum(outcomes.values()) > 0
