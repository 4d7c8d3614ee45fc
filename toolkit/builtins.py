"""The one list of built-in plugin modules. They register through the same hooks as
third-party plugins; nothing else in the core names a concrete plugin."""

BUILTIN_PLUGINS: tuple[str, ...] = (
    "gantk.plugins.architectures.dcgan",
    "gantk.plugins.architectures.dcgan_examples",
    "gantk.plugins.losses.nonsaturating",
    "gantk.plugins.presets",
    "gantk.plugins.visualizations.samples",
    "gantk.plugins.visualizations.latent_walk",
    "gantk.plugins.visualizations.vector_arithmetic",
    "gantk.plugins.visualizations.guided_backprop",
    "gantk.plugins.visualizations.filter_ablation",
    "gantk.plugins.visualizations.training_curves",
    "gantk.datasets.idx",
    "gantk.datasets.digits",
)
