//! NumPy `.npy` files to and from [`DenseAttr`]: the inputs and outputs of
//! `tessera run`.
//!
//! The format (numpy's `lib.format`): the magic `\x93NUMPY`, a version byte
//! pair (1.0, 2.0 or 3.0), the header length (u16 little-endian in 1.0, u32
//! in 2.0 and 3.0), then a Python dict literal such as `{'descr': '<f4',
//! 'fortran_order': False, 'shape': (2, 3), }` padded with spaces to a
//! multiple of 64 bytes and ended by `\n`, then the raw elements. tessera
//! reads and writes little-endian, C-order arrays of `<f2 <f4 <f8 |i1 <i2 <i4
//! <i8 |u1 <u2 <u4 <u8 |b1`; bf16 has no `.npy` dtype. Reading never
//! panics: a bad magic, an unknown version, a malformed header, Fortran
//! order, big-endian data, another dtype, or a data size that does not match
//! the shape is a [`Diag`] naming the file.

use std::path::Path;
use std::sync::Arc;
use tessera_ir::{DType, DenseAttr, Diag, Loc, TensorType};

const MAGIC: &[u8] = b"\x93NUMPY";

/// The dtypes `.npy` files may hold, as their canonical `descr`.
const SUPPORTED: &str = "<f2 <f4 <f8 |i1 <i2 <i4 <i8 |u1 <u2 <u4 <u8 |b1";

/// The `descr` numpy writes for a dtype; `None` for bf16, which has none.
pub fn npy_descr(dtype: DType) -> Option<&'static str> {
    Some(match dtype {
        DType::I1 => "|b1",
        DType::I8 => "|i1",
        DType::I16 => "<i2",
        DType::I32 => "<i4",
        DType::I64 => "<i8",
        DType::U8 => "|u1",
        DType::U16 => "<u2",
        DType::U32 => "<u4",
        DType::U64 => "<u8",
        DType::F16 => "<f2",
        DType::F32 => "<f4",
        DType::F64 => "<f8",
        DType::BF16 => return None,
    })
}

/// Reads a `.npy` file.
pub fn read_npy(path: &Path) -> Result<DenseAttr, Diag> {
    let shown = path.display().to_string();
    if path.is_dir() {
        return Err(Diag::error(Loc::Unknown, format!("'{shown}' is a directory, not a .npy file")));
    }
    let bytes =
        std::fs::read(path).map_err(|e| Diag::error(Loc::Unknown, format!("cannot read .npy file '{shown}': {e}")))?;
    decode_npy(&bytes, &shown)
}

/// Decodes the bytes of a `.npy` file; `name` (usually the path) names it in errors.
pub fn decode_npy(bytes: &[u8], name: &str) -> Result<DenseAttr, Diag> {
    let err = |msg: String| Diag::error(Loc::Unknown, format!("'{name}' is not a valid .npy file: {msg}"));
    if bytes.is_empty() {
        return Err(err("the file is empty".into()));
    }
    if !bytes.starts_with(MAGIC) {
        return Err(err("it does not start with the .npy magic \\x93NUMPY".into()));
    }
    let (major, minor) = match bytes.get(6..8) {
        Some(&[major, minor]) => (major, minor),
        _ => return Err(err("the file ends inside its preamble".into())),
    };
    let len_size = match major {
        1 => 2,
        2 | 3 => 4,
        _ => return Err(err(format!("unsupported format version {major}.{minor} (1.0, 2.0 and 3.0 are known)"))),
    };
    let len_bytes = bytes.get(8..8 + len_size).ok_or_else(|| err("the file ends inside its preamble".into()))?;
    let header_len = len_bytes.iter().rev().fold(0usize, |acc, &b| (acc << 8) | b as usize);
    let header_start = 8 + len_size;
    let header = header_start
        .checked_add(header_len)
        .and_then(|end| bytes.get(header_start..end))
        .ok_or_else(|| err(format!("the header claims {header_len} bytes but the file ends first")))?;
    let header = if major == 3 {
        std::str::from_utf8(header).map_err(|_| err("the header is not UTF-8".into()))?
    } else {
        std::str::from_utf8(header)
            .ok()
            .filter(|h| h.is_ascii())
            .ok_or_else(|| err("the header is not ASCII".into()))?
    };
    let data = &bytes[header_start + header_len..];

    let header = parse_header(header).map_err(|m| err(format!("bad header: {m}")))?;
    if header.fortran_order {
        return Err(err(
            "the array is in Fortran (column-major) order; save a C-order array (np.ascontiguousarray)".into(),
        ));
    }
    let dtype = dtype_of_descr(&header.descr).map_err(err)?;
    let mut count: usize = 1;
    for &d in &header.shape {
        count = usize::try_from(d)
            .ok()
            .and_then(|d| count.checked_mul(d))
            .ok_or_else(|| err(format!("shape {:?} has too many elements", header.shape)))?;
    }
    let want = count
        .checked_mul(dtype.size_bytes())
        .ok_or_else(|| err(format!("shape {:?} has too many elements", header.shape)))?;
    if data.len() != want {
        return Err(err(format!(
            "shape {:?} of {} needs {want} bytes of data, the file has {}",
            header.shape,
            header.descr,
            data.len()
        )));
    }
    let data: Arc<[u8]> = if dtype == DType::I1 {
        data.iter().map(|&b| (b != 0) as u8).collect()
    } else {
        Arc::from(data)
    };
    DenseAttr::from_bytes(TensorType::of(&header.shape, dtype), data).map_err(err)
}

