//! Gradient rules (vector-Jacobian products) of the graph ops, one file per
//! op family, and the building blocks they share: arithmetic shortcuts,
//! zeros, and summing a broadcast gradient back to an operand's shape.
//! Each op's `vjp` hook calls its rule here; the rules build graph ops only.

pub mod control;
pub mod elementwise;
pub mod index;
pub mod linalg;
pub mod reduce;
pub mod shape;
pub mod window;

use super::{elementwise as ew, reduce as red, shape as sh};
use crate::attr::{Attr, Attrs};
use crate::diag::Diag;
use crate::dim::Dim;
use crate::id::ValueId;
use crate::op::OpRef;
use crate::vjp::{Grads, VjpCx};

impl VjpCx<'_, '_> {
    /// `a + b`.
    pub fn add(&mut self, a: ValueId, b: ValueId) -> Result<ValueId, Diag> {
        self.b.binary(&ew::ADD, a, b)
    }

    /// `a - b`.
    pub fn sub(&mut self, a: ValueId, b: ValueId) -> Result<ValueId, Diag> {
        self.b.binary(&ew::SUB, a, b)
    }

    /// `a * b`.
    pub fn mul(&mut self, a: ValueId, b: ValueId) -> Result<ValueId, Diag> {
        self.b.binary(&ew::MUL, a, b)
    }

    /// `a / b`.
    pub fn div(&mut self, a: ValueId, b: ValueId) -> Result<ValueId, Diag> {
        self.b.binary(&ew::DIV, a, b)
    }

    /// A one-operand op on `x`.
    pub fn apply(&mut self, def: OpRef, x: ValueId) -> Result<ValueId, Diag> {
        self.b.unary(def, x)
    }

    /// A rank-0 constant `c` of `like`'s dtype.
    pub fn constant_like(&mut self, like: ValueId, c: f64) -> Result<ValueId, Diag> {
        let dtype = self.dtype(like)?;
        self.b.scalar(dtype, c)
    }

    /// `x * c` for a constant `c`.
    pub fn scale(&mut self, x: ValueId, c: f64) -> Result<ValueId, Diag> {
        let k = self.constant_like(x, c)?;
        self.mul(x, k)
    }

    /// `c - x` for a constant `c`.
    pub fn rsub(&mut self, c: f64, x: ValueId) -> Result<ValueId, Diag> {
        let k = self.constant_like(x, c)?;
        self.sub(k, x)
    }

    /// Zeros of `like`'s type (picked by a false `select` where a dim is
    /// unknown, so that no size needs to be named).
    pub fn zeros_like(&mut self, like: ValueId) -> Result<ValueId, Diag> {
        let dims = self.dims(like)?;
        let zero = self.constant_like(like, 0.0)?;
        if dims.iter().any(|d| matches!(d, Dim::Unknown)) {
            let no = self.b.scalar(crate::dtype::DType::I1, 0.0)?;
            return self.b.op(&ew::SELECT, &[no, like, zero], Attrs::new());
        }
        self.b.broadcast_to(zero, &dims)
    }

    /// `g` restated with `like`'s type where the two differ only in how
    /// much is known of the dims.
    pub fn retype(&mut self, g: ValueId, like: ValueId) -> Result<ValueId, Diag> {
        if self.b.func.ty(g) == self.b.func.ty(like) {
            return Ok(g);
        }
        let dims = self.dims(like)?;
        self.b.reshape(g, &dims)
    }

    /// The cotangent of result `i`, or zeros of its type when none flows back.
    pub fn cot(&mut self, i: usize) -> Result<ValueId, Diag> {
        match self.cotangent(i) {
            Some(g) => Ok(g),
            None => {
                let r = self.result(i);
                self.zeros_like(r)
            }
        }
    }

