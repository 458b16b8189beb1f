"""Run `processor.handler.handler` once, in its own process, on a Kinesis batch read from a file.

The kill test needs a Lambda container it can kill mid-batch: this is one. The configuration comes
from the environment, as in Lambda; the response is printed as one JSON line.
"""

from __future__ import annotations

import sys
from pathlib import Path

import orjson

from processor import handler


class Context:
    """A fresh invocation with a minute to run."""

    def get_remaining_time_in_millis(self) -> int:
        return 60_000


def main(batch_path: str) -> None:
    batch = orjson.loads(Path(batch_path).read_bytes())
    response = handler.handler(batch, Context())
    sys.stdout.write(orjson.dumps(response).decode() + "\n")


if __name__ == "__main__":
    main(sys.argv[1])
