"""The bundled detection pack: YAML rules for the AWS techniques of Stratus Red Team.

Package data only (one rule per file, the file path matches the id); enabled with
USE_DETECTION_PACK=true. See the README section "Rule files and the detection pack".
"""
