//! Compiled models as generated libraries describe them to the runtime.
//!
//! A library made by `tessera compile` holds one [`RawModel`] in read-only
//! data: its entry point and, in a flat array of integers with a table of
//! NUL-terminated strings, its interface — symbol names, each input's and
//! output's name, dtype and dims, the dims the entry point takes, and what
//! each status bit of the entry point means. Its `NAME_*` functions forward
//! to the `tessera_rt_model_*` functions ([`ffi`]), which decode the
//! descriptor once ([`Model::of`]), check the caller's arguments and run
//! the entry point ([`run`]). A library with a training step holds several
//! descriptors (one per exported entry point) and two [`RawTable`]s: the
//! parameters' initial values and the optimiser state's sizes.
//!
//! # The words (ABI version 1)
//!
//! All entries are `int64_t`; a string is an offset into the string table;
//! a dim is an offset (into the words) of a polynomial.
//!
//! ```text
//! n_symbols, name × n_symbols
//! n_inputs, n_outputs
//! per tensor (inputs, then outputs): name, dtype, rank, (poly, dim_name or -1) × rank
//! n_entry_dims, poly × n_entry_dims
//! message or -1 × 32            (what status bit k of the entry point means)
//! polynomials: n_terms, (coefficient, n_factors, symbol × n_factors) × n_terms
//! ```
//!
//! A polynomial's factors repeat a symbol for its powers; a dim with no
//! symbols has one constant term (or none, for 0).

pub mod ffi;
pub mod run;

use crate::error::{RuntimeError, Status};
use std::ffi::{c_char, CStr};
use std::sync::{Arc, Mutex, OnceLock};

/// The descriptor layout this runtime reads.
pub const ABI_VERSION: u32 = 1;

/// The number of status bits an entry point may return.
pub const STATUS_BITS: usize = 32;

/// A generated entry point: `int32_t f(void *const *buffers, const int64_t *dims)`,
/// buffers being the inputs then the outputs, dims the values of the entry
/// dims; 0 or a set of status bits.
pub type Entry = unsafe extern "C" fn(buffers: *const *mut u8, dims: *const i64) -> u32;

/// C's `tessera_rt_model`, emitted by the code generator as a constant.
#[repr(C)]
#[derive(Debug)]
pub struct RawModel {
    /// [`ABI_VERSION`] of the layout below.
    pub abi_version: u32,
    /// Zero.
    pub reserved: u32,
    /// The words (see the module doc).
    pub words: *const i64,
    /// How many words.
    pub n_words: usize,
    /// The string table: NUL-terminated UTF-8 strings back to back.
    pub strings: *const c_char,
    /// The string table's size in bytes.
    pub n_strings: usize,
    /// The entry point.
    pub entry: Option<Entry>,
}

/// C's `tessera_rt_table`: named byte arrays a generated library exports
/// beside a training step — its parameters' initial values (`data` in
/// read-only memory) or the sizes of its optimiser state (`data` null:
/// zeros). Read through `tessera_rt_table_*` ([`ffi`]).
#[repr(C)]
#[derive(Debug)]
pub struct RawTable {
    /// How many entries.
    pub count: usize,
    /// `count` entries.
    pub entries: *const RawTableEntry,
}

/// One entry of a [`RawTable`].
#[repr(C)]
#[derive(Debug)]
pub struct RawTableEntry {
    /// Its name, NUL-terminated.
    pub name: *const c_char,
    /// Its size in bytes.
    pub size: usize,
    /// Its initial bytes (`size` of them), or null for zeros.
    pub data: *const u8,
}

/// A polynomial over the model's symbols with integer coefficients.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Poly(pub Vec<(i64, Vec<usize>)>);

impl Poly {
    /// The constant this is, if it has no symbols.
    pub fn constant(&self) -> Option<i64> {
        match self.0.as_slice() {
            [] => Some(0),
            [(c, f)] if f.is_empty() => Some(*c),
            _ => None,
        }
    }

    /// The symbol this is, if it is exactly one symbol.
    pub fn symbol(&self) -> Option<usize> {
        match self.0.as_slice() {
            [(1, f)] if f.len() == 1 => Some(f[0]),
            _ => None,
        }
    }

