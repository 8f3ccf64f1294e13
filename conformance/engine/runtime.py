"""One run of the suite: which profiles, against what, and the live sessions that talk to it.

With no --target the run certifies the embedded reference servers, started on first use. With a
target and no profile (neither --profile nor the config's `profile`), the profile is detected as
`init` detects it (conformance/target/detect.py): bounded, anonymous, one line when it cannot choose.
"""

from __future__ import annotations

import dataclasses
import random
import statistics
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from conformance import servers
from conformance.checks.properties.runner import EXAMPLES
from conformance.engine.plan import Plan, plan
from conformance.engine.survey import render, survey
from conformance.engine.verdicts import Status, Verdict, absent
from conformance.model import config as config_module
from conformance.model.config import TargetConfig
from conformance.model.errors import ConfigError, SpecError, TargetError, UnusableAnswer
from conformance.model.exchange import curl_script, render_all
from conformance.model.masking import Masker
from conformance.model.spec import Profile, load_profiles
from conformance.servers import ReferenceServer, reference_config
from conformance.target.client import Breaker, Budget, TargetClient
from conformance.target.detect import Detection, detect
from conformance.target.session import ProfileSession, TargetClock
from conformance.target.validation import ResponseValidator


def resolve_examples(value: int | str | None) -> int:
    """`quick` (the default), `thorough` (for certification) or a positive number."""
    if value is None:
        return EXAMPLES["quick"]
    if isinstance(value, str) and value in EXAMPLES:
        return EXAMPLES[value]
    try:
        count = int(value)
    except (TypeError, ValueError):
        count = 0
    if count < 1:
        raise ConfigError(f"examples must be quick, thorough or a positive number, got {value!r}")
    return count


@dataclass
class Run:
    """What the user asked for, validated completely before anything runs.

    Profiles, their specs (and every requirement's check options), the target config and the
    reference servers' faults: every problem here is a one-line ConfigError (a usage error, exit 4).
    """

    profiles: list[Profile]
    target: str | None
    config: TargetConfig | None
    strict: bool = False
    faults: dict[str, set[str]] = field(default_factory=dict)
    examples: int = EXAMPLES["quick"]
    seed: int = 0
    certify: bool = False  # a MUST requirement left undecided fails the run (the vendor's mode)
    # One of several targets of a run (conformance/fleet.py): the stem of its config file. None for
    # the only target (or the embedded servers): node IDs and the report layout stay unprefixed.
    name: str | None = None
    plan: Plan = field(default_factory=lambda: Plan(()))  # every requirement bound to its check
    # How the profile was chosen when neither --profile nor the config named one (the plugin says so).
    detection: Detection | None = None
    specs: tuple[str, ...] = ()  # spec files added beside the built-in ones (--spec, conformance_specs)
    # The config the run derived for a target given by URL alone (no config file): what it found, and
    # the variables it read from the environment (conformance/engine/survey.py).
    derived: config_module.Derived | None = None

    @property
    def prefix(self) -> str:
        """What this target's node IDs start with: `NAME/` among several targets, nothing otherwise."""
        return f"{self.name}/" if self.name else ""

    @property
    def profiles_by_name(self) -> dict[str, Profile]:
        return {p.name: p for p in self.profiles}

    @classmethod
    def from_options(
        cls,
        target: str | None,
        profiles: list[str] | None,
        config_path: str | None,
        strict: bool = False,
        examples: str | None = None,
        seed: int | None = None,
        faults: Sequence[str] = (),
        certify: bool = False,
        detected: Mapping[str, str] | None = None,
        specs: Sequence[str] = (),
        surveyed: Mapping[str, str] | None = None,
    ) -> Run:
        """`detected`: target URL -> profile, as a pytest-xdist controller detected it (workers do
        not probe again); `surveyed`: target URL -> the config it derived for a target given by URL
        alone. `specs`: spec files added beside the built-in ones."""
        try:
            known = load_profiles(specs)
            bound = plan(known.values())
        except SpecError as exc:
            raise ConfigError(str(exc)) from None
        config = config_module.load(config_path) if config_path else None
        target = target or (config.target if config else None)
        if target is not None:
            parts = urlsplit(target)
            if parts.scheme not in {"http", "https"} or not parts.netloc:
                raise ConfigError(f"--target {target!r} is not an http(s) URL (e.g. --target=https://auth.example.com)")
        names = [n for item in (profiles or []) for n in item.split(",") if n]
        if config and config.profile:
            if config.profile not in known:
                raise ConfigError(f"config profile {config.profile!r} is unknown; known profiles: {', '.join(known)}")
            if names and names != [config.profile]:
                raise ConfigError(f"--profile {','.join(names)} contradicts profile {config.profile!r} in the config")
            names = [config.profile]
        detection = derived = None
        if target is not None and config is None and len(names) <= 1:
            # A target given by URL alone: the config init would write for it, values from the environment.
            if surveyed and target in surveyed:  # a pytest-xdist worker: the controller surveyed it
                derived = config_module.derive(surveyed[target])
            else:
                try:
                    found = survey(target, names[0] if names else None, specs=specs, verify=True)
                except TargetError:
                    if not names:  # nothing to run without a profile: the one line says why
                        raise
                    found = None  # unreachable with its profile named: the run reports it, as with a config
                if found is not None:
                    derived = config_module.derive(render(found))
                    detection = None if names else found.detection
            if derived is not None:
                config = derived.config
                names = [str(derived.config.profile)]
        elif target is not None and not names:
            # No profile named anywhere: the one whose documented operations answer (as `init` picks).
            if detected and target in detected:
                names = [detected[target]]
            else:
                detection = detect(target, known.values(), verify=_verify(config))
                names = [detection.chosen().name]
        if not names or names == ["all"]:
            # The embedded run certifies the reference servers: a spec added with --spec has none.
            names = [n for n in known if target is not None or n in servers.PROFILES]
        unknown = [n for n in names if n not in known]
        if unknown:
            raise ConfigError(f"unknown profile {unknown[0]!r}; known profiles: {', '.join(known)} (or all)")
        unserved = [n for n in names if target is None and n not in servers.PROFILES]
        if unserved:
            raise ConfigError(
                f"profile {unserved[0]!r} has no embedded reference server; give its server with --target=URL"
            )
        if target is not None and config is None and len(names) > 1:
            raise ConfigError("--target needs one profile: add --profile=NAME (known: " + ", ".join(known) + ")")
        for name in names:  # a broken spec is a one-line usage error, before anything runs
            ResponseValidator(known[name], "https://validate.invalid")
        count = resolve_examples(examples if examples is not None else (config.examples if config else None))
        run_seed = seed if seed is not None else random.getrandbits(32)
        switched = _faults(faults, names, embedded=target is None)
        return cls(
            [known[n] for n in names],
            target,
            config,
            strict,
            switched,
            count,
            run_seed,
            certify=certify,
            plan=bound,
            detection=detection,
            specs=tuple(str(s) for s in specs),
            derived=derived,
        )


