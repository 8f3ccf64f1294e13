"""`oauth2-conformance`: probe a target and write its config, run the suite, serve a reference server,
list profiles and checks, render and diff reports."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from conformance.model.errors import SuiteError
from conformance.model.sanitize import one_line


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="oauth2-conformance", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="run the suite (pytest underneath); extra arguments go to pytest")
    run.add_argument("pytest_args", nargs=argparse.REMAINDER, help="e.g. --target=URL --profile=yixin")

    serve = sub.add_parser("serve", help="run reference servers on 127.0.0.1 (a mock for client developers)")
    serve.add_argument("--profile", action="append", help="profile to serve (repeatable; default: all)")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--fault", action="append", default=[], metavar="PROFILE:FAULT", help="switch a fault on")
    serve.add_argument(
        "--latency-ms", type=float, default=0.0, help="delay every answer (a slow or distant server), default 0"
    )

    profiles = sub.add_parser("profiles", help="list the profiles and their requirement counts")
    trace = sub.add_parser("trace", help="the traceability matrix: each normative document line and its requirements")
    trace.add_argument("profile")
    checks = sub.add_parser("checks", help="every check a spec's requirement may name: what it does, options, traits")
    checks.add_argument("--markdown", action="store_true", help="as the table in specs/README.md")
    checks.add_argument("--write", metavar="FILE", help="replace the generated section of FILE (specs/README.md)")

    init = sub.add_parser("init", help="probe a target (anonymously, bounded) and write a target config for it")
    init.add_argument("url", help="the target's base URL (with its path prefix, if any)")
    init.add_argument("--profile", help="the profile the target implements (default: the best match of its paths)")
    init.add_argument("--output", "-o", help="the config file to write (default: PROFILE.yaml)")
    init.add_argument("--client-id", help="a registered client_id: the authorization request then uses it")
    init.add_argument("--redirect-uri", help="a redirect URI registered for that client")
    init.add_argument("--insecure", action="store_true", help="do not verify the target's TLS certificate")
    init.add_argument("--ca-bundle", help="PEM file of CA certificates to trust")
    init.add_argument("--force", action="store_true", help="overwrite the output file")
    for command in (profiles, trace, init):
        command.add_argument(
            "--spec", action="append", default=[], metavar="FILE", help="a spec added beside the built-in ones"
        )

    report = sub.add_parser(
        "report",
        help="re-render summary.html of a run directory; `report merge DIR... --output DIR` joins --shard runs",
    )
    report.add_argument("run_dir", nargs="+", help="a run directory, or: merge DIR DIR...")
    report.add_argument("--output", help="with merge: the directory of the merged report (must be new)")

    diff = sub.add_parser("diff", help="requirements that regressed or improved between two runs")
    diff.add_argument("run_a")
    diff.add_argument("run_b")

    argv = list(sys.argv[1:] if argv is None else argv)
    # Everything after `run` belongs to pytest, flags included.
    run_args = argparse.Namespace(command="run", pytest_args=argv[1:])
    args = run_args if argv[:1] == ["run"] else parser.parse_args(argv)
    try:
        return int(_dispatch(args))
    except SuiteError as exc:
        print(f"oauth2-conformance: {one_line(str(exc))}", file=sys.stderr)  # it may quote the target
        return 4
    except KeyboardInterrupt:
        return 130


def _dispatch(args: argparse.Namespace) -> int:
    """Each command imports what it needs here, and only that: `run` must import pytest before
    anything that loads a pytest plugin's package (starlette loads anyio, whose plugin pytest
    then cannot rewrite), and `profiles` should not pay for the report writers. This module is
    the one place the import contract lets the package import inside functions."""
    if args.command == "run":
        import pytest

        extra = [a for a in args.pytest_args if a != "--"]
        quiet_or_verbose = any(a.startswith(("-q", "-v", "--quiet", "--verbose")) for a in extra)
        progress = [] if quiet_or_verbose else ["-v"]  # one line per requirement, with its verdict
        # This process imported the package before pytest could mark it for assertion rewriting (the
        # console script lives in it); the suite needs no rewriting, and a project whose warnings are
        # errors (this one's pyproject.toml) must not fail on it.
        quiet_rewrite = ["-W", "ignore::pytest.PytestAssertRewriteWarning"]
        return int(
            pytest.main(["--conformance", "--certify", "-p", "no:cacheprovider", *quiet_rewrite, *progress, *extra])
        )
    if args.command == "serve":
        return _serve(args.profile, args.port, args.fault, args.latency_ms / 1000)
    if args.command == "profiles":
        return _profiles(args.spec)
    if args.command == "checks":
        from pathlib import Path

        from conformance.tools.catalog import render_markdown, render_text, write

        if args.write:
            write(Path(args.write))
            print(f"wrote the checks section of {args.write}")
            return 0
        print(render_markdown() if args.markdown else render_text(), end="")
        return 0
    if args.command == "trace":
        from conformance.model.spec import load_profiles
        from conformance.report.trace import render

        known = load_profiles(args.spec)
        if args.profile not in known:
            raise SuiteError(f"unknown profile {args.profile!r}; known profiles: {', '.join(known)}")
        print(render(known[args.profile]))
        return 0
    if args.command == "init":
        from conformance.tools.init import main as init_main

        given = {k: v for k, v in (("client_id", args.client_id), ("redirect_uri", args.redirect_uri)) if v}
        tls = {"verify": False if args.insecure else (args.ca_bundle or True)}
        return init_main(args.url, args.profile, args.output, given, tls, force=args.force, specs=args.spec)
    if args.command == "report":
        from conformance.report import render_html

        if args.run_dir[0] == "merge":
            from conformance.report.merge import merge

            if not args.output:
                raise SuiteError("report merge needs --output DIR (a new directory for the merged report)")
            merged, passed = merge(args.run_dir[1:], args.output)
            print(f"merged {len(args.run_dir) - 1} shards into {merged}: CI gate {'passed' if passed else 'failed'}")
            return 0 if passed else 1
        if len(args.run_dir) != 1:
            raise SuiteError("report takes one run directory (or: report merge DIR... --output DIR)")
        print(f"wrote {render_html(args.run_dir[0])}")
        return 0
    if args.command == "diff":
        from conformance.report import diff_runs

        return diff_runs(args.run_a, args.run_b, sys.stdout)
    raise AssertionError(args.command)


def _serve(profiles: list[str] | None, port: int, faults: list[str], latency: float = 0.0) -> int:
    from conformance.tools.serve import main as serve_main

    return serve_main(profiles, port, faults, latency)


def _profiles(specs: Sequence[str] = ()) -> int:
    from conformance.model.spec import load_profiles

    print(f"{'profile':<12} {'document':<28} {'MUST':>5} {'SHOULD':>7} {'MAY':>4} {'advisory':>9}")
    for profile in load_profiles(specs).values():
        levels = {level: 0 for level in ("MUST", "SHOULD", "MAY")}
        advisory = 0
        for r in profile.requirements:
            levels[r.level] += 1
            advisory += r.advisory
        print(
            f"{profile.name:<12} {profile.document:<28} {levels['MUST']:>5} {levels['SHOULD']:>7} "
            f"{levels['MAY']:>4} {advisory:>9}"
        )
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
