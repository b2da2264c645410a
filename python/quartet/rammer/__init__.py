"""Rammer's placement policy as pure Python (no MLIR): launches of a host program in, a vEU
table out. ``quartet-rammer`` builds the vEU program from the table (docs/rammer.md)."""
