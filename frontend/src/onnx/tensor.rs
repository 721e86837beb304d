//! ONNX tensors and element types to and from tessera's: the mapping between
//! ONNX `DataType` codes and [`DType`], [`TensorProto`] → [`DenseAttr`] (from
//! `raw_data` or the typed fields), and [`DenseAttr`] → [`TensorProto`] for
//! export.
//!
//! Every check happens before any allocation sized by the tensor's dims, so a
//! file claiming a huge tensor with little data is an error, not an
//! out-of-memory abort.

use super::proto::tensor_proto::{DataLocation, DataType};
use super::proto::TensorProto;
use std::sync::Arc;
use tessera_ir::{DType, DenseAttr, Diag, Loc, TensorType};

/// The tessera dtype of an ONNX element-type code; `None` for the codes
/// tessera has no dtype for (STRING, complex, the float8/float6/float4 and
/// 4-/2-bit integer types, UNDEFINED, unknown codes).
pub fn dtype_from_onnx(code: i32) -> Option<DType> {
    Some(match DataType::try_from(code).ok()? {
        DataType::Float => DType::F32,
        DataType::Uint8 => DType::U8,
        DataType::Int8 => DType::I8,
        DataType::Uint16 => DType::U16,
        DataType::Int16 => DType::I16,
        DataType::Int32 => DType::I32,
        DataType::Int64 => DType::I64,
        DataType::Bool => DType::I1,
        DataType::Float16 => DType::F16,
        DataType::Double => DType::F64,
        DataType::Uint32 => DType::U32,
        DataType::Uint64 => DType::U64,
        DataType::Bfloat16 => DType::BF16,
        _ => return None,
    })
}

/// The ONNX element type of a tessera dtype (`i1` is BOOL).
pub fn dtype_to_onnx(dtype: DType) -> DataType {
    match dtype {
        DType::I1 => DataType::Bool,
        DType::I8 => DataType::Int8,
        DType::I16 => DataType::Int16,
        DType::I32 => DataType::Int32,
        DType::I64 => DataType::Int64,
        DType::U8 => DataType::Uint8,
        DType::U16 => DataType::Uint16,
        DType::U32 => DataType::Uint32,
        DType::U64 => DataType::Uint64,
        DType::F16 => DataType::Float16,
        DType::BF16 => DataType::Bfloat16,
        DType::F32 => DataType::Float,
        DType::F64 => DataType::Double,
    }
}

/// ONNX's own name for an element-type code (`FLOAT`, `FLOAT8E4M3FN`), or
/// `unknown element type <code>` for a code ONNX does not define.
pub fn onnx_dtype_name(code: i32) -> String {
    let Ok(dt) = DataType::try_from(code) else {
        return format!("unknown element type {code}");
    };
    let name = match dt {
        DataType::Undefined => "UNDEFINED",
        DataType::Float => "FLOAT",
        DataType::Uint8 => "UINT8",
        DataType::Int8 => "INT8",
        DataType::Uint16 => "UINT16",
        DataType::Int16 => "INT16",
        DataType::Int32 => "INT32",
        DataType::Int64 => "INT64",
        DataType::String => "STRING",
        DataType::Bool => "BOOL",
        DataType::Float16 => "FLOAT16",
        DataType::Double => "DOUBLE",
        DataType::Uint32 => "UINT32",
        DataType::Uint64 => "UINT64",
        DataType::Complex64 => "COMPLEX64",
        DataType::Complex128 => "COMPLEX128",
        DataType::Bfloat16 => "BFLOAT16",
        DataType::Float8e4m3fn => "FLOAT8E4M3FN",
        DataType::Float8e4m3fnuz => "FLOAT8E4M3FNUZ",
        DataType::Float8e5m2 => "FLOAT8E5M2",
        DataType::Float8e5m2fnuz => "FLOAT8E5M2FNUZ",
        DataType::Uint4 => "UINT4",
        DataType::Int4 => "INT4",
        DataType::Float4e2m1 => "FLOAT4E2M1",
        DataType::Float8e8m0 => "FLOAT8E8M0",
        DataType::Uint2 => "UINT2",
        DataType::Int2 => "INT2",
        DataType::Float6e2m3 => "FLOAT6E2M3",
        DataType::Float6e3m2 => "FLOAT6E3M2",
    };
    name.to_string()
}

