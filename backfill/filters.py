"""`--account` and `--region` values, checked by click: a typo would otherwise select nothing, silently.

A region is accepted in the form AWS names them, lowercase letters in two to four hyphenated words
ending in a number: `us-east-1`, `eu-central-2`, `us-gov-west-1`, `cn-northwest-1`, `us-isob-east-1`.
The form is checked, not a list, so a region newer than this release is accepted too.
"""

from __future__ import annotations

import re
from typing import Any

import click

_ACCOUNT = re.compile(r"\d{12}")
_REGION = re.compile(r"[a-z]{2,4}(?:-[a-z]+){1,3}-\d{1,2}")


class AccountIdType(click.ParamType):
    name = "ACCOUNT_ID"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> str:
        text = str(value).strip()
        if not _ACCOUNT.fullmatch(text):
            self.fail(f"{text!r} is not an AWS account id (12 digits, such as 111122223333)", param, ctx)
        return text


class RegionType(click.ParamType):
    name = "REGION"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> str:
        text = str(value).strip().lower()
        if not _REGION.fullmatch(text):
            self.fail(
                f"{str(value)!r} is not an AWS region name (such as us-east-1, eu-central-2 or us-gov-west-1)",
                param,
                ctx,
            )
        return text
