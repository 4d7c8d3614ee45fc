"""Built-in model-side plugins: architectures, losses, evals, visualizations, presets."""
