"""Control flow: If and Loop (implemented below)."""
