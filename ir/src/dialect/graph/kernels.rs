//! Per-element math the graph ops' reference-semantics hooks share: numpy
//! broadcasting of concrete shapes (with, per input, the flat index read at
//! each output position), reading rank-0 operands, the element arithmetic
//! and sort order of each domain ([`Elem`]), the associative operations
//! reductions fold with ([`Combine`]), and applying one scalar function per
//! element domain to every element or every broadcast pair. Moving elements
//! around lives in `layout`.
//!
//! Hooks compute in each domain's wide type (`f64`, `i64`, `u64`, `bool`)
//! and build their results with [`Tensor::new`], which rounds floats to the
//! dtype and wraps integers to its width; so an `i8` sum computed with
//! `i64::wrapping_add` and narrowed afterwards wraps exactly as `i8` does.

use super::layout::{flat_indices, identity_offsets, rearrange, AxisOffsets};
use crate::dtype::DType;
use crate::tensor::{strides, Data, Tensor};
use std::cmp::Ordering;

/// The numpy broadcast of concrete shapes: shapes align at their last axis;
/// on each axis every size is 1 or the one common size, which the result
/// takes (a missing leading axis counts as 1).
pub(crate) fn broadcast_shapes(shapes: &[&[usize]]) -> Result<Vec<usize>, String> {
    let rank = shapes.iter().map(|s| s.len()).max().unwrap_or(0);
    let mut out = vec![1; rank];
    for s in shapes {
        let offset = rank - s.len();
        for (i, &n) in s.iter().enumerate() {
            let o = &mut out[offset + i];
            if n == *o || n == 1 {
                continue;
            }
            if *o != 1 {
                let shown: Vec<String> = shapes.iter().map(|s| format!("{s:?}")).collect();
                return Err(format!(
                    "shapes {} do not broadcast: axis {} has sizes {} and {n}",
                    shown.join(" and "),
                    offset + i,
                    *o
                ));
            }
            *o = n;
        }
    }
    Ok(out)
}

/// Per axis of the shape `to`, the offsets a `from`-shaped tensor supplies
/// under numpy broadcasting: `from` aligns with the trailing axes of `to`;
/// an axis of the same size reads in order, one of size 1 (or a missing
/// leading axis) repeats offset 0, any other size is an error.
fn broadcast_axes(from: &[usize], to: &[usize]) -> Result<Vec<AxisOffsets>, String> {
    let lead = to.len().checked_sub(from.len()).ok_or_else(|| format!("cannot broadcast {from:?} to {to:?}"))?;
    let st = strides(from);
    (0..to.len())
        .map(|axis| match axis.checked_sub(lead).map(|i| (i, from[i])) {
            Some((i, n)) if n == to[axis] => Ok(identity_offsets(n, st[i])),
            None | Some((_, 1)) => Ok(vec![Some(0); to[axis]]),
            Some((i, n)) => Err(format!("cannot broadcast {from:?}: dim {i} is {n}, neither 1 nor {}", to[axis])),
        })
        .collect()
}

/// For each position of the shape `to` (row-major), the flat index of the
/// element a `from`-shaped tensor supplies there under numpy broadcasting
/// (see [`broadcast_axes`]). With `from` = a reduction's keepdims shape and
/// `to` = its input's shape, the map sends each input element to its output
/// position.
pub(crate) fn broadcast_index_map(from: &[usize], to: &[usize]) -> Result<Vec<usize>, String> {
    Ok(flat_indices(&broadcast_axes(from, to)?).flatten().collect())
}

/// Several operands broadcast to one output shape, with the element each
/// operand supplies at every output position.
pub(crate) struct Broadcast {
    shape: Vec<usize>,
    /// Per operand: `None` when its shape already is the output's (position
    /// `i` reads element `i`), else the index map of [`broadcast_index_map`].
    maps: Vec<Option<Vec<usize>>>,
}

