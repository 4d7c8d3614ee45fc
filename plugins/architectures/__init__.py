"""Built-in architectures (each module is a plugin registering through the same hooks)."""
