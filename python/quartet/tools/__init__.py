"""Entry points behind the console scripts `quartet-opt` and `quartet`."""
