"""Load the specs: OpenAPI documents whose `x-conformance` block says what to drive and check.

The typed model here is everything the generic suite knows about a vendor; the format is
described in specs/README.md.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

import yaml

from conformance.model.errors import SpecError
from conformance.model.extensions import check as check_extensions
from conformance.model.predicate import Predicate, predicate
from conformance.model.tolerance import Tolerance
from conformance.model.tolerance import parse as parse_tolerance
from conformance.model.yaml_source import position


class Level(StrEnum):
    """RFC 2119 levels, as the documents state them."""

    MUST = "MUST"
    SHOULD = "SHOULD"
    MAY = "MAY"


LEVELS = tuple(Level)
# libyaml's safe loader when it is there: specs load ~8x faster in every (xdist worker) process.
_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
BODY_TYPES = {"application/x-www-form-urlencoded": "form", "application/json": "json"}
ERROR_KEYS = ("code", "status", "codes", "situations")  # the error block's keys besides its predicate
# An error code as the document spells it: a string (`invalid_grant`) or an integer (WeChat's 40029).
ErrorCode = str | int


@dataclass(frozen=True)
class Requirement:
    """One promise of a document (or of an RFC, as advice), decided by one registered check."""

    id: str
    level: Level
    source: str
    text: str
    check: str
    profile: str
    flow: str | None = None
    advisory: bool = False
    options: Mapping[str, Any] = field(default_factory=dict)
    lines: tuple[int, ...] = ()  # the document lines it decides (for the traceability matrix)

    def cite(self) -> str:
        note = ", advisory" if self.advisory else ""
        return f"{self.id} ({self.level}{note}, {self.source})"


@dataclass(frozen=True)
class Param:
    name: str
    location: str  # path | query | form | json | header
    role: str | None
    transform: str | None
    line: int | None
    schema: Mapping[str, Any]


@dataclass(frozen=True)
class Operation:
    id: str
    method: str
    path: str
    params: Mapping[str, Param]
    endpoint: str | None = None  # the RFC 8414 metadata field that gives its URL, if any


@dataclass(frozen=True)
class Flow:
    """One documented way of calling an operation (one grant on a shared token endpoint, say)."""

    name: str
    title: str
    line: int | None
    operation: Operation
    params: tuple[str, ...]
    values: Mapping[str, str]
    required: Mapping[str, int | str]
    on_missing: Mapping[str, tuple[ErrorCode, ...]]
    issues: Mapping[str, str]
    expiry_unit: str | None
    redirect: Mapping[str, Any] | None
    response_line: int | None
    # The flow's own predicates (`success:`, `error:` on the flow), beating the profile's: a check-token
    # endpoint whose success carries `errcode: 0` in a dialect where `errcode` flags errors.
    success_when: Predicate | None = None
    error_when: Predicate | None = None
    # The HTTP statuses the flow's errors have, when they are not the profile's (`error: {status: []}` on
    # the flow): an authorization page whose refusals the document leaves unsaid, in a dialect whose
    # interfaces answer every error HTTP 200. None: the profile's.
    error_status: tuple[int, ...] | None = None
    # Where a success says what it found (a token check's "校验结果"): such a success is a positive
    # answer only when this field differs from the answer to a made-up token.
    verdict: str | None = None
    # Optional parameters of the operation the flow accepts: sent whenever the config sets them.
    optional: tuple[str, ...] = ()

    def missing_codes(self, param: str) -> tuple[ErrorCode, ...]:
        return self.on_missing.get(param, self.on_missing.get("default", ()))


@dataclass(frozen=True)
class ErrorDialect:
    """How the document spells an error: where it is flagged and where its code is."""

    pointer: str | None
    equals: Any
    code: str | None
    status: tuple[int, ...]
    codes: Mapping[ErrorCode, int | str]  # documented code -> its line
    situations: Mapping[str, tuple[ErrorCode, ...]] = field(default_factory=dict)
    when: Predicate | None = None  # what flags an answer as an error (pointer, equals, not_equals, absent)


@dataclass(frozen=True)
class Profile:
    name: str
    document: str
    path: Path
    raw: Mapping[str, Any]
    id_prefix: str
    success_status: tuple[int, ...]
    success_pointer: str | None
    success_equals: Any
    error: ErrorDialect | None
    token_source: str | None
    lifetimes: Mapping[str, Mapping[str, Any]]
    flows: Mapping[str, Flow]
    requirements: tuple[Requirement, ...]
    rfc_is_normative: bool
    client_auth: str = "post"  # how flows send client credentials: body parameters or HTTP Basic
    discovery: tuple[str, ...] = ()  # metadata paths (RFC 8414) that give the endpoints' URLs
    success_when: Predicate | None = None  # what a success's body must hold, besides its status
    expiry_tolerance: Tolerance | None = None  # how far a stated expiry may be off (model/tolerance.py)

    def requirement(self, requirement_id: str) -> Requirement:
        for requirement in self.requirements:
            if requirement.id == requirement_id:
                return requirement
        raise KeyError(requirement_id)

    def error_status(self, flow: Flow) -> tuple[int, ...]:
        """The HTTP statuses an error of `flow` has: the flow's own, else the profile's (() = unsaid)."""
        if flow.error_status is not None:
            return flow.error_status
        return self.error.status if self.error is not None else ()

    def source(self, line: int | str | None) -> str:
        if isinstance(line, str):
            return line
        return f"{self.document}:{line}" if line else self.document


SPECS_ENV = "OAUTH2_CONFORMANCE_SPECS"  # more spec files or folders, os.pathsep-separated


def spec_dir() -> Path:
    """The built-in specs: inside the wheel (conformance/specs), at the repo root in a checkout."""
    packaged = Path(__file__).resolve().parents[1] / "specs"
    return packaged if packaged.is_dir() else Path(__file__).resolve().parents[2] / "specs"


def extra_specs(given: Iterable[str | os.PathLike[str]] = ()) -> tuple[Path, ...]:
    """Spec files added beside the built-in ones: `given` (`--spec`, the `conformance_specs` ini
    option), then those in OAUTH2_CONFORMANCE_SPECS; a folder stands for its *.yaml files."""
    entries = [*given, *(e for e in os.environ.get(SPECS_ENV, "").split(os.pathsep) if e)]
    files: list[Path] = []
    for entry in entries:
        path = Path(entry)
        if path.is_dir():
            found = sorted(p for p in path.glob("*.yaml") if p.is_file())
            if not found:
                raise SpecError(f"spec folder {path} holds no *.yaml spec (from --spec or {SPECS_ENV})")
            files.extend(found)
        elif path.is_file():
            files.append(path)
        else:
            raise SpecError(f"spec {path} does not exist (check --spec, the conformance_specs ini option, {SPECS_ENV})")
    return tuple(dict.fromkeys(p.resolve() for p in files))


def load_profiles(extra: Iterable[str | os.PathLike[str]] = (), directory: Path | None = None) -> dict[str, Profile]:
    """The built-in profiles (or `directory`'s), and those of the extra spec files (`extra_specs`)."""
    return dict(_load_profiles(directory or spec_dir(), extra_specs(extra)))


@functools.cache
def _load_profiles(directory: Path, extra: tuple[Path, ...]) -> Mapping[str, Profile]:
    profiles: dict[str, Profile] = {}
    for path in [*sorted(directory.glob("*.yaml")), *extra]:
        profile = load_profile(path)
        if profile.name in profiles:
            raise SpecError(
                f"spec {path} defines profile {profile.name!r}, as {profiles[profile.name].path} does; "
                "give it another x-conformance.profile"
            )
        profiles[profile.name] = profile
    return profiles


def load_profile(path: Path) -> Profile:
    try:
        text = path.read_text(encoding="utf-8")
        raw = yaml.load(text, Loader=_LOADER)
    except OSError as exc:
        raise SpecError(f"cannot read spec {path}: {exc.strerror or exc}") from None
    except yaml.YAMLError as exc:
        raise SpecError(f"spec {path} is not valid YAML{position(exc)}; fix the syntax") from None
    if not isinstance(raw, dict) or not isinstance(raw.get("x-conformance"), dict):
        raise SpecError(f"spec {path} has no x-conformance block (specs/README.md describes it)")
    check_extensions(path, raw, text)
    try:
        profile = _build(path, raw)
    except (KeyError, TypeError, ValueError) as exc:
        raise SpecError(f"spec {path.name} is malformed: {type(exc).__name__} {exc}") from None
    return profile


def _build(path: Path, raw: dict[str, Any]) -> Profile:
    ext = raw["x-conformance"]
    name = ext["profile"]
    operations = _operations(raw)
    flows = {key: _flow(key, value, operations) for key, value in ext.get("flows", {}).items()}
    success = ext.get("success", {})
    err = ext.get("error")
    error = (
        ErrorDialect(
            pointer=err.get("pointer"),
            equals=err.get("equals"),
            code=err.get("code"),
            status=tuple(err.get("status") or ()),
            codes=dict(err.get("codes") or {}),
            situations={k: tuple(v) for k, v in (err.get("situations") or {}).items()},
            when=predicate(err, "error", ERROR_KEYS),
        )
        if err
        else None
    )
    profile = Profile(
        name=name,
        document=ext["document"],
        path=path,
        raw=raw,
        id_prefix=ext["id_prefix"],
        success_status=tuple(success.get("status") or (200,)),
        success_pointer=success.get("pointer"),
        success_equals=success.get("equals"),
        error=error,
        token_source=ext.get("token_source"),
        lifetimes=ext.get("lifetimes") or {},
        flows=flows,
        requirements=(),
        rfc_is_normative=bool(ext.get("rfc_is_normative")),
        client_auth=ext.get("client_auth", "post"),
        discovery=tuple(ext.get("discovery") or ()),
        success_when=predicate(success, "success", ("status",)),
        expiry_tolerance=(
            None
            if ext.get("expiry_tolerance") is None
            else parse_tolerance(ext["expiry_tolerance"], "x-conformance.expiry_tolerance")
        ),
    )
    requirements = _derived_requirements(profile) + tuple(
        _requirement(profile, item) for item in ext.get("requirements", [])
    )
    ids = [r.id for r in requirements]
    duplicates = {i for i in ids if ids.count(i) > 1}
    if duplicates:
        raise ValueError(f"duplicate requirement IDs {sorted(duplicates)}")
    for requirement in requirements:
        named = [requirement.flow, *requirement.options.get("probes", ())]
        unknown = [name for name in named if name is not None and name not in flows]
        if unknown:
            raise ValueError(f"{requirement.id} names unknown flow {unknown[0]!r}")
    return Profile(**{**profile.__dict__, "requirements": requirements})


def _operations(raw: Mapping[str, Any]) -> dict[str, Operation]:
    operations: dict[str, Operation] = {}
    for path, item in raw.get("paths", {}).items():
        shared = item.get("parameters", [])
        for method, op in item.items():
            if method not in {"get", "post", "put", "delete", "patch"}:
                continue
            params: dict[str, Param] = {}
            for p in [*shared, *op.get("parameters", [])]:
                params[p["name"]] = Param(
                    p["name"],
                    p["in"],
                    p.get("x-role"),
                    p.get("x-transform"),
                    p.get("x-line"),
                    p.get("schema", {}),
                )
            for media, content in op.get("requestBody", {}).get("content", {}).items():
                location = BODY_TYPES.get(media)
                if location is None:
                    raise ValueError(f"{op['operationId']}: unsupported body type {media}")
                for prop, schema in content.get("schema", {}).get("properties", {}).items():
                    params.setdefault(
                        prop,
                        Param(
                            prop,
                            location,
                            schema.get("x-role"),
                            schema.get("x-transform"),
                            schema.get("x-line"),
                            schema,
                        ),
                    )
            operations[op["operationId"]] = Operation(
                op["operationId"], method.upper(), path, params, op.get("x-endpoint")
            )
    return operations


def _flow(name: str, raw: Mapping[str, Any], operations: Mapping[str, Operation]) -> Flow:
    operation = operations[raw["operation"]]
    params = tuple(raw.get("params", ()))
    optional = tuple(raw.get("optional", ()))
    for param in [*params, *raw.get("required", {}), *optional]:
        if param not in operation.params:
            raise ValueError(f"flow {name}: {operation.id} has no parameter {param!r}")
    return Flow(
        name=name,
        title=raw.get("title", name),
        line=raw.get("line"),
        operation=operation,
        params=params,
        values={k: str(v) for k, v in (raw.get("values") or {}).items()},
        required=dict(raw.get("required") or {}),
        on_missing={k: tuple(v) for k, v in (raw.get("on_missing") or {}).items()},
        issues=dict(raw.get("issues") or {}),
        expiry_unit=raw.get("expiry_unit"),
        redirect=raw.get("redirect"),
        response_line=raw.get("response_line"),
        success_when=predicate(raw.get("success") or {}, f"flow {name}: success"),
        error_when=predicate(raw.get("error") or {}, f"flow {name}: error", ("status",)),
        error_status=_statuses((raw.get("error") or {}).get("status"), f"flow {name}: error.status"),
        verdict=raw.get("verdict"),
        optional=optional,
    )


def _statuses(value: Any, where: str) -> tuple[int, ...] | None:
    """A list of HTTP statuses, or None when the key is absent."""
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(v, int) and not isinstance(v, bool) for v in value):
        raise ValueError(f"{where} must be a list of HTTP statuses, got {value!r}")
    return tuple(value)


