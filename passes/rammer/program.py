"""The vEU program of one run of launches, and the host's one call of it.

    %table = memref.get_global @f_veu_table : memref<L x V x 2 x i32>
    %counters = memref.alloc() {schedule.counters} : memref<L x i32>
    %epoch = memref.alloc() {schedule.epoch} : memref<1xi32>
    call @f_rammer.func(<every buffer the launches use>, %table, %counters, %epoch)

    func.func private @f_rammer.func(%b0, ..., %table, %counters, %epoch_buf) {
      scf.parallel (%veu) = (0) to (V) {tile.kernel = "f_rammer", schedule.veus = ...,
                                         schedule.table = @f_veu_table, tile.launch = ...} {
        %epoch = memref.load %epoch_buf[0]
        // one segment per launch L, in program order:
        %lo = memref.load %table[L, %veu, 0] ; %hi = memref.load %table[L, %veu, 1]
        scf.if (%lo < %hi) {schedule.segment = #schedule.segment<L, "f_k0", N, [d...]>} {
          "schedule.wait"(%counters, %d, %tasks_d, %epoch)      // per dependency d of L
          scf.for %task = %lo to %hi {
            func.call @f_k0_task(%task, <L's buffers>)
            "schedule.barrier"() {scope = "cta"}                // the next task reuses the arena
          }
          "schedule.signal"(%counters, %L, %hi - %lo)
        }
      }
    }

The table is a constant global (the host uploads it once, like a weight); the counters are
allocated once per loaded model and never reset; the epoch is the inference's number, which
the host writes before each run (docs/runtime.md). Where the program waits, a wait that finds
its counter short on the CPU (which runs the launches one after the other, so every wait must
be satisfied when reached) is an error of the run: the program reports it through the host's
error word (added if the host had none) with code :data:`SHORT_WAIT`.
"""

from __future__ import annotations

import numpy as np
from mlir import ir
from mlir.dialects import arith, func, memref, scf

from quartet.dialects import schedule, tile
from quartet.dialects.schedule import Segment, Veus
from quartet.passes import builder as b
from quartet.passes.error_word import add_error_word, error_word_argument
from quartet.passes.rammer.launches import Launch, distinct
from quartet.rammer.table import VeuTable

SHORT_WAIT = 2**31 - 1
"""The error code of a wait that finds its counter short in the CPU form (the largest i32:
no frontend's table reaches it)."""
SHORT_WAIT_MESSAGE = (
    "internal error: a wait of the vEU program found its counter short of the tasks it waits "
    "for (on a GPU it would never return): the vEU table is wrong"
)


