"""Every error Vigil raises on purpose, and the exit code each one maps to.

The tree (exit codes from DESIGN.md's table)::

    VigilError                      1  unexpected: a bug, the message says where to report it
    ├── UsageError                  2  bad option, argument or input; says which and what to do
    │   ├── ConfigError             2  vigil.yaml (or VIGIL_*) invalid; lists every problem with file:line
    │   └── NotFoundError           2  an id/ARN the store does not know
    └── CannotStart                 5  the work cannot begin
        ├── NoCredentialsError      5  no AWS credentials could be found or assumed
        ├── StoreUnavailable        5  the store URL is wrong, unreachable or unwritable
        └── EmulatorUnavailable     5  the embedded AWS emulator (moto) is missing or cannot start

    CollectionError                    not an exit: one (account, region, resource type) could not be read;
                                       it is recorded, the scan goes on and exits 3 ("partial")

Every error carries ``hint`` (what to do) and, where it applies, ``where`` (file:line, resource,
account/region), so the CLI can print one clear message without a traceback.
"""

from __future__ import annotations

from dataclasses import dataclass

EXIT_OK = 0
EXIT_BUG = 1
EXIT_USAGE = 2
EXIT_PARTIAL = 3
EXIT_FINDINGS = 4
EXIT_CANNOT_START = 5

ISSUES_URL = "https://github.com/vigil-security/vigil/issues"


class VigilError(Exception):
    """Base of Vigil's own errors. ``str(err)`` is the full, user-facing message."""

    exit_code = EXIT_BUG

    def __init__(self, message: str, *, hint: str = "", where: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.where = where

    def __str__(self) -> str:
        parts = [f"{self.where}: {self.message}" if self.where else self.message]
        if self.hint:
            parts.append(f"hint: {self.hint}")
        return "\n".join(parts)


class UsageError(VigilError):
    """Invalid input or usage; the message says where and what to do."""

    exit_code = EXIT_USAGE


@dataclass(frozen=True)
class Problem:
    """One problem found in a configuration or rule file: where, what, and a hint."""

    where: str
    message: str
    hint: str = ""

    def __str__(self) -> str:
        text = f"{self.where}: {self.message}"
        return f"{text} (hint: {self.hint})" if self.hint else text


class ConfigError(UsageError):
    """The configuration is invalid. Carries every problem found, not only the first."""

    def __init__(self, problems: list[Problem], *, source: str = "") -> None:
        self.problems = list(problems)
        noun = "problem" if len(problems) == 1 else "problems"
        head = f"{source}: {len(problems)} {noun}" if source else f"{len(problems)} configuration {noun}"
        body = "\n".join(f"  {p}" for p in problems)
        super().__init__(f"{head}\n{body}", hint="fix the lines above, then run `vigil config validate`")


class NotFoundError(UsageError):
    """The store has no resource (or other record) by that id or ARN."""


class CannotStart(VigilError):
    """The work cannot begin: credentials, store, port, emulator."""

    exit_code = EXIT_CANNOT_START


class NoCredentialsError(CannotStart):
    """No AWS credentials could be found, or the role could not be assumed."""


class StoreUnavailable(CannotStart):
    """The store cannot be opened: bad URL, server down, path not writable."""


class EmulatorUnavailable(CannotStart):
    """The embedded AWS emulator (moto) is not installed or failed to start."""


@dataclass(frozen=True)
class CollectionError:
    """One unit of collection (account, region, resource type) that could not be read.

    Not raised past the recorder: it is stored with the scan, shown in the summary, makes the rule
    engine report INSUFFICIENT_DATA for that (type, region), and prevents unseen resources of that
    unit from being marked deleted.
    """

    account_id: str
    region: str
    resource_type: str
    code: str
    message: str
    resource_id: str | None = None  # set when one resource of the unit failed, not the whole unit

    @property
    def where(self) -> str:
        base = f"{self.account_id}/{self.region}/{self.resource_type}"
        return f"{base}/{self.resource_id}" if self.resource_id else base

    def __str__(self) -> str:
        return f"{self.where}: {self.code}: {self.message}"
