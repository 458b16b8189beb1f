"""Errors of the backfill. The ones the CLI shows are click exceptions, so click sets the exit code."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from processor.errors import TrailalertError

if TYPE_CHECKING:
    from backfill.summary import Summary


class ObjectUnreadable(TrailalertError):
    """Raised into an object's processing when its download or file read failed or broke off."""


class BackfillError(click.ClickException):
    """Root of the errors the `backfill` command reports to the user."""


class IncompleteBackfill(BackfillError):
    """Raised at the end when an object could not be read or a delivery failed (the summary names them)."""

    exit_code = 1


class NothingRead(BackfillError):
    """Raised at the end when no object was read: a backfill never claims success for nothing."""

    exit_code = 3


class Interrupted(BackfillError):
    """Raised on Ctrl-C, after the summary: finished objects are in the state file, the rest resume."""

    exit_code = 130


class BadConfiguration(BackfillError):
    """Raised at start when the settings (environment and flags) are invalid; names the setting."""

    exit_code = 2


def raise_for_outcome(summary: Summary, nothing_read: str) -> None:
    """Raises the error a finished run ends with, here or on Lambda: an object not read or a delivery
    failed, else nothing read at all (`nothing_read` says which run, before the reason)."""
    if not summary.ok:
        raise IncompleteBackfill(
            f"{len(summary.objects_failed)} object(s) could not be read, "
            f"{summary.delivery_failed} delivery(ies) failed (see above)"
        )
    if (why := summary.nothing_read()) is not None:
        raise NothingRead(f"{nothing_read}: {why}")
