//! NumPy `.npz` archives to and from named [`DenseAttr`]s: trained
//! parameters and checkpoints of `tessera train`.
//!
//! An `.npz` is a zip archive of `.npy` files, one per array, each named
//! `<key>.npy`. tessera writes them stored (uncompressed, like
//! `numpy.savez`), with CRC-32 checksums, and reads stored archives
//! (`numpy.savez`, zip64 extras included); compressed entries
//! (`numpy.savez_compressed`) are reported as unsupported. Reading never
//! panics: a truncated or malformed archive is a [`Diag`] naming the file.

use crate::npy::{decode_npy, encode_npy};
use std::path::Path;
use tessera_ir::{DenseAttr, Diag, Loc};

const LOCAL: u32 = 0x0403_4b50;
const CENTRAL: u32 = 0x0201_4b50;
const END: u32 = 0x0605_4b50;

/// The CRC-32 (IEEE) of `data`.
fn crc32(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &byte in data {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            crc = if crc & 1 != 0 { (crc >> 1) ^ 0xEDB8_8320 } else { crc >> 1 };
        }
    }
    !crc
}

/// The bytes of an `.npz` archive holding `arrays` under their names.
pub fn encode_npz(arrays: &[(String, DenseAttr)]) -> Result<Vec<u8>, Diag> {
    let mut out = Vec::new();
    let mut central = Vec::new();
    for (name, array) in arrays {
        let data = encode_npy(array)?;
        let file = format!("{name}.npy");
        let too_big = || Diag::error(Loc::Unknown, format!("array '{name}' is too large for a .npz archive without zip64"));
        let size = u32::try_from(data.len()).map_err(|_| too_big())?;
        let offset = u32::try_from(out.len()).map_err(|_| too_big())?;
        let crc = crc32(&data);
        let name_len = u16::try_from(file.len()).map_err(|_| Diag::error(Loc::Unknown, format!("array name '{name}' is too long")))?;
        // version 2.0, no flags, stored, time/date 0, crc, sizes, name length, no extra.
        let common = |v: &mut Vec<u8>| {
            v.extend_from_slice(&20u16.to_le_bytes());
            v.extend_from_slice(&0u16.to_le_bytes());
            v.extend_from_slice(&0u16.to_le_bytes());
            v.extend_from_slice(&0u32.to_le_bytes());
            v.extend_from_slice(&crc.to_le_bytes());
            v.extend_from_slice(&size.to_le_bytes());
            v.extend_from_slice(&size.to_le_bytes());
            v.extend_from_slice(&name_len.to_le_bytes());
            v.extend_from_slice(&0u16.to_le_bytes());
        };
        out.extend_from_slice(&LOCAL.to_le_bytes());
        common(&mut out);
        out.extend_from_slice(file.as_bytes());
        out.extend_from_slice(&data);
        central.extend_from_slice(&CENTRAL.to_le_bytes());
        central.extend_from_slice(&20u16.to_le_bytes());
        common(&mut central);
        // comment length, disk, internal and external attributes, offset.
        central.extend_from_slice(&[0; 8]);
        central.extend_from_slice(&0u32.to_le_bytes()[..2]);
        central.extend_from_slice(&offset.to_le_bytes());
        central.extend_from_slice(file.as_bytes());
    }
    let count = u16::try_from(arrays.len()).map_err(|_| Diag::error(Loc::Unknown, "too many arrays for a .npz archive"))?;
    let central_offset = u32::try_from(out.len()).map_err(|_| Diag::error(Loc::Unknown, "the .npz archive is too large"))?;
    let central_size = central.len() as u32;
    out.extend_from_slice(&central);
    out.extend_from_slice(&END.to_le_bytes());
    out.extend_from_slice(&[0; 4]);
    out.extend_from_slice(&count.to_le_bytes());
    out.extend_from_slice(&count.to_le_bytes());
    out.extend_from_slice(&central_size.to_le_bytes());
    out.extend_from_slice(&central_offset.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes());
    Ok(out)
}

/// Writes `arrays` as an `.npz` file.
pub fn write_npz(path: &Path, arrays: &[(String, DenseAttr)]) -> Result<(), Diag> {
    let bytes = encode_npz(arrays)?;
    std::fs::write(path, bytes).map_err(|e| Diag::error(Loc::Unknown, format!("cannot write '{}': {e}", path.display())))
}

/// Reads an `.npz` file: its arrays with their names (without `.npy`), in archive order.
pub fn read_npz(path: &Path) -> Result<Vec<(String, DenseAttr)>, Diag> {
    let shown = path.display().to_string();
    let bytes = std::fs::read(path).map_err(|e| Diag::error(Loc::Unknown, format!("cannot read '{shown}': {e}")))?;
    decode_npz(&bytes, &shown)
}

/// Little-endian reads that fail instead of panicking.
struct Reader<'a>(&'a [u8]);

impl Reader<'_> {
    fn bytes(&self, at: usize, n: usize) -> Option<&[u8]> {
        self.0.get(at..at.checked_add(n)?)
    }
    fn u16(&self, at: usize) -> Option<u64> {
        self.bytes(at, 2).map(|b| u64::from(u16::from_le_bytes([b[0], b[1]])))
    }
    fn u32(&self, at: usize) -> Option<u64> {
        self.bytes(at, 4).map(|b| u64::from(u32::from_le_bytes([b[0], b[1], b[2], b[3]])))
    }
    fn u64(&self, at: usize) -> Option<u64> {
        self.bytes(at, 8).map(|b| u64::from_le_bytes(b.try_into().unwrap_or([0; 8])))
    }
}

