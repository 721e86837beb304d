//! Host tensors: the values the reference evaluator computes with.
//!
//! A [`Tensor`] is a dtype, a static shape and row-major elements held in
//! one of four domains: floats as `f64`, signed and unsigned integers as
//! `i64`/`u64`, bools. Every element is exactly representable in the
//! tensor's dtype (constructors round floats to the dtype and wrap
//! integers to its width), so evaluating in the wide domain and narrowing
//! after each op gives the dtype's semantics.

use crate::attr::{DenseAttr, Scalar};
use crate::dtype::DType;
use crate::types::TensorType;
use std::fmt;

/// The elements of a tensor, in the domain of its dtype.
#[derive(Clone, Debug, PartialEq)]
pub enum Data {
    /// f16, bf16, f32, f64.
    Float(Vec<f64>),
    /// i8, i16, i32, i64.
    Int(Vec<i64>),
    /// u8, u16, u32, u64.
    UInt(Vec<u64>),
    /// i1.
    Bool(Vec<bool>),
}

impl Data {
    /// Number of elements.
    pub fn len(&self) -> usize {
        match self {
            Data::Float(v) => v.len(),
            Data::Int(v) => v.len(),
            Data::UInt(v) => v.len(),
            Data::Bool(v) => v.len(),
        }
    }

    /// True when there are no elements.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A dense host tensor.
#[derive(Clone, PartialEq)]
pub struct Tensor {
    dtype: DType,
    shape: Vec<usize>,
    data: Data,
}

/// The domain a dtype's elements are held in.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Domain {
    /// Held as `f64`.
    Float,
    /// Held as `i64`.
    Int,
    /// Held as `u64`.
    UInt,
    /// Held as `bool`.
    Bool,
}

impl Domain {
    /// The domain of `dtype`.
    pub fn of(dtype: DType) -> Domain {
        match dtype {
            DType::I1 => Domain::Bool,
            d if d.is_float() => Domain::Float,
            d if d.is_signed_int() => Domain::Int,
            _ => Domain::UInt,
        }
    }
}

impl Tensor {
    /// A tensor from data in the dtype's domain; the element count must match
    /// the shape and the data's domain the dtype's. Values are narrowed to the dtype.
    pub fn new(dtype: DType, shape: Vec<usize>, data: Data) -> Result<Tensor, String> {
        let count: usize = shape.iter().product();
        if data.len() != count {
            return Err(format!("shape {shape:?} needs {count} element(s), got {}", data.len()));
        }
        let data = match (Domain::of(dtype), data) {
            (Domain::Float, Data::Float(v)) => Data::Float(v.into_iter().map(|x| round_float(dtype, x)).collect()),
            (Domain::Int, Data::Int(v)) => Data::Int(v.into_iter().map(|x| wrap_int(dtype, x)).collect()),
            (Domain::UInt, Data::UInt(v)) => Data::UInt(v.into_iter().map(|x| wrap_uint(dtype, x)).collect()),
            (Domain::Bool, Data::Bool(v)) => Data::Bool(v),
            (domain, _) => return Err(format!("dtype {dtype} holds {domain:?} data")),
        };
        Ok(Tensor { dtype, shape, data })
    }

    /// A float tensor (dtype must be a float dtype).
    pub fn from_f64(dtype: DType, shape: Vec<usize>, values: Vec<f64>) -> Result<Tensor, String> {
        Tensor::new(dtype, shape, Data::Float(values))
    }

    /// A tensor of any dtype from f64 values, converted like a cast
    /// (truncation toward zero for integers, `!= 0` for bools).
    pub fn convert_f64(dtype: DType, shape: Vec<usize>, values: &[f64]) -> Result<Tensor, String> {
        let data = match Domain::of(dtype) {
            Domain::Float => Data::Float(values.to_vec()),
            Domain::Int => Data::Int(values.iter().map(|&v| float_to_i64(v)).collect()),
            Domain::UInt => Data::UInt(values.iter().map(|&v| float_to_u64(v)).collect()),
            Domain::Bool => Data::Bool(values.iter().map(|&v| v != 0.0).collect()),
        };
        Tensor::new(dtype, shape, data)
    }

    /// A rank-0 tensor holding `v` converted to `dtype`.
    pub fn scalar(dtype: DType, v: f64) -> Tensor {
        Tensor::convert_f64(dtype, Vec::new(), &[v]).expect("one element for a rank-0 shape")
    }

    /// An all-zero tensor.
    pub fn zeros(dtype: DType, shape: Vec<usize>) -> Tensor {
        let n = shape.iter().product();
        Tensor::convert_f64(dtype, shape, &vec![0.0; n]).expect("count matches the shape")
    }

    /// A 1-D i64 tensor.
    pub fn from_i64s(values: &[i64]) -> Tensor {
        Tensor { dtype: DType::I64, shape: vec![values.len()], data: Data::Int(values.to_vec()) }
    }

    /// The dtype.
    pub fn dtype(&self) -> DType {
        self.dtype
    }

