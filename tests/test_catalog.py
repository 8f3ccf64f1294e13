"""The catalog of checks (`oauth2-conformance checks`, and its table in specs/README.md): generated
from the registry, complete, and in sync."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from conformance.checks.catalog import declarations
from conformance.tools import catalog
from conformance.tools.cli import main

README = Path(__file__).resolve().parents[1] / "specs" / "README.md"


def test_every_check_says_what_it_sends_and_accepts() -> None:
    undocumented = [d.name for d in declarations() if not d.summary]
    assert undocumented == []


def test_the_specs_readme_table_is_the_registry() -> None:
    text = README.read_text(encoding="utf-8")
    section = text[text.index(catalog.BEGIN) : text.index(catalog.END) + len(catalog.END)] + "\n"
    assert section == catalog.render_markdown(), "run: oauth2-conformance checks --write specs/README.md"


def test_the_command_lists_every_check_with_its_options_and_traits(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["checks"]) == 0
    out = capsys.readouterr().out
    for d in declarations():
        assert f"\n{d.name}\n  {d.summary}\n" in f"\n{out}"
        for field in dataclasses.fields(d.options):
            assert f"{field.name} (" in out
    assert "expect_error (list of string or integer, default [])" in out
    assert "traits: moves the target's clock" in out and "used by: " in out


def test_write_replaces_only_the_generated_section(tmp_path: Path) -> None:
    page = tmp_path / "README.md"
    page.write_text(f"before\n{catalog.BEGIN}\nstale\n{catalog.END}\nafter\n", encoding="utf-8")
    catalog.write(page)
    text = page.read_text(encoding="utf-8")
    assert text.startswith("before\n") and text.endswith("after\n") and "stale" not in text
    assert "| `code_single_use` |" in text
