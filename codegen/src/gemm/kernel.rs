//! The GEMM's micro-kernels: `void (i64 kc, ptr a, i64 a_rs, i64 a_cs,
//! ptr b, ptr c, i64 ldc, i64 mr, i64 nr, i1 first)` adds (or with `first`,
//! stores) the product of `rows` rows of `A` (row stride `a_rs`, column
//! stride `a_cs`) over `kc` and a packed `kc × NR` panel of `B` into the
//! `mr × nr` tile of `C` at `c` (row stride `ldc`), `mr ≤ rows`, `nr ≤ NR`.
//!
//! The tile is held in `rows × NR / lanes` vector registers, updated once
//! per `k` by `NR / lanes` vector loads of `B`, `rows` broadcasts of `A`
//! and `llvm.fmuladd` (an FMA where the target has one). The `MR`-row
//! kernel reads packed `A` (strides 1 and `MR`, constants); the smaller
//! ones read through the strides, and those with fewer than eight
//! accumulators split `k` between two or four sets of them (summed at the
//! end) so the FMAs' latency is hidden. Full tiles are added to (or
//! stored over) `C` with vector loads and stores; edge tiles go through a
//! stack tile, element by element.

use super::{set_align, Gen};
use crate::emit::{CgError, Res};
use inkwell::attributes::AttributeLoc;
use inkwell::module::Linkage;
use inkwell::types::BasicMetadataTypeEnum;
use inkwell::values::{FloatValue, FunctionValue, IntValue, PointerValue, VectorValue};
use inkwell::IntPredicate;

/// The fewest independent accumulators that keep the FMA units busy.
const MIN_ACCUMULATORS: u64 = 8;

