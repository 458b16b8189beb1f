"""The bundled detection pack: YAML rules for AWS attack techniques (Stratus Red Team's among them),
tampering with security tooling, and exposure of data, keys, networks and identities.

Package data only (one rule per file, the file path matches the id); enabled with
USE_DETECTION_PACK=true. docs/pack.md lists the rules (`trailalert rules pack-table`);
docs/rule-files.md says how the pack behaves.
"""
