"""The training engine: run configuration, the core `train()` entry, the trainer loop,
checkpoints, devices, distributed processes, trained-run loading and latent sampling."""