    /// The value at the symbols' `values`; `None` on overflow.
    pub fn eval(&self, values: &[i64]) -> Option<i64> {
        self.0.iter().try_fold(0i64, |sum, (c, factors)| {
            let term = factors.iter().try_fold(*c, |p, &s| p.checked_mul(*values.get(s)?))?;
            sum.checked_add(term)
        })
    }
}

/// One dim of an input or output.
#[derive(Clone, Debug)]
pub struct ModelDim {
    /// Its size as a polynomial over the symbols.
    pub size: Poly,
    /// How it reads (`N`, `2*N`) when it is not static.
    pub name: Option<&'static CStr>,
}

/// One input or output.
#[derive(Clone, Debug)]
pub struct ModelTensor {
    /// Its name.
    pub name: &'static CStr,
    /// Its dtype's numeric code (validated).
    pub dtype: crate::DType,
    /// Its dims.
    pub dims: Vec<ModelDim>,
}

/// A descriptor's address with its decoded form.
type Decoded = (usize, Arc<Model>);

/// A decoded model descriptor.
#[derive(Debug)]
pub struct Model {
    /// The symbols' names, by number.
    pub symbols: Vec<&'static CStr>,
    /// The inputs, in order.
    pub inputs: Vec<ModelTensor>,
    /// The outputs, in order.
    pub outputs: Vec<ModelTensor>,
    /// The dims the entry point takes, in order.
    pub entry_dims: Vec<Poly>,
    /// What each status bit of the entry point means.
    pub messages: Vec<Option<&'static CStr>>,
    /// The entry point.
    pub entry: Entry,
}

impl Model {
    /// The decoded form of `raw`, decoded once per descriptor and kept.
    ///
    /// # Safety
    /// `raw` points to a descriptor in static memory whose arrays hold the
    /// counts it states (as generated libraries emit them).
    pub unsafe fn of(raw: *const RawModel) -> Result<Arc<Model>, RuntimeError> {
        // A list, not a hash map: a process holds a few models, and a leak
        // checker sees the list's elements as reachable from its start.
        static DECODED: OnceLock<Mutex<Vec<Decoded>>> = OnceLock::new();
        let Some(raw_ref) = (unsafe { raw.as_ref() }) else {
            return Err(RuntimeError::new(Status::NullArgument, "model descriptor is null"));
        };
        let cache = DECODED.get_or_init(Default::default);
        let mut decoded = cache.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((_, m)) = decoded.iter().find(|(at, _)| *at == raw as usize) {
            return Ok(m.clone());
        }
        // SAFETY: per the contract.
        let model = Arc::new(unsafe { decode(raw_ref) }.map_err(corrupt)?);
        decoded.push((raw as usize, model.clone()));
        Ok(model)
    }

    /// The inputs (`output` false) or outputs.
    pub fn tensors(&self, output: bool) -> &[ModelTensor] {
        if output {
            &self.outputs
        } else {
            &self.inputs
        }
    }
}

/// The error for a descriptor that does not decode.
fn corrupt(what: String) -> RuntimeError {
    RuntimeError::new(Status::Internal, format!("corrupt model descriptor: {what}"))
}

/// Decodes a descriptor.
///
/// # Safety
/// As for [`Model::of`].
unsafe fn decode(raw: &RawModel) -> Result<Model, String> {
    if raw.abi_version != ABI_VERSION {
        return Err(format!("ABI version {} (this runtime reads {ABI_VERSION})", raw.abi_version));
    }
    if raw.words.is_null() || raw.strings.is_null() {
        return Err("null table".into());
    }
    // SAFETY: per the contract: static arrays of the stated sizes.
    let words: &'static [i64] = unsafe { std::slice::from_raw_parts(raw.words, raw.n_words) };
    let strings: &'static [u8] = unsafe { std::slice::from_raw_parts(raw.strings.cast(), raw.n_strings) };
    let entry = raw.entry.ok_or("no entry point")?;
    let mut r = Reader { words, strings, at: 0 };
    let n_symbols = r.count()?;
    let symbols = (0..n_symbols).map(|_| r.string()).collect::<Result<Vec<_>, _>>()?;
    let (n_inputs, n_outputs) = (r.count()?, r.count()?);
    let mut tensors = (0..n_inputs + n_outputs).map(|_| r.tensor(n_symbols)).collect::<Result<Vec<_>, _>>()?;
    let outputs = tensors.split_off(n_inputs);
    let n_entry_dims = r.count()?;
    let entry_dims = (0..n_entry_dims).map(|_| r.poly_at(n_symbols)).collect::<Result<Vec<_>, _>>()?;
    let messages = (0..STATUS_BITS).map(|_| r.optional_string()).collect::<Result<Vec<_>, _>>()?;
    Ok(Model { symbols, inputs: tensors, outputs, entry_dims, messages, entry })
}

