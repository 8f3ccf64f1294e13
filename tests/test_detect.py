"""Profile detection (conformance/target/detect.py): what `pytest --target=URL` without `--profile`
and `oauth2-conformance init` both use to tell which profile a target implements. Bounded,
anonymous, and one line when it cannot choose."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any, cast

import httpx
import pytest

from conformance.engine import survey as init
from conformance.engine.runtime import Run
from conformance.model.errors import ConfigError, TargetError
from conformance.model.spec import load_profiles
from conformance.pytest_plugin import xdist
from conformance.servers import PROFILES, ReferenceServer
from conformance.target import detect


@pytest.mark.parametrize("profile", PROFILES)
def test_each_reference_server_is_detected_as_its_profile(reference: ReferenceServer, profile: str) -> None:
    found = detect.detect(reference.url(profile), load_profiles().values())
    assert found.chosen().name == profile
    assert found.requests <= detect.MAX_REQUESTS
    assert found.explain().startswith(f"profile {profile} (")
    assert "runners-up:" in found.explain()


def test_init_and_the_run_agree(reference: ReferenceServer) -> None:
    """One scoring: init's ranking is the detection's."""
    url = reference.url("usercenter")
    assert [m.name for m in init.survey(url).matches] == [
        m.name for m in detect.detect(url, load_profiles().values()).ranked
    ]


def _match(name: str, answered: int, of: int) -> detect.ProfileMatch:
    probes = tuple(
        detect.PathProbe(f"op{n}", "GET", f"/{n}", f"https://as.example/{n}", 200 if n < answered else 404, verdict)
        for n, verdict in enumerate(["answers"] * answered + ["missing"] * (of - answered))
    )
    return detect.ProfileMatch(name, probes)


def test_a_tie_names_the_candidates_and_the_flag() -> None:
    found = detect.Detection(
        "https://as.example",
        tuple(detect.rank([_match("alpha", 2, 2), _match("beta", 2, 2), _match("gamma", 1, 3)])),
        ("alpha", "beta", "gamma"),
        None,
        {},
        7,
    )
    with pytest.raises(ConfigError) as caught:
        found.chosen()
    message = str(caught.value)
    assert "alpha" in message and "beta" in message and "gamma" not in message
    assert "--profile=alpha or --profile=beta" in message and "\n" not in message


def test_no_match_names_every_candidate() -> None:
    spa = httpx.MockTransport(lambda request: httpx.Response(200, html="<html>app</html>"))
    found = detect.detect("https://spa.example", load_profiles().values(), transport=spa)
    with pytest.raises(ConfigError, match="no profile's documented operations answer") as caught:
        found.chosen()
    assert all(name in str(caught.value) for name in PROFILES) and "--profile" in str(caught.value)


def test_an_unreachable_target_is_one_line() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    with pytest.raises(TargetError, match=r"target unreachable: cannot reach https://down\.example"):
        detect.detect("https://down.example", load_profiles().values(), transport=httpx.MockTransport(refuse))


def test_detection_is_anonymous_and_bounded(reference: ReferenceServer) -> None:
    seen: list[httpx.Request] = []
    inner = httpx.HTTPTransport()

    def record(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return inner.handle_request(request)

    try:
        found = detect.detect(
            reference.url("rfc6749"), load_profiles().values(), transport=httpx.MockTransport(record), max_requests=50
        )
    finally:
        inner.close()
    assert found.chosen().name == "rfc6749"
    assert 0 < len(seen) <= 50
    for request in seen:
        assert "authorization" not in request.headers and "cookie" not in request.headers
        assert request.content == b"" and not request.url.params


def test_the_budget_caps_the_detection() -> None:
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(404)

    detect.detect("https://as.example", load_profiles().values(), transport=httpx.MockTransport(answer), max_requests=5)
    assert len(seen) == 5


def test_an_xdist_worker_takes_the_controllers_choice() -> None:
    """Workers do not probe again: the controller hands them what it detected, by target URL."""
    worker = cast(Any, SimpleNamespace(workerinput={xdist.DETECTED: {"https://as.example": "generic"}}))
    assert xdist.worker_detected(worker) == {"https://as.example": "generic"}
    assert xdist.worker_detected(cast(Any, SimpleNamespace())) == {}
    # and a Run given that choice sends nothing: an unreachable URL would fail a probe. With no config
    # file the controller also hands over the config it derived (its ${VAR}s read on the worker).
    url = "http://127.0.0.1:9"
    derived = f'target: "{url}"\nprofile: generic\nclient_id: ${{GENERIC_CLIENT_ID}}\n'
    run = Run.from_options(url, None, None, detected={url: "generic"}, surveyed={url: derived})
    assert [p.name for p in run.profiles] == ["generic"] and run.detection is None
    assert run.derived is not None and run.derived.config.target == url
