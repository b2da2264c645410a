"""Welder: fusion across the memory hierarchy.

``graph`` builds the tile-graph of a block of tiled operators, ``propagate`` carries an output
tile back to every producer's region, ``schedule`` connects edges level by level and tiles
each candidate group, ranking them with ``model``. See docs/welder.md.
"""