/// The tessera dtype of an ONNX element-type code, or an error naming the
/// ONNX type and `what` has it (`tensor 'W'`, `input 'x'`).
pub fn onnx_dtype(code: i32, what: &str) -> Result<DType, Diag> {
    dtype_from_onnx(code).ok_or_else(|| {
        Diag::error(
            Loc::Unknown,
            format!("{what} has element type {}, which tessera does not support", onnx_dtype_name(code)),
        )
    })
}

/// How a tensor is named in diagnostics: `tensor 'W'`, or `unnamed tensor`.
pub fn describe_tensor(t: &TensorProto) -> String {
    if t.name.is_empty() {
        "unnamed tensor".to_string()
    } else {
        format!("tensor '{}'", t.name)
    }
}

/// The dims of a tensor as sizes, and their element count; an error for a
/// negative dim or a count that overflows.
pub fn tensor_dims(t: &TensorProto) -> Result<(Vec<u64>, usize), Diag> {
    let what = describe_tensor(t);
    let mut dims = Vec::with_capacity(t.dims.len());
    let mut count: usize = 1;
    for &d in &t.dims {
        let d = u64::try_from(d)
            .map_err(|_| Diag::error(Loc::Unknown, format!("{what} has a negative dim {d} in {:?}", t.dims)))?;
        count = usize::try_from(d)
            .ok()
            .and_then(|d| count.checked_mul(d))
            .ok_or_else(|| Diag::error(Loc::Unknown, format!("{what} has too many elements: dims {:?}", t.dims)))?;
        dims.push(d);
    }
    Ok((dims, count))
}

/// Converts an ONNX tensor to a dense constant.
///
/// The data comes from `raw_data` when it is non-empty, else from the typed
/// field for the element type (`int32_data` carries INT8/INT16/UINT8/UINT16,
/// BOOL and the bit patterns of FLOAT16/BFLOAT16, each value truncated to the
/// element's width as ONNX Runtime does; `uint64_data` carries UINT32 and
/// UINT64). The byte or value count must match the dims. Booleans are
/// normalised to one byte holding 0 or 1. Errors name the tensor: an element
/// type tessera lacks, a count mismatch, a negative dim, external data that
/// was never loaded ([`super::load::load_model`] loads it), a segment.
pub fn tensor_to_dense(t: &TensorProto) -> Result<DenseAttr, Diag> {
    let what = describe_tensor(t);
    let err = |msg: String| Diag::error(Loc::Unknown, format!("{what}: {msg}"));
    let dtype = onnx_dtype(t.data_type, &what)?;
    if t.segment.is_some() {
        return Err(err("segmented tensors (TensorProto.segment) are not supported".into()));
    }
    let (dims, count) = tensor_dims(t)?;
    if t.data_location == DataLocation::External as i32 && t.raw_data.is_empty() && count > 0 {
        return Err(err("its data is in an external file that was not loaded (load the model with load_model)".into()));
    }
    let size = dtype.size_bytes();
    let want_bytes = count
        .checked_mul(size)
        .ok_or_else(|| err(format!("too many elements: dims {:?}", t.dims)))?;
    let ty = TensorType::of(&dims, dtype);
    let type_name = onnx_dtype_name(t.data_type);

    let bytes: Arc<[u8]> = if !t.raw_data.is_empty() {
        if t.raw_data.len() != want_bytes {
            return Err(err(format!(
                "raw_data holds {} bytes, but {count} elements of {type_name} (dims {:?}) need {want_bytes}",
                t.raw_data.len(),
                t.dims
            )));
        }
        if dtype == DType::I1 {
            t.raw_data.iter().map(|&b| (b != 0) as u8).collect()
        } else {
            Arc::from(t.raw_data.as_slice())
        }
    } else {
        let (field, len) = typed_field(t, dtype);
        if len != count {
            let hint = if len == 0 { typed_fields_in_use(t) } else { String::new() };
            return Err(err(format!(
                "{count} elements of {type_name} (dims {:?}) expected in raw_data or {field}, found {len} in {field}{hint}",
                t.dims
            )));
        }
        Arc::from(typed_bytes(t, dtype, want_bytes))
    };
    DenseAttr::from_bytes(ty, bytes).map_err(err)
}

