//! Attributes: the compile-time constants an op carries (axes, strides,
//! dtypes, dense weights).

use crate::dim::Dim;
use crate::dtype::DType;
use crate::types::TensorType;
use std::fmt;
use std::sync::Arc;

/// A compile-time constant attached to an op.
#[derive(Clone, Debug)]
pub enum Attr {
    /// `true` / `false`.
    Bool(bool),
    /// `42`, `-1`.
    Int(i64),
    /// `1.0`, `1e-5`, `inf`, `nan`; always printed with a `.`, `e`, or as a keyword.
    Float(f64),
    /// `"constant"`.
    Str(String),
    /// `@fc1.weight`: the name of a function or parameter.
    SymbolRef(String),
    /// A dtype, printed bare: `f32`.
    DType(DType),
    /// `[1, 2, 3]`, `["a", "b"]`.
    Array(Vec<Attr>),
    /// `[N, 4*N, 1]`: a shape with at least one symbolic or unknown dim
    /// (an all-static shape is an `Array` of `Int`s; see [`Attr::shape`]).
    Shape(Vec<Dim>),
    /// Raw little-endian tensor data with its static type.
    Dense(DenseAttr),
}

impl Attr {
    /// A shape attribute in canonical form: `Array` of `Int` when all dims are static.
    pub fn shape(dims: &[Dim]) -> Attr {
        match dims.iter().map(Dim::known).collect::<Option<Vec<_>>>() {
            Some(ns) => Attr::Array(ns.into_iter().map(|n| Attr::Int(n as i64)).collect()),
            None => Attr::Shape(dims.to_vec()),
        }
    }

    /// An array of ints.
    pub fn ints(values: &[i64]) -> Attr {
        Attr::Array(values.iter().map(|&v| Attr::Int(v)).collect())
    }

    /// The int payload.
    pub fn as_int(&self) -> Option<i64> {
        match self {
            Attr::Int(v) => Some(*v),
            _ => None,
        }
    }

    /// The float payload; ints convert.
    pub fn as_float(&self) -> Option<f64> {
        match self {
            Attr::Float(v) => Some(*v),
            Attr::Int(v) => Some(*v as f64),
            _ => None,
        }
    }

    /// The ints of an array of ints.
    pub fn as_ints(&self) -> Option<Vec<i64>> {
        match self {
            Attr::Array(items) => items.iter().map(Attr::as_int).collect(),
            _ => None,
        }
    }

    /// The dims of a shape attribute or of an array of non-negative ints.
    pub fn as_shape(&self) -> Option<Vec<Dim>> {
        match self {
            Attr::Shape(dims) => Some(dims.clone()),
            Attr::Array(_) => {
                let ints = self.as_ints()?;
                ints.into_iter().map(|v| u64::try_from(v).ok().map(Dim::Known)).collect()
            }
            _ => None,
        }
    }

    /// A word naming the attribute's kind, for diagnostics.
    pub fn kind_name(&self) -> &'static str {
        match self {
            Attr::Bool(_) => "bool",
            Attr::Int(_) => "int",
            Attr::Float(_) => "float",
            Attr::Str(_) => "string",
            Attr::SymbolRef(_) => "symbol",
            Attr::DType(_) => "dtype",
            Attr::Array(_) => "array",
            Attr::Shape(_) => "shape",
            Attr::Dense(_) => "dense",
        }
    }
}

impl PartialEq for Attr {
    /// Floats compare by value, with every NaN equal to every NaN.
    fn eq(&self, other: &Attr) -> bool {
        match (self, other) {
            (Attr::Float(a), Attr::Float(b)) => a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan()),
            (Attr::Bool(a), Attr::Bool(b)) => a == b,
            (Attr::Int(a), Attr::Int(b)) => a == b,
            (Attr::Str(a), Attr::Str(b)) | (Attr::SymbolRef(a), Attr::SymbolRef(b)) => a == b,
            (Attr::DType(a), Attr::DType(b)) => a == b,
            (Attr::Array(a), Attr::Array(b)) => a == b,
            (Attr::Shape(a), Attr::Shape(b)) => a == b,
            (Attr::Dense(a), Attr::Dense(b)) => a == b,
            _ => false,
        }
    }
}

impl Eq for Attr {}

impl std::hash::Hash for Attr {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        std::mem::discriminant(self).hash(state);
        match self {
            Attr::Bool(v) => v.hash(state),
            Attr::Int(v) => v.hash(state),
            Attr::Float(v) => (if v.is_nan() { f64::NAN } else { *v }).to_bits().hash(state),
            Attr::Str(s) | Attr::SymbolRef(s) => s.hash(state),
            Attr::DType(d) => d.hash(state),
            Attr::Array(a) => a.hash(state),
            Attr::Shape(s) => s.hash(state),
            Attr::Dense(d) => d.hash(state),
        }
    }
}

