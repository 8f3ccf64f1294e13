"""Running a Hypothesis property against a live target.

Each example gets a fresh evidence log, so the violation Hypothesis finally reports (after
shrinking) carries exactly the exchanges of the minimal failing example. The seed is the run's
seed, so `--hypothesis-seed` replays a run.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TypeVar

from hypothesis import HealthCheck, Phase, example, given, seed, settings
from hypothesis import strategies as st

from conformance.checks.base import CheckContext
from conformance.model.errors import UNDECIDED

T = TypeVar("T")

EXAMPLES = {"quick": 8, "thorough": 100}


def run_property(
    ctx: CheckContext,
    strategy: st.SearchStrategy[T],
    body: Callable[[T], None],
    explicit: Iterable[T] = (),
) -> None:
    """Run `body` on the `explicit` examples, then on generated ones; a Violation is shrunk to a
    minimal example and re-raised.

    The explicit examples cover every kind of case the property knows, so whether a fault is
    found never depends on the seed; the generated ones add variety on top.
    """
    session = ctx.session
    undecided: list[Exception] = []

    @given(strategy)
    def prop(example: T) -> None:
        if undecided:
            return  # a step the property needs does not work: no use trying more examples
        ctx.recorder.next_example()
        try:
            body(example)
        except UNDECIDED as exc:  # not a failure to shrink: the requirement is undecided (or not applicable)
            undecided.append(exc)

    for case in reversed(list(explicit)):
        prop = example(case)(prop)
    prop = settings(
        max_examples=session.examples,
        deadline=None,
        database=None,
        print_blob=True,
        suppress_health_check=list(HealthCheck),
        phases=(Phase.explicit, Phase.generate, Phase.shrink),
    )(prop)
    prop = seed(session.seed)(prop)
    prop()
    if undecided:
        raise undecided[0]
