"""Local stand-ins used by `make demo` and the tests; never imported by the Lambda."""