/// Decodes the bytes of an `.npz` archive; `name` names it in errors.
pub fn decode_npz(bytes: &[u8], name: &str) -> Result<Vec<(String, DenseAttr)>, Diag> {
    let err = |msg: &str| Diag::error(Loc::Unknown, format!("'{name}' is not a valid .npz archive: {msg}"));
    let r = Reader(bytes);
    let end = (0..bytes.len().saturating_sub(21))
        .rev()
        .find(|&i| r.u32(i) == Some(u64::from(END)))
        .ok_or_else(|| err("no end-of-central-directory record"))?;
    let mut count = r.u16(end + 10).ok_or_else(|| err("truncated end record"))?;
    let mut at = r.u32(end + 16).ok_or_else(|| err("truncated end record"))?;
    if count == 0xFFFF || at == 0xFFFF_FFFF {
        // zip64: the locator right before the end record points at the zip64 end record.
        let locator = end.checked_sub(20).ok_or_else(|| err("truncated zip64 locator"))?;
        let record = r.u64(locator + 8).ok_or_else(|| err("truncated zip64 locator"))? as usize;
        count = r.u64(record + 32).ok_or_else(|| err("truncated zip64 end record"))?;
        at = r.u64(record + 48).ok_or_else(|| err("truncated zip64 end record"))?;
    }
    let mut at = at as usize;
    let mut arrays = Vec::new();
    for _ in 0..count {
        if r.u32(at) != Some(u64::from(CENTRAL)) {
            return Err(err("a central directory entry is missing"));
        }
        let field = |off: usize| r.u32(at + off).ok_or_else(|| err("truncated central directory"));
        let method = r.u16(at + 10).ok_or_else(|| err("truncated central directory"))?;
        let (mut size, mut offset) = (field(20)?, field(42)?);
        let name_len = r.u16(at + 28).ok_or_else(|| err("truncated central directory"))? as usize;
        let extra_len = r.u16(at + 30).ok_or_else(|| err("truncated central directory"))? as usize;
        let comment_len = r.u16(at + 32).ok_or_else(|| err("truncated central directory"))? as usize;
        let file = r.bytes(at + 46, name_len).ok_or_else(|| err("truncated file name"))?;
        let file = String::from_utf8_lossy(file).into_owned();
        // A zip64 extra field holds the sizes and offset that did not fit.
        let mut x = at + 46 + name_len;
        let extra_end = x + extra_len;
        while x + 4 <= extra_end {
            let (id, len) = (r.u16(x).unwrap_or(0), r.u16(x + 2).unwrap_or(0) as usize);
            if id == 1 {
                let mut p = x + 4;
                if field(24)? == 0xFFFF_FFFF {
                    p += 8;
                }
                if size == 0xFFFF_FFFF {
                    size = r.u64(p).ok_or_else(|| err("truncated zip64 extra"))?;
                    p += 8;
                }
                if offset == 0xFFFF_FFFF {
                    offset = r.u64(p).ok_or_else(|| err("truncated zip64 extra"))?;
                }
            }
            x += 4 + len;
        }
        if method != 0 {
            return Err(err(&format!("entry '{file}' is compressed (method {method}); only stored archives (numpy.savez) are supported")));
        }
        let local = offset as usize;
        if r.u32(local) != Some(u64::from(LOCAL)) {
            return Err(err(&format!("entry '{file}' has no local header")));
        }
        let local_name = r.u16(local + 26).ok_or_else(|| err("truncated local header"))? as usize;
        let local_extra = r.u16(local + 28).ok_or_else(|| err("truncated local header"))? as usize;
        let data = r.bytes(local + 30 + local_name + local_extra, size as usize).ok_or_else(|| err(&format!("entry '{file}' is truncated")))?;
        let key = file.strip_suffix(".npy").unwrap_or(&file).to_string();
        arrays.push((key, decode_npy(data, &format!("{name}/{file}"))?));
        at += 46 + name_len + extra_len + comment_len;
    }
    Ok(arrays)
}

#[cfg(test)]
mod tests {
    use super::*;
    use tessera_ir::{DType, TensorType};

    #[test]
    fn round_trips_and_checks_its_crc() {
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
        let a = DenseAttr::from_f64s(TensorType::of(&[2, 2], DType::F32), &[1.0, 2.0, 3.0, 4.0]).unwrap();
        let b = DenseAttr::from_f64s(TensorType::scalar(DType::F64), &[0.5]).unwrap();
        let bytes = encode_npz(&[("fc1.weight".into(), a.clone()), ("step".into(), b.clone())]).unwrap();
        let back = decode_npz(&bytes, "test").unwrap();
        assert_eq!(back, vec![("fc1.weight".to_string(), a), ("step".to_string(), b)]);
        assert!(decode_npz(&bytes[..bytes.len() - 30], "cut").is_err());
        assert!(decode_npz(b"", "empty").is_err());
    }
}