impl Broadcast {
    /// The broadcast of operands with these shapes.
    pub(crate) fn new(shapes: &[&[usize]]) -> Result<Broadcast, String> {
        let shape = broadcast_shapes(shapes)?;
        let maps = shapes
            .iter()
            .map(|s| if *s == shape.as_slice() { Ok(None) } else { broadcast_index_map(s, &shape).map(Some) })
            .collect::<Result<_, _>>()?;
        Ok(Broadcast { shape, maps })
    }

    /// The broadcast of these tensors' shapes.
    pub(crate) fn of(tensors: &[&Tensor]) -> Result<Broadcast, String> {
        let shapes: Vec<&[usize]> = tensors.iter().map(|t| t.shape()).collect();
        Broadcast::new(&shapes)
    }

    /// The output shape.
    pub(crate) fn shape(&self) -> &[usize] {
        &self.shape
    }

    /// The number of output elements.
    pub(crate) fn len(&self) -> usize {
        self.shape.iter().product()
    }

    /// The flat index of the element operand `k` supplies at output position `i`.
    pub(crate) fn source(&self, k: usize, i: usize) -> usize {
        match &self.maps[k] {
            None => i,
            Some(map) => map[i],
        }
    }
}

/// `x` broadcast (numpy rules, materialised) to `shape`.
pub(crate) fn broadcast_to(x: &Tensor, shape: &[usize]) -> Result<Tensor, String> {
    rearrange(x, &broadcast_axes(x.shape(), shape)?)
}

/// The single element of a one-element (normally rank-0) `i1` tensor;
/// `what` names it in the error.
pub(crate) fn scalar_bool(t: &Tensor, what: &str) -> Result<bool, String> {
    match t.data() {
        Data::Bool(v) if v.len() == 1 => Ok(v[0]),
        _ => Err(format!("{what} must be a single i1, got {:?} x {}", t.shape(), t.dtype())),
    }
}

/// The single element of a one-element (normally rank-0) signed-integer
/// tensor; `what` names it in the error.
pub(crate) fn scalar_i64(t: &Tensor, what: &str) -> Result<i64, String> {
    match t.data() {
        Data::Int(v) if v.len() == 1 => Ok(v[0]),
        _ => Err(format!("{what} must be a single signed integer, got {:?} x {}", t.shape(), t.dtype())),
    }
}

/// The number of bits of an integer dtype.
pub(crate) fn bits(dtype: DType) -> u32 {
    dtype.size_bytes() as u32 * 8
}

/// Element arithmetic in one domain: what contractions, windows,
/// reductions and scatters combine elements with. Integers wrap (two's
/// complement in 64 bits; results are narrowed to the dtype afterwards);
/// float `maximum` and `minimum` propagate NaN like numpy's; bools add as
/// `or` and multiply as `and`.
pub(crate) trait Elem: Copy {
    /// The additive identity.
    const ZERO: Self;
    /// The multiplicative identity.
    const ONE: Self;
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
    /// The lowest value of `dtype`, whose elements this domain holds (-inf for floats).
    fn lowest(dtype: DType) -> Self;
    /// The highest value of `dtype`, whose elements this domain holds (+inf for floats).
    fn highest(dtype: DType) -> Self;
}

impl Elem for f64 {
    const ZERO: f64 = 0.0;
    const ONE: f64 = 1.0;
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
    fn lowest(_: DType) -> f64 {
        f64::NEG_INFINITY
    }
    fn highest(_: DType) -> f64 {
        f64::INFINITY
    }
}

/// [`Elem`] for the two integer domains, which differ only in their type:
/// wrapping arithmetic, and the extremes of a dtype are those of its width.
macro_rules! int_elem {
    ($($t:ty),*) => {$(
        impl Elem for $t {
            const ZERO: $t = 0;
            const ONE: $t = 1;
            fn plus(self, other: $t) -> $t {
                self.wrapping_add(other)
            }
            fn times(self, other: $t) -> $t {
                self.wrapping_mul(other)
            }
            fn maximum(self, other: $t) -> $t {
                Ord::max(self, other)
            }
            fn minimum(self, other: $t) -> $t {
                Ord::min(self, other)
            }
            fn order(&self, other: &$t) -> Ordering {
                self.cmp(other)
            }
            fn lowest(dtype: DType) -> $t {
                <$t>::MIN >> (64 - bits(dtype))
            }
            fn highest(dtype: DType) -> $t {
                <$t>::MAX >> (64 - bits(dtype))
            }
        }
    )*};
}
int_elem!(i64, u64);

