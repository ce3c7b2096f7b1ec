"""Interlace: a lightweight integration hub run from one config file."""

__version__ = "0.1.0"
