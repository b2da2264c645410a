# ruff: noqa: E501 - MLIR templates keep one op per line
"""The operator suite of bench/roller.py: BERT-base, ResNet-50 and LSTM shapes as MLIR text.

Each entry is (name, MLIR module text); named ops (conv) are generalized by the pipeline that
reads them (``func.func(linalg-generalize-named-ops)``).
"""

from __future__ import annotations

MATMUL = """
func.func @{name}(%a: tensor<{m}x{k}xf32>, %b: tensor<{k}x{n}xf32>, %c: tensor<{m}x{n}xf32>) -> tensor<{m}x{n}xf32> {{
  %r = linalg.generic {{indexing_maps = [affine_map<(d0, d1, d2) -> (d0, d2)>, affine_map<(d0, d1, d2) -> (d2, d1)>, affine_map<(d0, d1, d2) -> (d0, d1)>], iterator_types = ["parallel", "parallel", "reduction"]}}
      ins(%a, %b : tensor<{m}x{k}xf32>, tensor<{k}x{n}xf32>) outs(%c : tensor<{m}x{n}xf32>) {{
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %p = arith.mulf %x, %y : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  }} -> tensor<{m}x{n}xf32>
  return %r : tensor<{m}x{n}xf32>
}}
"""

BATCH_MATMUL = """
func.func @{name}(%a: tensor<{b}x{m}x{k}xf32>, %b: tensor<{b}x{k}x{n}xf32>, %c: tensor<{b}x{m}x{n}xf32>) -> tensor<{b}x{m}x{n}xf32> {{
  %r = linalg.generic {{indexing_maps = [affine_map<(d0, d1, d2, d3) -> (d0, d1, d3)>, affine_map<(d0, d1, d2, d3) -> (d0, d3, d2)>, affine_map<(d0, d1, d2, d3) -> (d0, d1, d2)>], iterator_types = ["parallel", "parallel", "parallel", "reduction"]}}
      ins(%a, %b : tensor<{b}x{m}x{k}xf32>, tensor<{b}x{k}x{n}xf32>) outs(%c : tensor<{b}x{m}x{n}xf32>) {{
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %p = arith.mulf %x, %y : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  }} -> tensor<{b}x{m}x{n}xf32>
  return %r : tensor<{b}x{m}x{n}xf32>
}}
"""

CONV = """
func.func @{name}(%x: tensor<{n}x{c}x{h}x{w}xf32>, %f: tensor<{f}x{c}x{kh}x{kw}xf32>, %o: tensor<{n}x{f}x{oh}x{ow}xf32>) -> tensor<{n}x{f}x{oh}x{ow}xf32> {{
  %r = linalg.conv_2d_nchw_fchw {{dilations = dense<1> : tensor<2xi64>, strides = dense<{s}> : tensor<2xi64>}}
      ins(%x, %f : tensor<{n}x{c}x{h}x{w}xf32>, tensor<{f}x{c}x{kh}x{kw}xf32>) outs(%o : tensor<{n}x{f}x{oh}x{ow}xf32>) -> tensor<{n}x{f}x{oh}x{ow}xf32>
  return %r : tensor<{n}x{f}x{oh}x{ow}xf32>
}}
"""

ELEMENTWISE = """
func.func @{name}(%x: tensor<{m}x{n}xf32>, %b: tensor<{n}xf32>, %o: tensor<{m}x{n}xf32>) -> tensor<{m}x{n}xf32> {{
  %zero = arith.constant 0.0 : f32
  %r = linalg.generic {{indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]}}
      ins(%x, %b : tensor<{m}x{n}xf32>, tensor<{n}xf32>) outs(%o : tensor<{m}x{n}xf32>) {{
  ^bb0(%v: f32, %bias: f32, %out: f32):
    %s = arith.addf %v, %bias : f32
    %r = arith.maximumf %s, %zero : f32
    linalg.yield %r : f32
  }} -> tensor<{m}x{n}xf32>
  return %r : tensor<{m}x{n}xf32>
}}
"""

