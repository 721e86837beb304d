//! Machinery the graph ops' reference-semantics hooks share: numpy
//! broadcasting of concrete shapes (with, per input, the flat index read at
//! each output position), gathering and stacking elements, splitting a
//! shape around one axis, reading rank-0 operands, and applying one scalar
//! function per element domain to every element or every broadcast pair.
//!
//! Hooks compute in each domain's wide type (`f64`, `i64`, `u64`, `bool`)
//! and build their results with [`Tensor::new`], which rounds floats to the
//! dtype and wraps integers to its width; so an `i8` sum computed with
//! `i64::wrapping_add` and narrowed afterwards wraps exactly as `i8` does.

use crate::dtype::DType;
use crate::tensor::{strides, Data, Domain, Tensor};
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

/// For each position of the shape `to` (row-major), the flat index of the
/// element a `from`-shaped tensor supplies there under numpy broadcasting.
/// `from` aligns with the trailing axes of `to`, and each of its sizes must
/// be 1 or equal to `to`'s. With `from` = a reduction's keepdims shape and
/// `to` = its input's shape, the map sends each input element to its output
/// position.
pub(crate) fn broadcast_index_map(from: &[usize], to: &[usize]) -> Result<Vec<usize>, String> {
    let offset = to.len().checked_sub(from.len()).ok_or_else(|| format!("cannot broadcast {from:?} to {to:?}"))?;
    let src = strides(from);
    let mut step = vec![0; to.len()];
    for (i, &n) in from.iter().enumerate() {
        match n {
            n if n == to[offset + i] => step[offset + i] = src[i],
            1 => {}
            _ => return Err(format!("cannot broadcast {from:?} to {to:?}: axis {i} has size {n}")),
        }
    }
    let total: usize = to.iter().product();
    let mut map = Vec::with_capacity(total);
    let mut idx = vec![0; to.len()];
    let mut flat = 0;
    for _ in 0..total {
        map.push(flat);
        for axis in (0..to.len()).rev() {
            idx[axis] += 1;
            flat += step[axis];
            if idx[axis] < to[axis] {
                break;
            }
            flat -= step[axis] * to[axis];
            idx[axis] = 0;
        }
    }
    Ok(map)
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

/// The elements of `data` at the flat `indices`, in order; an index past
/// the end is an error.
pub(crate) fn take(data: &Data, indices: &[usize]) -> Result<Data, String> {
    fn pick<T: Copy>(v: &[T], indices: &[usize]) -> Result<Vec<T>, String> {
        indices
            .iter()
            .map(|&i| {
                v.get(i).copied().ok_or_else(|| format!("element {i} is out of range for {} element(s)", v.len()))
            })
            .collect()
    }
    Ok(match data {
        Data::Float(v) => Data::Float(pick(v, indices)?),
        Data::Int(v) => Data::Int(pick(v, indices)?),
        Data::UInt(v) => Data::UInt(pick(v, indices)?),
        Data::Bool(v) => Data::Bool(pick(v, indices)?),
    })
}

/// `x` broadcast (numpy rules, materialised) to `shape`.
pub(crate) fn broadcast_to(x: &Tensor, shape: &[usize]) -> Result<Tensor, String> {
    let map = broadcast_index_map(x.shape(), shape)?;
    Tensor::new(x.dtype(), shape.to_vec(), take(x.data(), &map)?)
}

/// Stacks tensors of dtype `dtype` and shape `item` along a new leading
/// axis: the result has shape `[parts.len(), item...]` (so no parts give an
/// empty tensor of shape `[0, item...]`). Every part must match.
pub(crate) fn stack(dtype: DType, item: &[usize], parts: &[Tensor]) -> Result<Tensor, String> {
    let mut shape = vec![parts.len()];
    shape.extend_from_slice(item);
    let count: usize = shape.iter().product();
    for (i, p) in parts.iter().enumerate() {
        if p.dtype() != dtype || p.shape() != item {
            return Err(format!(
                "part #{i} is {:?} x {}, but the parts must all be {item:?} x {dtype}",
                p.shape(),
                p.dtype()
            ));
        }
    }
    let mut data = match Domain::of(dtype) {
        Domain::Float => Data::Float(Vec::with_capacity(count)),
        Domain::Int => Data::Int(Vec::with_capacity(count)),
        Domain::UInt => Data::UInt(Vec::with_capacity(count)),
        Domain::Bool => Data::Bool(Vec::with_capacity(count)),
    };
    for p in parts {
        match (&mut data, p.data()) {
            (Data::Float(out), Data::Float(v)) => out.extend_from_slice(v),
            (Data::Int(out), Data::Int(v)) => out.extend_from_slice(v),
            (Data::UInt(out), Data::UInt(v)) => out.extend_from_slice(v),
            (Data::Bool(out), Data::Bool(v)) => out.extend_from_slice(v),
            _ => return Err(format!("{dtype} data cannot hold {} elements", p.dtype())),
        }
    }
    Tensor::new(dtype, shape, data)
}

/// `shape` seen around `axis` as `(outer, len, inner)`: the products of the
/// sizes before the axis, the axis's size, and the sizes after it. Element
/// `k` along the axis at `(o, i)` sits at flat index `(o * len + k) * inner + i`.
pub(crate) fn split_at_axis(shape: &[usize], axis: usize) -> (usize, usize, usize) {
    let outer = shape.iter().take(axis).product();
    let len = shape.get(axis).copied().unwrap_or(1);
    let inner = shape.get(axis + 1..).map_or(1, |s| s.iter().product());
    (outer, len, inner)
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

/// The larger of two floats; NaN when either is NaN (numpy's `maximum`).
pub(crate) fn max_nan(a: f64, b: f64) -> f64 {
    if a.is_nan() || b.is_nan() {
        f64::NAN
    } else {
        a.max(b)
    }
}

/// The smaller of two floats; NaN when either is NaN (numpy's `minimum`).
pub(crate) fn min_nan(a: f64, b: f64) -> f64 {
    if a.is_nan() || b.is_nan() {
        f64::NAN
    } else {
        a.min(b)
    }
}

/// The number of bits of an integer dtype.
pub(crate) fn bits(dtype: DType) -> u32 {
    dtype.size_bytes() as u32 * 8
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
pub(crate) mod testing {
    //! A stand-in for the interpreter, so single ops can be evaluated in
    //! this crate's unit tests.

    use crate::attr::Attrs;
    use crate::dim::Dim;
    use crate::eval::{EvalCx, EvalEnv};
    use crate::infer::{infer_standalone, InferCx, NoSymbols, RegionSig};
    use crate::op::OpRef;
    use crate::tensor::Tensor;
    use crate::types::Type;

    /// An environment with static dims only and no regions, functions or parameters.
    struct StaticEnv;

    impl EvalEnv for StaticEnv {
        fn dim(&self, d: &Dim) -> Result<usize, String> {
            d.known().map(|n| n as usize).ok_or_else(|| format!("dim {d} is not static"))
        }
        fn run_region(&mut self, index: usize, _: Vec<Tensor>) -> Result<Vec<Tensor>, String> {
            Err(format!("no region #{index} outside a function"))
        }
        fn call(&mut self, name: &str, _: Vec<Tensor>) -> Result<Vec<Tensor>, String> {
            Err(format!("no function @{name} outside a module"))
        }
        fn param(&self, name: &str) -> Result<Tensor, String> {
            Err(format!("no parameter @{name} outside a module"))
        }
    }

    /// Evaluates `def` on `inputs`, whose static types are the operand types.
    pub(crate) fn eval_op(def: OpRef, inputs: &[Tensor], attrs: &Attrs) -> Result<Vec<Tensor>, String> {
        let operands: Vec<Type> = inputs.iter().map(|t| Type::Tensor(t.ty())).collect();
        eval_typed(def, &operands, inputs, attrs)
    }

    /// Evaluates `def` on `inputs` with the given operand types (which may
    /// have `?` dims); result types come from inference, and each result
    /// must fit its type.
    pub(crate) fn eval_typed(
        def: OpRef,
        operands: &[Type],
        inputs: &[Tensor],
        attrs: &Attrs,
    ) -> Result<Vec<Tensor>, String> {
        let results = infer_standalone(def, operands, attrs, &NoSymbols)?;
        let regions = vec![RegionSig::default(); def.num_regions()];
        let mut env = StaticEnv;
        let mut cx = EvalCx {
            op: InferCx { operands, attrs, regions: &regions, symbols: &NoSymbols },
            inputs,
            results: &results,
            env: &mut env,
        };
        let outputs = def.eval(&mut cx)?;
        assert_eq!(outputs.len(), results.len(), "{} gave the wrong number of results", def.name());
        for (out, ty) in outputs.iter().zip(&results) {
            let t = ty.as_tensor().expect("graph ops give tensors");
            let fits = t.dtype == out.dtype()
                && t.rank() == out.rank()
                && t.dims.iter().zip(out.shape()).all(|(d, &n)| d.known().is_none_or(|k| k as usize == n));
            assert!(fits, "{} computed {:?} but inference says {ty}", def.name(), out);
        }
        Ok(outputs)
    }

    /// A tensor of any dtype from f64 values (converted like a cast).
    pub(crate) fn t(dtype: crate::dtype::DType, shape: &[usize], values: &[f64]) -> Tensor {
        Tensor::convert_f64(dtype, shape.to_vec(), values).expect("count matches the shape")
    }
}

#[cfg(test)]
mod tests {
    use super::testing::t;
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
    fn take_broadcast_and_stack() {
        let x = t(DType::I32, &[3], &[10.0, 20.0, 30.0]);
        assert_eq!(take(x.data(), &[2, 0, 2]), Ok(Data::Int(vec![30, 10, 30])));
        assert_eq!(take(x.data(), &[3]), Err("element 3 is out of range for 3 element(s)".into()));
        let b = broadcast_to(&x, &[2, 3]).unwrap();
        assert_eq!((b.shape(), b.to_i64s()), (&[2, 3][..], vec![10, 20, 30, 10, 20, 30]));
        let s = stack(DType::I32, &[3], &[x.clone(), b.reshaped(vec![6]).unwrap()]);
        assert!(s.unwrap_err().contains("part #1"));
        let s = stack(DType::I32, &[3], &[x.clone(), x.clone()]).unwrap();
        assert_eq!((s.shape(), s.to_i64s()), (&[2, 3][..], vec![10, 20, 30, 10, 20, 30]));
        let empty = stack(DType::F16, &[4, 2], &[]).unwrap();
        assert_eq!((empty.shape(), empty.dtype(), empty.len()), (&[0, 4, 2][..], DType::F16, 0));
    }

    #[test]
    fn axis_split_and_scalars() {
        assert_eq!(split_at_axis(&[2, 3, 4], 1), (2, 3, 4));
        assert_eq!(split_at_axis(&[2, 3, 4], 0), (1, 2, 12));
        assert_eq!(split_at_axis(&[2, 3, 4], 2), (6, 4, 1));
        assert_eq!(scalar_bool(&Tensor::scalar(DType::I1, 1.0), "c"), Ok(true));
        assert_eq!(scalar_i64(&Tensor::scalar(DType::I64, -3.0), "n"), Ok(-3));
        let err = scalar_bool(&t(DType::I1, &[2], &[1.0, 0.0]), "the condition").unwrap_err();
        assert_eq!(err, "the condition must be a single i1, got [2] x i1");
        assert!(scalar_i64(&Tensor::scalar(DType::F32, 1.0), "n").is_err());
        assert_eq!((bits(DType::U8), bits(DType::I64)), (8, 64));
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
