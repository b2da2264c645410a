"""GPU specs as data, every number with its source.

Sources, cited by tag beside each number:
- [CPG] NVIDIA CUDA C++ Programming Guide, "Technical Specifications per Compute Capability"
  table (compute capabilities 7.0, 8.0, 9.0) and its "Shared Memory" sections (32 banks of
  32-bit words for compute capability 5.x and later). The Shared Memory sections of compute
  capabilities 8.x and 9.0 add that "the 1 KB of shared memory not made available to a thread
  block is reserved for system use": every resident block takes 1 KB more than it declares
  (the per-block maximum is 1 KB under the per-SM one, 227/228 KB, 163/164 KB); compute
  capability 7.x has no such reserve (96 KB per block and per SM).
- [CBP] NVIDIA CUDA C++ Best Practices Guide, "Coalesced Access to Global Memory": global
  accesses are served in 32-byte sectors of 128-byte cache lines (compute capability 6.0+).
- [H100-DS] NVIDIA H100 Tensor Core GPU datasheet (2023), SXM column.
- [H100-WP] NVIDIA H100 Tensor Core GPU Architecture whitepaper (2022): 132 SMs on H100 SXM5,
  128 FP32 cores and 4 tensor cores per SM, 50 MB L2, 256 KB register file per SM.
- [A100-DS] NVIDIA A100 Tensor Core GPU datasheet (2021), A100 80GB SXM column.
- [A100-WP] NVIDIA A100 Tensor Core GPU Architecture whitepaper (2020): 108 SMs, 64 FP32 cores
  per SM, 40 MB L2, "2.3x the L2 cache read bandwidth of V100", 5120 bytes/clk L2 read bandwidth.
- [V100-DS] NVIDIA Tesla V100 datasheet (2017), SXM2 column.
- [V100-WP] NVIDIA Tesla V100 GPU Architecture whitepaper (2017): 80 SMs, 64 FP32 cores per
  SM, 6 MB L2, 1530 MHz boost clock.
- [JIA18] Z. Jia et al., "Dissecting the NVIDIA Volta GPU Architecture via Microbenchmarking",
  arXiv:1804.06826 (2018): measured V100 L2 bandwidth 2155 GB/s.
- [CNC23] Chips and Cheese, "Nvidia's H100: Funny L2, and Tons of Bandwidth" (2023-07-02):
  about 5.5 TB/s measured L2 bandwidth (on the 114-SM PCIe part: a lower bound for SXM).

Peak FLOP rates are dense (no structured sparsity); tensor-core rates are FP16 inputs with FP32
accumulation.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class GpuSpec:
    name: str
    arch: str
    sm_count: int
    warp_size: int
    max_threads_per_block: int
    max_threads_per_sm: int
    max_blocks_per_sm: int
    registers_per_sm: int  # 32-bit registers
    registers_per_block: int
    max_registers_per_thread: int
    register_alloc_unit: int  # registers per warp are allocated in units of this many
    smem_per_sm: int  # bytes
    smem_per_block: int  # bytes, with the opt-in carve-out (dynamic shared memory only)
    smem_reserved_per_block: int  # bytes the system takes from an SM per resident block
    static_smem_per_block: int  # bytes a kernel may declare statically
    smem_banks: int
    smem_bank_bytes: int
    sector_bytes: int  # global memory transaction granularity
    cache_line_bytes: int
    l2_bytes: int
    dram_bandwidth: float  # bytes/s
    l2_bandwidth: float  # bytes/s
    clock_hz: float  # boost clock the FLOP rates are quoted at
    fp32_flops: float  # FLOP/s, FMA counted as 2
    tensor_flops: float  # FLOP/s, FP16 in / FP32 accumulate, dense
    mma_shape: tuple[int, int, int]  # m, n, k of the warp-level tensor-core instruction

    @property
    def smem_bandwidth_per_sm(self) -> float:
        """Bytes/s one SM's shared memory serves: one word per bank per clock."""
        return self.smem_banks * self.smem_bank_bytes * self.clock_hz

    def elements_per_sector(self, element_bytes: int) -> int:
        return max(1, self.sector_bytes // element_bytes)

    def blocks_per_sm(self, threads: int, registers: int, smem: int) -> int:
        """Resident blocks per SM for a kernel (the CUDA occupancy calculator's rules: warps,
        registers allocated per warp in ``register_alloc_unit``s, shared memory with the
        system's reserve per block, block cap). Over-counting is a deadlock for a persistent
        kernel, whose blocks all wait on each other."""
        if threads > self.max_threads_per_block or registers > self.max_registers_per_thread:
            return 0
        warps = -(-threads // self.warp_size)
        unit = self.register_alloc_unit
        regs_per_warp = -(-max(registers, 1) * self.warp_size // unit) * unit
        limits = [
            self.max_blocks_per_sm,
            self.max_threads_per_sm // (warps * self.warp_size),
            self.registers_per_sm // (warps * regs_per_warp),
        ]
        taken = smem + self.smem_reserved_per_block
        if taken:
            limits.append(self.smem_per_sm // taken)
        return max(0, min(limits))

    def registers_per_thread(self, threads: int, blocks: int) -> int:
        """The most registers each thread can have with ``blocks`` blocks of ``threads``
        threads resident on one SM: :meth:`blocks_per_sm`'s register rule turned around
        (what ``.minnctapersm blocks`` holds ptxas to)."""
        warps = -(-threads // self.warp_size) * blocks
        unit = self.register_alloc_unit
        per_warp = self.registers_per_sm // warps // unit * unit
        return min(self.max_registers_per_thread, per_warp // self.warp_size)

    def occupancy(self, threads: int, registers: int, smem: int) -> float:
        """Theoretical occupancy: resident warps over the SM's maximum."""
        warps = -(-threads // self.warp_size)
        resident = self.blocks_per_sm(threads, registers, smem) * warps
        return resident / (self.max_threads_per_sm // self.warp_size)


H100_SXM = GpuSpec(
    name="NVIDIA H100 SXM5",
    arch="sm_90",
    sm_count=132,  # [H100-WP]
    warp_size=32,  # [CPG]
    max_threads_per_block=1024,  # [CPG] cc 9.0
    max_threads_per_sm=2048,  # [CPG] cc 9.0
    max_blocks_per_sm=32,  # [CPG] cc 9.0
    registers_per_sm=65536,  # [CPG] cc 9.0 (256 KB register file per SM, [H100-WP])
    registers_per_block=65536,  # [CPG] cc 9.0
    max_registers_per_thread=255,  # [CPG] cc 9.0
    register_alloc_unit=256,  # [CPG] occupancy section / CUDA occupancy calculator, cc 9.0
    smem_per_sm=228 * 1024,  # [CPG] cc 9.0: 228 KB per SM
    smem_per_block=227 * 1024,  # [CPG] cc 9.0: 227 KB per block (opt-in)
    smem_reserved_per_block=1024,  # [CPG] cc 9.0: 1 KB per block reserved for system use
    static_smem_per_block=48 * 1024,  # [CPG] static allocations above 48 KB need dynamic smem
    smem_banks=32,  # [CPG] shared memory, cc 5.x and later
    smem_bank_bytes=4,  # [CPG]
    sector_bytes=32,  # [CBP]
    cache_line_bytes=128,  # [CBP]
    l2_bytes=50 * 1024 * 1024,  # [H100-WP] 50 MB
    dram_bandwidth=3.35e12,  # [H100-DS] 3.35 TB/s HBM3
    l2_bandwidth=5.5e12,  # [CNC23] measured, PCIe part
    clock_hz=1.98e9,  # [H100-WP] boost clock (132 SMs x 128 FP32 x 2 x 1.98 GHz = 66.9 TF)
    fp32_flops=67e12,  # [H100-DS] 67 TFLOPS FP32
    tensor_flops=989.4e12,  # [H100-DS] 1979 TFLOPS FP16 with sparsity, half of it dense
    mma_shape=(16, 8, 16),  # PTX ISA: mma.sync.aligned.m16n8k16 for f16 (sm_80 and later)
)

A100_SXM4 = GpuSpec(
    name="NVIDIA A100 SXM4 80GB",
    arch="sm_80",
    sm_count=108,  # [A100-WP]
    warp_size=32,  # [CPG]
    max_threads_per_block=1024,  # [CPG] cc 8.0
    max_threads_per_sm=2048,  # [CPG] cc 8.0
    max_blocks_per_sm=32,  # [CPG] cc 8.0
    registers_per_sm=65536,  # [CPG] cc 8.0
    registers_per_block=65536,  # [CPG] cc 8.0
    max_registers_per_thread=255,  # [CPG] cc 8.0
    register_alloc_unit=256,  # [CPG] occupancy section / CUDA occupancy calculator, cc 8.0
    smem_per_sm=164 * 1024,  # [CPG] cc 8.0: 164 KB per SM
    smem_per_block=163 * 1024,  # [CPG] cc 8.0: 163 KB per block (opt-in)
    smem_reserved_per_block=1024,  # [CPG] cc 8.0: 1 KB per block reserved for system use
    static_smem_per_block=48 * 1024,  # [CPG] static allocations above 48 KB need dynamic smem
    smem_banks=32,  # [CPG]
    smem_bank_bytes=4,  # [CPG]
    sector_bytes=32,  # [CBP]
    cache_line_bytes=128,  # [CBP]
    l2_bytes=40 * 1024 * 1024,  # [A100-WP] 40 MB
    dram_bandwidth=2.039e12,  # [A100-DS] 2,039 GB/s HBM2e (80GB SXM)
    l2_bandwidth=5120 * 1.41e9,  # [A100-WP] 5120 bytes/clk L2 read bandwidth x 1410 MHz
    clock_hz=1.41e9,  # [A100-WP] boost clock (108 SMs x 64 FP32 x 2 x 1.41 GHz = 19.5 TF)
    fp32_flops=19.5e12,  # [A100-DS] 19.5 TFLOPS FP32
    tensor_flops=312e12,  # [A100-DS] 312 TFLOPS FP16 tensor core (624 with sparsity)
    mma_shape=(16, 8, 16),  # PTX ISA: mma.sync.aligned.m16n8k16 for f16 (sm_80 and later)
)

V100_SXM2 = GpuSpec(
    name="NVIDIA Tesla V100 SXM2",
    arch="sm_70",
    sm_count=80,  # [V100-WP]
    warp_size=32,  # [CPG]
    max_threads_per_block=1024,  # [CPG] cc 7.0
    max_threads_per_sm=2048,  # [CPG] cc 7.0
    max_blocks_per_sm=32,  # [CPG] cc 7.0
    registers_per_sm=65536,  # [CPG] cc 7.0
    registers_per_block=65536,  # [CPG] cc 7.0
    max_registers_per_thread=255,  # [CPG] cc 7.0
    register_alloc_unit=256,  # [CPG] occupancy section / CUDA occupancy calculator, cc 7.0
    smem_per_sm=96 * 1024,  # [CPG] cc 7.0: 96 KB per SM
    smem_per_block=96 * 1024,  # [CPG] cc 7.0: 96 KB per block (opt-in)
    smem_reserved_per_block=0,  # [CPG] cc 7.0: no per-block reserve
    static_smem_per_block=48 * 1024,  # [CPG] static allocations above 48 KB need dynamic smem
    smem_banks=32,  # [CPG]
    smem_bank_bytes=4,  # [CPG]
    sector_bytes=32,  # [CBP]
    cache_line_bytes=128,  # [CBP]
    l2_bytes=6 * 1024 * 1024,  # [V100-WP] 6 MB
    dram_bandwidth=900e9,  # [V100-DS] 900 GB/s HBM2
    l2_bandwidth=2155e9,  # [JIA18] measured
    clock_hz=1.53e9,  # [V100-WP] boost clock (80 SMs x 64 FP32 x 2 x 1.53 GHz = 15.7 TF)
    fp32_flops=15.7e12,  # [V100-DS] 15.7 TFLOPS FP32
    tensor_flops=125e12,  # [V100-DS] 125 TFLOPS tensor performance
    mma_shape=(8, 8, 4),  # PTX ISA: mma.sync.aligned.m8n8k4 is the sm_70 f16 shape
)

GPUS: dict[str, GpuSpec] = {spec.arch: spec for spec in (H100_SXM, A100_SXM4, V100_SXM2)}
