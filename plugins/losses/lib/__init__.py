"""Helpers of the built-in losses (their options models)."""
