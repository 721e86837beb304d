//! IR types: tensors (graph dialect), buffers, scalars and `index` (kernel dialect).

use crate::dim::Dim;
use crate::dtype::DType;
use std::fmt;

/// A shape and an element type; the payload of tensor and buffer types.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct TensorType {
    /// One entry per axis; empty for a rank-0 (scalar) tensor.
    pub dims: Vec<Dim>,
    /// The element type.
    pub dtype: DType,
}

impl TensorType {
    /// A tensor type with the given dims and dtype.
    pub fn new(dims: Vec<Dim>, dtype: DType) -> TensorType {
        TensorType { dims, dtype }
    }

    /// A tensor type with static dims.
    pub fn of(dims: &[u64], dtype: DType) -> TensorType {
        TensorType { dims: dims.iter().map(|&d| Dim::Known(d)).collect(), dtype }
    }

    /// A rank-0 tensor type.
    pub fn scalar(dtype: DType) -> TensorType {
        TensorType { dims: Vec::new(), dtype }
    }

    /// Number of axes.
    pub fn rank(&self) -> usize {
        self.dims.len()
    }

    /// The static dims, if every dim is known.
    pub fn static_dims(&self) -> Option<Vec<u64>> {
        self.dims.iter().map(Dim::known).collect()
    }

    /// The element count as a dim (symbolic when a dim is).
    pub fn num_elements(&self) -> Dim {
        self.dims.iter().fold(Dim::Known(1), |acc, d| acc.mul(d))
    }

    /// The same shape with another dtype.
    pub fn with_dtype(&self, dtype: DType) -> TensorType {
        TensorType { dims: self.dims.clone(), dtype }
    }

    /// Whether `self` (an actual type) fits `expected`: same rank and dtype,
    /// and equal dims wherever `expected` names one (`?` there accepts anything).
    pub fn refines(&self, expected: &TensorType) -> bool {
        self.dtype == expected.dtype
            && self.rank() == expected.rank()
            && self.dims.iter().zip(&expected.dims).all(|(a, e)| matches!(e, Dim::Unknown) || a == e)
    }

    fn write_body(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let spaced = self.dims.iter().any(|d| matches!(d, Dim::Sym(_)));
        let sep = if spaced { " x " } else { "x" };
        for d in &self.dims {
            write!(f, "{d}{sep}")?;
        }
        write!(f, "{}", self.dtype)
    }
}

/// The type of an SSA value.
#[derive(Clone, PartialEq, Eq, Hash)]
pub enum Type {
    /// `tensor<2x?xf32>`: an immutable value (graph dialect).
    Tensor(TensorType),
    /// `buffer<2x?xf32>`: a mutable region of memory (kernel dialect).
    Buffer(TensorType),
    /// `f32`, `i64`, ...: one element (kernel dialect).
    Scalar(DType),
    /// `index`: a loop counter or address offset (kernel dialect).
    Index,
}

impl Type {
    /// A tensor type.
    pub fn tensor(dims: Vec<Dim>, dtype: DType) -> Type {
        Type::Tensor(TensorType::new(dims, dtype))
    }

    /// A tensor type with static dims.
    pub fn static_tensor(dims: &[u64], dtype: DType) -> Type {
        Type::Tensor(TensorType::of(dims, dtype))
    }

    /// The tensor payload, if this is a tensor.
    pub fn as_tensor(&self) -> Option<&TensorType> {
        match self {
            Type::Tensor(t) => Some(t),
            _ => None,
        }
    }

    /// Whether `self` fits `expected` (see [`TensorType::refines`]); other kinds must be equal.
    pub fn refines(&self, expected: &Type) -> bool {
        match (self, expected) {
            (Type::Tensor(a), Type::Tensor(e)) | (Type::Buffer(a), Type::Buffer(e)) => a.refines(e),
            _ => self == expected,
        }
    }
}

impl fmt::Display for Type {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Type::Tensor(t) => {
                f.write_str("tensor<")?;
                t.write_body(f)?;
                f.write_str(">")
            }
            Type::Buffer(t) => {
                f.write_str("buffer<")?;
                t.write_body(f)?;
                f.write_str(">")
            }
            Type::Scalar(d) => write!(f, "{d}"),
            Type::Index => f.write_str("index"),
        }
    }
}

impl fmt::Debug for Type {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl fmt::Display for TensorType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&Type::Tensor(self.clone()), f)
    }
}

impl fmt::Debug for TensorType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}
