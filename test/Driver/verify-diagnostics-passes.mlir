// RUN: quartet-opt %s --split-input-file --verify-diagnostics --allow-unregistered-dialect --pass-pipeline='builtin.module(one-shot-bufferize,quartet-fixed-tiling{threads=3})'

/// Check that errors from upstream passes are matched (the pipeline stops at the first failure).

func.func @upstream(%t: tensor<4xf32>) -> tensor<4xf32> {
  // expected-error @below {{op was not bufferized}}
  %0 = "test.unknown"(%t) : (tensor<4xf32>) -> tensor<4xf32>
  return %0 : tensor<4xf32>
}

// -----

/// Check that errors from Quartet's (Python) passes are matched at the location they name.

// expected-error @below {{quartet-fixed-tiling: option 'threads' must be a power of two, got 3}}
module {
  func.func @quartet() {
    return
  }
}
