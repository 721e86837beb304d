//! Element types as the runtime and the C ABI see them: a stable numeric
//! code (ONNX's `TensorProto.DataType` numbering) and a size in bytes.

use std::fmt;

/// An element type. The numeric codes are ONNX's `TensorProto.DataType`
/// values, so a C caller who knows ONNX knows them; they are part of the ABI.
/// The names match the IR's (`f32`, `i1`, ...).
#[repr(i32)]
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum DType {
    /// 32-bit float.
    F32 = 1,
    /// Unsigned byte.
    U8 = 2,
    /// Signed byte.
    I8 = 3,
    /// Unsigned 16-bit integer.
    U16 = 4,
    /// Signed 16-bit integer.
    I16 = 5,
    /// Signed 32-bit integer.
    I32 = 6,
    /// Signed 64-bit integer.
    I64 = 7,
    /// Boolean, one byte holding 0 or 1.
    I1 = 9,
    /// IEEE half.
    F16 = 10,
    /// 64-bit float.
    F64 = 11,
    /// Unsigned 32-bit integer.
    U32 = 12,
    /// Unsigned 64-bit integer.
    U64 = 13,
    /// bfloat16.
    BF16 = 16,
}

impl DType {
    /// Every dtype, in code order.
    pub const ALL: [DType; 13] = [
        DType::F32,
        DType::U8,
        DType::I8,
        DType::U16,
        DType::I16,
        DType::I32,
        DType::I64,
        DType::I1,
        DType::F16,
        DType::F64,
        DType::U32,
        DType::U64,
        DType::BF16,
    ];

    /// The numeric code the C ABI uses.
    pub fn code(self) -> i32 {
        self as i32
    }

    /// The dtype with numeric code `code`, if there is one.
    pub fn from_code(code: i32) -> Option<DType> {
        DType::ALL.into_iter().find(|d| d.code() == code)
    }

    /// Size of one element in bytes; also its required alignment.
    pub fn size(self) -> usize {
        match self {
            DType::U8 | DType::I8 | DType::I1 => 1,
            DType::U16 | DType::I16 | DType::F16 | DType::BF16 => 2,
            DType::F32 | DType::I32 | DType::U32 => 4,
            DType::F64 | DType::I64 | DType::U64 => 8,
        }
    }

    /// The IR's name for it (`f32`, `i1`, `bf16`).
    pub fn name(self) -> &'static str {
        match self {
            DType::F32 => "f32",
            DType::U8 => "u8",
            DType::I8 => "i8",
            DType::U16 => "u16",
            DType::I16 => "i16",
            DType::I32 => "i32",
            DType::I64 => "i64",
            DType::I1 => "i1",
            DType::F16 => "f16",
            DType::F64 => "f64",
            DType::U32 => "u32",
            DType::U64 => "u64",
            DType::BF16 => "bf16",
        }
    }
}

impl fmt::Display for DType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip_and_match_onnx() {
        for d in DType::ALL {
            assert_eq!(DType::from_code(d.code()), Some(d));
        }
        // A few ONNX numbers, spelled out: FLOAT=1, INT64=7, BOOL=9, BFLOAT16=16.
        assert_eq!(DType::F32.code(), 1);
        assert_eq!(DType::I64.code(), 7);
        assert_eq!(DType::I1.code(), 9);
        assert_eq!(DType::BF16.code(), 16);
        // 8 is ONNX's STRING, which tessera has no use for.
        assert_eq!(DType::from_code(8), None);
        assert_eq!(DType::from_code(0), None);
    }

    #[test]
    fn sizes_and_names() {
        assert_eq!(DType::F32.size(), 4);
        assert_eq!(DType::BF16.size(), 2);
        assert_eq!(DType::I1.size(), 1);
        assert_eq!(DType::U64.size(), 8);
        assert_eq!(DType::I1.to_string(), "i1");
    }
}
