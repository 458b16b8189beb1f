"""Pure rendering of matched CloudTrail records into Slack Block Kit and SNS messages (no I/O)."""

from processor.render.slack import render_decode_failure, render_rule_failure, render_slack
from processor.render.sns import render_sns

__all__ = ["render_decode_failure", "render_rule_failure", "render_slack", "render_sns"]
