"""The package's version, written once: ``labextension/package.json`` (hatch-nodejs-version
makes it the Python distribution's version at build time, so the panel and the package never
disagree). Read from the installed distribution's metadata; nothing else to import."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("jupyter-mlops")
except PackageNotFoundError:  # a source tree that was never installed
    __version__ = "0+unknown"
