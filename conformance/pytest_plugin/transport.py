"""A verdict on its way from a pytest-xdist worker to the controller that writes the report.

A worker decides a requirement and attaches `dump(verdict, masker)` to the setup report of its
item (`report.oauth2_verdict`, a plain JSON-able dict: xdist serialises plain report attributes).
Everything that leaves the worker is masked there, with the worker's masker, which is the only one
that learned the codes and tokens of that worker's exchanges. The controller `load`s it back into
a Verdict whose exchanges are already masked, and the report is written from those as in a
sequential run.

Only what the report reads travels: status, reason, the exchange count and, for a verdict that
keeps evidence (anything but a pass), the exchanges of its deciding example. The violation and
error objects stay behind; the report never reads them.
"""

from __future__ import annotations

from typing import Any

from conformance.engine.verdicts import Status, Verdict, absent
from conformance.model.exchange import EvidenceLog, Exchange
from conformance.model.masking import Masker
from conformance.model.spec import Requirement

ATTRIBUTE = "oauth2_verdict"  # the TestReport attribute that carries a dumped verdict
_BODY_KEPT = 4096  # what the client keeps of a response body anyway


def dump(verdict: Verdict, masker: Masker, target: str | None = None) -> dict[str, Any]:
    """The verdict as plain data, every string that came from the wire masked (with the masker of
    its own target). `target`, the target's name among several, tells the controller whose it is."""
    log = verdict.log
    exchanges = [] if verdict.status == Status.PASS else [_exchange(e, masker) for e in log]
    return {
        "target": target,
        "id": verdict.requirement.id,
        "profile": verdict.requirement.profile,
        "status": str(verdict.status),
        "reason": masker.mask(verdict.reason),
        "exchanges": verdict.exchanges,
        "log_count": log.count,
        "log": exchanges,
    }


def load(data: dict[str, Any], requirement: Requirement) -> Verdict:
    """A Verdict rebuilt on the controller; its exchanges are masked already."""
    entries = list(data.get("log") or [])
    log = EvidenceLog(limit=max(len(entries), 1))
    for entry in entries:
        log.add(
            Exchange(
                seq=int(entry["seq"]),
                method=str(entry["method"]),
                url=str(entry["url"]),
                request_headers=dict(entry["request_headers"]),
                request_body=str(entry["request_body"]),
                status=entry["status"],
                response_headers=dict(entry["response_headers"]),
                response_body=str(entry["response_body"]),
                elapsed_ms=float(entry["elapsed_ms"]),
                error=entry["error"],
                started_at=entry.get("started_at"),
                ended_at=entry.get("ended_at"),
            )
        )
    log.count = max(int(data.get("log_count") or 0), len(log))
    return absent(
        requirement, Status(data["status"]), str(data["reason"]), log=log, exchanges=int(data.get("exchanges") or 0)
    )


def _exchange(exchange: Exchange, masker: Masker) -> dict[str, Any]:
    """The exchange masked (the report reads the location header only; a redirect's code or token
    is masked in it)."""
    masked = exchange.masked(masker)
    return {
        "seq": masked.seq,
        "method": masked.method,
        "url": masked.url,
        "request_headers": dict(masked.request_headers),
        "request_body": masked.request_body,
        "status": masked.status,
        "response_headers": dict(masked.response_headers),
        "response_body": masked.response_body[:_BODY_KEPT],
        "elapsed_ms": masked.elapsed_ms,
        "error": masked.error,
        "started_at": masked.started_at,
        "ended_at": masked.ended_at,
    }
