"""Are verdicts independent of the Hypothesis seed? Decide every requirement against every
reference server and every mutant, N times with random seeds, and compare.

    python benchmarks/verdict_stability.py --rounds 20

Prints one line per round and the number of (server, requirement) verdicts that ever differed.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from conformance.servers import PROFILES, ReferenceServer
from tests.fixtures.reference import Harness


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args()
    first: dict[tuple[str, str, str], str] | None = None
    differing: set[tuple[str, str, str]] = set()
    with ReferenceServer(PROFILES) as server:
        harness = Harness(server)
        targets = [(p, "") for p in PROFILES] + [
            (p, fault) for p in PROFILES for fault in sorted(server.states[p].known_faults)
        ]
        for round_no in range(1, args.rounds + 1):
            seed = random.getrandbits(32)
            started = time.monotonic()
            verdicts: dict[tuple[str, str, str], str] = {}
            for profile, fault in targets:
                faults = {fault} if fault else set()
                for rid, verdict in harness.run(profile, faults, seed=seed).items():
                    verdicts[(profile, fault, rid)] = verdict.status
            if first is None:
                first = verdicts
            differing |= {key for key, status in verdicts.items() if first.get(key) != status}
            failing = sum(1 for status in verdicts.values() if status == "fail")
            print(
                f"round {round_no:2d}: seed {seed:10d}, {len(targets)} servers, {len(verdicts)} verdicts, "
                f"{failing} fail, {time.monotonic() - started:.1f} s, differing so far: {len(differing)}",
                flush=True,
            )
    for key in sorted(differing):
        print("differs:", key)
    return 1 if differing else 0


if __name__ == "__main__":
    sys.exit(main())
