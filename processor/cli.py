"""trailalert CLI."""