    /// The shape.
    pub fn shape(&self) -> &[usize] {
        &self.shape
    }

    /// Number of axes.
    pub fn rank(&self) -> usize {
        self.shape.len()
    }

    /// Number of elements.
    pub fn len(&self) -> usize {
        self.data.len()
    }

    /// True when there are no elements.
    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    /// The elements.
    pub fn data(&self) -> &Data {
        &self.data
    }

    /// Takes the elements out.
    pub fn into_data(self) -> Data {
        self.data
    }

    /// The same elements under another shape with the same element count.
    pub fn reshaped(&self, shape: Vec<usize>) -> Result<Tensor, String> {
        if shape.iter().product::<usize>() != self.len() {
            return Err(format!("cannot reshape {:?} to {shape:?}", self.shape));
        }
        Ok(Tensor { dtype: self.dtype, shape, data: self.data.clone() })
    }

    /// Element `i` (row-major) as f64 (ints convert, bools are 0/1).
    pub fn get_f64(&self, i: usize) -> f64 {
        match &self.data {
            Data::Float(v) => v[i],
            Data::Int(v) => v[i] as f64,
            Data::UInt(v) => v[i] as f64,
            Data::Bool(v) => v[i] as u8 as f64,
        }
    }

    /// Every element as f64.
    pub fn to_f64s(&self) -> Vec<f64> {
        (0..self.len()).map(|i| self.get_f64(i)).collect()
    }

    /// Every element as i64 (floats truncate, u64 wraps, bools are 0/1).
    pub fn to_i64s(&self) -> Vec<i64> {
        match &self.data {
            Data::Float(v) => v.iter().map(|&x| float_to_i64(x)).collect(),
            Data::Int(v) => v.clone(),
            Data::UInt(v) => v.iter().map(|&x| x as i64).collect(),
            Data::Bool(v) => v.iter().map(|&x| x as i64).collect(),
        }
    }

    /// Every element as bool (`!= 0`).
    pub fn to_bools(&self) -> Vec<bool> {
        match &self.data {
            Data::Bool(v) => v.clone(),
            _ => self.to_f64s().into_iter().map(|x| x != 0.0).collect(),
        }
    }

    /// Converts every element to `dtype` with ONNX `Cast` semantics.
    pub fn cast(&self, dtype: DType) -> Tensor {
        let data = match (&self.data, Domain::of(dtype)) {
            (Data::Int(v), Domain::Int) => Data::Int(v.clone()),
            (Data::Int(v), Domain::UInt) => Data::UInt(v.iter().map(|&x| x as u64).collect()),
            (Data::UInt(v), Domain::Int) => Data::Int(v.iter().map(|&x| x as i64).collect()),
            (Data::UInt(v), Domain::UInt) => Data::UInt(v.clone()),
            (Data::Int(v), Domain::Float) => Data::Float(v.iter().map(|&x| x as f64).collect()),
            (Data::UInt(v), Domain::Float) => Data::Float(v.iter().map(|&x| x as f64).collect()),
            (_, Domain::Bool) => Data::Bool(self.to_bools()),
            (Data::Float(v), Domain::Float) => Data::Float(v.clone()),
            (Data::Float(v), Domain::Int) => Data::Int(v.iter().map(|&x| float_to_i64(x)).collect()),
            (Data::Float(v), Domain::UInt) => Data::UInt(v.iter().map(|&x| float_to_u64(x)).collect()),
            (Data::Bool(v), Domain::Int) => Data::Int(v.iter().map(|&x| x as i64).collect()),
            (Data::Bool(v), Domain::UInt) => Data::UInt(v.iter().map(|&x| x as u64).collect()),
            (Data::Bool(v), Domain::Float) => Data::Float(v.iter().map(|&x| x as u8 as f64).collect()),
        };
        Tensor::new(dtype, self.shape.clone(), data).expect("cast keeps the element count and matches the domain")
    }

    /// The tensor as a dense constant.
    pub fn to_dense(&self) -> DenseAttr {
        let mut bytes = Vec::with_capacity(self.len() * self.dtype.size_bytes());
        for i in 0..self.len() {
            self.scalar_at(i).write_le(&mut bytes);
        }
        let dims: Vec<u64> = self.shape.iter().map(|&d| d as u64).collect();
        DenseAttr::from_bytes(TensorType::of(&dims, self.dtype), bytes.into()).expect("byte count matches the shape")
    }

    /// Element `i` as a [`Scalar`].
    pub fn scalar_at(&self, i: usize) -> Scalar {
        match &self.data {
            Data::Float(v) => Scalar::Float(self.dtype, v[i]),
            Data::Int(v) => Scalar::Int(self.dtype, v[i]),
            Data::UInt(v) => Scalar::UInt(self.dtype, v[i]),
            Data::Bool(v) => Scalar::Bool(v[i]),
        }
    }

    /// The tensor type with static dims.
    pub fn ty(&self) -> TensorType {
        let dims: Vec<u64> = self.shape.iter().map(|&d| d as u64).collect();
        TensorType::of(&dims, self.dtype)
    }
}

