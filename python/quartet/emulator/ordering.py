"""The memory ordering of a PTX access or fence, read from its qualifiers.

The PTX ISA's memory consistency model ("Memory Consistency Model" chapter, PTX ISA 8.x) gives
every memory operation a *semantics* (``weak``, ``relaxed``, ``acquire``, ``release``,
``acq_rel``, ``sc``) and a *scope* (``cta``, ``cluster``, ``gpu``, ``sys``):

- ``ld``/``st`` without a qualifier are weak; ``.volatile`` is ``.relaxed.sys``; ``.relaxed``,
  ``.acquire`` (loads) and ``.release`` (stores) are strong;
- ``atom``/``red`` are strong, ``.relaxed`` unless qualified, at ``.gpu`` scope unless qualified;
- ``fence.sc``/``fence.acq_rel`` (``fence`` alone is ``.acq_rel``); ``membar.cta/.gl/.sys`` is
  ``fence.sc.cta/.gpu/.sys``; ``fence.proxy.*`` orders proxies, not threads (None here).

Two operations of different CTAs are *morally strong* when both are strong at a scope that
includes both CTAs: ``.gpu`` or ``.sys`` (the emulator runs no clusters, so ``.cluster`` covers
one CTA, like ``.cta``). Conflicting morally strong accesses do not race; only a release or
acquire at such a scope orders other accesses across CTAs.
"""

from __future__ import annotations

from dataclasses import dataclass

_SEMANTICS = ("relaxed", "acquire", "release", "acq_rel", "sc")
_SCOPES = ("cta", "cluster", "gpu", "sys")
_MEMBAR_SCOPES = {"cta": "cta", "gl": "gpu", "sys": "sys"}


@dataclass(frozen=True)
class Ordering:
    semantics: str  # weak, relaxed, acquire, release, acq_rel or sc
    scope: str  # cta, cluster, gpu or sys

    @property
    def strong(self) -> bool:
        """Strong at a scope that reaches other CTAs (morally strong with another such)."""
        return self.semantics != "weak" and self.scope in ("gpu", "sys")

    @property
    def releases(self) -> bool:
        return self.strong and self.semantics in ("release", "acq_rel", "sc")

    @property
    def acquires(self) -> bool:
        return self.strong and self.semantics in ("acquire", "acq_rel", "sc")


WEAK = Ordering("weak", "gpu")


def access_ordering(opcode: tuple[str, ...]) -> Ordering:
    """The ordering of an ``ld``, ``st``, ``atom`` or ``red`` with these opcode parts."""
    parts = opcode[1:]
    if "volatile" in parts:
        return Ordering("relaxed", "sys")
    atomic = opcode[0] in ("atom", "red")
    semantics = next((p for p in parts if p in _SEMANTICS), "relaxed" if atomic else "weak")
    scope = next((p for p in parts if p in _SCOPES), "gpu")
    return Ordering(semantics, scope)


def fence_ordering(opcode: tuple[str, ...]) -> Ordering | None:
    """The ordering of a ``fence`` or ``membar``; None for fences that order no threads."""
    if opcode[0] == "membar":
        return Ordering("sc", _MEMBAR_SCOPES.get(opcode[1], "sys")) if len(opcode) > 1 else None
    parts = opcode[1:]
    if any(p.startswith("proxy") or p.startswith("mbarrier") for p in parts):
        return None
    semantics = "sc" if "sc" in parts else "acq_rel"
    return Ordering(semantics, next((p for p in parts if p in _SCOPES), "gpu"))
