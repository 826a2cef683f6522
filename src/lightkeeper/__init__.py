"""Lightkeeper: the identity and access layer of a Lightdash-style analytics platform."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("lightkeeper")
except PackageNotFoundError:  # running from a source tree without installation
    __version__ = "0.0.0"
