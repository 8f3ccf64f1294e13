"""The specs transcribe their documents: every endpoint, parameter and response field the
documents list is in the spec, and every line a spec cites really holds what it says."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import pytest

from conformance.model.spec import Profile, load_profiles
from conformance.report.trace import document_path


def document(profile: Profile) -> list[str]:
    """The lines of the profile's source document (a seed, or one of the project's docs/dialects/),
    found as the traceability matrix finds it; the test is skipped when it is not at hand."""
    path = document_path(profile)
    if path is None:
        pytest.skip(f"{profile.document} not found (set OAUTH2_CONFORMANCE_SEEDS for the seeds)")
    return path.read_text(encoding="utf-8").splitlines()


EVERYDO_TOKEN_PARAMS = ["client_id", "client_secret", "grant_type", "code", "refrash_token", "username", "password"]

# Read off the documents by hand: (method, path) -> parameters, and the response fields.
INVENTORY: dict[str, dict[str, Any]] = {
    "everydo": {
        "operations": {
            ("GET", "/authorize"): ["client_id", "redirect_uri"],
            ("POST", "/authorize"): ["client_id", "redirect_uri"],
            ("GET", "/access_token"): EVERYDO_TOKEN_PARAMS,
            ("POST", "/access_token"): EVERYDO_TOKEN_PARAMS,
        },
        "fields": ["access_token", "refrash_token", "expires_in", "remind_in", "uid"],
    },
    "usercenter": {
        "operations": {
            ("POST", "/oauth/token"): ["sysid", "client_id", "username", "md5password", "shapassword", "validateCode"],
            ("POST", "/user/checkOauthToken"): ["accessToken"],
            ("POST", "/user/getUserByToken"): ["accessToken"],
            ("POST", "/oauth/destoryToken"): ["access_token"],
            ("POST", "/oauth/refreshAccessToken"): ["refresh_token"],
            ("POST", "/oauth/getTempToken"): ["accessToken"],
        },
        "fields": ["status", "result", "user", "accessToken", "refreshToken", "expires_in"],
    },
    "yixin": {
        "operations": {
            ("POST", "/oauth/token"): ["client_id", "client_secret", "grant_type", "code", "refresh_token"],
        },
        "fields": ["access_token", "refresh_token", "expires_in", "error", "error_description"],
    },
    "ekuaibao": {
        "operations": {
            ("POST", "/api/openapi/v1/auth/${verifyCode}"): ["verifyCode", "powerCode"],
            ("POST", "/api/openapi/v1/auth/expireDate/${verifyCode}"): ["verifyCode", "powerCode", "expireDate"],
            ("POST", "/api/openapi/v2/auth/refreshToken"): ["accessToken", "refreshToken", "powerCode"],
            ("POST", "/api/openapi/v2/auth/refreshToken/expireDate"): [
                "accessToken",
                "refreshToken",
                "expireDate",
                "powerCode",
            ],
        },
        "fields": ["value", "accessToken", "expireTime", "refreshToken", "corporationId"],
    },
    "generic": {
        "operations": {
            ("GET", "/open/authorize/index"): ["response_type", "client_id", "redirect_uri", "state"],
            ("POST", "/oauth2/authorize"): ["grant_type", "client_id", "client_secret", "redirect_uri", "code"],
            ("GET", "/open/implicit"): ["response_type", "client_id", "redirect_uri", "scope", "state"],
            ("POST", "/oauth2/password"): ["grant_type", "client_id", "client_secret", "username", "password", "scope"],
            ("POST", "/oauth2/client-credentials"): ["grant_type", "client_id", "client_secret", "scope"],
            ("POST", "/oauth2/refresh-token"): ["grant_type", "refresh_token", "client_id", "client_secret", "scope"],
        },
        # The document leaves every response empty; the spec takes RFC 6749 §5.1 / §5.2.
        "fields": ["access_token", "token_type", "expires_in", "refresh_token", "scope", "error"],
    },
    "wechatweb": {
        "operations": {
            ("GET", "/connect/qrconnect"): ["appid", "redirect_uri", "response_type", "scope", "state"],
            ("GET", "/sns/oauth2/access_token"): ["appid", "secret", "code", "grant_type"],
            ("GET", "/sns/oauth2/refresh_token"): ["appid", "grant_type", "refresh_token"],
            ("GET", "/sns/auth"): ["access_token", "openid"],
            ("GET", "/sns/userinfo"): ["access_token", "openid", "lang"],
        },
        "fields": [
            *("access_token", "expires_in", "refresh_token", "openid", "scope", "unionid", "errcode", "errmsg"),
            *("nickname", "sex", "province", "city", "country", "headimgurl", "privilege"),
        ],
    },
}


def _operations(profile: Profile) -> dict[tuple[str, str], Mapping[str, Any]]:
    return {
        (method.upper(), path): op
        for path, item in profile.raw["paths"].items()
        for method, op in item.items()
        if isinstance(op, dict) and "responses" in op
    }


def _property_names(schema: Any, root: Mapping[str, Any]) -> Iterator[str]:
    if isinstance(schema, dict):
        if "$ref" in schema:
            target: Any = root
            for part in schema["$ref"].lstrip("#/").split("/"):
                target = target[part]
            yield from _property_names(target, root)
            return
        for name, sub in schema.get("properties", {}).items():
            yield name
            yield from _property_names(sub, root)
        for key in ("oneOf", "anyOf", "allOf"):
            for sub in schema.get(key, []):
                yield from _property_names(sub, root)
        yield from _property_names(schema.get("contentSchema"), root)


@pytest.mark.parametrize("name", sorted(INVENTORY))
def test_every_documented_operation_and_parameter_is_in_the_spec(name: str) -> None:
    profile = load_profiles()[name]
    from conformance.model.spec import _operations as parsed  # the loader's view: parameters by location

    by_route = {(op.method, op.path): op for op in parsed(profile.raw).values()}
    for route, params in INVENTORY[name]["operations"].items():
        assert route in by_route, f"{name}: {route} missing"
        assert sorted(set(params) - set(by_route[route].params)) == [], route


@pytest.mark.parametrize("name", sorted(INVENTORY))
def test_every_documented_response_field_is_in_the_spec(name: str) -> None:
    profile = load_profiles()[name]
    fields: set[str] = set()
    for op in _operations(profile).values():
        for response in op["responses"].values():
            while "$ref" in response:
                target: Any = profile.raw
                for part in response["$ref"].lstrip("#/").split("/"):
                    target = target[part]
                response = target
            for media in response.get("content", {}).values():
                fields.update(_property_names(media.get("schema"), profile.raw))
    assert sorted(set(INVENTORY[name]["fields"]) - fields) == []


def _lines_cited(node: Any) -> Iterator[tuple[Any, Any, list[str]]]:
    """(parameter name, cited line, aliases) for every parameter or property with an x-line."""
    if isinstance(node, dict):
        for key, value in node.items():
            if isinstance(value, dict) and "x-line" in value:
                name = value.get("name", key)
                yield name, value["x-line"], list(value.get("x-aliases", []))
            yield from _lines_cited(value)
    elif isinstance(node, list):
        for item in node:
            yield from _lines_cited(item)


@pytest.mark.parametrize("name", sorted(INVENTORY))
def test_cited_parameter_lines_name_the_parameter(name: str) -> None:
    profile = load_profiles()[name]
    lines = document(profile)
    wrong = [
        (field, line)
        for field, line, aliases in _lines_cited(profile.raw["paths"])
        if not any(n in lines[line - 1] for n in [field, *aliases])
    ]
    assert wrong == []


@pytest.mark.parametrize("name", sorted(INVENTORY))
def test_requirement_lines_exist_in_the_document(name: str) -> None:
    profile = load_profiles()[name]
    count = len(document(profile))
    for r in profile.requirements:
        if not r.source.startswith("RFC"):
            line = int(r.source.rsplit(":", 1)[1])
            assert 1 <= line <= count, r.id