def _slug(text: str) -> str:
    return text.upper().replace("_", "-")


def _derived_requirements(profile: Profile) -> tuple[Requirement, ...]:
    """A response requirement per flow and a required-parameter requirement per table row."""
    derived: list[Requirement] = []
    for flow in profile.flows.values():
        derived.append(
            Requirement(
                id=f"{profile.id_prefix}-{_slug(flow.name)}-RESPONSE",
                level=Level.MUST,
                source=profile.source(flow.response_line or flow.line),
                text=f"{flow.title}: a successful answer has the documented status, fields and types",
                check="response_valid",
                profile=profile.name,
                flow=flow.name,
                # plus the flow's `lines:` (its response table's rows, its method/path line)
                lines=line_numbers(flow.response_line, flow.line, *_listed(_raw_flow(profile, flow.name).get("lines"))),
            )
        )
        for param, line in flow.required.items():
            derived.append(
                Requirement(
                    id=f"{profile.id_prefix}-{_slug(flow.name)}-{param.upper()}-REQUIRED",
                    level=Level.MUST,
                    source=profile.source(line),
                    text=f"{flow.title}: {param} is required; a request without it gets an error",
                    check="required_param",
                    profile=profile.name,
                    flow=flow.name,
                    options={"param": param},
                    lines=line_numbers(line, flow.operation.params[param].line),
                )
            )
    return tuple(derived)


