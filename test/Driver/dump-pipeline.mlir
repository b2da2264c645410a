// RUN: quartet-opt --dump-pipeline --pass-pipeline='builtin.module(quartet-fixed-tiling{tensor-cores=0 threads=64}, func.func(cse))' | FileCheck %s --match-full-lines
// RUN: quartet-opt --dump-pipeline --pass-pipeline='canonicalize' | FileCheck %s --check-prefix=BARE --match-full-lines
// RUN: quartet-opt --dump-pipeline | FileCheck %s --check-prefix=EMPTY --match-full-lines

/// Check that --dump-pipeline spells out every option of a Quartet pass (in declaration order,
/// the given ones as parsed, the rest at their defaults), keeps upstream elements as written, and
/// adds the builtin.module wrapper when it is missing.

// CHECK: builtin.module(quartet-fixed-tiling{threads=64 reg-tile=4 reduction-tile=16 smem-pad=4 double-buffer=true tensor-cores=false},func.func(cse))
// BARE: builtin.module(canonicalize)
// EMPTY: builtin.module()
