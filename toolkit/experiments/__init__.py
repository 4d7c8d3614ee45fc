"""Experiments: sweeps of runs over seeds and settings, and comparisons of their scores."""
