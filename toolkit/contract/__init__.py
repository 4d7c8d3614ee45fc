"""The plugin contract: hook specs, the specs each hook registers, the registry that
collects them, and the one list of built-in plugin modules. Kept free of torch imports."""