/// The typed field that carries `dtype`'s values, and its length.
fn typed_field(t: &TensorProto, dtype: DType) -> (&'static str, usize) {
    match dtype {
        DType::F32 => ("float_data", t.float_data.len()),
        DType::F64 => ("double_data", t.double_data.len()),
        DType::I64 => ("int64_data", t.int64_data.len()),
        DType::U32 | DType::U64 => ("uint64_data", t.uint64_data.len()),
        DType::I1 | DType::I8 | DType::I16 | DType::I32 | DType::U8 | DType::U16 | DType::F16 | DType::BF16 => {
            ("int32_data", t.int32_data.len())
        }
    }
}

/// ` (data found in int64_data)` when some other typed field is non-empty.
fn typed_fields_in_use(t: &TensorProto) -> String {
    let used: Vec<&str> = [
        ("float_data", t.float_data.len()),
        ("int32_data", t.int32_data.len()),
        ("string_data", t.string_data.len()),
        ("int64_data", t.int64_data.len()),
        ("double_data", t.double_data.len()),
        ("uint64_data", t.uint64_data.len()),
    ]
    .into_iter()
    .filter(|(_, n)| *n > 0)
    .map(|(f, _)| f)
    .collect();
    if used.is_empty() {
        String::new()
    } else {
        format!(" (data found in {})", used.join(", "))
    }
}

/// The little-endian bytes of the typed field for `dtype`; its length was checked.
fn typed_bytes(t: &TensorProto, dtype: DType, capacity: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(capacity);
    match dtype {
        DType::F32 => t.float_data.iter().for_each(|v| out.extend_from_slice(&v.to_le_bytes())),
        DType::F64 => t.double_data.iter().for_each(|v| out.extend_from_slice(&v.to_le_bytes())),
        DType::I64 => t.int64_data.iter().for_each(|v| out.extend_from_slice(&v.to_le_bytes())),
        DType::U64 => t.uint64_data.iter().for_each(|v| out.extend_from_slice(&v.to_le_bytes())),
        DType::U32 => t.uint64_data.iter().for_each(|&v| out.extend_from_slice(&(v as u32).to_le_bytes())),
        DType::I32 => t.int32_data.iter().for_each(|v| out.extend_from_slice(&v.to_le_bytes())),
        DType::I16 | DType::U16 | DType::F16 | DType::BF16 => {
            t.int32_data.iter().for_each(|&v| out.extend_from_slice(&(v as u16).to_le_bytes()))
        }
        DType::I8 | DType::U8 => t.int32_data.iter().for_each(|&v| out.push(v as u8)),
        DType::I1 => t.int32_data.iter().for_each(|&v| out.push((v != 0) as u8)),
    }
    out
}

