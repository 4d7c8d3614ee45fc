"""The one list of built-in plugin modules. They register through the same hooks as
third-party plugins; nothing else in the core names a concrete plugin."""

BUILTIN_PLUGINS: tuple[str, ...] = (
    "gantk.plugins.architectures.dcgan",
    "gantk.plugins.architectures.dcgan_examples",
    "gantk.plugins.architectures.dcgan_no_bn",
    "gantk.plugins.architectures.mlp_gan",
    "gantk.plugins.losses.nonsaturating",
    "gantk.plugins.losses.minimax",
    "gantk.plugins.losses.lsgan",
    "gantk.plugins.losses.hinge",
    "gantk.plugins.losses.wgan_gp",
    "gantk.plugins.presets",
    "gantk.plugins.baseline_presets",
    "gantk.datasets.idx",
    "gantk.datasets.digits",
    "gantk.datasets.lsun",
    "gantk.datasets.imagenet",
    "gantk.datasets.faces",
    "gantk.datasets.cifar10",
    "gantk.datasets.svhn",
    "gantk.datasets.folder",
    "gantk.datasets.cli",
    "gantk.datasets.dedup.dedup_cli",
)
