//! A compiled model's interface as its C library presents it: the
//! symbols a caller gives values for, each input's and output's name,
//! dtype and dims, and the sizes the entry point takes; encoded as the
//! runtime's model descriptor reads it (`tessera_runtime::model`).

use crate::abi::{Signature, MESSAGES};
use tessera_ir::{DType, Diag, Dim, Func, SymExpr, Symbol};
use tessera_runtime::model::STATUS_BITS;

/// One input or output.
#[derive(Clone, Debug)]
pub(crate) struct TensorInfo {
    /// Its name, as the model calls it.
    pub(crate) name: String,
    /// Its element type.
    pub(crate) dtype: DType,
    /// Its dims: static, or polynomials over the interface's symbols.
    pub(crate) dims: Vec<Dim>,
}

/// What a caller of a compiled model sees.
#[derive(Clone, Debug)]
pub(crate) struct Interface {
    /// The symbols, in order of first appearance in the inputs' dims.
    pub(crate) symbols: Vec<Symbol>,
    /// The inputs, in order.
    pub(crate) inputs: Vec<TensorInfo>,
    /// The outputs, in order.
    pub(crate) outputs: Vec<TensorInfo>,
    /// The sizes the entry point takes (the signature's symbolic dims).
    pub(crate) entry_dims: Vec<SymExpr>,
}

impl Interface {
    /// The interface of kernel function `func` (signature `sig`) with its
    /// inputs and outputs named. Every input dim must be static or one
    /// symbol (so a caller's shape binds it), and every other size must be
    /// a polynomial over those symbols.
    pub(crate) fn of(func: &Func, sig: &Signature, inputs: &[String], outputs: &[String]) -> Result<Interface, Diag> {
        let fail = |msg: String| Diag::error(func.loc.clone(), format!("@{}: {msg}", func.name));
        if sig.args.len() != inputs.len() + outputs.len() {
            return Err(fail(format!(
                "takes {} buffers, but {} inputs and {} outputs are named",
                sig.args.len(),
                inputs.len(),
                outputs.len()
            )));
        }
        let tensor = |(name, t): (&String, &tessera_ir::TensorType)| TensorInfo {
            name: name.clone(),
            dtype: t.dtype,
            dims: t.dims.clone(),
        };
        let (ins, outs) = sig.args.split_at(inputs.len());
        let inputs: Vec<TensorInfo> = inputs.iter().zip(ins).map(tensor).collect();
        let outputs: Vec<TensorInfo> = outputs.iter().zip(outs).map(tensor).collect();
        let mut symbols: Vec<Symbol> = Vec::new();
        for t in &inputs {
            for (axis, d) in t.dims.iter().enumerate() {
                match (d, d.as_symbol()) {
                    (Dim::Known(_), _) => {}
                    (_, Some(s)) => {
                        if !symbols.contains(&s) {
                            symbols.push(s);
                        }
                    }
                    _ => {
                        return Err(fail(format!(
                            "input '{}' dim {axis} is {d}; a compiled library's inputs need static dims or single symbols",
                            t.name
                        )))
                    }
                }
            }
        }
        let covered = |e: &SymExpr| e.symbols().find(|s| !symbols.contains(s)).cloned();
        for t in &outputs {
            for d in &t.dims {
                if let Some(s) = d.expr().as_ref().and_then(covered) {
                    return Err(fail(format!("output '{}' has a dim ({d}) with symbol {s}, which no input has", t.name)));
                }
            }
        }
        let entry_dims = sig.dims.iter().filter_map(Dim::expr).collect::<Vec<_>>();
        if let Some(s) = entry_dims.iter().find_map(covered) {
            return Err(fail(format!("an intermediate size depends on symbol {s}, which no input has")));
        }
        Ok(Interface { symbols, inputs, outputs, entry_dims })
    }

    /// The descriptor's words and string table (layout: the module doc of
    /// `tessera_runtime::model`).
    pub(crate) fn encode(&self) -> (Vec<i64>, Vec<u8>) {
        let mut e = Encoder::default();
        e.words.push(self.symbols.len() as i64);
        for s in &self.symbols {
            let at = e.string(s.as_str());
            e.words.push(at);
        }
        e.words.extend([self.inputs.len() as i64, self.outputs.len() as i64]);
        let mut polys: Vec<(usize, SymExpr)> = Vec::new();
        for t in self.inputs.iter().chain(&self.outputs) {
            let name = e.string(&t.name);
            e.words.extend([name, i64::from(dtype_code(t.dtype)), t.dims.len() as i64]);
            for d in &t.dims {
                polys.push((e.words.len(), d.expr().unwrap_or_default()));
                let dim_name = match d {
                    Dim::Known(_) => -1,
                    other => e.string(&other.to_string()),
                };
                e.words.extend([0, dim_name]);
            }
        }
        e.words.push(self.entry_dims.len() as i64);
        for d in &self.entry_dims {
            polys.push((e.words.len(), d.clone()));
            e.words.push(0);
        }
        for bit in 0..STATUS_BITS as u32 {
            let message = MESSAGES.iter().find(|(b, _)| *b == 1 << bit).map(|(_, m)| *m);
            let at = message.map_or(-1, |m| e.string(m));
            e.words.push(at);
        }
        for (slot, poly) in polys {
            e.words[slot] = e.words.len() as i64;
            let terms: Vec<_> = poly.terms().collect();
            e.words.push(terms.len() as i64);
            for (monomial, coefficient) in terms {
                e.words.extend([coefficient, monomial.len() as i64]);
                e.words.extend(monomial.iter().map(|s| self.symbols.iter().position(|x| x == s).unwrap_or(0) as i64));
            }
        }
        (e.words, e.strings)
    }
}

/// The runtime's numeric code of `dtype` (ONNX's `TensorProto.DataType`),
/// as the C API and the model descriptor carry it.
pub fn dtype_code(dtype: DType) -> i32 {
    let name = dtype.to_string();
    tessera_runtime::DType::ALL.iter().find(|d| d.name() == name).map_or(0, |d| d.code())
}

/// Words and strings being written.
#[derive(Default)]
struct Encoder {
    words: Vec<i64>,
    strings: Vec<u8>,
}

impl Encoder {
    /// The offset of `s` in the string table, added if new.
    /// A NUL inside `s` (C strings cannot hold one) becomes `?`.
    fn string(&mut self, s: &str) -> i64 {
        let needle: Vec<u8> = s.bytes().map(|b| if b == 0 { b'?' } else { b }).chain([0]).collect();
        let mut start = 0;
        for part in self.strings.split_inclusive(|&b| b == 0) {
            if part == needle.as_slice() {
                return start as i64;
            }
            start += part.len();
        }
        let at = self.strings.len();
        self.strings.extend(needle);
        at as i64
    }
}
