"""Rammer (OSDI'20): every kernel launch of an inference as tasks of one persistent kernel.

Pure Python, no MLIR (``quartet-rammer`` reads the IR and calls in here):

- ``table``: the policy's data: :class:`LaunchNode` (a launch of the host program),
  :class:`VirtualDevice` (vEUs = persistent thread blocks, ``per_sm`` on each SM) and
  :class:`VeuTable` (per launch and vEU, the range of tasks it runs, with modelled times);
- ``dependencies``: which launches wait for which, from the buffers they read and write;
- ``policy``: the wavefront policy, launches -> vEU table;
- ``cost``: task times from Welder's model, the launch and handoff costs, the one-launch-per-
  kernel sequence, utilisation and the figures the reports print;
- ``gantt``: the vEU table as a picture (matplotlib, the ``report`` extra; import it alone).

See docs/rammer.md.
"""

from quartet.rammer.table import LaunchNode, VeuTable, VirtualDevice

__all__ = ["LaunchNode", "VeuTable", "VirtualDevice"]