/// A dense constant: a static tensor type and its elements as raw
/// little-endian bytes (`i1` as one byte per element). Cloning shares the bytes.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct DenseAttr {
    ty: TensorType,
    data: Arc<[u8]>,
}

impl DenseAttr {
    /// Wraps raw bytes; fails unless the type is static and the length matches.
    pub fn from_bytes(ty: TensorType, data: Arc<[u8]>) -> Result<DenseAttr, String> {
        let dims = ty.static_dims().ok_or_else(|| format!("dense constant needs a static type, got {ty}"))?;
        let expected = dims.iter().product::<u64>() as usize * ty.dtype.size_bytes();
        if data.len() != expected {
            return Err(format!("dense constant of type {ty} needs {expected} bytes, got {}", data.len()));
        }
        Ok(DenseAttr { ty, data })
    }

    /// A constant from f64 values converted to the type's dtype.
    pub fn from_f64s(ty: TensorType, values: &[f64]) -> Result<DenseAttr, String> {
        let mut bytes = Vec::with_capacity(values.len() * ty.dtype.size_bytes());
        for &v in values {
            Scalar::from_f64(ty.dtype, v).write_le(&mut bytes);
        }
        DenseAttr::from_bytes(ty, bytes.into())
    }

    /// A constant with every element equal to `value`.
    pub fn splat(ty: TensorType, value: Scalar) -> Result<DenseAttr, String> {
        let n = ty.static_dims().map(|d| d.iter().product::<u64>()).unwrap_or(0) as usize;
        let mut bytes = Vec::with_capacity(n * ty.dtype.size_bytes());
        for _ in 0..n {
            value.write_le(&mut bytes);
        }
        DenseAttr::from_bytes(ty, bytes.into())
    }

    /// The constant's type.
    pub fn ty(&self) -> &TensorType {
        &self.ty
    }

    /// The raw bytes.
    pub fn bytes(&self) -> &[u8] {
        &self.data
    }

    /// The shared raw bytes.
    pub fn shared_bytes(&self) -> &Arc<[u8]> {
        &self.data
    }

    /// Number of elements.
    pub fn len(&self) -> usize {
        self.data.len() / self.ty.dtype.size_bytes()
    }

    /// True for a constant with no elements.
    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    /// The `i`-th element in row-major order.
    pub fn get(&self, i: usize) -> Scalar {
        let size = self.ty.dtype.size_bytes();
        Scalar::read_le(self.ty.dtype, &self.data[i * size..(i + 1) * size])
    }

    /// The single value of a constant whose elements are all bit-identical.
    pub fn splat_value(&self) -> Option<Scalar> {
        let size = self.ty.dtype.size_bytes();
        let first = self.data.get(..size)?;
        self.data.chunks(size).all(|c| c == first).then(|| self.get(0))
    }
}

impl fmt::Debug for DenseAttr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "dense({} bytes) : {}", self.data.len(), self.ty)
    }
}

/// One element of a dense constant.
#[derive(Copy, Clone, Debug, PartialEq)]
pub enum Scalar {
    /// An `i1`.
    Bool(bool),
    /// A signed integer of the given dtype.
    Int(DType, i64),
    /// An unsigned integer of the given dtype.
    UInt(DType, u64),
    /// A float of the given dtype, widened to f64 (exact for every float dtype).
    Float(DType, f64),
}

impl Scalar {
    /// `v` converted to `dtype` (floats truncate toward zero for ints, bools test `!= 0`).
    pub fn from_f64(dtype: DType, v: f64) -> Scalar {
        match dtype {
            DType::I1 => Scalar::Bool(v != 0.0),
            d if d.is_float() => Scalar::Float(d, round_to(d, v)),
            d if d.is_signed_int() => Scalar::Int(d, v as i64),
            d => Scalar::UInt(d, v as u64),
        }
    }

    /// The value as f64.
    pub fn to_f64(self) -> f64 {
        match self {
            Scalar::Bool(b) => b as u8 as f64,
            Scalar::Int(_, v) => v as f64,
            Scalar::UInt(_, v) => v as f64,
            Scalar::Float(_, v) => v,
        }
    }

