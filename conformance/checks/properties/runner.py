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
from conformance.model.errors import UNDECIDED, PreconditionFailed
from conformance.model.violation import Violation

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

    An example whose step did not work (PreconditionFailed: a grant refused, say) is skipped; the
    requirement is `not run` only when no example was decided. A feature not offered or a value not
    configured (NotApplicable, MissingPrerequisite) concerns every example of its kind: it ends the
    property with that verdict. Advice (a finding no document line states) is raised
    only after every example passed otherwise.

    The explicit examples cover every kind of case the property knows, so whether a fault is
    found never depends on the seed; the generated ones add variety on top.
    """
    session = ctx.session
    undecided: list[Exception] = []
    advised: list[Violation] = []
    settled: list[Exception] = []  # NotApplicable / MissingPrerequisite: the requirement is undecided
    decided = [0]

    @given(strategy)
    def prop(example: T) -> None:
        if settled or (undecided and not decided[0]):
            return  # a step the property needs does not work (or never can): no use trying more examples
        ctx.recorder.next_example()
        try:
            body(example)
        except PreconditionFailed as exc:  # this example's step did not work: skip it, keep what was decided
            undecided.append(exc)
            return
        except UNDECIDED as exc:  # not offered, or not configured: no example of its kind can ever be decided
            settled.append(exc)
            return
        except Violation as exc:
            if not exc.advice:
                raise
            advised.append(exc)  # advice never hides a failure another example may show
        decided[0] += 1

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
    if settled:
        raise settled[0]
    if undecided and not decided[0]:  # no example was decided: the requirement is not run
        raise undecided[0]
    if advised:
        raise advised[0]