/// Writes `array` as a `.npy` file (version 1.0, or 2.0 for a header over 64 KiB).
pub fn write_npy(path: &Path, array: &DenseAttr) -> Result<(), Diag> {
    let bytes = encode_npy(array)?;
    std::fs::write(path, bytes)
        .map_err(|e| Diag::error(Loc::Unknown, format!("cannot write .npy file '{}': {e}", path.display())))
}

/// The bytes of a `.npy` file holding `array`; an error for bf16, which
/// `.npy` cannot represent.
pub fn encode_npy(array: &DenseAttr) -> Result<Vec<u8>, Diag> {
    let ty = array.ty();
    let descr = npy_descr(ty.dtype).ok_or_else(|| {
        Diag::error(Loc::Unknown, format!("a .npy file cannot hold {}: numpy has no such dtype", ty.dtype))
    })?;
    let dims: Vec<String> = ty.dims.iter().map(|d| d.to_string()).collect();
    let shape = match dims.len() {
        1 => format!("({},)", dims[0]),
        _ => format!("({})", dims.join(", ")),
    };
    let mut header = format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape}, }}");
    // Pad so the data starts on a 64-byte boundary, the header ending in '\n'.
    let (major, len_size) = if header.len() + 1 + 10 <= u16::MAX as usize { (1u8, 2) } else { (2u8, 4) };
    let preamble = MAGIC.len() + 2 + len_size;
    let total = (preamble + header.len() + 1).div_ceil(64) * 64;
    header.extend(std::iter::repeat_n(' ', total - preamble - header.len() - 1));
    header.push('\n');
    let mut out = Vec::with_capacity(total + array.bytes().len());
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&[major, 0]);
    let header_len = header.len() as u32;
    out.extend_from_slice(&header_len.to_le_bytes()[..len_size]);
    out.extend_from_slice(header.as_bytes());
    out.extend_from_slice(array.bytes());
    Ok(out)
}

/// The dtype of a `descr` string, or an error message.
fn dtype_of_descr(descr: &str) -> Result<DType, String> {
    let unsupported = || format!("unsupported dtype '{descr}' (tessera reads {SUPPORTED})");
    let mut chars = descr.chars();
    let (order, body) = match chars.next() {
        Some(c @ ('<' | '>' | '|' | '=')) => (c, chars.as_str()),
        _ => ('|', descr),
    };
    let dtype = match body {
        "b1" | "?" => DType::I1,
        "i1" => DType::I8,
        "u1" => DType::U8,
        "i2" => DType::I16,
        "i4" => DType::I32,
        "i8" => DType::I64,
        "u2" => DType::U16,
        "u4" => DType::U32,
        "u8" => DType::U64,
        "f2" => DType::F16,
        "f4" => DType::F32,
        "f8" => DType::F64,
        _ => return Err(unsupported()),
    };
    let native_little = cfg!(target_endian = "little");
    let big = order == '>' || (order == '=' && !native_little);
    if big && dtype.size_bytes() > 1 {
        return Err(format!("dtype '{descr}' is big-endian; tessera reads little-endian data (save with '<' byte order)"));
    }
    if order == '|' && dtype.size_bytes() > 1 {
        return Err(unsupported());
    }
    Ok(dtype)
}

/// The three keys of a `.npy` header.
struct Header {
    descr: String,
    fortran_order: bool,
    shape: Vec<u64>,
}

