"""Helpers of the built-in dataset sources (file walking, face detection, the CelebA
layout); the registering modules sit one level up."""
