"""pytest-xdist support (`-n N`, `-n auto`): workers decide, the controller writes one report.

How a parallel run stays one run:

* **Verdicts** travel on the setup report of each item (`report/transport.py`), masked on the
  worker; the controller's ReportPlugin rebuilds them and writes the report as in a sequential run.
  Workers never write the run directory.
* **Allure** results are written by each worker into a private temporary folder, masked there
  with the worker's masker when the worker ends, and handed to the controller (`workeroutput`),
  which writes them into the run's `allure-results/`. JUnit XML is written by the controller.
* **Seed**: the controller's Hypothesis seed is every worker's seed, so a parallel run replays like
  a sequential one (`--hypothesis-seed`).
* **Budget**: `max_requests` and `rate` are for the whole run. Each of N workers gets
  `max_requests // N` requests and `rate / N` requests per second (`Runtime.share`).
* **Isolation**: against a real target (`--target`), every worker talks to the same server. A
  requirement that moves the target's clock (with `clock_url`; one that waits a lifetime out in
  real time moves nothing and runs beside the others), or that needs the target to itself
  (Yixin's "a new code ends every earlier access token"), holds an exclusive lock on the target
  while it runs; every other requirement holds a shared one. So an isolated requirement never
  runs beside another requirement of that target, and the rest run side by side. How far the
  clock was moved is shared through a file next to the lock, so every worker's `session.now()`
  keeps agreeing with the target's clock. The embedded reference servers need none of this: each
  worker starts its own, and a worker runs one requirement at a time.
* **Several targets** (conformance/fleet.py): each worker has every target's Runtime; the locks
  are keyed by target URL (two targets on one server share one), and a verdict travels with its
  target's name, so the controller files it under that target's report.
* **Order**: under `--dist load` each worker collects the same order: the costly requirements
  first, one per worker (longest processing time first), the isolated ones last.

Why a lock and not `xdist_group` + `--dist loadgroup`: a group runs on one worker, but beside the
other workers' items, so grouping the clock movers would not keep them apart from the rest; and
grouping a whole profile would serialise a real target's run (one target is one profile), which
is exactly the case `-n` is for.
"""

from __future__ import annotations

import contextlib
import shutil
import tempfile
from pathlib import Path
from typing import Any

import pytest
from allure_commons import plugin_manager
from allure_commons.logger import AllureFileLogger

from conformance.engine.plan import isolated, traits_of
from conformance.model.masking import Masker
from conformance.model.spec import Requirement
from conformance.pytest_plugin.items import RequirementItem
from conformance.pytest_plugin.locks import GUARD, TargetLock
from conformance.pytest_plugin.outputs import enable_allure
from conformance.report.scrub import Scrubber

SEED = "oauth2_seed"
LOCK_DIR = "oauth2_lock_dir"
ALLURE_FILES = "oauth2_allure"
CONFIGS = "oauth2_configs"
REQUESTS = "oauth2_requests"
DESELECTED = "oauth2_deselected"
DIST = "oauth2_dist"
DETECTED = "oauth2_detected"  # target URL -> the profile the controller detected there
SURVEYED = "oauth2_surveyed"  # target URL -> the config the controller derived for it (no config file)

REMOTE = pytest.StashKey["Remote"]()


def weight(requirement: Requirement) -> int:
    """A rough cost, declared by the check (the lifecycle state machine makes the most exchanges)."""
    return traits_of(requirement).weight


