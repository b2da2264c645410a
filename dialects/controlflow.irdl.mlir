// The controlflow dialect: Grinder's device-placed loops and branches, grid-wide barriers.
irdl.dialect @controlflow {
  // Every thread of every CTA of a persistent kernel waits here before any goes on.
  irdl.operation @grid_barrier {
  }
}