/// A cursor over a descriptor's words.
struct Reader {
    words: &'static [i64],
    strings: &'static [u8],
    at: usize,
}

impl Reader {
    /// The next word.
    fn word(&mut self) -> Result<i64, String> {
        let w = *self.words.get(self.at).ok_or("truncated words")?;
        self.at += 1;
        Ok(w)
    }

    /// The next word as a count (at most the number of words, so a corrupt
    /// count cannot ask for a huge allocation).
    fn count(&mut self) -> Result<usize, String> {
        let w = self.word()?;
        usize::try_from(w).ok().filter(|&n| n <= self.words.len()).ok_or_else(|| format!("bad count {w}"))
    }

    /// The string the next word points at.
    fn string(&mut self) -> Result<&'static CStr, String> {
        self.optional_string()?.ok_or_else(|| "missing string".into())
    }

    /// The string the next word points at, `None` for -1.
    fn optional_string(&mut self) -> Result<Option<&'static CStr>, String> {
        let w = self.word()?;
        if w == -1 {
            return Ok(None);
        }
        let tail = usize::try_from(w).ok().and_then(|o| self.strings.get(o..)).ok_or("bad string offset")?;
        CStr::from_bytes_until_nul(tail).map(Some).map_err(|_| "unterminated string".into())
    }

    /// The tensor at the cursor.
    fn tensor(&mut self, n_symbols: usize) -> Result<ModelTensor, String> {
        let name = self.string()?;
        let code = self.word()?;
        let dtype = i32::try_from(code).ok().and_then(crate::DType::from_code).ok_or(format!("bad dtype {code}"))?;
        let rank = self.count()?;
        let dims = (0..rank)
            .map(|_| Ok(ModelDim { size: self.poly_at(n_symbols)?, name: self.optional_string()? }))
            .collect::<Result<Vec<_>, String>>()?;
        Ok(ModelTensor { name, dtype, dims })
    }

    /// The polynomial at the offset the next word gives.
    fn poly_at(&mut self, n_symbols: usize) -> Result<Poly, String> {
        let offset = self.count()?;
        let mut p = Reader { words: self.words, strings: self.strings, at: offset };
        let n_terms = p.count()?;
        let mut terms = Vec::with_capacity(n_terms);
        for _ in 0..n_terms {
            let c = p.word()?;
            let n = p.count()?;
            let factors = (0..n)
                .map(|_| p.count().and_then(|s| if s < n_symbols { Ok(s) } else { Err(format!("bad symbol {s}")) }))
                .collect::<Result<Vec<_>, _>>()?;
            terms.push((c, factors));
        }
        Ok(Poly(terms))
    }
}

#[cfg(test)]
mod tests {
    use super::run::{run, Args};
    use super::*;
    use std::ffi::c_void;

    /// Doubles each element of input 0 (f32, `[N, 2]`) into output 0
    /// (`[2*N]`); status bit 0 when the first element is negative.
    unsafe extern "C" fn double(buffers: *const *mut u8, dims: *const i64) -> u32 {
        // SAFETY: called by `run` with one input and one output of 2*N f32s.
        unsafe {
            let n = *dims as usize;
            let x = std::slice::from_raw_parts(*buffers as *const f32, n);
            let y = std::slice::from_raw_parts_mut(*buffers.add(1) as *mut f32, n);
            for (a, b) in x.iter().zip(y) {
                *b = 2.0 * a;
            }
            u32::from(x.first().is_some_and(|v| *v < 0.0))
        }
    }

