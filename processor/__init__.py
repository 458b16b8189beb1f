"""trailalert: CloudTrail alerts to Slack and SNS, in real time (Lambda) and from history (backfill)."""

__version__ = "0.1.0"
