"""Point pytest's JUnit XML and allure-pytest's results into the run directory.

Both plugins read their option in their own `pytest_configure`. pytest's junitxml is a builtin,
so it configures after this suite's plugin and setting `config.option.xmlpath` is enough.
allure-pytest is an entry point like this suite and may configure first; then its listener and
file writer are registered here the way allure's `pytest_configure` would have. A path the user
gave (`--junitxml`, `--alluredir`) always wins.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

_RFC = re.compile(r"RFC\s*(\d+)(?:\s*§\s*([\w.]+))?")
SUITE_PLUGIN = "conformance.pytest_plugin.plugin"


def enable_junit(config: pytest.Config, path: Path) -> Path | None:
    """The JUnit XML path of the run (the user's, or `path`); None when junitxml is disabled."""
    if not hasattr(config.option, "xmlpath"):
        return None
    if config.option.xmlpath:
        return Path(config.option.xmlpath).absolute()
    config.option.xmlpath = str(path)
    return path


def enable_allure(config: pytest.Config, directory: Path) -> Path | None:
    """The allure results directory of the run (the user's, or `directory`); None without allure-pytest."""
    if not hasattr(config.option, "allure_report_dir"):
        return None
    if config.option.allure_report_dir:
        return Path(config.option.allure_report_dir).absolute()
    config.option.allure_report_dir = str(directory)
    if _configured_before_suite(config, "allure_pytest.plugin"):
        _register_allure(config, directory)
    return directory


def _configured_before_suite(config: pytest.Config, module: str) -> bool:
    """Did `module`'s pytest_configure already run? Hooks run from the end of this list to its start."""
    order = [getattr(impl.plugin, "__name__", "") for impl in reversed(config.hook.pytest_configure.get_hookimpls())]
    if module not in order:
        return False
    return SUITE_PLUGIN not in order or order.index(module) < order.index(SUITE_PLUGIN)


def _register_allure(config: pytest.Config, directory: Path) -> None:
    """What allure_pytest.plugin.pytest_configure does when --alluredir is given."""
    if config.pluginmanager.has_plugin("allure_listener"):
        return
    from allure_commons import plugin_manager
    from allure_commons.logger import AllureFileLogger
    from allure_pytest.listener import AllureListener

    listener = AllureListener(config)
    config.pluginmanager.register(listener, "allure_listener")
    plugin_manager.register(listener)
    file_logger = AllureFileLogger(str(directory), False)
    plugin_manager.register(file_logger)
    for plugin in (listener, file_logger):
        config.add_cleanup(lambda plugin=plugin: plugin_manager.unregister(plugin))  # type: ignore[misc]


def rfc_link(source: str) -> str | None:
    """`RFC 6749 §4.1.2` -> the RFC Editor's URL of that section (for an allure link)."""
    match = _RFC.search(source)
    if match is None:
        return None
    url = f"https://www.rfc-editor.org/rfc/rfc{match.group(1)}"
    return f"{url}#section-{match.group(2)}" if match.group(2) else url