    /// A descriptor for `double`: symbol N; x: f32 [N, 2]; y: f32 [2*N];
    /// one entry dim, 2*N; status bit 0 "negative input".
    fn descriptor() -> RawModel {
        let strings: &'static [u8] = b"N\0x\0y\0negative input\x002*N\0";
        let mut words = vec![1, 0, 1, 1];
        // x: name 2, f32, rank 2, dims (poly N, name "N"), (poly 2, none)
        words.extend([2, 1, 2, 100, 0, 104, -1]);
        // y: name 4, f32, rank 1, dim (poly 2N, name "2*N")
        words.extend([4, 1, 1, 107, 21]);
        words.extend([1, 107]);
        words.push(6);
        words.extend([-1; STATUS_BITS - 1]);
        words.resize(100, 0);
        words.extend([1, 1, 1, 0]); // 100: N
        words.extend([1, 2, 0]); // 104: 2
        words.extend([1, 2, 1, 0]); // 107: 2*N
        let words: &'static [i64] = Box::leak(words.into_boxed_slice());
        RawModel {
            abi_version: ABI_VERSION,
            reserved: 0,
            words: words.as_ptr(),
            n_words: words.len(),
            strings: strings.as_ptr().cast(),
            n_strings: strings.len(),
            entry: Some(double),
        }
    }

    #[test]
    fn decodes_a_descriptor_and_runs_its_entry() {
        let raw: &'static RawModel = Box::leak(Box::new(descriptor()));
        // SAFETY: a static descriptor with consistent tables.
        let m = unsafe { Model::of(raw) }.unwrap();
        assert_eq!(m.symbols[0].to_str(), Ok("N"));
        assert_eq!(m.inputs[0].dims[1].size.constant(), Some(2));
        assert_eq!(m.outputs[0].dims[0].name.map(|n| n.to_str().unwrap()), Some("2*N"));
        assert_eq!(m.entry_dims[0].eval(&[3]), Some(6));
        let x = [1f32, 2.0, 3.0, 4.0, 5.0, 6.0];
        let mut y = [0f32; 6];
        let inputs = [x.as_ptr().cast::<c_void>()];
        let outputs = [y.as_mut_ptr().cast::<c_void>()];
        run(&m, &Args::Pointers { inputs: &inputs, outputs: &outputs, symbols: &[3] }).unwrap();
        assert_eq!(y, [2.0, 4.0, 6.0, 8.0, 10.0, 12.0]);
        let neg = [-1f32, 0.0];
        let err = run(&m, &Args::Pointers { inputs: &[neg.as_ptr().cast()], outputs: &outputs, symbols: &[1] }).unwrap_err();
        assert_eq!((err.status, err.message.as_str()), (Status::Execution, "negative input"));
        let err = run(&m, &Args::Pointers { inputs: &inputs, outputs: &outputs, symbols: &[i64::MAX] }).unwrap_err();
        assert_eq!(err.status, Status::SizeOverflow);
    }

    #[test]
    fn a_corrupt_descriptor_is_an_error() {
        let mut raw = descriptor();
        raw.n_words = 5;
        let raw: &'static RawModel = Box::leak(Box::new(raw));
        // SAFETY: the tables are valid; only the count lies (shorter).
        let err = unsafe { Model::of(raw) }.unwrap_err();
        assert_eq!(err.status, Status::Internal);
        assert!(err.message.starts_with("corrupt model descriptor"), "{}", err.message);
    }

    #[test]
    fn polynomials_evaluate_with_overflow_checks() {
        let p = Poly(vec![(3, vec![0, 1]), (-1, vec![])]);
        assert_eq!(p.eval(&[2, 5]), Some(29));
        assert_eq!(p.eval(&[i64::MAX, 2]), None);
        assert_eq!(Poly(vec![]).constant(), Some(0));
        assert_eq!(Poly(vec![(1, vec![0])]).symbol(), Some(0));
    }
}
