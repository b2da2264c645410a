"""Quartet passes: one module per pass, named after its pipeline argument."""
