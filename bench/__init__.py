"""`make bench`: the project's speed, memory and cold start against the reference and the parse floor."""