/// A Python literal as it appears in a `.npy` header.
#[derive(Debug)]
enum Value {
    Str(String),
    Bool(bool),
    Int(u64),
    None,
    /// A tuple or list (a list only in structured dtypes, which tessera rejects).
    Seq(Vec<Value>),
    Dict(Vec<(Value, Value)>),
}

fn parse_header(text: &str) -> Result<Header, String> {
    let mut p = Parser { s: text.as_bytes(), i: 0, depth: 0 };
    let Value::Dict(items) = p.value()? else {
        return Err("it is not a dict".into());
    };
    p.skip_ws();
    if p.i != p.s.len() {
        return Err(format!("unexpected text after the dict at byte {}", p.i));
    }
    let (mut descr, mut fortran_order, mut shape) = (None, None, None);
    for (k, v) in items {
        let Value::Str(key) = k else { return Err("a key is not a string".into()) };
        match (key.as_str(), v) {
            ("descr", Value::Str(s)) => descr = Some(s),
            ("descr", other) => return Err(format!("unsupported structured dtype {other:?}")),
            ("fortran_order", Value::Bool(b)) => fortran_order = Some(b),
            ("shape", Value::Seq(items)) => {
                let dims = items
                    .into_iter()
                    .map(|d| match d {
                        Value::Int(n) => Ok(n),
                        other => Err(format!("shape entry {other:?} is not a non-negative integer")),
                    })
                    .collect::<Result<Vec<u64>, String>>()?;
                shape = Some(dims);
            }
            ("fortran_order" | "shape", other) => return Err(format!("bad value {other:?} for '{key}'")),
            _ => {}
        }
    }
    Ok(Header {
        descr: descr.ok_or("no 'descr' key")?,
        fortran_order: fortran_order.ok_or("no 'fortran_order' key")?,
        shape: shape.ok_or("no 'shape' key")?,
    })
}

/// A recursive-descent parser for the Python literals of a `.npy` header.
struct Parser<'a> {
    s: &'a [u8],
    i: usize,
    depth: u32,
}