impl Elem for bool {
    const ZERO: bool = false;
    const ONE: bool = true;
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
    fn lowest(_: DType) -> bool {
        false
    }
    fn highest(_: DType) -> bool {
        true
    }
}

/// An associative operation that reductions, pooling windows and scatters
/// combine elements with, in [`Elem`]'s arithmetic.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) enum Combine {
    /// Addition (identity 0).
    Sum,
    /// Multiplication (identity 1).
    Prod,
    /// The larger element, NaN-propagating (identity: the lowest value).
    Max,
    /// The smaller element, NaN-propagating (identity: the highest value).
    Min,
}

impl Combine {
    /// The operation on elements of domain `T`.
    pub(crate) fn op<T: Elem>(self) -> fn(T, T) -> T {
        match self {
            Combine::Sum => T::plus,
            Combine::Prod => T::times,
            Combine::Max => T::maximum,
            Combine::Min => T::minimum,
        }
    }

    /// The identity of the operation on elements of `dtype` (held in domain
    /// `T`): 0, 1, and for max and min the dtype's lowest and highest values.
    pub(crate) fn identity<T: Elem>(self, dtype: DType) -> T {
        match self {
            Combine::Sum => T::ZERO,
            Combine::Prod => T::ONE,
            Combine::Max => T::lowest(dtype),
            Combine::Min => T::highest(dtype),
        }
    }
}

/// The scalar function of a unary elementwise op, one per element domain;
/// the result keeps the operand's dtype. `None` marks a domain the op does
/// not take (its dtype class excludes it; meeting one is an error).
#[derive(Copy, Clone)]
pub(crate) struct UnaryFns {
    /// On f16, bf16, f32, f64 values (held as `f64`).
    pub(crate) float: Option<fn(f64) -> f64>,
    /// On signed integers held as `i64` (the result is wrapped to the dtype).
    pub(crate) int: Option<fn(i64) -> i64>,
    /// On unsigned integers held as `u64` (the result is wrapped to the dtype).
    pub(crate) uint: Option<fn(u64) -> u64>,
    /// On `i1`.
    pub(crate) boolean: Option<fn(bool) -> bool>,
}

impl UnaryFns {
    /// A function of floats only.
    pub(crate) const fn float(f: fn(f64) -> f64) -> UnaryFns {
        UnaryFns { float: Some(f), int: None, uint: None, boolean: None }
    }

    /// A function of floats and integers.
    pub(crate) const fn numeric(float: fn(f64) -> f64, int: fn(i64) -> i64, uint: fn(u64) -> u64) -> UnaryFns {
        UnaryFns { float: Some(float), int: Some(int), uint: Some(uint), boolean: None }
    }

    /// A function of integers only.
    pub(crate) const fn ints(int: fn(i64) -> i64, uint: fn(u64) -> u64) -> UnaryFns {
        UnaryFns { float: None, int: Some(int), uint: Some(uint), boolean: None }
    }

    /// A function of `i1` only.
    pub(crate) const fn boolean(f: fn(bool) -> bool) -> UnaryFns {
        UnaryFns { float: None, int: None, uint: None, boolean: Some(f) }
    }
}

/// Applies `fns` to every element of `x`; the result has `x`'s dtype and shape.
pub(crate) fn map_unary(x: &Tensor, fns: &UnaryFns) -> Result<Tensor, String> {
    let data = match (x.data(), fns) {
        (Data::Float(v), UnaryFns { float: Some(f), .. }) => Data::Float(v.iter().map(|&a| f(a)).collect()),
        (Data::Int(v), UnaryFns { int: Some(f), .. }) => Data::Int(v.iter().map(|&a| f(a)).collect()),
        (Data::UInt(v), UnaryFns { uint: Some(f), .. }) => Data::UInt(v.iter().map(|&a| f(a)).collect()),
        (Data::Bool(v), UnaryFns { boolean: Some(f), .. }) => Data::Bool(v.iter().map(|&a| f(a)).collect()),
        _ => return Err(format!("operand #0 of dtype {} is not supported", x.dtype())),
    };
    Tensor::new(x.dtype(), x.shape().to_vec(), data)
}

