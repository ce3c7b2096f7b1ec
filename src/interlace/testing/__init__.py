"""Flow tests (`interlace test`): each flow's `tests:` run through the real compiled steps with
every system replaced by an in-memory fake."""

from interlace.testing.runner import TestResult, run_tests

__all__ = ["TestResult", "run_tests"]
