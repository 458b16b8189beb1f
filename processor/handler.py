"""AWS Lambda entry point for Kinesis: `processor.handler.handler`.

Configuration, rules and clients are built on the first invocation of a container and reused; a
bad configuration fails that first invocation with a message naming the setting. The code lives
with the App it runs (processor/app.py); this module is the name Lambda is configured with.
"""

from processor.app import get_app, handler, reset

__all__ = ["get_app", "handler", "reset"]
