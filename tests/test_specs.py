"""The specs are valid OpenAPI, consistent with themselves and with the check registry."""

from __future__ import annotations

import pytest
import yaml
from openapi_spec_validator import validate

from conformance.checks.catalog import REGISTRY
from conformance.model.spec import load_profiles, spec_dir
from conformance.servers import PROFILES

SPECS = sorted(spec_dir().glob("*.yaml"))


def test_every_profile_has_a_spec_and_a_reference_server() -> None:
    assert sorted(load_profiles()) == sorted(PROFILES)


@pytest.mark.parametrize("path", SPECS, ids=lambda p: p.stem)
def test_spec_is_valid_openapi(path) -> None:
    validate(yaml.safe_load(path.read_text(encoding="utf-8")))


@pytest.mark.parametrize("profile", PROFILES)
def test_every_requirement_has_a_registered_check(profile: str) -> None:
    spec = load_profiles()[profile]
    unknown = {r.id: r.check for r in spec.requirements if r.check not in REGISTRY}
    assert not unknown


def test_every_check_serves_a_requirement() -> None:
    used = {r.check for p in load_profiles().values() for r in p.requirements}
    assert set(REGISTRY) - used == set()


@pytest.mark.parametrize("profile", PROFILES)
def test_requirements_cite_a_document_line_or_an_rfc(profile: str) -> None:
    spec = load_profiles()[profile]
    for r in spec.requirements:
        assert r.source.startswith(spec.document + ":") or r.source.startswith("RFC "), r.id
        assert r.level in {"MUST", "SHOULD", "MAY"}
        assert r.id.startswith(spec.id_prefix + "-"), r.id


def test_an_unknown_check_option_is_refused_naming_file_requirement_and_key(tmp_path) -> None:
    """A typo such as `expect_eror` must not silently leave the expected codes empty: the plan,
    which binds every requirement to its check at configure time, refuses it."""
    import pytest

    from conformance.engine.plan import plan
    from conformance.model.errors import SpecError
    from conformance.model.spec import load_profile, spec_dir

    text = (spec_dir() / "yixin.yaml").read_text(encoding="utf-8")
    assert "    expect_error:" in text
    broken = tmp_path / "yixin.yaml"
    broken.write_text(text.replace("    expect_error:", "    expect_eror:", 1), encoding="utf-8")
    with pytest.raises(SpecError) as excinfo:
        plan([load_profile(broken)])
    message = str(excinfo.value)
    assert "yixin.yaml" in message and "expect_eror" in message and "requirement YX-" in message
