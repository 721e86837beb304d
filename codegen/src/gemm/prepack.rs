//! A constant operand of a GEMM (a layer's weights) packed at compile time
//! into the layout the GEMM would otherwise pack it into on every call
//! (see the module doc of `gemm`), so a call reads the weights once,
//! sequentially, and copies nothing:
//! - `A` as `[batch][panel][k][MR]`, rows past `M` zero;
//! - `B` as `[batch][K block][panel][k][NR]` over all of `N` (`K` in blocks
//!   of `KC`, the last one shorter), columns past `N` zero.
//!
//! An operand with a batch stride of 0 (shared by every batch) is packed
//! once. `A` is not packed when `M` is small enough for the GEMM to read
//! it in place.

use super::Blocking;
use crate::target::Simd;
use tessera_ir::DType;

/// Which operand of the product a constant is.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) enum Operand {
    /// The left operand, `batch × m × k`.
    A,
    /// The right operand, `batch × k × n`.
    B,
}

/// The static shape of a product and of one operand in it.
#[derive(Copy, Clone, Debug)]
pub(crate) struct Shape {
    /// The sizes `batch, m, n, k`.
    pub(crate) sizes: [usize; 4],
    /// The operand's batch, row and column strides, in elements.
    pub(crate) strides: [usize; 3],
}

/// The bytes of `operand` (`bytes`, of `dtype`, laid out by `shape`'s
/// strides) packed for the GEMM of `simd`, or `None` where the GEMM does
/// not use a packed copy of it.
pub(crate) fn prepack(simd: Simd, dtype: DType, operand: Operand, bytes: &[u8], shape: Shape) -> Option<Vec<u8>> {
    if !matches!(dtype, DType::F32 | DType::F64) {
        return None;
    }
    let blk = Blocking::new(simd, dtype);
    let size = dtype.size_bytes();
    let [batch, m, n, k] = shape.sizes;
    let [bs, rs, cs] = shape.strides;
    let batches = if bs == 0 { 1 } else { batch };
    let (mr, nr, kc) = (blk.mr as usize, blk.nr as usize, blk.kc as usize);
    let element = |at: usize| bytes.get(at * size..(at + 1) * size);
    let mut out = Vec::new();
    let mut push = |at: Option<usize>| -> Option<()> {
        match at {
            Some(at) => out.extend_from_slice(element(at)?),
            None => out.extend(std::iter::repeat_n(0u8, size)),
        }
        Some(())
    };
    match operand {
        Operand::A => {
            if m <= blk.small_rows() as usize {
                return None;
            }
            for bi in 0..batches {
                for panel in 0..m.div_ceil(mr) {
                    for p in 0..k {
                        for ii in 0..mr {
                            let row = panel * mr + ii;
                            push((row < m).then(|| bi * bs + row * rs + p * cs))?;
                        }
                    }
                }
            }
        }
        Operand::B => {
            for bi in 0..batches {
                for pc in (0..k).step_by(kc) {
                    for panel in 0..n.div_ceil(nr) {
                        for p in pc..k.min(pc + kc) {
                            for jj in 0..nr {
                                let col = panel * nr + jj;
                                push((col < n).then(|| bi * bs + p * rs + col * cs))?;
                            }
                        }
                    }
                }
            }
        }
    }
    Some(out)
}