/// Converts a dense constant to an ONNX tensor named `name`, with its data
/// in `raw_data` (the form ONNX writers prefer).
pub fn dense_to_tensor(name: &str, dense: &DenseAttr) -> TensorProto {
    let dims = dense.ty().dims.iter().map(|d| d.known().map_or(-1, |n| n as i64)).collect();
    TensorProto {
        dims,
        data_type: dtype_to_onnx(dense.ty().dtype) as i32,
        name: name.to_string(),
        raw_data: dense.bytes().to_vec(),
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::onnx::proto::tensor_proto::Segment;
    use tessera_ir::Scalar;

    fn tensor(dims: &[i64], dt: DataType) -> TensorProto {
        TensorProto { dims: dims.to_vec(), data_type: dt as i32, name: "t".into(), ..Default::default() }
    }

    fn values(d: &DenseAttr) -> Vec<f64> {
        (0..d.len()).map(|i| d.get(i).to_f64()).collect()
    }

    #[test]
    fn dtype_codes_round_trip() {
        for dtype in DType::ALL {
            assert_eq!(dtype_from_onnx(dtype_to_onnx(dtype) as i32), Some(dtype));
        }
        assert_eq!(dtype_from_onnx(DataType::String as i32), None);
        assert_eq!(dtype_from_onnx(99), None);
        assert_eq!(onnx_dtype_name(17), "FLOAT8E4M3FN");
        assert_eq!(onnx_dtype_name(99), "unknown element type 99");
    }

    #[test]
    fn raw_data_of_every_dtype() {
        for dtype in DType::ALL {
            let ty = TensorType::of(&[2, 3], dtype);
            let dense = DenseAttr::from_f64s(ty, &[0.0, 1.0, 2.0, 3.0, 4.0, 5.0]).expect("dense");
            let t = dense_to_tensor("w", &dense);
            assert_eq!(t.dims, vec![2, 3]);
            let back = tensor_to_dense(&t).expect("converts");
            assert_eq!(back, dense, "{dtype}");
        }
    }

    #[test]
    fn typed_fields() {
        let mut t = tensor(&[3], DataType::Float);
        t.float_data = vec![1.5, -2.0, 3.25];
        assert_eq!(values(&tensor_to_dense(&t).expect("f32")), vec![1.5, -2.0, 3.25]);

        let mut t = tensor(&[2], DataType::Double);
        t.double_data = vec![0.1, 1e300];
        assert_eq!(values(&tensor_to_dense(&t).expect("f64")), vec![0.1, 1e300]);

        let mut t = tensor(&[2], DataType::Int64);
        t.int64_data = vec![i64::MIN, 7];
        let d = tensor_to_dense(&t).expect("i64");
        assert_eq!(d.get(0), Scalar::Int(DType::I64, i64::MIN));

        let mut t = tensor(&[3], DataType::Int8);
        t.int32_data = vec![-128, 127, -1];
        assert_eq!(values(&tensor_to_dense(&t).expect("i8")), vec![-128.0, 127.0, -1.0]);

        let mut t = tensor(&[2], DataType::Uint16);
        t.int32_data = vec![65535, 1];
        assert_eq!(values(&tensor_to_dense(&t).expect("u16")), vec![65535.0, 1.0]);

        let mut t = tensor(&[3], DataType::Bool);
        t.int32_data = vec![0, 1, 5];
        assert_eq!(tensor_to_dense(&t).expect("bool").bytes(), &[0, 1, 1]);

        // f16 / bf16 travel as bit patterns in int32_data.
        let mut t = tensor(&[2], DataType::Float16);
        t.int32_data = vec![half::f16::from_f32(1.5).to_bits() as i32, half::f16::from_f32(-0.25).to_bits() as i32];
        assert_eq!(values(&tensor_to_dense(&t).expect("f16")), vec![1.5, -0.25]);
        let mut t = tensor(&[1], DataType::Bfloat16);
        t.int32_data = vec![half::bf16::from_f32(3.0).to_bits() as i32];
        assert_eq!(values(&tensor_to_dense(&t).expect("bf16")), vec![3.0]);

        // u32 / u64 travel in uint64_data.
        let mut t = tensor(&[2], DataType::Uint32);
        t.uint64_data = vec![u32::MAX as u64, 3];
        assert_eq!(values(&tensor_to_dense(&t).expect("u32")), vec![u32::MAX as f64, 3.0]);
        let mut t = tensor(&[1], DataType::Uint64);
        t.uint64_data = vec![u64::MAX];
        assert_eq!(tensor_to_dense(&t).expect("u64").get(0), Scalar::UInt(DType::U64, u64::MAX));
    }

    #[test]
    fn scalars_and_empty_tensors() {
        let mut t = tensor(&[], DataType::Int32);
        t.int32_data = vec![42];
        let d = tensor_to_dense(&t).expect("scalar");
        assert_eq!(d.ty().rank(), 0);
        assert_eq!(d.get(0), Scalar::Int(DType::I32, 42));

        let t = tensor(&[0, 3], DataType::Float);
        let d = tensor_to_dense(&t).expect("empty");
        assert!(d.is_empty());
        assert_eq!(d.ty(), &TensorType::of(&[0, 3], DType::F32));
    }

    #[test]
    fn raw_bools_are_normalised() {
        let mut t = tensor(&[3], DataType::Bool);
        t.raw_data = vec![0, 2, 255];
        assert_eq!(tensor_to_dense(&t).expect("bool").bytes(), &[0, 1, 1]);
    }

    fn message(t: &TensorProto) -> String {
        tensor_to_dense(t).expect_err("must fail").message
    }

    #[test]
    fn unsupported_dtypes_are_named() {
        for (dt, name) in [
            (DataType::String, "STRING"),
            (DataType::Complex64, "COMPLEX64"),
            (DataType::Float8e4m3fn, "FLOAT8E4M3FN"),
            (DataType::Int4, "INT4"),
            (DataType::Undefined, "UNDEFINED"),
        ] {
            let mut t = tensor(&[1], dt);
            t.raw_data = vec![0; 8];
            let msg = message(&t);
            assert!(msg.contains(name) && msg.contains("tensor 't'"), "{msg}");
        }
        let msg = message(&TensorProto { data_type: 1234, ..Default::default() });
        assert_eq!(msg, "unnamed tensor has element type unknown element type 1234, which tessera does not support");
    }

    #[test]
    fn count_mismatches_are_errors() {
        let mut t = tensor(&[2, 3], DataType::Float);
        t.raw_data = vec![0; 20];
        assert_eq!(
            message(&t),
            "tensor 't': raw_data holds 20 bytes, but 6 elements of FLOAT (dims [2, 3]) need 24"
        );

        let mut t = tensor(&[2], DataType::Float);
        t.float_data = vec![1.0];
        assert!(message(&t).contains("found 1 in float_data"));

        let mut t = tensor(&[2], DataType::Float);
        t.int64_data = vec![1, 2];
        assert_eq!(
            message(&t),
            "tensor 't': 2 elements of FLOAT (dims [2]) expected in raw_data or float_data, \
             found 0 in float_data (data found in int64_data)"
        );

        // A huge claimed shape with no data fails before allocating.
        let t = tensor(&[1 << 40, 1 << 20], DataType::Float);
        assert!(message(&t).contains("too many elements") || message(&t).contains("expected in raw_data"));
        let t = tensor(&[i64::MAX, i64::MAX], DataType::Float);
        assert!(message(&t).contains("too many elements"));
    }

    #[test]
    fn negative_dims_segments_and_unloaded_external_data_are_errors() {
        let t = tensor(&[2, -1], DataType::Float);
        assert_eq!(message(&t), "tensor 't' has a negative dim -1 in [2, -1]");

        let mut t = tensor(&[1], DataType::Float);
        t.float_data = vec![1.0];
        t.segment = Some(Segment { begin: 0, end: 1 });
        assert!(message(&t).contains("segment"));

        let mut t = tensor(&[4], DataType::Float);
        t.data_location = DataLocation::External as i32;
        assert!(message(&t).contains("external file that was not loaded"));
    }
}
