//! Loop metadata for parallel `k.for` loops: a loop id (`!llvm.loop`) that
//! lists an access group under `llvm.loop.parallel_accesses`, the group
//! itself being attached (`!llvm.access.group`) to every load and store in
//! the loop body. That tells LLVM the iterations carry no memory
//! dependence, so the loop vectoriser needs no alias checks.
//!
//! Both nodes must be *distinct* (the loop id refers to itself, the group
//! has no operands), which LLVM's C API cannot create; they are parsed
//! from a few lines of IR into a throwaway module of the same context,
//! which owns metadata nodes, so they stay valid after that module is gone.

use crate::emit::{CgError, Res};
use inkwell::context::Context;
use inkwell::memory_buffer::MemoryBuffer;
use inkwell::values::MetadataValue;

/// The metadata of one parallel loop.
pub(crate) struct ParallelLoop<'ctx> {
    /// The loop id, for the `!llvm.loop` of the loop's latch branch.
    pub(crate) id: MetadataValue<'ctx>,
    /// The access group, for the `!llvm.access.group` of its memory accesses.
    pub(crate) group: MetadataValue<'ctx>,
}

/// The IR text declaring a parallel loop's id and access group.
const PARALLEL_LOOP: &str = "!tessera.loop = !{!0, !2}
!0 = distinct !{!0, !1}
!1 = !{!\"llvm.loop.parallel_accesses\", !2}
!2 = distinct !{}
";

/// The same for a loop LLVM must not unroll before it vectorises it.
const ROLLED_PARALLEL_LOOP: &str = "!tessera.loop = !{!0, !2}
!0 = distinct !{!0, !1, !3}
!1 = !{!\"llvm.loop.parallel_accesses\", !2}
!2 = distinct !{}
!3 = !{!\"llvm.loop.unroll.disable\"}
";

/// Fresh metadata for one parallel loop; with `rolled`, also
/// `llvm.loop.unroll.disable`: an innermost loop of a constant trip count
/// is otherwise fully unrolled before the loop vectoriser runs, which
/// then vectorises the loop around it with gathers and scatters.
pub(crate) fn parallel_loop(cx: &Context, rolled: bool) -> Res<ParallelLoop<'_>> {
    let text = if rolled { ROLLED_PARALLEL_LOOP } else { PARALLEL_LOOP };
    let buffer = MemoryBuffer::create_from_memory_range_copy(text.as_bytes(), "loop-metadata");
    let module = cx.create_module_from_ir(buffer).map_err(|e| CgError(format!("loop metadata: {e}")))?;
    match module.get_global_metadata("tessera.loop").as_slice() {
        [id, group] => Ok(ParallelLoop { id: *id, group: *group }),
        other => Err(CgError(format!("loop metadata: parsed {} nodes, expected 2", other.len()))),
    }
}
