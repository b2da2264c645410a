// The schedule dialect: Rammer's rTasks on vEUs, and barriers.
irdl.dialect @schedule {
  // A barrier among the threads of one CTA between two thread phases of a kernel.
  irdl.operation @barrier {
    %scope = irdl.is "cta"
    irdl.attributes {"scope" = %scope}
  }
}
