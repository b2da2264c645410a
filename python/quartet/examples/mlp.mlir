// A 3-layer MLP at graph level: batch 64, 512 -> 1024 -> 1024 -> 10, f32.
// y = relu(relu(x W1 + b1) W2 + b2) W3 + b3 in upstream linalg on tensors (the form the ONNX
// importer gives Gemm + Relu), weights as arguments.
#row = affine_map<(d0, d1) -> (d0, d1)>
#bias = affine_map<(d0, d1) -> (d1)>
func.func @mlp(%x: tensor<64x512xf32>,
               %w1: tensor<512x1024xf32>, %b1: tensor<1024xf32>,
               %w2: tensor<1024x1024xf32>, %b2: tensor<1024xf32>,
               %w3: tensor<1024x10xf32>, %b3: tensor<10xf32>) -> tensor<64x10xf32> {
  %zero = arith.constant 0.0 : f32

  %e1 = tensor.empty() : tensor<64x1024xf32>
  %f1 = linalg.fill ins(%zero : f32) outs(%e1 : tensor<64x1024xf32>) -> tensor<64x1024xf32>
  %m1 = linalg.matmul ins(%x, %w1 : tensor<64x512xf32>, tensor<512x1024xf32>)
                      outs(%f1 : tensor<64x1024xf32>) -> tensor<64x1024xf32>
  %h1 = linalg.generic {indexing_maps = [#row, #bias, #row], iterator_types = ["parallel", "parallel"]}
      ins(%m1, %b1 : tensor<64x1024xf32>, tensor<1024xf32>) outs(%e1 : tensor<64x1024xf32>) {
  ^bb0(%acc: f32, %b: f32, %out: f32):
    %s = arith.addf %acc, %b : f32
    %r = arith.maximumf %s, %zero : f32
    linalg.yield %r : f32
  } -> tensor<64x1024xf32>

  %f2 = linalg.fill ins(%zero : f32) outs(%e1 : tensor<64x1024xf32>) -> tensor<64x1024xf32>
  %m2 = linalg.matmul ins(%h1, %w2 : tensor<64x1024xf32>, tensor<1024x1024xf32>)
                      outs(%f2 : tensor<64x1024xf32>) -> tensor<64x1024xf32>
  %h2 = linalg.generic {indexing_maps = [#row, #bias, #row], iterator_types = ["parallel", "parallel"]}
      ins(%m2, %b2 : tensor<64x1024xf32>, tensor<1024xf32>) outs(%e1 : tensor<64x1024xf32>) {
  ^bb0(%acc: f32, %b: f32, %out: f32):
    %s = arith.addf %acc, %b : f32
    %r = arith.maximumf %s, %zero : f32
    linalg.yield %r : f32
  } -> tensor<64x1024xf32>

  %e3 = tensor.empty() : tensor<64x10xf32>
  %f3 = linalg.fill ins(%zero : f32) outs(%e3 : tensor<64x10xf32>) -> tensor<64x10xf32>
  %m3 = linalg.matmul ins(%h2, %w3 : tensor<64x1024xf32>, tensor<1024x10xf32>)
                      outs(%f3 : tensor<64x10xf32>) -> tensor<64x10xf32>
  %y = linalg.generic {indexing_maps = [#row, #bias, #row], iterator_types = ["parallel", "parallel"]}
      ins(%m3, %b3 : tensor<64x10xf32>, tensor<10xf32>) outs(%e3 : tensor<64x10xf32>) {
  ^bb0(%acc: f32, %b: f32, %out: f32):
    %s = arith.addf %acc, %b : f32
    linalg.yield %s : f32
  } -> tensor<64x10xf32>
  return %y : tensor<64x10xf32>
}
