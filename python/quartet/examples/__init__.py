"""Bundled example models with their numpy references."""
