// The controlflow dialect: Grinder's device-placed loops and branches.
// Placement is an attribute on upstream scf ops (docs/dialects.md); the ops are leaves. A
// grid-wide barrier is the schedule dialect's `schedule.barrier {scope = "grid"}`.
// IRDL checks kinds and counts; dialects/verify.py checks where the attribute and ops may appear.
irdl.dialect @controlflow {
  // Runs the scf.for/scf.while/scf.if that carries it (as `controlflow.placement`) on the device:
  // "grid" = all CTAs of a persistent kernel step together, iterations split by grid barriers;
  // "cta" = one CTA runs the whole construct, iterations split by CTA barriers.
  irdl.attribute @device {
    %grid = irdl.is "grid"
    %cta = irdl.is "cta"
    %scope = irdl.any_of(%grid, %cta)
    irdl.parameters(scope: %scope)
  }
  // The value `value` has in CTA 0, made visible to every CTA (e.g. a loop's exit condition).
  irdl.operation @broadcast {
    %type = irdl.any
    irdl.operands(value: %type)
    irdl.results(result: %type)
    irdl.regions()
  }
}
