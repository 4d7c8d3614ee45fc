"""`python -m gantk …` (and `torchrun -m gantk …`) runs the CLI."""

from gantk.cli.app import main

main()