    /// Decodes one little-endian element.
    pub fn read_le(dtype: DType, b: &[u8]) -> Scalar {
        let u = b.iter().rev().fold(0u64, |acc, &x| (acc << 8) | x as u64);
        match dtype {
            DType::I1 => Scalar::Bool(u != 0),
            DType::I8 => Scalar::Int(dtype, u as u8 as i8 as i64),
            DType::I16 => Scalar::Int(dtype, u as u16 as i16 as i64),
            DType::I32 => Scalar::Int(dtype, u as u32 as i32 as i64),
            DType::I64 => Scalar::Int(dtype, u as i64),
            DType::U8 | DType::U16 | DType::U32 | DType::U64 => Scalar::UInt(dtype, u),
            DType::F16 => Scalar::Float(dtype, half::f16::from_bits(u as u16).to_f64()),
            DType::BF16 => Scalar::Float(dtype, half::bf16::from_bits(u as u16).to_f64()),
            DType::F32 => Scalar::Float(dtype, f32::from_bits(u as u32) as f64),
            DType::F64 => Scalar::Float(dtype, f64::from_bits(u)),
        }
    }

    /// Appends the little-endian encoding of this element.
    pub fn write_le(self, out: &mut Vec<u8>) {
        let (bits, size): (u64, usize) = match self {
            Scalar::Bool(b) => (b as u64, 1),
            Scalar::Int(d, v) => (v as u64, d.size_bytes()),
            Scalar::UInt(d, v) => (v, d.size_bytes()),
            Scalar::Float(DType::F16, v) => (half::f16::from_f64(v).to_bits() as u64, 2),
            Scalar::Float(DType::BF16, v) => (half::bf16::from_f64(v).to_bits() as u64, 2),
            Scalar::Float(DType::F32, v) => ((v as f32).to_bits() as u64, 4),
            Scalar::Float(_, v) => (v.to_bits(), 8),
        };
        out.extend_from_slice(&bits.to_le_bytes()[..size]);
    }
}

fn round_to(dtype: DType, v: f64) -> f64 {
    match dtype {
        DType::F16 => half::f16::from_f64(v).to_f64(),
        DType::BF16 => half::bf16::from_f64(v).to_f64(),
        DType::F32 => v as f32 as f64,
        _ => v,
    }
}

/// Writes a float so that parsing it and rounding to `dtype` gives `v` back.
pub fn write_float(f: &mut impl fmt::Write, dtype: DType, v: f64) -> fmt::Result {
    if v.is_nan() {
        return f.write_str("nan");
    }
    if v.is_infinite() {
        return f.write_str(if v > 0.0 { "inf" } else { "-inf" });
    }
    let text = match dtype {
        DType::F16 | DType::BF16 => shortest_round_trip(dtype, v),
        DType::F32 => format!("{:?}", v as f32),
        _ => format!("{v:?}"),
    };
    f.write_str(&text)
}

/// The shortest decimal that rounds back to `v` in a 16-bit float dtype.
fn shortest_round_trip(dtype: DType, v: f64) -> String {
    (0..17)
        .map(|digits| format!("{v:.digits$e}").parse::<f64>().unwrap_or(v))
        .find(|&candidate| round_to(dtype, candidate).to_bits() == v.to_bits())
        .map_or_else(|| format!("{v:?}"), |shortest| format!("{shortest:?}"))
}

/// An op's attributes: unique names, kept sorted so printing is canonical.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Attrs(Vec<(String, Attr)>);

impl Attrs {
    /// No attributes.
    pub fn new() -> Attrs {
        Attrs(Vec::new())
    }

    /// Sets `name` to `value`, replacing an earlier value.
    pub fn set(&mut self, name: &str, value: Attr) {
        match self.0.binary_search_by(|(k, _)| k.as_str().cmp(name)) {
            Ok(i) => self.0[i].1 = value,
            Err(i) => self.0.insert(i, (name.to_string(), value)),
        }
    }

    /// Builder-style [`Attrs::set`].
    pub fn with(mut self, name: &str, value: Attr) -> Attrs {
        self.set(name, value);
        self
    }

    /// The value of `name`.
    pub fn get(&self, name: &str) -> Option<&Attr> {
        self.0.binary_search_by(|(k, _)| k.as_str().cmp(name)).ok().map(|i| &self.0[i].1)
    }

    /// Removes `name`, returning its value.
    pub fn remove(&mut self, name: &str) -> Option<Attr> {
        let i = self.0.binary_search_by(|(k, _)| k.as_str().cmp(name)).ok()?;
        Some(self.0.remove(i).1)
    }

    /// All attributes, sorted by name.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Attr)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v))
    }

    /// True when there are none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl<const N: usize> From<[(&str, Attr); N]> for Attrs {
    fn from(items: [(&str, Attr); N]) -> Attrs {
        let mut a = Attrs::new();
        for (k, v) in items {
            a.set(k, v);
        }
        a
    }
}
