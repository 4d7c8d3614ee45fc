"""The one list of built-in plugin modules. They register through the same hooks as
third-party plugins; nothing else in the core names a concrete plugin."""

BUILTIN_PLUGINS: tuple[str, ...] = (
    "gantk.plugins.architectures.dcgan",
    "gantk.plugins.architectures.dcgan_examples",
    "gantk.plugins.architectures.dcgan_imagenet32",
    "gantk.plugins.losses.nonsaturating",
    "gantk.plugins.presets",
    "gantk.plugins.evals.svm_probe",
    "gantk.plugins.evals.sample_quality",
    "gantk.plugins.evals.nearest",
    "gantk.datasets.idx",
    "gantk.datasets.digits",
)