ROW_REDUCTION = """
func.func @{name}(%x: tensor<{m}x{n}xf32>, %o: tensor<{m}xf32>) -> tensor<{m}xf32> {{
  %r = linalg.generic {{indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0)>], iterator_types = ["parallel", "reduction"]}}
      ins(%x : tensor<{m}x{n}xf32>) outs(%o : tensor<{m}xf32>) {{
  ^bb0(%v: f32, %acc: f32):
    %r = arith.maximumf %acc, %v : f32
    linalg.yield %r : f32
  }} -> tensor<{m}xf32>
  return %r : tensor<{m}xf32>
}}
"""


def matmul(name, m, n, k):
    return name, MATMUL.format(name=name, m=m, n=n, k=k)


def batch_matmul(name, b, m, n, k):
    return name, BATCH_MATMUL.format(name=name, b=b, m=m, n=n, k=k)


def conv(name, n, c, h, w, f, kh, kw, s, pad=0):
    oh, ow = (h + 2 * pad - kh) // s + 1, (w + 2 * pad - kw) // s + 1
    h, w = h + 2 * pad, w + 2 * pad  # the padded input (ONNX import pads explicitly)
    return name, CONV.format(name=name, n=n, c=c, h=h, w=w, f=f, kh=kh, kw=kw, s=s, oh=oh, ow=ow)


def elementwise(name, m, n):
    return name, ELEMENTWISE.format(name=name, m=m, n=n)


def row_reduction(name, m, n):
    return name, ROW_REDUCTION.format(name=name, m=m, n=n)


# BERT-base (sequence 128, hidden 768, 12 heads of 64, FFN 3072), batch 1 unless noted.
BERT = [
    matmul("bert_qkv", 128, 768, 768),
    matmul("bert_qkv_fused", 128, 2304, 768),
    matmul("bert_ffn1", 128, 3072, 768),
    matmul("bert_ffn2", 128, 768, 3072),
    matmul("bert_qkv_b8", 1024, 768, 768),
    matmul("bert_ffn1_b8", 1024, 3072, 768),
    matmul("bert_ffn2_b8", 1024, 768, 3072),
    batch_matmul("bert_scores", 12, 128, 128, 64),
    batch_matmul("bert_context", 12, 128, 64, 128),
    row_reduction("bert_softmax_max", 12 * 128, 128),
    elementwise("bert_bias_gelu", 128, 3072),
    elementwise("bert_bias_gelu_b8", 1024, 3072),
    matmul("bert_pooler", 1, 768, 768),
]

# ResNet-50 (batch 1, 224x224): the distinct convolutions of the stages, the classifier.
RESNET = [
    conv("rn50_conv1", 1, 3, 224, 224, 64, 7, 7, 2, pad=3),
    conv("rn50_s1_1x1a", 1, 64, 56, 56, 64, 1, 1, 1),
    conv("rn50_s1_3x3", 1, 64, 56, 56, 64, 3, 3, 1, pad=1),
    conv("rn50_s1_1x1b", 1, 64, 56, 56, 256, 1, 1, 1),
    conv("rn50_s2_1x1a", 1, 256, 56, 56, 128, 1, 1, 1),
    conv("rn50_s2_3x3", 1, 128, 28, 28, 128, 3, 3, 1, pad=1),
    conv("rn50_s2_1x1b", 1, 128, 28, 28, 512, 1, 1, 1),
    conv("rn50_s3_3x3", 1, 256, 14, 14, 256, 3, 3, 1, pad=1),
    conv("rn50_s3_1x1b", 1, 256, 14, 14, 1024, 1, 1, 1),
    conv("rn50_s4_3x3", 1, 512, 7, 7, 512, 3, 3, 1, pad=1),
    conv("rn50_s4_1x1b", 1, 512, 7, 7, 2048, 1, 1, 1),
    conv("rn50_s4_down", 1, 1024, 14, 14, 2048, 1, 1, 2),
    matmul("rn50_fc", 1, 1000, 2048),
    elementwise("rn50_relu_s1", 64, 56 * 56),
]

# LSTM (hidden 1024, batch 1 and 64): the fused 4-gate input and recurrent GEMMs, gate update.
LSTM = [
    matmul("lstm_gates_b1", 1, 4096, 1024),
    matmul("lstm_gates_b64", 64, 4096, 1024),
    matmul("lstm_input_b64", 64, 4096, 512),
    elementwise("lstm_cell_b64", 64, 1024),
    matmul("lstm_tall_skinny", 8192, 64, 1024),
]

SUITE = BERT + RESNET + LSTM
