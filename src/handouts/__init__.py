"""handouts: one reviewed, cited content model -> print-ready, localized PDFs."""

__version__ = "0.1.0"
