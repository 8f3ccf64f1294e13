"""Two trees: what the target did wrong, and what kept the suite from finding out.

AssertionError
└── Violation                 the target broke a requirement (a test failure; model/violation.py)
SuiteError                    the suite could not do its job (a usage or run error)
├── ConfigError               bad flag, missing or malformed config, unset ${VAR}
├── SpecError                 a spec file is malformed or inconsistent
├── TargetError               could not talk to the target (refused, DNS, timeout, budget)
│   └── TargetUnreachable     the circuit breaker opened: stop trying
└── SuiteBug                  an exception no target can cause: a bug in the suite (masked traceback kept)
MissingPrerequisite           a value the case needs is not configured (the case is skipped)
PreconditionFailed            an earlier step failed, so the requirement is undecided (skipped)
└── UnusableAnswer            the target answered with what the suite cannot send on or read (skipped)
NotApplicable                 the target does not offer the feature the requirement is about
"""

from __future__ import annotations


class SuiteError(Exception):
    """The suite could not do its job; the message is one line saying what to do."""


class ConfigError(SuiteError):
    pass


class SpecError(SuiteError):
    pass


class TargetError(SuiteError):
    pass


class TargetUnreachable(TargetError):
    pass


class SuiteBug(SuiteError):
    """An unexpected exception while deciding a requirement. Whatever a target can cause is turned
    into a verdict before it gets here (client.py, session.py), so this is the suite's own bug;
    `trace` is its traceback, masked and sanitized, without locals (they hold secrets)."""

    def __init__(self, message: str, trace: str = "") -> None:
        super().__init__(message)
        self.trace = trace


class MissingPrerequisite(Exception):
    """A case needs something the target config does not provide; the message says which key."""


class PreconditionFailed(Exception):
    """A step the check relies on did not work, so this requirement cannot be decided (not run)."""


class UnusableAnswer(PreconditionFailed):
    """The target answered with something the suite cannot send on or read: a redirect to an
    invalid or non-HTTP URL (`javascript:`), a token no HTTP header can carry, a body its own
    Content-Encoding cannot decode. That is the target's doing, never a suite error: the step did
    not work, so the requirement is undecided, with the reason."""


class NotApplicable(Exception):
    """The target does not offer what the requirement is about (an optional grant, response type,
    endpoint or auth method), as its metadata, the config or an RFC-coded refusal shows.

    The message says how the suite knows and, where it helps, what to configure to run it anyway.
    """


# What ends a check without a verdict on the target: a property or state machine stops at the first
# one instead of letting Hypothesis shrink it as if the target had failed.
UNDECIDED = (NotApplicable, MissingPrerequisite, PreconditionFailed)
