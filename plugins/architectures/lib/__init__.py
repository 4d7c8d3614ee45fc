"""Building blocks of the built-in architectures; the registering modules sit one level up."""