impl<'ctx> Gen<'_, 'ctx> {
    /// The micro-kernel for tiles of `rows` rows, generated once.
    pub(super) fn kernel(&self, rows: u64) -> Res<FunctionValue<'ctx>> {
        let name = self.name(&format!(".kernel{rows}"));
        if let Some(f) = self.module.get_function(&name) {
            return Ok(f);
        }
        self.aside(|| {
            let (cx, b, blk) = (self.cx, self.b, self.blk);
            let (ptr, i64t) = (self.ptr(), cx.i64_type());
            let params: Vec<BasicMetadataTypeEnum> = vec![
                i64t.into(),
                ptr.into(),
                i64t.into(),
                i64t.into(),
                ptr.into(),
                ptr.into(),
                i64t.into(),
                i64t.into(),
                i64t.into(),
                cx.bool_type().into(),
            ];
            let f = self.module.add_function(&name, cx.void_type().fn_type(&params, false), Some(Linkage::Internal));
            f.add_attribute(AttributeLoc::Function, self.attr("nounwind"));
            // Out of line: one copy per module, compiled once, not merged into
            // the task loop (which would make one very large function).
            f.add_attribute(AttributeLoc::Function, self.attr("noinline"));
            for k in [1, 4, 5] {
                f.add_attribute(AttributeLoc::Param(k), self.attr("noalias"));
            }
            let e = self.enter(f)?;
            let kc = Self::param(f, 0, "kc")?.into_int_value();
            let a = Self::param(f, 1, "a")?.into_pointer_value();
            let (mut a_rs, mut a_cs) = (Self::param(f, 2, "a_rs")?.into_int_value(), Self::param(f, 3, "a_cs")?.into_int_value());
            let bp = Self::param(f, 4, "b")?.into_pointer_value();
            let c = Self::param(f, 5, "c")?.into_pointer_value();
            let ldc = Self::param(f, 6, "ldc")?.into_int_value();
            let (mr, nr) = (Self::param(f, 7, "mr")?.into_int_value(), Self::param(f, 8, "nr")?.into_int_value());
            let first = Self::param(f, 9, "first")?.into_int_value();
            if rows == blk.mr {
                (a_rs, a_cs) = (self.int(1), self.int(blk.mr));
            }
            let vt = self.vector();
            let nv = blk.nr / u64::from(blk.lanes);
            let tiles = (rows * nv) as usize;
            let sets = MIN_ACCUMULATORS.div_ceil(rows * nv).clamp(1, 4);
            let tile = b.build_array_alloca(self.elem(), self.int(rows * blk.nr), "tile")?;
            let zeros = vec![vt.const_zero(); tiles * sets as usize];
            let step = |p: IntValue<'ctx>, accs: &[VectorValue<'ctx>]| -> Res<Vec<VectorValue<'ctx>>> {
                let brow = self.at(bp, self.mul(p, self.int(blk.nr))?)?;
                let mut bv = Vec::new();
                for j in 0..nv {
                    let x = b.build_load(vt, self.at(brow, self.int(j * u64::from(blk.lanes)))?, "b")?;
                    set_align(x, self.vector_bytes())?;
                    bv.push(x.into_vector_value());
                }
                let arow = self.at(a, self.mul(p, a_cs)?)?;
                let mut next = Vec::with_capacity(accs.len());
                for i in 0..rows {
                    let x = b.build_load(self.elem(), self.at(arow, self.mul(self.int(i), a_rs)?)?, "a")?.into_float_value();
                    let splat = self.splat(x)?;
                    for (j, &y) in bv.iter().enumerate() {
                        let acc = accs[i as usize * nv as usize + j];
                        let t = [vt.into()];
                        let r = e.call_intrinsic("llvm.fmuladd", &t, &[splat.into(), y.into(), acc.into()])?;
                        next.push(r.into_vector_value());
                    }
                }
                Ok(next)
            };
            // The main loop takes `sets` values of k at a time, one per set.
            let main_end = b.build_and(kc, self.int(!(sets - 1)), "")?;
            let accs = self.carried(f, (self.int(0), main_end, self.int(sets)), "k", &zeros, &mut |p, accs| {
                let mut next = Vec::with_capacity(accs.len());
                for (s, set) in accs.chunks(tiles).enumerate() {
                    next.extend(step(self.add(p, self.int(s as u64))?, set)?);
                }
                Ok(next)
            })?;
            let mut values = accs[..tiles].to_vec();
            if sets > 1 {
                values = self.carried(f, (main_end, kc, self.int(1)), "k.rest", &values, &mut |p, accs| step(p, accs))?;
                for set in accs[tiles..].chunks(tiles) {
                    for (v, &x) in values.iter_mut().zip(set) {
                        *v = b.build_float_add(*v, x, "")?;
                    }
                }
            }
            self.store_tile(f, (c, ldc), (mr, nr), rows, first, tile, &values)?;
            b.build_return(None)?;
            Ok(f)
        })
    }

    /// Writes the `rows × NR` tile `values` (row-major vectors) to the `mr ×
    /// nr` corner of `C` at `c`, added to it unless `first`: straight as
    /// vectors when the tile is full, else through the stack tile `tile`.
    #[expect(clippy::too_many_arguments, reason = "the tile, where it goes and how much of it")]
    fn store_tile(
        &self,
        f: FunctionValue<'ctx>,
        (c, ldc): (PointerValue<'ctx>, IntValue<'ctx>),
        (mr, nr): (IntValue<'ctx>, IntValue<'ctx>),
        rows: u64,
        first: IntValue<'ctx>,
        tile: PointerValue<'ctx>,
        values: &[VectorValue<'ctx>],
    ) -> Res<()> {
        let (cx, b, blk) = (self.cx, self.b, self.blk);
        let vt = self.vector();
        let nv = (blk.nr / u64::from(blk.lanes)) as usize;
        let elem_align = self.dtype.size_bytes() as u32;
        let full_m = b.build_int_compare(IntPredicate::EQ, mr, self.int(rows), "")?;
        let full_n = b.build_int_compare(IntPredicate::EQ, nr, self.int(blk.nr), "")?;
        let full = cx.append_basic_block(f, "full");
        let edge = cx.append_basic_block(f, "edge");
        let ret = cx.append_basic_block(f, "ret");
        b.build_conditional_branch(b.build_and(full_m, full_n, "")?, full, edge)?;
        // Full tile: vectors straight into C, added to it unless `first`.
        b.position_at_end(full);
        let add_bb = cx.append_basic_block(f, "full.add");
        let store_bb = cx.append_basic_block(f, "full.store");
        b.build_conditional_branch(first, store_bb, add_bb)?;
        for (block, add) in [(add_bb, true), (store_bb, false)] {
            b.position_at_end(block);
            for i in 0..rows as usize {
                let row = self.at(c, self.mul(self.int(i as u64), ldc)?)?;
                for j in 0..nv {
                    let at = self.at(row, self.int(j as u64 * u64::from(blk.lanes)))?;
                    let mut v = values[i * nv + j];
                    if add {
                        let old = b.build_load(vt, at, "")?;
                        set_align(old, elem_align)?;
                        v = b.build_float_add(v, old.into_vector_value(), "")?;
                    }
                    let st = b.build_store(at, v)?;
                    st.set_alignment(elem_align).map_err(|m| CgError(m.to_string()))?;
                }
            }
            b.build_unconditional_branch(ret)?;
        }
        // Edge tile: through the stack, element by element.
        b.position_at_end(edge);
        for (k, v) in values.iter().enumerate() {
            let st = b.build_store(self.at(tile, self.int(k as u64 * u64::from(blk.lanes)))?, *v)?;
            st.set_alignment(elem_align).map_err(|m| CgError(m.to_string()))?;
        }
        self.range(f, (self.int(0), mr, self.int(1)), "i", &mut |i| {
            let row = self.at(c, self.mul(i, ldc)?)?;
            let trow = self.at(tile, self.mul(i, self.int(blk.nr))?)?;
            self.range(f, (self.int(0), nr, self.int(1)), "j", &mut |j| {
                let x = b.build_load(self.elem(), self.at(trow, j)?, "")?.into_float_value();
                let at = self.at(row, j)?;
                let old = b.build_load(self.elem(), at, "")?.into_float_value();
                let sum = b.build_float_add(x, old, "")?;
                let v: FloatValue = b.build_select(first, x, sum, "")?.into_float_value();
                b.build_store(at, v)?;
                Ok(())
            })
        })?;
        b.build_unconditional_branch(ret)?;
        b.position_at_end(ret);
        Ok(())
    }
}
