//! The text printer. Its output is the fixture format and parses back to
//! an identical module (see `parse`).
//!
//! ```text
//! param @fc.weight = dense_resource<blob0> : tensor<10x784xf32>
//! func @mlp(%x: tensor<N x 784 x f32>) -> tensor<N x 10 x f32> {
//!   %w = tg.param @fc.weight : tensor<10x784xf32>
//!   %0 = tg.dot %x, %w {lhs_contract = [1], rhs_contract = [1]} : tensor<N x 10 x f32>
//!   tg.return %0
//! }
//! resources {
//!   blob0 = "0x0000803f..."
//! }
//! ```
//!
//! An op prints as `results = name [@sym] operands [{attrs}] [: types]
//! [{region} ...] [loc(...)]`. Dense constants of up to
//! [`INLINE_ELEMENTS`] elements (and splats of any size) print inline; larger
//! ones go to the trailing `resources` section as hex, so a 40 MB weight
//! never becomes millions of decimal numbers in the body.

use crate::attr::{write_float, Attr, DenseAttr, Scalar};
use crate::dim::Dim;
use crate::func::Func;
use crate::id::{BlockId, OpId, RegionId, ValueId};
use crate::module::Module;
use std::collections::{HashMap, HashSet};
use std::fmt::Write;

/// Dense constants with at most this many elements print inline.
pub const INLINE_ELEMENTS: usize = 16;

/// How to print.
#[derive(Clone, Debug, Default)]
pub struct PrintOptions {
    /// Print each op's and function's location as a trailing `loc(...)`.
    pub locs: bool,
    /// Replace resource blobs larger than this many bytes by a size and a
    /// hash (for reading, not for parsing back).
    pub elide_resources_over: Option<usize>,
}

/// Prints a module in the canonical text format.
pub fn print_module(module: &Module) -> String {
    print_module_with(module, &PrintOptions::default())
}

/// Prints a module with options.
pub fn print_module_with(module: &Module, options: &PrintOptions) -> String {
    let mut p = Printer { out: String::new(), options, resources: Vec::new() };
    for param in &module.params {
        write!(p.out, "param @{}", symbol_text(&param.name)).unwrap();
        match &param.init {
            Some(init) => {
                p.out.push_str(" = ");
                p.dense(init);
            }
            None => write!(p.out, " : {}", param.ty).unwrap(),
        }
        p.loc(&param.loc);
        p.out.push('\n');
    }
    for func in &module.funcs {
        FuncPrinter::new(&mut p, func).func();
    }
    p.resource_section();
    p.out
}

/// Prints one function (with its large constants inline as hex blobs in a
/// trailing resources section, as for a module).
pub fn print_func(func: &Func) -> String {
    let options = PrintOptions::default();
    let mut p = Printer { out: String::new(), options: &options, resources: Vec::new() };
    FuncPrinter::new(&mut p, func).func();
    p.resource_section();
    p.out
}

struct Printer<'o> {
    out: String,
    options: &'o PrintOptions,
    resources: Vec<DenseAttr>,
}

