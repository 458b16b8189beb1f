"""`python -m bench.rss CMD...`: run CMD, then print the peak RSS (KiB) of its process tree to stderr.

A small wrapper, because a child forked straight from the bench inherits the bench's own
high-water mark (Linux keeps `maxrss` across exec), which would hide the backfill's real peak.
"""

from __future__ import annotations

import resource
import subprocess
import sys


def main() -> None:
    code = subprocess.run(sys.argv[1:], check=False).returncode  # noqa: S603 - the bench's own command
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    print(f"bench.rss peak_kib={peak}", file=sys.stderr)
    sys.exit(code)


if __name__ == "__main__":
    main()
