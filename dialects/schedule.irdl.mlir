// The schedule dialect: Rammer's rProgram (rTasks placed on vEUs), counters and barriers.
// Attributes are attached to upstream ops (docs/dialects.md); the ops are leaves.
// IRDL checks kinds and counts; dialects/verify.py checks ranges, placement and deadlock.
irdl.dialect @schedule {
  // A monotonic counter in global memory that barrier tasks signal and wait on.
  irdl.type @counter {
  }
  // The virtual device: `count` vEUs (persistent CTAs), `per_sm` of them on each SM. Attached to
  // the function that holds the rProgram as `schedule.veus`.
  irdl.attribute @veus {
    %count = irdl.base "#builtin.integer"
    %per_sm = irdl.base "#builtin.integer"
    irdl.parameters(count: %count, per_sm: %per_sm)
  }
  // A slot of the rProgram table: the vEU that runs a task and its position in that vEU's queue.
  irdl.attribute @placement {
    %veu = irdl.base "#builtin.integer"
    %order = irdl.base "#builtin.integer"
    irdl.parameters(veu: %veu, order: %order)
  }
  // A barrier among the threads of one CTA between two thread phases of a kernel.
  irdl.operation @barrier {
    %scope = irdl.is "cta"
    irdl.attributes {"scope" = %scope}
    irdl.regions()
  }
  // rTask `task` (one CTA's worth of work) of the tiled kernel `kernel`, run at `placement`.
  irdl.operation @rtask {
    %kernel = irdl.base "#builtin.symbol_ref"
    %task = irdl.base "#builtin.integer"
    %placement = irdl.base @schedule::@placement
    irdl.attributes {"kernel" = %kernel, "task" = %task, "placement" = %placement}
    irdl.regions()
  }
  // A fresh counter, zero when the rProgram starts.
  irdl.operation @alloc_counter {
    %counter = irdl.base @schedule::@counter
    irdl.results(counter: %counter)
    irdl.regions()
  }
  // Barrier task: adds one to `counter` once the earlier tasks of its vEU have finished.
  irdl.operation @signal {
    %counter = irdl.base @schedule::@counter
    irdl.operands(counter: %counter)
    %placement = irdl.base @schedule::@placement
    irdl.attributes {"placement" = %placement}
    irdl.regions()
  }
  // Barrier task: holds its vEU until `counter` has reached `expected`.
  irdl.operation @wait {
    %counter = irdl.base @schedule::@counter
    irdl.operands(counter: %counter)
    %expected = irdl.base "#builtin.integer"
    %placement = irdl.base @schedule::@placement
    irdl.attributes {"expected" = %expected, "placement" = %placement}
    irdl.regions()
  }
}
