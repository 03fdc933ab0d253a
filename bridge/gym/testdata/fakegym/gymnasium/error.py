"""Gymnasium's exception classes that the stand-ins raise."""


class Error(Exception):
    """The base of Gymnasium's errors."""


class ResetNeeded(Error):
    """step or render was called before reset."""


class DependencyNotInstalled(Error):
    """An optional dependency (pygame) is missing."""
