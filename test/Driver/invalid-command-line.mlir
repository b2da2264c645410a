// RUN: not quartet-opt %s --pass-pipeline='builtin.module(cse,no-such-pass)' 2>&1 | FileCheck %s --check-prefix=UNKNOWN-PASS --implicit-check-not=Traceback
// RUN: not quartet-opt %s --pass-pipeline='builtin.module(quartet-fixed-tiling{threads=many})' 2>&1 | FileCheck %s --check-prefix=BAD-VALUE --implicit-check-not=Traceback
// RUN: not quartet-opt %s --pass-pipeline='builtin.module(quartet-fixed-tiling{no-such-option=1})' 2>&1 | FileCheck %s --check-prefix=UNKNOWN-OPTION --implicit-check-not=Traceback
// RUN: not quartet-opt %s --pass-pipeline='builtin.module(canonicalize{no-such-option=1})' 2>&1 | FileCheck %s --check-prefix=UPSTREAM-OPTION --implicit-check-not=Traceback
// RUN: not quartet-opt %s --pass-pipeline='builtin.module(func.func(cse)' 2>&1 | FileCheck %s --check-prefix=UNBALANCED --implicit-check-not=Traceback
// RUN: not quartet-opt %s --pass-pipeline='builtin.module(func.func(quartet-fixed-tiling))' 2>&1 | FileCheck %s --check-prefix=NESTED --implicit-check-not=Traceback
// RUN: not quartet-opt %s.missing 2>&1 | FileCheck %s --check-prefix=MISSING-FILE --implicit-check-not=Traceback
// RUN: not quartet-opt %s --no-such-flag 2>&1 | FileCheck %s --check-prefix=UNKNOWN-FLAG --implicit-check-not=Traceback

/// Check that every command-line mistake is a located error, not a traceback.

// UNKNOWN-PASS: <pass-pipeline>:1:20: error: bad pipeline element 'no-such-pass': 'no-such-pass' does not refer to a registered pass or pass pipeline
// BAD-VALUE: <pass-pipeline>:1:16: error: in pipeline element 'quartet-fixed-tiling{threads=many}': pass 'quartet-fixed-tiling': option 'threads' expects an integer, got 'many'
// UNKNOWN-OPTION: <pass-pipeline>:1:16: error: in pipeline element 'quartet-fixed-tiling{no-such-option=1}': pass 'quartet-fixed-tiling' has no option 'no-such-option'
// UPSTREAM-OPTION: <pass-pipeline>:1:16: error: bad pipeline element 'canonicalize{no-such-option=1}': no such option no-such-option
// UNBALANCED: <pass-pipeline>: error: unbalanced brackets or quotes in pipeline
// NESTED: <pass-pipeline>:1:16: error: Quartet pass 'quartet-fixed-tiling' must run on the module, not nested in 'func.func(quartet-fixed-tiling)'
// MISSING-FILE: invalid-command-line.mlir.missing: error: could not open input file: No such file or directory
// UNKNOWN-FLAG: quartet-opt: error: unrecognized arguments: --no-such-flag
func.func @f() {
  return
}