impl Printer<'_> {
    fn loc(&mut self, loc: &crate::loc::Loc) {
        if self.options.locs {
            write!(self.out, " {loc}").unwrap();
        }
    }

    fn attr(&mut self, attr: &Attr) {
        match attr {
            Attr::Bool(b) => write!(self.out, "{b}").unwrap(),
            Attr::Int(v) => write!(self.out, "{v}").unwrap(),
            Attr::Float(v) => write_float(&mut self.out, crate::dtype::DType::F64, *v).unwrap(),
            Attr::Str(s) => write!(self.out, "{}", quote(s)).unwrap(),
            Attr::SymbolRef(s) => write!(self.out, "@{}", symbol_text(s)).unwrap(),
            Attr::DType(d) => write!(self.out, "{d}").unwrap(),
            Attr::Array(items) => {
                self.out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        self.out.push_str(", ");
                    }
                    self.attr(item);
                }
                self.out.push(']');
            }
            Attr::Shape(dims) => {
                let parts: Vec<String> = dims.iter().map(Dim::to_string).collect();
                write!(self.out, "[{}]", parts.join(", ")).unwrap();
            }
            Attr::Dense(d) => self.dense(d),
        }
    }

    fn dense(&mut self, d: &DenseAttr) {
        if let Some(v) = d.splat_value() {
            write!(self.out, "dense<{v}> : {}", d.ty()).unwrap();
        } else if d.len() <= INLINE_ELEMENTS {
            let dims = d.ty().static_dims().unwrap_or_default();
            let mut next = 0;
            self.out.push_str("dense<");
            self.nested(d, &dims, &mut next);
            write!(self.out, "> : {}", d.ty()).unwrap();
        } else {
            let index = match self.resources.iter().position(|r| r == d) {
                Some(i) => i,
                None => {
                    self.resources.push(d.clone());
                    self.resources.len() - 1
                }
            };
            write!(self.out, "dense_resource<blob{index}> : {}", d.ty()).unwrap();
        }
    }

    fn nested(&mut self, d: &DenseAttr, dims: &[u64], next: &mut usize) {
        let Some((&n, rest)) = dims.split_first() else {
            write!(self.out, "{}", d.get(*next)).unwrap();
            *next += 1;
            return;
        };
        self.out.push('[');
        for i in 0..n {
            if i > 0 {
                self.out.push_str(", ");
            }
            self.nested(d, rest, next);
        }
        self.out.push(']');
    }

    fn resource_section(&mut self) {
        if self.resources.is_empty() {
            return;
        }
        self.out.push_str("resources {\n");
        for (i, blob) in std::mem::take(&mut self.resources).iter().enumerate() {
            match self.options.elide_resources_over {
                Some(limit) if blob.bytes().len() > limit => {
                    writeln!(self.out, "  blob{i} = elided({} bytes, fnv1a {:016x})", blob.bytes().len(), fnv1a(blob.bytes()))
                        .unwrap();
                }
                _ => {
                    write!(self.out, "  blob{i} = \"0x").unwrap();
                    for byte in blob.bytes() {
                        write!(self.out, "{byte:02x}").unwrap();
                    }
                    self.out.push_str("\"\n");
                }
            }
        }
        self.out.push_str("}\n");
    }
}

struct FuncPrinter<'p, 'o> {
    p: &'p mut Printer<'o>,
    func: &'p Func,
    names: HashMap<ValueId, String>,
    taken: HashSet<String>,
    next_number: usize,
    block_labels: HashMap<BlockId, String>,
}

impl<'p, 'o> FuncPrinter<'p, 'o> {
    fn new(p: &'p mut Printer<'o>, func: &'p Func) -> Self {
        let mut fp =
            FuncPrinter { p, func, names: HashMap::new(), taken: HashSet::new(), next_number: 0, block_labels: HashMap::new() };
        fp.assign_names();
        fp
    }

    /// Names every value: its hint when free, else the hint with a suffix
    /// that no other hint uses, else the next number.
    fn assign_names(&mut self) {
        let func = self.func;
        let hints: HashSet<&str> = self.all_values().iter().filter_map(|&v| func.value(v).name.as_deref()).collect();
        let mut order = Vec::new();
        self.collect_region(func.body(), &mut order);
        for v in order {
            let name = match func.value(v).name.as_deref() {
                Some(hint) if !self.taken.contains(hint) => hint.to_string(),
                Some(hint) => (1..)
                    .map(|k| format!("{hint}_{k}"))
                    .find(|n| !self.taken.contains(n) && !hints.contains(n.as_str()))
                    .unwrap(),
                None => {
                    self.next_number += 1;
                    (self.next_number - 1).to_string()
                }
            };
            self.taken.insert(name.clone());
            self.names.insert(v, name);
        }
    }

    fn all_values(&self) -> Vec<ValueId> {
        let mut order = Vec::new();
        self.collect_region(self.func.body(), &mut order);
        order
    }

    fn collect_region(&self, region: RegionId, out: &mut Vec<ValueId>) {
        for &b in &self.func.region(region).blocks {
            out.extend(self.func.block(b).args.iter().copied());
            for &op in &self.func.block(b).ops {
                out.extend(self.func.op(op).results.iter().copied());
                for &r in &self.func.op(op).regions {
                    self.collect_region(r, out);
                }
            }
        }
    }

    fn name(&self, v: ValueId) -> String {
        match self.names.get(&v) {
            Some(n) => format!("%{n}"),
            None => format!("%<<undefined {v:?}>>"),
        }
    }

    fn func(&mut self) {
        let func = self.func;
        let args: Vec<String> = func.args().iter().map(|&a| format!("{}: {}", self.name(a), func.ty(a))).collect();
        write!(self.p.out, "func @{}({})", symbol_text(&func.name), args.join(", ")).unwrap();
        match func.results.as_slice() {
            [] => {}
            [one] => write!(self.p.out, " -> {one}").unwrap(),
            many => {
                let tys: Vec<String> = many.iter().map(|t| t.to_string()).collect();
                write!(self.p.out, " -> ({})", tys.join(", ")).unwrap();
            }
        }
        self.p.loc(&func.loc);
        self.p.out.push_str(" {\n");
        self.region_body(func.body(), 1);
        self.p.out.push_str("}\n");
    }

