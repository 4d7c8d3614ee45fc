"""An example third-party gantk plugin (see plugin.py, the entry point)."""

__version__ = "0.1.0"