def _verify(config: TargetConfig | None) -> bool | str:
    """TLS verification for the detection probe, as the run will verify."""
    if config is not None and config.insecure:
        return False
    return config.ca_bundle if config is not None and config.ca_bundle else True


def _faults(specs: Sequence[str], profiles: Sequence[str], *, embedded: bool) -> dict[str, set[str]]:
    """`--reference-fault PROFILE:FAULT` values, checked against what each reference server declares."""
    faults: dict[str, set[str]] = {}
    for spec in specs:
        if not embedded:
            raise ConfigError(f"--reference-fault {spec}: faults switch the embedded reference servers; drop --target")
        profile, _, fault = spec.partition(":")
        if not fault or profile not in profiles:
            raise ConfigError(f"--reference-fault {spec!r}: expected PROFILE:FAULT with a selected profile")
        known = servers.load(profile).FAULTS
        if fault not in known:
            raise ConfigError(
                f"--reference-fault {spec!r}: {profile} has no fault {fault!r}; "
                f"`oauth2-conformance profiles` lists them (e.g. {', '.join(sorted(known)[:3])})"
            )
        faults.setdefault(profile, set()).add(fault)
    return faults


@dataclass
class Runtime:
    """The live side of a plan: reference server, HTTP clients, masker, validators."""

    run: Run
    masker: Masker = field(default_factory=Masker)
    server: ReferenceServer | None = None
    sessions: dict[str, tuple[ProfileSession, ResponseValidator]] = field(default_factory=dict)
    verdicts: dict[str, Verdict] = field(default_factory=dict)
    budget: Budget | None = None
    attach: Callable[[Any, str, str], None] = lambda item, evidence, script: None
    share: int = 1  # pytest-xdist workers of the run: each gets 1/share of the budget and the rate
    # The target's --concurrency: how many requests one check may have in flight at once when it
    # sends independent ones together (ProfileSession.call_together); 1 keeps every check sequential.
    in_flight: int = 1
    # Sessions of the threads that decide requirements concurrently (engine/scheduler.py), by
    # (thread, profile); `sessions` holds the main thread's, the ones the report reads.
    threads: dict[tuple[int, str], tuple[ProfileSession, ResponseValidator]] = field(default_factory=dict)
    _breakers: dict[str, Breaker] = field(default_factory=dict)  # by profile: one per target, all threads
    _clocks: dict[str, TargetClock] = field(default_factory=dict)  # by base URL: one per target's clock
    _lock: Any = field(default_factory=threading.RLock, repr=False)

    @property
    def embedded(self) -> bool:
        return self.run.target is None

    def session(self, profile: Profile) -> tuple[ProfileSession, ResponseValidator]:
        """The calling thread's session of `profile` (a session keeps per-request state, so each
        thread has its own); the budget, the breaker, the clock offset, the masker and the
        validator are shared by all of them."""
        with self._lock:
            if profile.name not in self.sessions:
                base_url, config = self._target_for(profile)
                if self.budget is None:  # one budget for the whole run, from the first config
                    self.budget = self._budget(config)
                validator = ResponseValidator(profile, base_url)
                self.sessions[profile.name] = (self._new_session(profile, config, base_url), validator)
            if threading.current_thread() is threading.main_thread():
                return self.sessions[profile.name]
            key = (threading.get_ident(), profile.name)
            if key not in self.threads:
                main, validator = self.sessions[profile.name]
                self.threads[key] = (self._new_session(profile, main.config, main.base_url), validator)
            return self.threads[key]

    def _new_session(self, profile: Profile, config: TargetConfig, base_url: str) -> ProfileSession:
        assert self.budget is not None
        breaker = self._breakers.setdefault(profile.name, Breaker())
        clock = self._clocks.setdefault(base_url.rstrip("/"), TargetClock())
        client = TargetClient(config, self.budget, breaker)
        session = ProfileSession(profile, config, base_url, client, self.masker, clock)
        session.examples, session.seed, session.in_flight = self.run.examples, self.run.seed, self.in_flight
        return session

    def round_trip_ms(self) -> float | None:
        """The target's median answer time so far, over every session's client (before the first
        check, the reachability probe's): what the default concurrency is chosen from."""
        times = [t for s in self.all_sessions() if (t := s.client.round_trip_ms()) is not None]
        return statistics.median(times) if times else None

    def all_sessions(self) -> list[ProfileSession]:
        with self._lock:
            return [s for s, _ in (*self.sessions.values(), *self.threads.values())]

    def _budget(self, config: TargetConfig) -> Budget:
        """The run's budget; with N workers (pytest-xdist) each has N-th of the requests and the rate."""
        if self.share <= 1:
            return Budget(config.max_requests, config.rate)
        rate = config.rate / self.share if config.rate else config.rate
        return Budget(max(config.max_requests // self.share, 1), rate)

    def _target_for(self, profile: Profile) -> tuple[str, TargetConfig]:
        if self.run.target is None:
            if self.server is None:
                self.server = ReferenceServer([p.name for p in self.run.profiles]).start()
                for name, faults in self.run.faults.items():  # validated when the run was built
                    self.server.states[name].set_faults(faults)
            url = self.server.url(profile.name)
            config = config_module.from_mapping(reference_config(profile.name, url), "reference config")
            return url, config
        config = self.run.config or TargetConfig()
        return self.run.target, dataclasses.replace(config, target=self.run.target)

    def probe(self) -> None:
        """Fail fast, in one line, when the target cannot be reached at all."""
        if self.run.target is None:
            return
        profile = self.run.profiles[0]
        session, _ = self.session(profile)
        try:
            session.client.send("GET", self.run.target)
        except UnusableAnswer:
            return  # it answered (with what the suite cannot follow): reachable; the checks say the rest
        except TargetError as exc:
            raise TargetError(f"target unreachable: {exc}") from None

    def record(self, item: Any, verdict: Verdict) -> None:
        """Keep the verdict; evidence only where it explains something (memory stays flat)."""
        self.verdicts[verdict.requirement.id] = verdict.kept()
        if verdict.status in {Status.FAIL, Status.WARNING} and len(verdict.log):
            self.attach(item, render_all(verdict.log, self.masker), curl_script(verdict.log, self.masker))

    def abort(self, reason: str) -> None:
        """The run cannot talk to the target at all: every requirement is an error, not run."""
        for profile in self.run.profiles:
            for requirement in profile.requirements:
                self.verdicts.setdefault(requirement.id, absent(requirement, Status.ERROR, reason))

    def requests_made(self) -> int:
        return sum(s.client.requests_made for s in self.all_sessions())

    def close(self) -> None:
        for session in self.all_sessions():
            session.client.close()
        if self.server is not None:
            self.server.stop()
            self.server = None
