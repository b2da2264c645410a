// RUN: quartet-opt --dump-pipeline --pass-pipeline='builtin.module(quartet-fixed-tiling{threads=64}, func.func(cse))' | FileCheck %s
// RUN: quartet-opt --dump-pipeline --pass-pipeline='canonicalize' | FileCheck %s --check-prefix=BARE
// RUN: quartet-opt --dump-pipeline | FileCheck %s --check-prefix=EMPTY

/// Check that --dump-pipeline spells out every option of a Quartet pass, keeps upstream elements
/// as written, and adds the builtin.module wrapper when it is missing.

// CHECK: builtin.module(quartet-fixed-tiling{threads=64 {{.*}}},func.func(cse))
// BARE: builtin.module(canonicalize)
// EMPTY: builtin.module()
