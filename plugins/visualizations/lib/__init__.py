"""Helpers of the built-in visualizations; the registering modules sit one level up."""
