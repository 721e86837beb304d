//! Helpers the reference semantics of the element-moving ops (shape,
//! index, sort) and the contractions (dot, conv, windows) share: moving
//! elements of any dtype through flat-index maps, permuting axes, and the
//! element arithmetic each domain accumulates in.

use crate::tensor::{strides, Data, Tensor};
use std::borrow::Cow;
use std::cmp::Ordering;

/// Applies one generic expression to the element vector of a [`Data`],
/// whatever its domain, and wraps the vector it gives in the same variant:
/// `map_elements!(x.data(), v => pick(v, indices)?)`.
macro_rules! map_elements {
    ($data:expr, $v:ident => $body:expr) => {
        match $data {
            $crate::tensor::Data::Float($v) => $crate::tensor::Data::Float($body),
            $crate::tensor::Data::Int($v) => $crate::tensor::Data::Int($body),
            $crate::tensor::Data::UInt($v) => $crate::tensor::Data::UInt($body),
            $crate::tensor::Data::Bool($v) => $crate::tensor::Data::Bool($body),
        }
    };
}
pub(crate) use map_elements;

/// For one output axis: what each coordinate adds to the flat index of the
/// source element (its source coordinate times the source stride), or
/// `None` where the output holds a fill value instead.
pub type AxisOffsets = Vec<Option<usize>>;

/// The offsets of an axis read in order: coordinate `i` adds `i * stride`.
pub fn identity_offsets(size: usize, stride: usize) -> AxisOffsets {
    (0..size).map(|i| Some(i * stride)).collect()
}

/// The flat source index of every element of an output whose axis `d`
/// reads `axes[d]`, in row-major order of the output; `None` where any axis
/// is fill. Rank 0 (no axes) gives the single index 0.
pub struct FlatIndices<'a> {
    axes: &'a [AxisOffsets],
    /// The output coordinate of the next element.
    pos: Vec<usize>,
    /// `prefix[d]`: the sum of the offsets of axes `0..d` at `pos`.
    prefix: Vec<Option<usize>>,
    remaining: usize,
}

/// Iterates the flat source indices an output described by `axes` reads.
pub fn flat_indices(axes: &[AxisOffsets]) -> FlatIndices<'_> {
    let remaining = axes.iter().map(Vec::len).product();
    let mut prefix = vec![Some(0); axes.len()];
    if remaining > 0 {
        for d in 1..axes.len() {
            prefix[d] = add_offsets(prefix[d - 1], axes[d - 1][0]);
        }
    }
    FlatIndices { axes, pos: vec![0; axes.len()], prefix, remaining }
}

fn add_offsets(a: Option<usize>, b: Option<usize>) -> Option<usize> {
    Some(a? + b?)
}

impl Iterator for FlatIndices<'_> {
    type Item = Option<usize>;

    fn next(&mut self) -> Option<Option<usize>> {
        if self.remaining == 0 {
            return None;
        }
        self.remaining -= 1;
        let Some(last) = self.axes.len().checked_sub(1) else { return Some(Some(0)) };
        let item = add_offsets(self.prefix[last], self.axes[last][self.pos[last]]);
        if self.remaining > 0 {
            // Advance like an odometer, then refresh the prefixes after the axis that moved.
            let mut d = last;
            self.pos[d] += 1;
            while self.pos[d] == self.axes[d].len() {
                self.pos[d] = 0;
                d -= 1;
                self.pos[d] += 1;
            }
            for e in d..last {
                self.prefix[e + 1] = add_offsets(self.prefix[e], self.axes[e][self.pos[e]]);
            }
        }
        Some(item)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.remaining, Some(self.remaining))
    }
}

impl ExactSizeIterator for FlatIndices<'_> {}

/// The elements of `v` at `indices`; an index that is `None` or out of
/// range is an error.
pub fn pick<T: Copy>(v: &[T], indices: impl Iterator<Item = Option<usize>>) -> Result<Vec<T>, String> {
    indices
        .map(|i| {
            i.and_then(|i| v.get(i).copied())
                .ok_or_else(|| format!("an element index is out of range for {} element(s)", v.len()))
        })
        .collect()
}

/// The elements of `data` at `indices`, in the same domain.
pub fn take(data: &Data, indices: impl Iterator<Item = Option<usize>>) -> Result<Data, String> {
    Ok(map_elements!(data, v => pick(v, indices)?))
}

