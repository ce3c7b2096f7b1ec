"""Readiness: is the process behind a config clear enough to automate? (`interlace check`)."""

from interlace.readiness.finding import KINDS, Finding
from interlace.readiness.report import Report, readiness_errors, run_checks

__all__ = ["KINDS", "Finding", "Report", "readiness_errors", "run_checks"]
