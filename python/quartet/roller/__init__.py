"""Roller: hardware-aligned tile programs constructed per operator, not searched.

``describe`` reads an operator from a ``linalg.generic``; ``construct`` grows rTiles by data
reuse per memory level and ranks them with the micro performance model (``estimate``). See
docs/roller.md.
"""

from quartet.roller.config import Config
from quartet.roller.construct import Ranked, Target, best_of_space, construct, enumerate_space
from quartet.roller.model import Estimate, estimate
from quartet.roller.operator import Access, Operator, describe

__all__ = [
    "Access",
    "Config",
    "Estimate",
    "Operator",
    "Ranked",
    "Target",
    "best_of_space",
    "construct",
    "describe",
    "enumerate_space",
    "estimate",
]
