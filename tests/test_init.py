"""`oauth2-conformance init`: the probes (anonymous and bounded), the profile it picks, and the
config it writes. The end-to-end case (init, export, certify) is tests/test_init_certifies.py."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
import yaml

from conformance.engine import survey as init
from conformance.model import config as config_module
from conformance.model.errors import SuiteError
from conformance.servers import PROFILES, ReferenceServer
from conformance.target import probe
from conformance.tools.cli import main


@pytest.mark.parametrize("profile", PROFILES)
def test_picks_the_profile_whose_paths_answer(reference: ReferenceServer, profile: str) -> None:
    survey = init.survey(reference.url(profile))
    assert survey.profile.name == profile
    assert survey.matches[0].name == profile
    assert survey.requests <= probe.MAX_REQUESTS


def test_rfc6749_metadata_login_page_and_skeleton(reference: ReferenceServer, monkeypatch: pytest.MonkeyPatch) -> None:
    survey = init.survey(reference.url("rfc6749"))
    assert survey.metadata_url == reference.url("rfc6749") + "/.well-known/oauth-authorization-server"
    assert survey.authorize is not None and survey.authorize.outcome == "login page"
    text = init.render(survey)
    raw = yaml.safe_load(text)
    assert raw["login"][0]["form"] == {"username": "{username}", "password": "{password}"}
    assert raw["scope"] == "read write"  # the metadata's scopes_supported
    assert "client_auth" not in raw  # the metadata offers the profile's own (basic)
    names = init.placeholders(text)
    assert names == [
        "RFC6749_CLIENT_ID",
        "RFC6749_CLIENT_SECRET",
        "RFC6749_REDIRECT_URI",
        "RFC6749_USERNAME",
        "RFC6749_PASSWORD",
        "RFC6749_SECOND_CLIENT_ID",
        "RFC6749_SECOND_CLIENT_SECRET",
    ]
    assert raw["login"][1]["press"]  # the consent page init could not see: press its approve button
    for name in names:
        monkeypatch.setenv(name, "x-long-enough")  # a secret shorter than 8 characters is refused
    config_module.from_mapping(raw)  # a valid target config once the variables are set


def test_an_auto_approving_authorize_endpoint(reference: ReferenceServer) -> None:
    given = {"client_id": "app-1", "redirect_uri": "http://localhost/cb"}
    survey = init.survey(reference.url("everydo"), given=given)
    assert survey.authorize is not None and survey.authorize.outcome == "auto-approves"
    raw = yaml.safe_load(init.render(survey, given))
    assert raw["client_id"] == "app-1" and raw["redirect_uri"] == "http://localhost/cb"
    assert "login" not in raw


def test_wrong_method_and_missing_paths(reference: ReferenceServer) -> None:
    survey = init.survey(reference.url("rfc6749"))
    everydo = next(m for m in survey.matches if m.name == "everydo")
    verdicts = {(p.method, p.path): p.verdict for p in everydo.probes}
    assert verdicts[("GET", "/access_token")] == "missing"
    assert verdicts[("GET", "/authorize")] == "answers"
    yixin = init.survey(reference.url("yixin"))
    usercenter = next(m for m in yixin.matches if m.name == "usercenter")
    assert usercenter.answered == 1  # /oauth/token is both profiles' path; yixin answers all of its own


class Recorder:
    """A fake target: metadata only under RFC 8414's inserted path; everything else 404 or 405."""

    def __init__(self, answer_everything: bool = False) -> None:
        self.requests: list[httpx.Request] = []
        self.answer_everything = answer_everything

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        path = request.url.path
        if self.answer_everything:
            return httpx.Response(200, html="<html>app</html>")
        if path == "/.well-known/oauth-authorization-server/tenant":
            base = "https://as.example/tenant"
            return httpx.Response(
                200,
                json={
                    "issuer": base,
                    "authorization_endpoint": f"{base}/oauth2/auth",
                    "token_endpoint": f"{base}/oauth2/token",
                    "token_endpoint_auth_methods_supported": ["client_secret_post"],
                },
            )
        if path == "/tenant/oauth2/token":
            return httpx.Response(405 if request.method == "GET" else 400, json={"error": "invalid_request"})
        if path == "/tenant/oauth2/auth":
            return httpx.Response(302, headers={"location": "/tenant/signin?from=auth"})
        if path == "/tenant/signin":
            form = '<form method="post"><input name="email" type="email"><input name="pw" type="password"></form>'
            return httpx.Response(200, html=form)
        return httpx.Response(404)


def test_metadata_under_a_path_prefix_and_an_anonymous_probe() -> None:
    fake = Recorder()
    survey = init.survey("https://as.example/tenant", transport=httpx.MockTransport(fake))
    assert survey.profile.name == "rfc6749"
    assert survey.metadata_url == "https://as.example/.well-known/oauth-authorization-server/tenant"
    rendered = init.render(survey)
    raw = yaml.safe_load(rendered)
    # The suite itself reads metadata at RFC 8414 §3.1's inserted path (target/discovery.py), so
    # init leaves the endpoints to it instead of copying them into the config.
    assert "endpoints" not in raw
    assert "# endpoints: read from the metadata at run time" in rendered
    assert raw["client_auth"] == "post"  # basic is not on offer
    assert raw["login"][0]["form"] == {"email": "{username}", "pw": "{password}"}
    # Anonymous: no credential, no body, no form submitted; bounded.
    assert len(fake.requests) <= probe.MAX_REQUESTS
    for request in fake.requests:
        assert "authorization" not in request.headers and "cookie" not in request.headers
        assert request.content == b""
        assert not {"client_id", "client_secret", "password", "username", "code"} & set(request.url.params)


def test_a_target_that_answers_every_path_matches_no_profile() -> None:
    with pytest.raises(SuiteError, match="no profile's documented operations answer"):
        init.survey("https://spa.example", transport=httpx.MockTransport(Recorder(answer_everything=True)))


def test_probe_budget_is_a_hard_limit() -> None:
    fake = Recorder()
    prober = probe.Prober(max_requests=3, transport=httpx.MockTransport(fake))
    answers = [prober.send("GET", f"https://as.example/{n}") for n in range(5)]
    assert len(fake.requests) == 3
    assert answers[-1].status is None and "budget" in answers[-1].error


def test_cli_writes_the_config_and_names_the_variables(
    reference: ReferenceServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "yixin.yaml"
    assert main(["init", reference.url("yixin"), "--output", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "profile: yixin" in printed
    assert "export before running: YIXIN_CLIENT_ID YIXIN_CLIENT_SECRET" in printed
    raw = yaml.safe_load(out.read_text(encoding="utf-8"))
    assert raw["target"] == reference.url("yixin") and raw["profile"] == "yixin"
    assert raw["code_url"].endswith("/yixin/_test/code")  # the reference server's test-only route
    assert main(["init", reference.url("yixin"), "--output", str(out)]) == 4  # no overwrite without --force
    assert "--force" in capsys.readouterr().err


def test_cli_unreachable_target(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["init", "http://127.0.0.1:9/", "--output", str(tmp_path / "c.yaml")]) == 4
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "cannot reach" in err
    assert json.dumps(err)  # one line, no traceback
