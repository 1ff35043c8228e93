"""handouts: one reviewed, cited content model -> print-ready, localized PDFs."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("handouts")  # from pyproject.toml, as installed
except PackageNotFoundError:  # run from a source tree that was never installed
    __version__ = "0+unknown"
