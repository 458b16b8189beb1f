"""Errors of the backfill. The ones the CLI shows are click exceptions, so click sets the exit code."""

from __future__ import annotations

import click

from processor.errors import TrailalertError


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