def _listed(value: Any) -> tuple[Any, ...]:
    """`lines:` as a list, or one value (`35`, `"55-57, 63"`)."""
    return tuple(value) if isinstance(value, (list, tuple)) else (value,)


def _raw_flow(profile: Profile, name: str) -> Mapping[str, Any]:
    return profile.raw.get("x-conformance", {}).get("flows", {}).get(name) or {}


def _requirement(profile: Profile, raw: Mapping[str, Any]) -> Requirement:
    if raw["level"] not in LEVELS:
        raise ValueError(f"{raw['id']}: level must be one of {', '.join(LEVELS)}")
    level = Level(raw["level"])
    rfc = raw.get("rfc")
    source = rfc if rfc else profile.source(raw["line"])
    known = {"id", "level", "line", "lines", "rfc", "text", "check", "flow"}
    return Requirement(
        id=raw["id"],
        level=level,
        source=source,
        text=raw.get("text", ""),
        check=raw["check"],
        profile=profile.name,
        flow=raw.get("flow"),
        advisory=bool(rfc) and not profile.rfc_is_normative,
        options={k: v for k, v in raw.items() if k not in known},
        lines=line_numbers(raw.get("line"), *_listed(raw.get("lines"))),
    )


def line_numbers(*values: Any) -> tuple[int, ...]:
    """Document lines from `35`, `"77, 87-88"` or a mix; anything else (an RFC section) is skipped."""
    found: list[int] = []
    for value in values:
        if isinstance(value, bool) or value is None:
            continue
        if isinstance(value, int):
            found.append(value)
            continue
        for part in str(value).replace(" ", "").split(","):
            low, dash, high = part.partition("-")
            if low.isdigit() and (not dash or high.isdigit()):
                found.extend(range(int(low), int(high or low) + 1))
    return tuple(dict.fromkeys(found))