    fn region_body(&mut self, region: RegionId, depth: usize) {
        let blocks = self.func.region(region).blocks.clone();
        for (i, &b) in blocks.iter().enumerate() {
            let is_func_entry = depth == 1 && i == 0;
            if !is_func_entry && (i > 0 || !self.func.block(b).args.is_empty()) {
                self.block_label(b, depth);
            }
            for &op in &self.func.block(b).ops {
                self.op(op, depth);
            }
        }
    }

    fn block_label(&mut self, b: BlockId, depth: usize) {
        let n = self.block_labels.len();
        let label = self.block_labels.entry(b).or_insert_with(|| format!("bb{n}")).clone();
        let args: Vec<String> =
            self.func.block(b).args.iter().map(|&a| format!("{}: {}", self.name(a), self.func.ty(a))).collect();
        let indent = "  ".repeat(depth - 1);
        if args.is_empty() {
            writeln!(self.p.out, "{indent}^{label}:").unwrap();
        } else {
            writeln!(self.p.out, "{indent}^{label}({}):", args.join(", ")).unwrap();
        }
    }

    fn op(&mut self, op: OpId, depth: usize) {
        let data = self.func.op(op);
        let indent = "  ".repeat(depth);
        self.p.out.push_str(&indent);
        if !data.results.is_empty() {
            let names: Vec<String> = data.results.iter().map(|&r| self.name(r)).collect();
            write!(self.p.out, "{} = ", names.join(", ")).unwrap();
        }
        self.p.out.push_str(data.def.name());
        let sym = data.attrs.get("sym");
        if let Some(Attr::SymbolRef(s)) = sym {
            write!(self.p.out, " @{}", symbol_text(s)).unwrap();
        }
        if !data.operands.is_empty() {
            let names: Vec<String> = data.operands.iter().map(|&v| self.name(v)).collect();
            write!(self.p.out, " {}", names.join(", ")).unwrap();
        }
        let rest: Vec<(&str, &Attr)> =
            data.attrs.iter().filter(|(k, v)| !(*k == "sym" && matches!(v, Attr::SymbolRef(_)))).collect();
        if !rest.is_empty() {
            self.p.out.push_str(" {");
            for (i, (k, v)) in rest.into_iter().enumerate() {
                if i > 0 {
                    self.p.out.push_str(", ");
                }
                write!(self.p.out, "{} = ", attr_key_text(k)).unwrap();
                self.p.attr(v);
            }
            self.p.out.push('}');
        }
        if !data.results.is_empty() {
            let tys: Vec<String> = data.results.iter().map(|&r| self.func.ty(r).to_string()).collect();
            write!(self.p.out, " : {}", tys.join(", ")).unwrap();
        }
        for &r in &data.regions {
            self.p.out.push_str(" {\n");
            self.region_body(r, depth + 1);
            write!(self.p.out, "{indent}}}").unwrap();
        }
        self.p.loc(&data.loc);
        self.p.out.push('\n');
    }
}

/// Whether `s` may be written bare after `@` or `%` (else it is quoted).
pub fn is_bare_name(s: &str) -> bool {
    !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || "_.$-".contains(c))
}

fn symbol_text(s: &str) -> String {
    if is_bare_name(s) {
        s.to_string()
    } else {
        quote(s)
    }
}

fn attr_key_text(k: &str) -> String {
    if !k.is_empty() && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') && !k.starts_with(|c: char| c.is_ascii_digit()) {
        k.to_string()
    } else {
        quote(k)
    }
}

/// A double-quoted string with `\"`, `\\`, `\n`, `\t` and `\u{..}` escapes.
pub fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => write!(out, "\\u{{{:x}}}", c as u32).unwrap(),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// The 64-bit FNV-1a hash, used to fingerprint elided blobs.
pub fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &b| (h ^ b as u64).wrapping_mul(0x100_0000_01b3))
}

impl std::fmt::Display for Scalar {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match *self {
            Scalar::Bool(b) => write!(f, "{b}"),
            Scalar::Int(_, v) => write!(f, "{v}"),
            Scalar::UInt(_, v) => write!(f, "{v}"),
            Scalar::Float(d, v) => write_float(f, d, v),
        }
    }
}