/// A tensor of `x`'s dtype whose axis `d` reads `axes[d]` (which has no
/// fill entries); its shape is the lengths of `axes`.
pub fn rearrange(x: &Tensor, axes: &[AxisOffsets]) -> Result<Tensor, String> {
    let shape = axes.iter().map(Vec::len).collect();
    Tensor::new(x.dtype(), shape, take(x.data(), flat_indices(axes))?)
}

/// The elements of several `Data` of one domain, one after another.
pub fn concat_data(parts: &[&Data]) -> Result<Data, String> {
    fn join<T: Copy>(parts: &[&Data], get: impl Fn(&Data) -> Option<&Vec<T>>) -> Result<Vec<T>, String> {
        let mut out = Vec::with_capacity(parts.iter().map(|p| p.len()).sum());
        for p in parts {
            out.extend_from_slice(get(p).ok_or("the operands hold elements of different domains")?);
        }
        Ok(out)
    }
    let Some(first) = parts.first() else { return Err("nothing to concatenate".into()) };
    Ok(match first {
        Data::Float(_) => Data::Float(join(parts, |d| if let Data::Float(v) = d { Some(v) } else { None })?),
        Data::Int(_) => Data::Int(join(parts, |d| if let Data::Int(v) = d { Some(v) } else { None })?),
        Data::UInt(_) => Data::UInt(join(parts, |d| if let Data::UInt(v) = d { Some(v) } else { None })?),
        Data::Bool(_) => Data::Bool(join(parts, |d| if let Data::Bool(v) = d { Some(v) } else { None })?),
    })
}

/// The elements of a row-major array of `shape` with its axes reordered so
/// that axis `i` of the result is axis `order[i]` of `v`; borrowed when the
/// order is the identity. `order` must be a permutation of the axes.
pub fn permute<'v, T: Copy>(v: &'v [T], shape: &[usize], order: &[usize]) -> Result<Cow<'v, [T]>, String> {
    if order.iter().enumerate().all(|(i, &a)| i == a) {
        return Ok(Cow::Borrowed(v));
    }
    let st = strides(shape);
    let axes: Vec<AxisOffsets> = order.iter().map(|&a| identity_offsets(shape[a], st[a])).collect();
    pick(v, flat_indices(&axes)).map(Cow::Owned)
}

/// Element arithmetic in one domain: what contractions, windows and scatter
/// reductions combine elements with. Integers wrap (two's complement in 64
/// bits; results are narrowed to the dtype afterwards); float `maximum` and
/// `minimum` propagate NaN like numpy's; bools add as `or` and multiply as `and`.
pub trait Elem: Copy {
    /// The additive identity.
    const ZERO: Self;
    /// `self + other`.
    fn plus(self, other: Self) -> Self;
    /// `self * other`.
    fn times(self, other: Self) -> Self;
    /// The larger of the two.
    fn maximum(self, other: Self) -> Self;
    /// The smaller of the two.
    fn minimum(self, other: Self) -> Self;
    /// numpy's sort order: ascending, NaN after every number.
    fn order(&self, other: &Self) -> Ordering;
}

impl Elem for f64 {
    const ZERO: f64 = 0.0;
    fn plus(self, other: f64) -> f64 {
        self + other
    }
    fn times(self, other: f64) -> f64 {
        self * other
    }
    fn maximum(self, other: f64) -> f64 {
        if self.is_nan() || other.is_nan() {
            f64::NAN
        } else {
            self.max(other)
        }
    }
    fn minimum(self, other: f64) -> f64 {
        if self.is_nan() || other.is_nan() {
            f64::NAN
        } else {
            self.min(other)
        }
    }
    fn order(&self, other: &f64) -> Ordering {
        match (self.is_nan(), other.is_nan()) {
            (true, true) => Ordering::Equal,
            (true, false) => Ordering::Greater,
            (false, true) => Ordering::Less,
            (false, false) => self.partial_cmp(other).unwrap_or(Ordering::Equal),
        }
    }
}

impl Elem for i64 {
    const ZERO: i64 = 0;
    fn plus(self, other: i64) -> i64 {
        self.wrapping_add(other)
    }
    fn times(self, other: i64) -> i64 {
        self.wrapping_mul(other)
    }
    fn maximum(self, other: i64) -> i64 {
        Ord::max(self, other)
    }
    fn minimum(self, other: i64) -> i64 {
        Ord::min(self, other)
    }
    fn order(&self, other: &i64) -> Ordering {
        self.cmp(other)
    }
}

