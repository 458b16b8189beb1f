"""The README stays true to the code: every setting the processor reads is documented."""

from __future__ import annotations

from pathlib import Path

from processor.settings import ENVIRONMENT_VARIABLES

README = Path(__file__).resolve().parents[1] / "README.md"


def test_every_setting_has_a_row_in_the_configuration_table() -> None:
    text = README.read_text()
    table = text[text.index("## Configuration") : text.index("## Rules")]
    missing = [name for name in ENVIRONMENT_VARIABLES if f"| `{name}` |" not in table]
    assert missing == []


def test_quick_start_is_the_two_commands() -> None:
    text = README.read_text()
    quick = text[text.index("## Quick start") : text.index("## How it works")]
    assert "make demo" in quick and "make test" in quick
