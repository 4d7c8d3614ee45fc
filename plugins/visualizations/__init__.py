"""Built-in visualizations: the figures of the DCGAN paper's §6, each a plugin."""
