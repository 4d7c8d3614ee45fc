"""Helpers of the built-in evals (SVM, k-means, feature networks, FID maths, tables);
nothing here registers a plugin: the registering modules sit one level up."""
