"""Are the race requirements deterministic enough to gate CI? Decide each race requirement N times
against its reference server with the race_window fault on (it must be caught every time: fail,
or warning where the requirement is a SHOULD or RFC advice) and N times against the correct server
(it must pass every time), each run with a fresh random Hypothesis seed.

    python benchmarks/race_stability.py --runs 20
    python benchmarks/race_stability.py --runs 20 --only YX-CODE-SINGLE-USE-RACE

Prints one line per requirement with both counts; exits 1 unless every count is N of N.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from conformance.model.spec import Level, load_profiles
from conformance.servers import PROFILES, ReferenceServer
from conformance.servers.base import RACE_WINDOW
from tests.fixtures.reference import Harness

RACE_CHECKS = {"code_single_use_race", "code_single_use_across_race", "refresh_single_use_race", "revoke_race"}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--only", action="append", default=[], help="a race requirement ID (repeatable)")
    args = parser.parse_args()
    profiles = load_profiles()
    races = [
        (name, r)
        for name in PROFILES
        for r in profiles[name].requirements
        if r.check in RACE_CHECKS and (not args.only or r.id in args.only)
    ]
    steady = True
    with ReferenceServer(PROFILES) as server:
        harness = Harness(server)
        for profile, requirement in races:
            caught_as = "fail" if requirement.level == Level.MUST and not requirement.advisory else "warning"
            started = time.monotonic()
            counts = {"faulty": 0, "correct": 0}
            for faults, key, wanted in (({RACE_WINDOW}, "faulty", caught_as), (set(), "correct", "pass")):
                for _ in range(args.runs):
                    verdict = harness.run(profile, faults, only={requirement.id}, seed=random.getrandbits(32))
                    status = verdict[requirement.id].status
                    counts[key] += status == wanted
                    if status != wanted:
                        print(f"  {requirement.id} {key}: {status} {verdict[requirement.id].reason[:300]}")
            steady &= counts["faulty"] == args.runs and counts["correct"] == args.runs
            elapsed = time.monotonic() - started
            print(
                f"{requirement.id:42s} race_window: {caught_as} {counts['faulty']:2d}/{args.runs}   "
                f"correct: pass {counts['correct']:2d}/{args.runs}   ({elapsed:.1f} s)",
                flush=True,
            )
    return 0 if steady else 1


if __name__ == "__main__":
    sys.exit(main())