def spread(items: list[pytest.Item], workers: int, chunk: int) -> list[pytest.Item]:
    """The order a worker collects: heaviest first (longest processing time first), the heavy ones
    placed so xdist's first chunks (`chunk` consecutive items per worker) give each worker one
    before any gets a second; the isolated ones last, when they hold up little. Every worker
    computes the same order, as xdist requires."""
    ranked = sorted(items, key=_rank)
    head = min(len([item for item in ranked if not isolated(item.requirement)]), workers * chunk)  # type: ignore[attr-defined]
    slots: list[pytest.Item | None] = [None] * head
    for i, item in enumerate(ranked[:head]):
        slots[(i % workers) * chunk + i // workers] = item
    return [item for item in slots if item is not None] + ranked[head:]


def _rank(item: Any) -> tuple[bool, int]:
    """Isolated requirements last (each one waits for the target to be free), then heaviest first."""
    return isolated(item.requirement), -weight(item.requirement)


def is_worker(config: pytest.Config) -> bool:
    return hasattr(config, "workerinput")


def is_controller(config: pytest.Config) -> bool:
    """A pytest-xdist controller: it distributes items and runs none itself."""
    if is_worker(config) or not config.pluginmanager.hasplugin("xdist"):
        return False
    return bool(getattr(config.option, "numprocesses", None)) and getattr(config.option, "dist", "no") != "no"


def worker_count(config: pytest.Config) -> int:
    return int(getattr(config, "workerinput", {}).get("workercount", 1)) if is_worker(config) else 1


def queued(config: pytest.Config, session: pytest.Session) -> list[pytest.Item]:
    """The items the controller has already handed this worker and it has not run yet, in order:
    what a worker can decide concurrently (`--concurrency`), since xdist hands items out a few at a
    time. Empty where that is unknown, or where items may still be taken back (`--dist worksteal`),
    so the worker then decides one item at a time, as before."""
    dist = getattr(config, "workerinput", {}).get(DIST, ["load", None])[0]
    interactor = config.pluginmanager.getplugin("workerinteractor")
    queue = getattr(interactor, "torun", None)
    if dist == "worksteal" or queue is None or not hasattr(queue, "lock"):
        return []
    with queue.lock() as pending:
        indices = [i for i in pending if isinstance(i, int)]
    return [session.items[i] for i in indices if 0 <= i < len(session.items)]


def worker_seed(config: pytest.Config) -> int | None:
    """The controller's seed, on a worker (None elsewhere)."""
    value = getattr(config, "workerinput", {}).get(SEED)
    return int(value) if value is not None else None


def worker_detected(config: pytest.Config) -> dict[str, str]:
    """The profiles the controller detected, by target URL, on a worker (empty elsewhere): a
    worker runs what its controller chose and does not probe the target again."""
    return dict(getattr(config, "workerinput", {}).get(DETECTED) or {})


def worker_surveyed(config: pytest.Config) -> dict[str, str]:
    """The configs the controller derived for targets given by URL alone, on a worker (empty
    elsewhere): a worker does not survey the target again."""
    return dict(getattr(config, "workerinput", {}).get(SURVEYED) or {})


class Remote:
    """What the controller learns from its workers besides the verdicts (which ride on reports)."""

    def __init__(self) -> None:
        self.configs: dict[str, dict[str, Any]] = {}
        self.requests = 0
        self.deselected: list[str] = []
        self.collected: list[str] = []


class Controller:
    """Controller-side hooks: hand the seed and the lock folder out, take the workers' results in."""

    def __init__(
        self,
        config: pytest.Config,
        seed: int,
        allure_dir: Any,
        detected: dict[str, str] | None = None,
        surveyed: dict[str, str] | None = None,
    ) -> None:
        self.config = config
        self.seed = seed
        self.detected = detected or {}
        self.surveyed = surveyed or {}
        self.lock_dir = tempfile.mkdtemp(prefix="oauth2-conformance-locks-")
        self.allure_dir = allure_dir  # callable: the run's allure results folder, or None
        config.stash[REMOTE] = Remote()

    def pytest_configure_node(self, node: Any) -> None:
        node.workerinput[SEED] = self.seed
        node.workerinput[DETECTED] = self.detected
        node.workerinput[SURVEYED] = self.surveyed
        node.workerinput[LOCK_DIR] = self.lock_dir
        node.workerinput[DIST] = [getattr(self.config.option, "dist", "load"), self._chunk_limit()]

    def _chunk_limit(self) -> int | None:
        value = getattr(self.config.option, "maxschedchunk", None)
        return int(value) if value else None

    def pytest_xdist_node_collection_finished(self, node: Any, ids: list[str]) -> None:
        remote = self.config.stash[REMOTE]
        if not remote.collected:  # every worker collects the same items
            remote.collected.extend(ids)

    def pytest_testnodedown(self, node: Any, error: Any) -> None:
        output = getattr(node, "workeroutput", None) or {}
        remote = self.config.stash[REMOTE]
        for profile, masked in (output.get(CONFIGS) or {}).items():
            remote.configs.setdefault(profile, masked)
        remote.requests += int(output.get(REQUESTS) or 0)
        remote.deselected.extend(output.get(DESELECTED) or [])
        folder = self.allure_dir()
        files = output.get(ALLURE_FILES) or {}
        if folder is not None and files:
            folder.mkdir(parents=True, exist_ok=True)
            for name, text in files.items():
                target = folder / Path(name).name  # flat names only: nothing escapes the folder
                target.write_text(text, encoding="utf-8")

    def pytest_unconfigure(self) -> None:
        shutil.rmtree(self.lock_dir, ignore_errors=True)


class Worker:
    """Worker-side hooks: allure into a private folder, the worker's findings into workeroutput."""

    def __init__(self, config: pytest.Config, runtimes: list[Any]) -> None:
        self.config = config
        self.runtimes = runtimes  # one per target of the run
        self.allure = _redirect_allure(config)
        self.deselected: list[str] = []
        lock_dir = config.workerinput.get(LOCK_DIR)  # type: ignore[attr-defined]
        if lock_dir:  # embedded servers (no target URL): one per worker, no sharing
            urls = {runtime.run.target for runtime in runtimes if runtime.run.target is not None}
            config.stash[GUARD] = {url: TargetLock(Path(lock_dir), url) for url in urls}

    def pytest_deselected(self, items: list[pytest.Item]) -> None:
        self.deselected.extend(item.nodeid for item in items)

    def pytest_collection_modifyitems(self, items: list[pytest.Item]) -> None:
        """Under `--dist load` (xdist's default), the costly requirements start first, one per worker."""
        dist, limit = self.config.workerinput.get(DIST, ["load", None])  # type: ignore[attr-defined]
        workers = worker_count(self.config)
        if dist != "load" or workers < 2 or not all(isinstance(item, RequirementItem) for item in items):
            return
        if len(items) < 2 * workers:  # xdist then deals them out one by one, round robin
            items[:] = spread(items, 1, len(items))
            return
        per_worker = len(items) // workers // 4  # xdist's first chunk per worker (LoadScheduling.schedule)
        chunk = max(min(per_worker, limit) if limit else per_worker, 2)
        items[:] = spread(items, workers, chunk)

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self) -> None:
        output: dict[str, Any] = self.config.workeroutput  # type: ignore[attr-defined]
        output[CONFIGS] = {  # by `profile`, or `target/profile` among several targets
            r.run.prefix + name: s.config.masked() for r in self.runtimes for name, (s, _) in r.sessions.items()
        }
        output[REQUESTS] = sum(r.requests_made() for r in self.runtimes)
        output[DESELECTED] = list(self.deselected)
        if self.allure is not None:  # one allure folder for the run: every target's secrets masked
            output[ALLURE_FILES] = _masked_files(self.allure, [r.masker for r in self.runtimes])

    def pytest_unconfigure(self) -> None:
        if self.allure is not None:
            shutil.rmtree(self.allure, ignore_errors=True)


def _redirect_allure(config: pytest.Config) -> Path | None:
    """allure-pytest on a worker writes into a private folder (the user's --alluredir included)."""
    if not hasattr(config.option, "allure_report_dir"):
        return None
    folder = Path(tempfile.mkdtemp(prefix="oauth2-conformance-allure-"))
    loggers = [p for p in plugin_manager.get_plugins() if isinstance(p, AllureFileLogger)]
    if loggers:  # allure-pytest configured first, with the user's --alluredir
        for logger in loggers:
            logger._report_dir = folder
        return folder
    config.option.allure_report_dir = None
    enable_allure(config, folder)
    return folder


def _masked_files(folder: Path, maskers: list[Masker]) -> dict[str, str]:
    for masker in maskers:
        Scrubber(masker).allure(folder)
    files: dict[str, str] = {}
    for path in sorted(folder.iterdir()):
        if path.is_file():
            with contextlib.suppress(UnicodeDecodeError, OSError):
                files[path.name] = path.read_text(encoding="utf-8")
    return files