impl From<&DenseAttr> for Tensor {
    fn from(d: &DenseAttr) -> Tensor {
        let shape: Vec<usize> = d.ty().static_dims().unwrap_or_default().iter().map(|&x| x as usize).collect();
        let dtype = d.ty().dtype;
        let n = d.len();
        let data = match Domain::of(dtype) {
            Domain::Float => Data::Float((0..n).map(|i| d.get(i).to_f64()).collect()),
            Domain::Int => Data::Int((0..n).map(|i| if let Scalar::Int(_, v) = d.get(i) { v } else { 0 }).collect()),
            Domain::UInt => Data::UInt((0..n).map(|i| if let Scalar::UInt(_, v) = d.get(i) { v } else { 0 }).collect()),
            Domain::Bool => Data::Bool((0..n).map(|i| d.get(i) == Scalar::Bool(true)).collect()),
        };
        Tensor { dtype, shape, data }
    }
}

impl fmt::Debug for Tensor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Tensor<{:?} x {}>", self.shape, self.dtype)?;
        if self.len() <= 16 {
            write!(f, "{:?}", self.to_f64s())?;
        }
        Ok(())
    }
}

/// Rounds `v` to the nearest value of a float dtype (f64 passes through).
pub fn round_float(dtype: DType, v: f64) -> f64 {
    match dtype {
        DType::F16 => half::f16::from_f64(v).to_f64(),
        DType::BF16 => half::bf16::from_f64(v).to_f64(),
        DType::F32 => v as f32 as f64,
        _ => v,
    }
}

/// Wraps `v` to the width of a signed integer dtype (two's complement).
pub fn wrap_int(dtype: DType, v: i64) -> i64 {
    match dtype {
        DType::I8 => v as i8 as i64,
        DType::I16 => v as i16 as i64,
        DType::I32 => v as i32 as i64,
        _ => v,
    }
}

/// Wraps `v` to the width of an unsigned integer dtype.
pub fn wrap_uint(dtype: DType, v: u64) -> u64 {
    match dtype {
        DType::U8 => v as u8 as u64,
        DType::U16 => v as u16 as u64,
        DType::U32 => v as u32 as u64,
        _ => v,
    }
}

/// Float to i64, truncating toward zero and saturating (NaN gives 0).
pub fn float_to_i64(v: f64) -> i64 {
    v as i64
}

/// Float to u64 through i64 when negative (so -1.0 wraps like C), else saturating.
pub fn float_to_u64(v: f64) -> u64 {
    if v < 0.0 {
        (v as i64) as u64
    } else {
        v as u64
    }
}

/// Row-major strides of a shape.
pub fn strides(shape: &[usize]) -> Vec<usize> {
    let mut s = vec![1; shape.len()];
    for i in (0..shape.len().saturating_sub(1)).rev() {
        s[i] = s[i + 1] * shape[i + 1];
    }
    s
}

/// The multi-index of row-major position `flat` in `shape`.
pub fn unravel(mut flat: usize, shape: &[usize]) -> Vec<usize> {
    let mut idx = vec![0; shape.len()];
    for i in (0..shape.len()).rev() {
        if shape[i] > 0 {
            idx[i] = flat % shape[i];
            flat /= shape[i];
        }
    }
    idx
}

/// Compares `actual` with `expected` elementwise: `|a - e| <= atol + rtol * |e|`,
/// NaN matching NaN and infinities matching exactly; integers and bools
/// must be equal. Returns the first mismatch.
pub fn allclose(actual: &Tensor, expected: &Tensor, rtol: f64, atol: f64) -> Result<(), String> {
    if actual.shape != expected.shape {
        return Err(format!("shape {:?} differs from the expected {:?}", actual.shape, expected.shape));
    }
    if actual.dtype != expected.dtype {
        return Err(format!("dtype {} differs from the expected {}", actual.dtype, expected.dtype));
    }
    let exact = !actual.dtype.is_float();
    let mut worst: Option<(usize, f64, f64)> = None;
    let mut mismatches = 0;
    for i in 0..actual.len() {
        let (a, e) = (actual.get_f64(i), expected.get_f64(i));
        let ok = if exact {
            actual.scalar_at(i) == expected.scalar_at(i)
        } else if a.is_nan() || e.is_nan() {
            a.is_nan() && e.is_nan()
        } else if a.is_infinite() || e.is_infinite() {
            a == e
        } else {
            (a - e).abs() <= atol + rtol * e.abs()
        };
        if !ok {
            mismatches += 1;
            if worst.is_none_or(|(_, wa, we)| (a - e).abs() > (wa - we).abs()) {
                worst = Some((i, a, e));
            }
        }
    }
    match worst {
        None => Ok(()),
        Some((i, a, e)) => Err(format!(
            "{mismatches} of {} element(s) differ; worst at {:?}: got {a}, expected {e} (rtol {rtol}, atol {atol})",
            actual.len(),
            unravel(i, &actual.shape)
        )),
    }
}
