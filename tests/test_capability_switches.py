"""The reference rfc6749 server switched into offering less, the way real servers are configured
(no implicit, no password, grants per client, login required, no metadata): a correct server
each time, so the rfc6749 profile gets zero failures. What it does not offer is `not applicable`;
what the suite cannot reach is `not run` with a reason; nothing else moves.
"""

from __future__ import annotations

import random
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from conformance.engine.plan import bind
from conformance.engine.verdicts import Status, Verdict, decide
from conformance.model import config as config_module
from conformance.model.masking import Masker
from conformance.model.spec import load_profiles
from conformance.servers import reference_config
from conformance.servers.rfc6749 import PER_GRANT_CLIENTS, switches
from conformance.target.client import TargetClient
from conformance.target.session import ProfileSession
from conformance.target.validation import ResponseValidator

CODE_SOURCE = Path(__file__).parent / "fixtures" / "code_source.py"
IMPLICIT = {"RFC-IMPLICIT-RESPONSE", "RFC-IMPLICIT-FRAGMENT"}
PASSWORD = {
    "RFC-PASSWORD-RESPONSE",
    "RFC-PASSWORD-USERNAME-REQUIRED",
    "RFC-PASSWORD-PASSWORD-REQUIRED",
    "RFC-ERRORS-PASSWORD",
}
AUTHORIZE = {  # need the authorization endpoint itself, behind its login page
    "RFC-AUTHORIZE-RESPONSE",
    "RFC-STATE-ECHOED",
    "RFC-REDIRECT-URI-AUTHORIZE",
    "RFC-ERROR-REDIRECT",
    "RFC-UNOFFERED-RESPONSE-TYPE-REFUSED",
    *IMPLICIT,
}
# A request without grant_type (RFC-*-GRANT_TYPE-REQUIRED) is about no grant: it is judged anyway.
# The refresh-scope check takes its narrow tokens from the password grant (checks/lifecycle.py).
SCOPE_FROM_PASSWORD = {"RFC-REFRESH-SCOPE"}
# RFC 8414 metadata is optional: without it, the requirements about it are not applicable.
METADATA = {"RFC-METADATA-MEMBERS", "RFC-METADATA-ISSUER"}


def per_grant_clients() -> dict[str, Any]:
    grant_of = {"app-pw": "password", "app-cc": "client_credentials", "app-imp": "implicit"}
    clients = {grant_of[cid]: {"client_id": cid, "client_secret": s} for cid, (s, _) in PER_GRANT_CLIENTS.items()}
    return {"second": {"client_id": "app-2", "client_secret": "secret-2"}, **clients}


def endpoints(url: str) -> dict[str, str]:
    """The endpoints a config names when the target publishes no metadata."""
    paths = {"authorization": "authorize", "token": "token", "revocation": "revoke", "introspection": "introspect"}
    return {f"{name}_endpoint": f"{url}/{path}" for name, path in paths.items()}


# name -> (server switches, config changes, requirements expected not applicable, expected not run)
SCENARIOS: dict[str, tuple[set[str], Any, set[str], set[str]]] = {
    "no_implicit": ({"no_implicit"}, lambda url: {}, IMPLICIT, set()),
    "no_password": ({"no_password"}, lambda url: {}, PASSWORD, SCOPE_FROM_PASSWORD),
    "grants_per_client": ({"grants_per_client"}, lambda url: {"clients": per_grant_clients()}, set(), set()),
    # Per-grant clients exist, but the config names none: each grant the client lacks is not applicable.
    "grants_per_client_unconfigured": (
        {"grants_per_client"},
        lambda url: {},
        IMPLICIT | PASSWORD | {"RFC-CLIENT-CREDENTIALS-RESPONSE"},
        SCOPE_FROM_PASSWORD,
    ),
    # Login required and no login steps: codes come from a code_command that prints JSON.
    "login_required": (
        set(),
        lambda url: {"login": [], "code_command": f"{sys.executable} {CODE_SOURCE} {url}/_test/authorize"},
        set(),
        AUTHORIZE,
    ),
    # ... and from one that prints a bare code: what depends on its authorization request is not run.
    "login_required_bare_code": (
        set(),
        lambda url: {"login": [], "code_command": f"{sys.executable} {CODE_SOURCE} {url}/_test/authorize --bare"},
        set(),
        AUTHORIZE
        | {"RFC-EXCHANGE-CODE-REDIRECT_URI-REQUIRED", "RFC-REDIRECT-URI-TOKEN", "RFC-ERRORS-CODE", "RFC-PKCE-S256"}
        | {"RFC-PKCE-DOWNGRADE"},
    ),
    # ... but with the login steps kept, the authorization endpoint is the code source of last resort
    # (issue 17): every requirement that must know the authorization request is decided.
    "bare_code_login_as_last_resort": (
        set(),
        lambda url: {"code_command": f"{sys.executable} {CODE_SOURCE} {url}/_test/authorize --bare"},
        set(),
        set(),
    ),
    "no_metadata": ({"no_metadata"}, lambda url: {"endpoints": endpoints(url)}, METADATA, set()),
    # No metadata and less on offer: the suite learns it from the RFC-coded refusals.
    "no_metadata_no_implicit_no_password": (
        {"no_metadata", "no_implicit", "no_password"},
        lambda url: {"endpoints": endpoints(url)},
        IMPLICIT | PASSWORD | METADATA,
        SCOPE_FROM_PASSWORD,
    ),
}


def run(reference: Any, switched: set[str], changes: dict[str, Any]) -> dict[str, Verdict]:
    state = reference.states["rfc6749"]
    state.reset()
    switches(state).clear()
    switches(state).update(switched)
    url = reference.url("rfc6749")
    config = config_module.from_mapping({**reference_config("rfc6749", url), **changes})
    profile = load_profiles()["rfc6749"]
    session = ProfileSession(profile, config, url, TargetClient(config), Masker())
    session.seed, session.examples = random.getrandbits(32), 8
    validator = ResponseValidator(profile, url)
    try:
        return {r.id: decide(bind(r), session, validator) for r in profile.requirements}
    finally:
        session.client.close()
        switches(state).clear()
        state.reset()


def counts(verdicts: dict[str, Verdict]) -> dict[str, int]:
    return dict(Counter(str(v.status) for v in verdicts.values()))


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_reference_server_stays_green_under_each_switch(reference: Any, scenario: str) -> None:
    switched, changes, not_applicable, not_run = SCENARIOS[scenario]
    verdicts = run(reference, switched, changes(reference.url("rfc6749")))
    print(scenario, counts(verdicts))
    bad = {
        rid: (v.status, v.reason)
        for rid, v in verdicts.items()
        if v.status in {Status.FAIL, Status.ERROR, Status.WARNING}
    }
    assert bad == {}
    got_na = {rid for rid, v in verdicts.items() if v.status == Status.NOT_APPLICABLE}
    got_not_run = {rid for rid, v in verdicts.items() if v.status == Status.NOT_RUN}
    assert got_na == not_applicable, {rid: verdicts[rid].reason for rid in got_na ^ not_applicable}
    assert got_not_run == not_run, {rid: verdicts[rid].reason for rid in got_not_run ^ not_run}
    for rid in got_na | got_not_run:
        assert verdicts[rid].reason, f"{rid} says why"
    if scenario == "login_required_bare_code":  # neither source could: the reason names both
        reason = verdicts["RFC-EXCHANGE-CODE-REDIRECT_URI-REQUIRED"].reason
        assert "a bare code" in reason and "the authorization endpoint gave none either" in reason, reason