impl Parser<'_> {
    fn skip_ws(&mut self) {
        while self.s.get(self.i).is_some_and(|c| c.is_ascii_whitespace()) {
            self.i += 1;
        }
    }

    fn peek(&mut self) -> Option<u8> {
        self.skip_ws();
        self.s.get(self.i).copied()
    }

    fn eat(&mut self, c: u8) -> bool {
        if self.peek() == Some(c) {
            self.i += 1;
            true
        } else {
            false
        }
    }

    fn value(&mut self) -> Result<Value, String> {
        self.depth += 1;
        if self.depth > 16 {
            return Err("nested too deeply".into());
        }
        let v = match self.peek() {
            None => Err("it ends early".into()),
            Some(b'{') => {
                self.i += 1;
                let mut items = Vec::new();
                while !self.eat(b'}') {
                    let k = self.value()?;
                    if !self.eat(b':') {
                        return Err(format!("expected ':' at byte {}", self.i));
                    }
                    items.push((k, self.value()?));
                    if !self.eat(b',') && self.peek() != Some(b'}') {
                        return Err(format!("expected ',' or '}}' at byte {}", self.i));
                    }
                }
                Ok(Value::Dict(items))
            }
            Some(open @ (b'(' | b'[')) => {
                self.i += 1;
                let close = if open == b'(' { b')' } else { b']' };
                let mut items = Vec::new();
                while !self.eat(close) {
                    items.push(self.value()?);
                    if !self.eat(b',') && self.peek() != Some(close) {
                        return Err(format!("expected ',' or '{}' at byte {}", close as char, self.i));
                    }
                }
                Ok(Value::Seq(items))
            }
            Some(q @ (b'\'' | b'"')) => {
                self.i += 1;
                let start = self.i;
                while self.s.get(self.i).is_some_and(|&c| c != q && c != b'\\') {
                    self.i += 1;
                }
                if self.s.get(self.i) != Some(&q) {
                    return Err("unterminated or escaped string".into());
                }
                let text = String::from_utf8_lossy(&self.s[start..self.i]).into_owned();
                self.i += 1;
                Ok(Value::Str(text))
            }
            Some(c) if c.is_ascii_digit() => {
                let start = self.i;
                while self.s.get(self.i).is_some_and(u8::is_ascii_digit) {
                    self.i += 1;
                }
                let digits = std::str::from_utf8(&self.s[start..self.i]).map_err(|e| e.to_string())?;
                let n = digits.parse::<u64>().map_err(|_| format!("integer {digits} is too large"))?;
                // Python 2 wrote longs as `3L`.
                if self.s.get(self.i) == Some(&b'L') {
                    self.i += 1;
                }
                Ok(Value::Int(n))
            }
            Some(c) if c.is_ascii_alphabetic() => {
                let start = self.i;
                while self.s.get(self.i).is_some_and(|c| c.is_ascii_alphanumeric() || *c == b'_') {
                    self.i += 1;
                }
                match &self.s[start..self.i] {
                    b"True" => Ok(Value::Bool(true)),
                    b"False" => Ok(Value::Bool(false)),
                    b"None" => Ok(Value::None),
                    word => Err(format!("unexpected word '{}'", String::from_utf8_lossy(word))),
                }
            }
            Some(c) => Err(format!("unexpected character '{}' at byte {}", c.escape_ascii(), self.i)),
        };
        self.depth -= 1;
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tessera_ir::Scalar;

    fn header_bytes(major: u8, header: &str) -> Vec<u8> {
        let mut out = MAGIC.to_vec();
        out.extend_from_slice(&[major, 0]);
        if major == 1 {
            out.extend_from_slice(&(header.len() as u16).to_le_bytes());
        } else {
            out.extend_from_slice(&(header.len() as u32).to_le_bytes());
        }
        out.extend_from_slice(header.as_bytes());
        out
    }

    fn decode_err(bytes: &[u8]) -> String {
        decode_npy(bytes, "x.npy").expect_err("must fail").message
    }

    /// `np.save(f, np.array([[1, 2, 3], [4, 5, 6]], dtype='<f4'))` from numpy 2.4.
    const NUMPY_F32: &[u8] = b"\x93NUMPY\x01\x00v\x00{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }                                                          \x0a\
\x00\x00\x80?\x00\x00\x00@\x00\x00@@\x00\x00\x80@\x00\x00\xa0@\x00\x00\xc0@";

    #[test]
    fn reads_what_numpy_writes() {
        let a = decode_npy(NUMPY_F32, "x.npy").expect("reads");
        assert_eq!(a.ty(), &TensorType::of(&[2, 3], DType::F32));
        assert_eq!((0..6).map(|i| a.get(i).to_f64()).collect::<Vec<_>>(), vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
        // ... and writes it byte for byte.
        assert_eq!(encode_npy(&a).expect("encodes"), NUMPY_F32);
    }

    #[test]
    fn every_dtype_and_rank_round_trips() {
        for dtype in DType::ALL {
            if dtype == DType::BF16 {
                continue;
            }
            for dims in [&[][..], &[0][..], &[5][..], &[2, 3][..], &[1, 2, 1, 3][..]] {
                let n: u64 = dims.iter().product();
                let values: Vec<f64> = (0..n).map(|i| i as f64).collect();
                let a = DenseAttr::from_f64s(TensorType::of(dims, dtype), &values).expect("dense");
                let bytes = encode_npy(&a).expect("encodes");
                let header_end = bytes.iter().position(|&b| b == b'\n').expect("newline") + 1;
                assert_eq!(header_end % 64, 0, "data is 64-byte aligned");
                assert_eq!(decode_npy(&bytes, "x.npy").expect("decodes"), a, "{dtype} {dims:?}");
            }
        }
    }

    #[test]
    fn file_round_trip() {
        let dir = std::env::temp_dir().join(format!("tessera-npy-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let path = dir.join("a.npy");
        let a = DenseAttr::from_f64s(TensorType::of(&[3], DType::I64), &[-1.0, 0.0, 7.0]).expect("dense");
        write_npy(&path, &a).expect("writes");
        assert_eq!(read_npy(&path).expect("reads"), a);
        assert!(read_npy(&dir).expect_err("dir").message.contains("is a directory"));
        assert!(read_npy(&dir.join("none.npy")).expect_err("missing").message.starts_with("cannot read .npy file"));
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn versions_two_and_three_and_header_variants() {
        let header = "{'descr': '<i2', 'fortran_order': False, 'shape': (2,), }\n";
        for major in [2, 3] {
            let mut bytes = header_bytes(major, header);
            bytes.extend_from_slice(&[1, 0, 0xff, 0xff]);
            let a = decode_npy(&bytes, "x.npy").expect("reads");
            assert_eq!(a.get(1), Scalar::Int(DType::I16, -1));
        }
        // Keys in another order, double quotes, Python 2 longs, no trailing comma.
        let mut bytes = header_bytes(1, "{\"shape\": (1L, 2L), \"fortran_order\": False, \"descr\": \"|b1\"}");
        bytes.extend_from_slice(&[0, 7]);
        assert_eq!(decode_npy(&bytes, "x.npy").expect("reads").bytes(), &[0, 1]);
        // A one-byte dtype with any byte-order mark.
        let mut bytes = header_bytes(1, "{'descr': '<u1', 'fortran_order': False, 'shape': (1,)}");
        bytes.push(200);
        assert_eq!(decode_npy(&bytes, "x.npy").expect("reads").get(0), Scalar::UInt(DType::U8, 200));
    }

    #[test]
    fn bf16_cannot_be_written() {
        let a = DenseAttr::from_f64s(TensorType::of(&[1], DType::BF16), &[1.0]).expect("dense");
        assert_eq!(encode_npy(&a).expect_err("bf16").message, "a .npy file cannot hold bf16: numpy has no such dtype");
    }

    #[test]
    fn malformed_files_are_clear_errors() {
        let pre = "'x.npy' is not a valid .npy file: ";
        assert_eq!(decode_err(b""), format!("{pre}the file is empty"));
        assert_eq!(decode_err(b"PK\x03\x04 zip"), format!("{pre}it does not start with the .npy magic \\x93NUMPY"));
        assert_eq!(decode_err(b"\x93NUMPY\x01"), format!("{pre}the file ends inside its preamble"));
        assert_eq!(decode_err(b"\x93NUMPY\x04\x00\x10\x00"), format!("{pre}unsupported format version 4.0 (1.0, 2.0 and 3.0 are known)"));
        assert_eq!(
            decode_err(b"\x93NUMPY\x01\x00\xff\x00{'descr'"),
            format!("{pre}the header claims 255 bytes but the file ends first")
        );

        let with = |header: &str, data: &[u8]| {
            let mut b = header_bytes(1, header);
            b.extend_from_slice(data);
            decode_err(&b)
        };
        assert_eq!(
            with("{'descr': '<f4', 'fortran_order': True, 'shape': (2, 2), }", &[0; 16]),
            format!("{pre}the array is in Fortran (column-major) order; save a C-order array (np.ascontiguousarray)")
        );
        assert_eq!(
            with("{'descr': '>f4', 'fortran_order': False, 'shape': (1,), }", &[0; 4]),
            format!("{pre}dtype '>f4' is big-endian; tessera reads little-endian data (save with '<' byte order)")
        );
        for descr in ["<c8", "<U3", "|O", "<V2", "<f16", "|f4"] {
            let msg = with(&format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': (1,), }}"), &[0; 16]);
            assert_eq!(msg, format!("{pre}unsupported dtype '{descr}' (tessera reads {SUPPORTED})"));
        }
        assert!(with("{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (1,), }", &[0; 4])
            .contains("unsupported structured dtype"));
        assert_eq!(
            with("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", &[0; 20]),
            format!("{pre}shape [2, 3] of <f4 needs 24 bytes of data, the file has 20")
        );
        assert_eq!(
            with("{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }", &[0; 8]),
            format!("{pre}shape [1] of <f4 needs 4 bytes of data, the file has 8")
        );
        assert!(with("{'descr': '<f4', 'fortran_order': False, 'shape': (4294967296, 4294967296, 4294967296), }", &[])
            .contains("too many elements"));
        assert!(with("{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999999,), }", &[])
            .contains("too large"));
        for bad in [
            "{'descr': '<f4', 'shape': (1,), }",
            "{'descr': '<f4', 'fortran_order': 0, 'shape': (1,), }",
            "{'descr': '<f4', 'fortran_order': False, 'shape': (-1,), }",
            "{'descr': '<f4', 'fortran_order': False, 'shape': (1,) ",
            "{'descr': '<f4, 'fortran_order': False, 'shape': (1,), }",
            "['descr']",
            "{'descr': '<f4', 'fortran_order': False, 'shape': (1,), } trailing",
            "{'a': ((((((((((((((((((((1,),),),),),),),),),),),),),),),),),),),)}",
            "\u{e9}",
        ] {
            let msg = with(bad, &[0; 4]);
            assert!(msg.starts_with(pre) && (msg.contains("bad header") || msg.contains("not ASCII")), "{bad}: {msg}");
        }
    }

    #[test]
    fn no_prefix_of_a_valid_file_panics() {
        for cut in 0..NUMPY_F32.len() {
            assert!(decode_npy(&NUMPY_F32[..cut], "x.npy").is_err());
        }
    }
}
