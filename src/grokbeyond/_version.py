"""The package version, from the installed distribution's metadata (no import of the package itself)."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("grokbeyond")
except PackageNotFoundError:  # pragma: no cover - running from a source tree that is not installed
    __version__ = "0.0.0"

__all__ = ["__version__"]