class Program:
    """The vEU program of ``run`` (launches of ``host``) named ``name``, built by
    :meth:`build`; ``tasks`` names each launch's task function."""

    def __init__(self, host, run: list[Launch], depends, table: VeuTable, device, arch: str):
        self.host, self.run, self.depends = host, run, depends
        self.table, self.device, self.arch = table, device, arch
        self.buffers = distinct(value for launch in run for value in launch.buffers)

    def build(self, name: str, table_name: str, tasks: list[str]) -> None:
        with ir.InsertionPoint(self.host), self.host.location:
            self._table_global(table_name)
        word = self._error_word() if any(self.depends) else None
        arguments = [*self.buffers] + (
            [word] if word is not None and word not in self.buffers else []
        )
        with ir.InsertionPoint(self.host), self.host.location:
            program = self._function(name, [value.type for value in arguments], arguments, word)
        self._body(program, name, table_name, tasks, arguments)
        self._call_from_host(name, table_name, arguments)

    def _table_global(self, table_name: str) -> None:
        ranges = np.array(self.table.ranges, np.int32).reshape(len(self.run), self.table.veus, 2)
        memref.GlobalOp(
            table_name,
            ir.TypeAttr.get(self.table_type),
            sym_visibility="private",
            initial_value=ir.DenseElementsAttr.get(ranges),
            constant=True,
        )

    @property
    def table_type(self) -> ir.Type:
        i32 = ir.IntegerType.get_signless(32)
        return ir.MemRefType.get([len(self.run), self.table.veus, 2], i32)

    @property
    def counters_type(self) -> ir.Type:
        return ir.MemRefType.get([len(self.run)], ir.IntegerType.get_signless(32))

    def _error_word(self) -> ir.Value:
        """The host's error word (added if it has none), its table holding SHORT_WAIT."""
        arguments = self.host.regions[0].blocks[0].arguments
        marked = error_word_argument(self.host)
        word = arguments[marked] if marked is not None else add_error_word(self.host)
        entries = (
            list(self.host.attributes[tile.ERRORS]) if tile.ERRORS in self.host.attributes else []
        )
        codes = [tile.ErrorCode.from_attr(entry).code for entry in entries]
        if SHORT_WAIT not in codes:
            entries.append(tile.ErrorCode(SHORT_WAIT, SHORT_WAIT_MESSAGE).to_attr())
            self.host.attributes[tile.ERRORS] = ir.ArrayAttr.get(entries)
        return word

    def _function(self, name, types, arguments, word) -> func.FuncOp:
        epoch_type = ir.MemRefType.get([1], ir.IntegerType.get_signless(32))
        signature = [*types, self.table_type, self.counters_type, epoch_type]
        program = func.FuncOp(
            f"{name}.func", ir.FunctionType.get(signature, []), visibility="private"
        )
        program.add_entry_block()
        if word is not None:
            marked = {tile.ERROR_WORD: ir.UnitAttr.get()}
            attrs = [ir.DictAttr.get(marked if value == word else {}) for value in arguments]
            attrs += [ir.DictAttr.get({})] * 3
            program.attributes["arg_attrs"] = ir.ArrayAttr.get(attrs)
        return program

    def _body(self, program, name, table_name, tasks, arguments) -> None:
        entry = program.entry_block
        *values, table, counters, epoch_buffer = entry.arguments
        mapping = dict(zip(arguments, values, strict=True))
        with ir.InsertionPoint(entry), program.location:
            with b.parallel([self.table.veus]) as (loop, (veu,)):
                self._mark(loop, name, table_name)
                epoch = memref.load(epoch_buffer, [b.const_index(0)])
                for index, launch in enumerate(self.run):
                    segment = Segment(
                        index, launch.kernel, launch.launch.blocks, self.depends[index]
                    )
                    call_arguments = [mapping[value] for value in launch.buffers]
                    self._segment(
                        segment,
                        veu,
                        table,
                        counters,
                        lambda _: epoch,
                        tasks[index],
                        launch,
                        call_arguments,
                    )
            func.ReturnOp([])

    def _mark(self, loop, name: str, table_name: str) -> None:
        """The attributes of the vEU loop ``loop``: its kernel, launch, vEUs and table."""
        threads = max(launch.launch.threads for launch in self.run)
        shared = max(launch.launch.shared for launch in self.run)
        loop.attributes[tile.KERNEL] = tile.Kernel(name).to_attr()
        loop.attributes[tile.LAUNCH] = tile.Launch((self.table.veus,), threads, shared).to_attr()
        veus = Veus(self.table.veus, self.device.per_sm, self.arch)
        loop.attributes[schedule.VEUS] = veus.to_attr()
        loop.attributes[schedule.TABLE] = ir.FlatSymbolRefAttr.get(table_name)

    def _segment(
        self,
        segment,
        veu,
        table,
        counters,
        epoch_of,
        task_function,
        launch,
        call_arguments,
        signals: bool = True,
    ) -> None:
        """At the insertion point: the segment of ``launch``, its waits' epochs
        ``epoch_of(dependency)`` (made where the wait is); it signals its counter where
        ``signals`` (not on one CTA, where nothing waits for it: passes/rammer/flow.py)."""
        place = b.const_index(segment.launch)
        lo = memref.load(table, [place, veu, b.const_index(0)])
        hi = memref.load(table, [place, veu, b.const_index(1)])
        branch = scf.IfOp(arith.cmpi(arith.CmpIPredicate.slt, lo, hi))
        branch.attributes[schedule.SEGMENT] = segment.to_attr()
        with ir.InsertionPoint(branch.then_block):
            for dependency in segment.waits:
                self._wait(counters, dependency, epoch_of(dependency))
            first = arith.index_cast(ir.IndexType.get(), lo)
            end = arith.index_cast(ir.IndexType.get(), hi)
            with b.for_loop(first, end, 1) as task:
                call = func.CallOp(
                    [], ir.FlatSymbolRefAttr.get(task_function), [task, *call_arguments]
                )
                for key in launch.call.attributes:
                    if "." in key:  # a dialect's attribute of this use (tile.names)
                        call.attributes[key] = launch.call.attributes[key]
                b.cta_barrier()
            if signals:
                done = arith.subi(hi, lo)
                ir.Operation.create(schedule.SIGNAL, operands=[counters, place, done])
            scf.YieldOp([])

    def _wait(self, counters: ir.Value, dependency: int, epoch: ir.Value) -> None:
        """At the insertion point: a wait for every task of launch ``dependency``, ``epoch``
        times."""
        tasks = arith.constant(ir.IntegerType.get_signless(32), self.run[dependency].launch.blocks)
        operands = [counters, b.const_index(dependency), tasks, epoch]
        ir.Operation.create(schedule.WAIT, operands=operands)

    def _call_from_host(self, name: str, table_name: str, arguments: list[ir.Value]) -> None:
        """The host's call of the program, where its last launch was; the launches go."""
        last = self.run[-1].call
        with ir.InsertionPoint(last), last.location:
            self._state_and_call(name, table_name, arguments)
        for launch in self.run:
            launch.call.erase()

    def _state_and_call(self, name: str, table_name: str, arguments: list[ir.Value]) -> None:
        """At the insertion point: the table, counters and epoch, and the call of the
        program on ``arguments`` and them."""
        table = memref.get_global(self.table_type, table_name)
        counters = memref.alloc(self.counters_type, [], [])
        counters.owner.attributes[schedule.COUNTERS] = ir.UnitAttr.get()
        epoch = memref.alloc(ir.MemRefType.get([1], ir.IntegerType.get_signless(32)), [], [])
        epoch.owner.attributes[schedule.EPOCH] = ir.UnitAttr.get()
        func.CallOp(
            [], ir.FlatSymbolRefAttr.get(f"{name}.func"), [*arguments, table, counters, epoch]
        )
