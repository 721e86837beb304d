//! Element types of tensors and scalars.

use std::fmt;

/// A scalar element type.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DType {
    /// Boolean, stored as one byte holding 0 or 1.
    I1,
    I8,
    I16,
    I32,
    I64,
    U8,
    U16,
    U32,
    U64,
    F16,
    BF16,
    F32,
    F64,
}

/// Which dtypes an operand accepts; checked by shape inference.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum DTypeClass {
    /// Any dtype.
    Any,
    /// Floating point only.
    Float,
    /// Signed or unsigned integers, not bool.
    Int,
    /// Ints and floats, not bool.
    Numeric,
    /// Signed ints and floats.
    Signed,
    /// `i1` only.
    Bool,
    /// Ints or bool.
    IntOrBool,
}

impl DType {
    /// Every dtype, in declaration order.
    pub const ALL: [DType; 13] = [
        DType::I1,
        DType::I8,
        DType::I16,
        DType::I32,
        DType::I64,
        DType::U8,
        DType::U16,
        DType::U32,
        DType::U64,
        DType::F16,
        DType::BF16,
        DType::F32,
        DType::F64,
    ];

    /// The textual name (`f32`, `i1`, ...).
    pub fn name(self) -> &'static str {
        match self {
            DType::I1 => "i1",
            DType::I8 => "i8",
            DType::I16 => "i16",
            DType::I32 => "i32",
            DType::I64 => "i64",
            DType::U8 => "u8",
            DType::U16 => "u16",
            DType::U32 => "u32",
            DType::U64 => "u64",
            DType::F16 => "f16",
            DType::BF16 => "bf16",
            DType::F32 => "f32",
            DType::F64 => "f64",
        }
    }

    /// Parses a textual name.
    pub fn from_name(name: &str) -> Option<DType> {
        DType::ALL.into_iter().find(|d| d.name() == name)
    }

    /// Bytes per element in a dense buffer.
    pub fn size_bytes(self) -> usize {
        match self {
            DType::I1 | DType::I8 | DType::U8 => 1,
            DType::I16 | DType::U16 | DType::F16 | DType::BF16 => 2,
            DType::I32 | DType::U32 | DType::F32 => 4,
            DType::I64 | DType::U64 | DType::F64 => 8,
        }
    }

    /// True for f16, bf16, f32, f64.
    pub fn is_float(self) -> bool {
        matches!(self, DType::F16 | DType::BF16 | DType::F32 | DType::F64)
    }

    /// True for signed and unsigned integers (not `i1`).
    pub fn is_int(self) -> bool {
        !self.is_float() && self != DType::I1
    }

    /// True for signed integers (not `i1`).
    pub fn is_signed_int(self) -> bool {
        matches!(self, DType::I8 | DType::I16 | DType::I32 | DType::I64)
    }

    /// True for `i1`.
    pub fn is_bool(self) -> bool {
        self == DType::I1
    }

    /// Whether this dtype belongs to `class`.
    pub fn is_in(self, class: DTypeClass) -> bool {
        match class {
            DTypeClass::Any => true,
            DTypeClass::Float => self.is_float(),
            DTypeClass::Int => self.is_int(),
            DTypeClass::Numeric => !self.is_bool(),
            DTypeClass::Signed => self.is_float() || self.is_signed_int(),
            DTypeClass::Bool => self.is_bool(),
            DTypeClass::IntOrBool => !self.is_float(),
        }
    }
}

impl DTypeClass {
    /// A phrase naming the class, for diagnostics.
    pub fn describe(self) -> &'static str {
        match self {
            DTypeClass::Any => "any dtype",
            DTypeClass::Float => "a float dtype",
            DTypeClass::Int => "an integer dtype",
            DTypeClass::Numeric => "a numeric (non-bool) dtype",
            DTypeClass::Signed => "a signed integer or float dtype",
            DTypeClass::Bool => "i1",
            DTypeClass::IntOrBool => "an integer or i1 dtype",
        }
    }
}

impl fmt::Display for DType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}
