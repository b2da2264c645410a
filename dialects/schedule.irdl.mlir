// The schedule dialect: Rammer's vEU program (one persistent kernel walking a vEU table),
// its counters and barriers. Attributes are attached to upstream ops (docs/dialects.md); the
// ops are leaves. IRDL checks kinds and counts; dialects/verify.py checks the table (shape,
// ranges, satisfiable waits, deadlock freedom by simulation) and co-residency.
irdl.dialect @schedule {
  // The virtual device of a vEU program: `count` vEUs (persistent CTAs), `per_sm` of them on
  // each SM of `arch`. Attached as `schedule.veus` to the vEU loop (the persistent kernel's
  // block loop, one iteration per vEU).
  irdl.attribute @veus {
    %count = irdl.base "#builtin.integer"
    %per_sm = irdl.base "#builtin.integer"
    %arch = irdl.base "#builtin.string"
    irdl.parameters(count: %count, per_sm: %per_sm, arch: %arch)
  }
  // One launch of the host program inside a vEU program, attached as `schedule.segment` to the
  // scf.if that runs its tasks on one vEU: its position in program order, its kernel, its task
  // count (blocks of its grid) and the launches whose counters it waits for.
  irdl.attribute @segment {
    %launch = irdl.base "#builtin.integer"
    %kernel = irdl.base "#builtin.string"
    %tasks = irdl.base "#builtin.integer"
    %waits = irdl.base "#builtin.dense_array"
    irdl.parameters(launch: %launch, kernel: %kernel, tasks: %tasks, waits: %waits)
  }
  // A barrier: among the threads of one CTA between two thread phases or two tasks ("cta"),
  // or among every thread of every CTA of a persistent kernel ("grid").
  // A grid barrier names its two cells (arrivals, generation): `sync`, a 2 x i32 view of the
  // counters buffer; a CTA barrier has none (dialects/verify.py).
  irdl.operation @barrier {
    %cta = irdl.is "cta"
    %grid = irdl.is "grid"
    %scope = irdl.any_of(%cta, %grid)
    irdl.attributes {"scope" = %scope}
    %sync = irdl.base "!builtin.memref"
    irdl.operands(sync: variadic %sync)
    irdl.regions()
  }
  // Holds the vEU until counters[launch] >= expected * epoch (the tasks of `launch` done in
  // this inference; in a program with loops on the grid, `epoch` is the run number of
  // `launch`, so the expected count grows with the iteration); then every thread of the CTA
  // sees what they wrote.
  irdl.operation @wait {
    %counters = irdl.base "!builtin.memref"
    %launch = irdl.is index
    %expected = irdl.is i32
    %epoch = irdl.is i32
    irdl.operands(counters: %counters, launch: %launch, expected: %expected, epoch: %epoch)
    irdl.regions()
  }
  // After the vEU's tasks of `launch` (every thread done), adds `amount` to counters[launch]
  // with release semantics.
  irdl.operation @signal {
    %counters = irdl.base "!builtin.memref"
    %launch = irdl.is index
    %amount = irdl.is i32
    irdl.operands(counters: %counters, launch: %launch, amount: %amount)
    irdl.regions()
  }
}
