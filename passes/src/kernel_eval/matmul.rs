//! `k.matmul` in the kernel interpreter: each operand read as a strided
//! `[batch, rows, cols]` view of its buffer, the sum of each result
//! element taken in f64 in contracting order and rounded once to the
//! dtype. Reads of elements never written, and a store into a read-only
//! buffer, are errors as for `k.load` and `k.store`.

use super::Machine;
use crate::failure::Failure;
use tessera_ir::dialect::kernel::linalg::{matmul_axes, MatmulAxes};
use tessera_ir::infer::{InferCx, NoSymbols};
use tessera_ir::tensor::Data;
use tessera_ir::{DType, OpId, Type};

/// One group of axes as one strided dimension: its size and stride.
#[derive(Copy, Clone)]
struct Dim1 {
    size: usize,
    stride: usize,
}

/// The group `axes` (consecutive, increasing) of a row-major `shape`.
fn group(shape: &[usize], axes: &[usize]) -> Dim1 {
    let size = axes.iter().map(|&x| shape[x]).product();
    let stride = axes.last().map_or(0, |&x| shape[x + 1..].iter().product());
    Dim1 { size, stride }
}

impl Machine<'_> {
    /// Runs a `k.matmul`.
    pub(super) fn matmul(&mut self, op: OpId) -> Result<(), Failure> {
        let data = self.func.op(op);
        let fail = |m: String| Failure::Op(op, m);
        let types: Vec<Type> = data.operands.iter().map(|&v| self.func.ty(v).clone()).collect();
        let cx = InferCx { operands: &types, attrs: &data.attrs, regions: &[], symbols: &NoSymbols };
        let (lhs, rhs) = matmul_axes(&cx).map_err(fail)?;
        let accumulate = cx.bool_or("accumulate", false).map_err(fail)?;
        let handles = data.operands.iter().map(|&v| self.buffer(op, v)).collect::<Result<Vec<_>, _>>()?;
        let [a, b, c] = handles[..] else { return Err(fail("takes three buffers (invalid IR)".into())) };
        let views = |h: usize, g: &MatmulAxes, rows_first: bool| {
            let s = &self.buffers[h].shape;
            let (free, contract) = (group(s, &g.free), group(s, &g.contract));
            let (rows, cols) = if rows_first { (free, contract) } else { (contract, free) };
            [group(s, &g.batch), rows, cols]
        };
        let [lb, m, k] = views(a, &lhs, true);
        let [rb, rk, n] = views(b, &rhs, false);
        // An operand without batch axes is shared by every batch (stride 0).
        let batches = if lhs.batch.is_empty() { rb.size } else { lb.size };
        let dtype = self.buffers[c].dtype;
        let defined = |h: usize, i: usize| self.buffers[h].written.as_ref().is_none_or(|w| w[i]);
        let value = |h: usize, i: usize| match &self.buffers[h].data {
            Data::Float(v) => Ok(v[i]),
            _ => Err(fail("the operands must hold floats (invalid IR)".into())),
        };
        let mut out = Vec::with_capacity(batches * m.size * n.size);
        for bi in 0..batches {
            for i in 0..m.size {
                for j in 0..n.size {
                    let at = out.len();
                    let mut sum = 0.0;
                    if accumulate {
                        if !defined(c, at) {
                            return Err(fail(format!("accumulates into result element {at} before it was written")));
                        }
                        sum = value(c, at)?;
                    }
                    for p in 0..k.size {
                        let x = bi * lb.stride + i * m.stride + p * k.stride;
                        let y = bi * rb.stride + p * rk.stride + j * n.stride;
                        if !defined(a, x) || !defined(b, y) {
                            return Err(fail("reads an operand element before anything was stored there".into()));
                        }
                        sum += value(a, x)? * value(b, y)?;
                    }
                    out.push(if dtype == DType::F32 { f64::from(sum as f32) } else { sum });
                }
            }
        }
        let buf = &mut self.buffers[c];
        if buf.read_only {
            return Err(fail("stores into a read-only buffer".into()));
        }
        match &mut buf.data {
            Data::Float(v) if v.len() == out.len() => *v = out,
            _ => return Err(fail("the result buffer does not fit the product (invalid IR)".into())),
        }
        if let Some(w) = &mut buf.written {
            w.fill(true);
        }
        Ok(())
    }
}