/// A signed-integer binary function on wide values; the dtype gives the
/// width (for shifts). An error (division by zero) stops evaluation.
pub(crate) type IntFn2 = fn(i64, i64, DType) -> Result<i64, String>;
/// An unsigned-integer binary function on wide values, like [`IntFn2`].
pub(crate) type UIntFn2 = fn(u64, u64, DType) -> Result<u64, String>;

/// The scalar function of a binary elementwise op whose result has the
/// operands' dtype, one per element domain (`None`: the op does not take it).
#[derive(Copy, Clone)]
pub(crate) struct BinaryFns {
    /// On floats held as `f64`.
    pub(crate) float: Option<fn(f64, f64) -> f64>,
    /// On signed integers held as `i64`.
    pub(crate) int: Option<IntFn2>,
    /// On unsigned integers held as `u64`.
    pub(crate) uint: Option<UIntFn2>,
    /// On `i1`.
    pub(crate) boolean: Option<fn(bool, bool) -> bool>,
}

impl BinaryFns {
    /// A function of floats only.
    pub(crate) const fn float(f: fn(f64, f64) -> f64) -> BinaryFns {
        BinaryFns { float: Some(f), int: None, uint: None, boolean: None }
    }

    /// A function of integers only.
    pub(crate) const fn ints(int: IntFn2, uint: UIntFn2) -> BinaryFns {
        BinaryFns { float: None, int: Some(int), uint: Some(uint), boolean: None }
    }

    /// A function of floats and integers.
    pub(crate) const fn numeric(float: fn(f64, f64) -> f64, int: IntFn2, uint: UIntFn2) -> BinaryFns {
        BinaryFns { float: Some(float), int: Some(int), uint: Some(uint), boolean: None }
    }

    /// A function of `i1` only.
    pub(crate) const fn boolean(f: fn(bool, bool) -> bool) -> BinaryFns {
        BinaryFns { float: None, int: None, uint: None, boolean: Some(f) }
    }
}

/// `f(a[i'], b[i''])` at every position of the broadcast `bc` of `a` and `b`
/// (operands 0 and 1 of `bc`), stopping at the first error.
pub(crate) fn zip_with<A: Copy, B: Copy, R>(
    bc: &Broadcast,
    a: &[A],
    b: &[B],
    mut f: impl FnMut(A, B) -> Result<R, String>,
) -> Result<Vec<R>, String> {
    (0..bc.len()).map(|i| f(a[bc.source(0, i)], b[bc.source(1, i)])).collect()
}

/// Applies `fns` to every pair of the numpy broadcast of `a` and `b`, which
/// share a dtype; the result has that dtype.
pub(crate) fn map_binary(a: &Tensor, b: &Tensor, fns: &BinaryFns) -> Result<Tensor, String> {
    let bc = Broadcast::of(&[a, b])?;
    let dtype = a.dtype();
    let data = match (a.data(), b.data(), fns) {
        (Data::Float(x), Data::Float(y), BinaryFns { float: Some(f), .. }) => {
            Data::Float(zip_with(&bc, x, y, |p, q| Ok(f(p, q)))?)
        }
        (Data::Int(x), Data::Int(y), BinaryFns { int: Some(f), .. }) => {
            Data::Int(zip_with(&bc, x, y, |p, q| f(p, q, dtype))?)
        }
        (Data::UInt(x), Data::UInt(y), BinaryFns { uint: Some(f), .. }) => {
            Data::UInt(zip_with(&bc, x, y, |p, q| f(p, q, dtype))?)
        }
        (Data::Bool(x), Data::Bool(y), BinaryFns { boolean: Some(f), .. }) => {
            Data::Bool(zip_with(&bc, x, y, |p, q| Ok(f(p, q)))?)
        }
        _ => return Err(unsupported_pair(a, b)),
    };
    Tensor::new(dtype, bc.shape().to_vec(), data)
}