    /// `g` (of a broadcast shape) summed back to `dims`: over the leading
    /// axes `dims` lacks and over the axes where `dims` has a 1 that `g` does not.
    pub fn unbroadcast(&mut self, g: ValueId, dims: &[Dim]) -> Result<ValueId, Diag> {
        let have = self.dims(g)?;
        let lead = have.len().checked_sub(dims.len()).ok_or_else(|| {
            self.error(format!("a gradient of rank {} cannot sum to rank {}", have.len(), dims.len()))
        })?;
        let mut axes: Vec<i64> = (0..lead as i64).collect();
        for (i, d) in dims.iter().enumerate() {
            if d.known() == Some(1) && have[lead + i].known() != Some(1) {
                axes.push((lead + i) as i64);
            }
        }
        if axes.is_empty() {
            return Ok(g);
        }
        let summed = self.b.reduce(&red::REDUCE_SUM, g, &axes, true)?;
        self.b.reshape(summed, dims)
    }

    /// `g` summed back to the shape of operand `i`, when that operand wants a gradient.
    pub fn grad_for(&mut self, i: usize, g: ValueId) -> Result<Option<ValueId>, Diag> {
        if !self.wants(i) {
            return Ok(None);
        }
        let dims = self.dims(self.operand(i))?;
        self.unbroadcast(g, &dims).map(Some)
    }

    /// `tg.pad` of `x` with zeros by `low` and `high` per axis (negative amounts crop).
    pub fn pad_zeros(&mut self, x: ValueId, low: &[i64], high: &[i64]) -> Result<ValueId, Diag> {
        let zero = self.constant_like(x, 0.0)?;
        let attrs = Attrs::from([("low", Attr::ints(low)), ("high", Attr::ints(high))]);
        self.b.op(&sh::PAD, &[x, zero], attrs)
    }

    /// The product of a factor's fellow factors (the others multiplied
    /// with it into `y`), without dividing by zero, from: whether the
    /// factor is zero, the factor with zero read as 1, `y`, how many zero
    /// factors `y` has and the product of its nonzero ones. That is `y /
    /// factor` where no factor is zero, the nonzero product at the only
    /// zero, and 0 elsewhere (as PyTorch's `prod` backward).
    pub fn others_product(&mut self, [is_zero, factor, y, count, nonzero]: [ValueId; 5]) -> Result<ValueId, Diag> {
        let zero = self.constant_like(y, 0.0)?;
        let one = self.constant_like(y, 1.0)?;
        let none = self.b.binary(&ew::EQ, count, zero)?;
        let single = self.b.binary(&ew::EQ, count, one)?;
        let ratio = self.div(y, factor)?;
        let if_nonzero = self.b.op(&ew::SELECT, &[none, ratio, zero], Attrs::new())?;
        let if_zero = self.b.op(&ew::SELECT, &[single, nonzero, zero], Attrs::new())?;
        self.b.op(&ew::SELECT, &[is_zero, if_zero, if_nonzero], Attrs::new())
    }

    /// `x` with `s - 1` zeros inserted after every element along `axis`
    /// (so element `i` lands at `i * s`; the result is `s` times as long).
    pub fn spread(&mut self, x: ValueId, axis: usize, s: u64) -> Result<ValueId, Diag> {
        if s == 1 {
            return Ok(x);
        }
        let dims = self.dims(x)?;
        let mut unit = dims.clone();
        unit.insert(axis + 1, Dim::Known(1));
        let column = self.b.reshape(x, &unit)?;
        let mut gap = unit.clone();
        gap[axis + 1] = Dim::Known(s - 1);
        let zero = self.constant_like(x, 0.0)?;
        let zeros = self.b.broadcast_to(zero, &gap)?;
        let joined = self.b.concat(&[column, zeros], (axis + 1) as i64)?;
        let mut out = dims;
        out[axis] = out[axis].mul(&Dim::Known(s));
        self.b.reshape(joined, &out)
    }
}

/// The gradient of every operand of an op that is linear in operand 0 and
/// has no other differentiable operand: `f(g)` for operand 0.
pub fn linear(cx: &mut VjpCx, f: impl FnOnce(&mut VjpCx, ValueId) -> Result<ValueId, Diag>) -> Result<Grads, Diag> {
    let mut grads = vec![None; cx.num_operands()];
    if cx.wants(0) {
        let g = cx.cot(0)?;
        grads[0] = Some(f(cx, g)?);
    }
    Ok(grads)
}
