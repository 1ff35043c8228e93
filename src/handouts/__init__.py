"""handouts: one reviewed, cited content model -> print-ready, localized PDFs."""


def __getattr__(name: str):
    # The version is read from the installed metadata on first use (`--version`, a batch
    # manifest): importlib.metadata costs about 45 ms of every cold command otherwise.
    if name == "__version__":
        from importlib.metadata import PackageNotFoundError, version
        try:
            value = version("handouts")  # from pyproject.toml, as installed
        except PackageNotFoundError:  # run from a source tree that was never installed
            value = "0+unknown"
        globals()["__version__"] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
