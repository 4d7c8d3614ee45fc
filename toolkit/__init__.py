"""gantk: a modular plug-in GAN toolkit built around DCGAN (Radford, Metz, Chintala 2015).

This module stays import-light (no torch, no dagster) so that `gantk --help` is instant;
plugins import `hookimpl` from here.
"""

import pluggy

__version__ = "0.1.0"

PROJECT = "gantk"
hookimpl = pluggy.HookimplMarker(PROJECT)

__all__ = ["PROJECT", "__version__", "hookimpl"]