/// Compares every pair of the numpy broadcast of `a` and `b` (same dtype)
/// and gives an `i1` tensor: `test` receives `a.partial_cmp(b)`, which is
/// `None` when either float is NaN.
pub(crate) fn compare(a: &Tensor, b: &Tensor, test: fn(Option<Ordering>) -> bool) -> Result<Tensor, String> {
    let bc = Broadcast::of(&[a, b])?;
    let ok = |p: Option<Ordering>| Ok(test(p));
    let out = match (a.data(), b.data()) {
        (Data::Float(x), Data::Float(y)) => zip_with(&bc, x, y, |p, q| ok(p.partial_cmp(&q)))?,
        (Data::Int(x), Data::Int(y)) => zip_with(&bc, x, y, |p, q| ok(p.partial_cmp(&q)))?,
        (Data::UInt(x), Data::UInt(y)) => zip_with(&bc, x, y, |p, q| ok(p.partial_cmp(&q)))?,
        (Data::Bool(x), Data::Bool(y)) => zip_with(&bc, x, y, |p, q| ok(p.partial_cmp(&q)))?,
        _ => return Err(unsupported_pair(a, b)),
    };
    Tensor::new(DType::I1, bc.shape().to_vec(), Data::Bool(out))
}

fn unsupported_pair(a: &Tensor, b: &Tensor) -> String {
    if a.dtype() == b.dtype() {
        format!("operands of dtype {} are not supported", a.dtype())
    } else {
        format!("the operands have dtypes {} and {}; they must match", a.dtype(), b.dtype())
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::t;
    use super::*;

    #[test]
    fn shapes_broadcast_numpy_style() {
        assert_eq!(broadcast_shapes(&[&[2, 1, 3], &[4, 1]]), Ok(vec![2, 4, 3]));
        assert_eq!(broadcast_shapes(&[&[], &[3]]), Ok(vec![3]));
        assert_eq!(broadcast_shapes(&[&[1, 0], &[5, 1]]), Ok(vec![5, 0]));
        assert_eq!(broadcast_shapes(&[]), Ok(vec![]));
        assert_eq!(
            broadcast_shapes(&[&[2, 3], &[4]]),
            Err("shapes [2, 3] and [4] do not broadcast: axis 1 has sizes 3 and 4".into())
        );
        assert!(broadcast_shapes(&[&[0], &[2]]).is_err());
    }

    #[test]
    fn index_maps_repeat_broadcast_axes() {
        // [2, 1] -> [2, 3]: each row repeats its one element.
        assert_eq!(broadcast_index_map(&[2, 1], &[2, 3]), Ok(vec![0, 0, 0, 1, 1, 1]));
        // [3] -> [2, 3]: the vector repeats per row.
        assert_eq!(broadcast_index_map(&[3], &[2, 3]), Ok(vec![0, 1, 2, 0, 1, 2]));
        // [] -> [2, 2]: a scalar everywhere.
        assert_eq!(broadcast_index_map(&[], &[2, 2]), Ok(vec![0; 4]));
        // [1, 2, 1] -> [2, 2, 2]: middle axis varies.
        assert_eq!(broadcast_index_map(&[1, 2, 1], &[2, 2, 2]), Ok(vec![0, 0, 1, 1, 0, 0, 1, 1]));
        assert_eq!(broadcast_index_map(&[2, 3], &[2, 3]), Ok((0..6).collect()));
        assert_eq!(broadcast_index_map(&[1], &[0]), Ok(vec![]));
        assert!(broadcast_index_map(&[2], &[3]).is_err());
        assert!(broadcast_index_map(&[2, 2], &[2]).is_err());
    }

    #[test]
    fn broadcast_reads_each_operand() {
        let bc = Broadcast::new(&[&[2, 1], &[3], &[2, 3]]).unwrap();
        assert_eq!((bc.shape(), bc.len()), (&[2, 3][..], 6));
        let reads: Vec<(usize, usize, usize)> =
            (0..6).map(|i| (bc.source(0, i), bc.source(1, i), bc.source(2, i))).collect();
        assert_eq!(reads, [(0, 0, 0), (0, 1, 1), (0, 2, 2), (1, 0, 3), (1, 1, 4), (1, 2, 5)]);
    }

    #[test]
    fn broadcast_to_materialises() {
        let x = t(DType::I32, &[3], &[10.0, 20.0, 30.0]);
        let b = broadcast_to(&x, &[2, 3]).unwrap();
        assert_eq!((b.shape(), b.to_i64s()), (&[2, 3][..], vec![10, 20, 30, 10, 20, 30]));
        assert_eq!(broadcast_to(&x, &[2, 4]).unwrap_err(), "cannot broadcast [3]: dim 0 is 3, neither 1 nor 4");
    }

    #[test]
    fn scalars() {
        assert_eq!(scalar_bool(&Tensor::scalar(DType::I1, 1.0), "c"), Ok(true));
        assert_eq!(scalar_i64(&Tensor::scalar(DType::I64, -3.0), "n"), Ok(-3));
        let err = scalar_bool(&t(DType::I1, &[2], &[1.0, 0.0]), "the condition").unwrap_err();
        assert_eq!(err, "the condition must be a single i1, got [2] x i1");
        assert!(scalar_i64(&Tensor::scalar(DType::F32, 1.0), "n").is_err());
        assert_eq!((bits(DType::U8), bits(DType::I64)), (8, 64));
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

    #[test]
    fn combine_identities_follow_the_dtype() {
        assert_eq!(Combine::Max.identity::<i64>(DType::I8), -128);
        assert_eq!(Combine::Min.identity::<i64>(DType::I64), i64::MAX);
        assert_eq!(Combine::Min.identity::<u64>(DType::U16), 65535);
        assert_eq!(Combine::Max.identity::<u64>(DType::U32), 0);
        assert_eq!(Combine::Max.identity::<f64>(DType::F16), f64::NEG_INFINITY);
        assert_eq!((Combine::Sum.identity::<f64>(DType::F32), Combine::Prod.identity::<i64>(DType::I32)), (0.0, 1));
        assert_eq!(Combine::Prod.op::<u64>()(3, 5), 15);
    }

    #[test]
    fn maps_apply_per_domain() {
        let neg = UnaryFns::numeric(|x| -x, i64::wrapping_neg, |x| x);
        let x = t(DType::I8, &[3], &[-128.0, 5.0, 0.0]);
        assert_eq!(map_unary(&x, &neg).unwrap().to_i64s(), [-128, -5, 0]);
        let b = t(DType::I1, &[1], &[1.0]);
        assert_eq!(map_unary(&b, &neg), Err("operand #0 of dtype i1 is not supported".into()));
        let add = BinaryFns::numeric(|a, b| a + b, |a, b, _| Ok(a.wrapping_add(b)), |a, b, _| Ok(a.wrapping_add(b)));
        let y = t(DType::U8, &[2, 1], &[250.0, 1.0]);
        let z = t(DType::U8, &[3], &[1.0, 5.0, 6.0]);
        let s = map_binary(&y, &z, &add).unwrap();
        assert_eq!((s.shape(), s.to_i64s()), (&[2, 3][..], vec![251, 255, 0, 2, 6, 7]));
        let f = t(DType::F32, &[3], &[1.0, 5.0, 6.0]);
        assert_eq!(map_binary(&y, &f, &add), Err("the operands have dtypes u8 and f32; they must match".into()));
        let lt = compare(&z, &t(DType::U8, &[], &[5.0]), |o| o == Some(Ordering::Less)).unwrap();
        assert_eq!(lt.to_bools(), [true, false, false]);
    }
}
