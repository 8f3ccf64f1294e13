"""The target config (conformance/model/config.py): `${VAR}` expansion and where a YAML error is."""

from __future__ import annotations

from pathlib import Path

import pytest

from conformance.model import config as config_module
from conformance.model.errors import ConfigError


def test_an_empty_variable_is_refused_like_an_unset_one(monkeypatch: pytest.MonkeyPatch) -> None:
    """An empty second client would be sent as a client: the cross-client checks would fail."""
    monkeypatch.setenv("SECOND_ID_FOR_TEST", "")
    raw = {"profile": "rfc6749", "clients": {"second": {"client_id": "${SECOND_ID_FOR_TEST}"}}}
    with pytest.raises(ConfigError) as caught:
        config_module.from_mapping(raw, "cfg.yaml")
    assert str(caught.value).startswith("cfg.yaml: clients.second.client_id: environment variable SECOND_ID_FOR_TEST")
    assert "is empty" in str(caught.value)


def test_an_unset_variable_names_its_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NO_SUCH_SECRET_FOR_TEST", raising=False)
    with pytest.raises(ConfigError, match=r"^cfg\.yaml: client_secret: environment variable NO_SUCH_SECRET_FOR_TEST"):
        config_module.from_mapping({"client_secret": "${NO_SUCH_SECRET_FOR_TEST}"}, "cfg.yaml")


def test_a_set_variable_expands(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("A_SCOPE_FOR_TEST", "read write")
    assert config_module.from_mapping({"scope": "${A_SCOPE_FOR_TEST}"}).scope == "read write"


def test_a_yaml_error_gives_line_and_column(tmp_path: Path) -> None:
    file = tmp_path / "cfg.yaml"
    file.write_text("profile: yixin\nclient_id: [unclosed\nclient_secret: x\n", encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        config_module.load(file)
    message = str(caught.value)
    assert f"target config {file} is not valid YAML at line " in message and ", column " in message
    assert "\n" not in message