impl Elem for u64 {
    const ZERO: u64 = 0;
    fn plus(self, other: u64) -> u64 {
        self.wrapping_add(other)
    }
    fn times(self, other: u64) -> u64 {
        self.wrapping_mul(other)
    }
    fn maximum(self, other: u64) -> u64 {
        Ord::max(self, other)
    }
    fn minimum(self, other: u64) -> u64 {
        Ord::min(self, other)
    }
    fn order(&self, other: &u64) -> Ordering {
        self.cmp(other)
    }
}

impl Elem for bool {
    const ZERO: bool = false;
    fn plus(self, other: bool) -> bool {
        self || other
    }
    fn times(self, other: bool) -> bool {
        self && other
    }
    fn maximum(self, other: bool) -> bool {
        self || other
    }
    fn minimum(self, other: bool) -> bool {
        self && other
    }
    fn order(&self, other: &bool) -> Ordering {
        self.cmp(other)
    }
}

/// Test support for the evaluation hooks of the ops that use this module.
#[cfg(test)]
pub(crate) mod testing {
    use super::super::kernels::testing::eval_op;
    use crate::attr::Attrs;
    use crate::dtype::DType;
    use crate::op::OpRef;
    use crate::tensor::{Data, Tensor};

    /// Evaluates a one-result op on `inputs` (see `eval_op`).
    pub fn eval1(op: OpRef, inputs: &[Tensor], attrs: &Attrs) -> Result<Tensor, String> {
        let mut out = eval_op(op, inputs, attrs)?;
        assert_eq!(out.len(), 1, "{} has one result", op.name());
        Ok(out.remove(0))
    }

    /// An f32 tensor.
    pub fn f32s(shape: &[usize], values: &[f64]) -> Tensor {
        Tensor::from_f64(DType::F32, shape.to_vec(), values.to_vec()).expect("count matches the shape")
    }

    /// An i64 tensor.
    pub fn i64s(shape: &[usize], values: &[i64]) -> Tensor {
        Tensor::new(DType::I64, shape.to_vec(), Data::Int(values.to_vec())).expect("count matches the shape")
    }

    /// An f32 tensor holding `0, 1, 2, ...`.
    pub fn arange(shape: &[usize]) -> Tensor {
        let n: usize = shape.iter().product();
        f32s(shape, &(0..n).map(|i| i as f64).collect::<Vec<_>>())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flat_indices_walk_row_major() {
        let axes = vec![identity_offsets(2, 3), vec![Some(2), None, Some(0)]];
        let got: Vec<Option<usize>> = flat_indices(&axes).collect();
        assert_eq!(got, [Some(2), None, Some(0), Some(5), None, Some(3)]);
        assert_eq!(flat_indices(&[]).collect::<Vec<_>>(), [Some(0)]);
        assert_eq!(flat_indices(&[identity_offsets(3, 1), Vec::new()]).count(), 0);
    }

    #[test]
    fn permute_transposes_and_borrows_identity() {
        let v = [0, 1, 2, 3, 4, 5];
        assert_eq!(permute(&v, &[2, 3], &[1, 0]).unwrap().as_ref(), [0, 3, 1, 4, 2, 5]);
        assert!(matches!(permute(&v, &[2, 3], &[0, 1]).unwrap(), Cow::Borrowed(_)));
    }

    #[test]
    fn take_and_concat_keep_the_domain() {
        let d = Data::Bool(vec![true, false]);
        assert_eq!(take(&d, [Some(1), Some(0), Some(1)].into_iter()), Ok(Data::Bool(vec![false, true, false])));
        assert!(take(&d, [Some(2)].into_iter()).is_err());
        let e = Data::Bool(vec![true]);
        assert_eq!(concat_data(&[&d, &e]), Ok(Data::Bool(vec![true, false, true])));
        assert!(concat_data(&[&d, &Data::Int(vec![1])]).is_err());
    }

    #[test]
    fn float_order_puts_nan_last_and_extremes_propagate_it() {
        let mut v = [2.0, f64::NAN, -1.0, f64::INFINITY];
        v.sort_by(Elem::order);
        assert_eq!(&v[..3], &[-1.0, 2.0, f64::INFINITY]);
        assert!(v[3].is_nan());
        assert!(Elem::maximum(1.0, f64::NAN).is_nan() && Elem::minimum(f64::NAN, 1.0).is_nan());
        assert_eq!(i64::MAX.plus(1), i64::MIN);
    }
}
