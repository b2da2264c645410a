// RUN: quartet-opt --list-passes | FileCheck %s

/// Check that --list-passes shows every Quartet pass with its summary and its options (name,
/// type, default, help), then points at the upstream passes.

// CHECK: quartet-fixed-tiling - {{.+}}
// CHECK-NEXT: threads=<int> (default {{[0-9]+}}) - {{.+}}
// CHECK: quartet-lower-tiles - {{.+}}
// CHECK: quartet-map-to-gpu - {{.+}}
// CHECK: quartet-map-to-cpu - {{.+}}
// CHECK: Every upstream MLIR pass is available too
