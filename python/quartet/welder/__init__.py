"""Welder: fusion across the memory hierarchy.

``graph`` builds the tile-graph of a block of tiled operators, ``propagate`` carries an output
tile back to every producer's region, ``schedule`` connects edges level by level and tiles
each candidate group, ranking them with ``model``. See docs/welder.md.
"""

MODELLED_SECONDS = "welder.modelled_seconds"
"""On each kernel's output operator (``quartet-lower-tiles`` carries it to the kernel's block
loop): the latency model's time for the kernel as Welder tiled it (``passes/welder/model.py``),
in seconds, an f64; what the compile report prints as the kernel's modelled time."""

LAUNCH_SECONDS = "welder.launch_seconds"
"""On each function Welder grouped: the charge for one launch (seconds, an f64) included in
every ``welder.modelled_seconds`` of its kernels (``quartet-welder{launch-seconds=...}``), so
that a later reader (``quartet-rammer``) can take it out again."""
