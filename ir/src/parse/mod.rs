//! The text parser: the inverse of [`crate::print`]. It reports every error
//! it finds (recovering at the next line), each located at `file:line:col`.
//!
//! Result types after `:` may be omitted; the parser then infers them with
//! each op's hook, which is how fixtures show shape inference. Values must
//! be defined before use (no forward references). A `tg.call` to a function
//! defined further down needs its result types written out.

mod cursor;
mod syntax;

use crate::attr::{Attr, Attrs};
use crate::builder::infer_types;
use crate::diag::{Diag, Diags};
use crate::dialect;
use crate::func::Func;
use crate::id::{BlockId, RegionId, ValueId};
use crate::loc::Loc;
use crate::module::{Module, Param};
use crate::types::Type;
use cursor::Cursor;
pub use syntax::parse_type as parse_type_at;
use syntax::{parse_attr, parse_dense, parse_type, symbol_name, Resources};
use std::collections::{HashMap, HashSet};
use std::sync::Arc;

/// Parses a module; `file` names the source in locations and diagnostics.
pub fn parse_module(src: &str, file: &str) -> Result<Module, Diags> {
    let file: Arc<str> = Arc::from(file);
    let mut diags = Vec::new();
    let (body_end, resources) = resource_section(src, &file, &mut diags);
    let mut p = Parser { c: Cursor::new(&src[..body_end], file), resources, diags, module: Module::new() };
    p.module_items();
    if p.diags.is_empty() {
        Ok(p.module)
    } else {
        Err(Diags(p.diags))
    }
}

/// Parses a type written alone (`tensor<N x 4 x f32>`), e.g. from a command line.
pub fn parse_type_str(text: &str) -> Result<Type, Diag> {
    let mut c = Cursor::new(text, Arc::from("<type>"));
    let t = parse_type(&mut c)?;
    c.skip_ws();
    if !c.at_end() {
        return Err(c.error(format!("unexpected {} after the type", c.describe_next())));
    }
    Ok(t)
}

/// Finds the trailing `resources { key = "0x..." ... }` section (a line
/// starting with `resources {`), parses it, and returns where the body ends.
fn resource_section(src: &str, file: &Arc<str>, diags: &mut Vec<Diag>) -> (usize, Resources) {
    let mut resources = Resources::new();
    let start = if src.starts_with("resources {") { Some(0) } else { src.find("\nresources {").map(|i| i + 1) };
    let Some(start) = start else { return (src.len(), resources) };
    let mut c = Cursor::new(src, file.clone());
    while c.pos().offset < start {
        c.bump();
    }
    c.eat("resources");
    if let Err(d) = c.expect("{") {
        diags.push(d);
        return (start, resources);
    }
    loop {
        if c.eat("}") {
            break;
        }
        c.skip_ws();
        let here = c.loc();
        let entry = (|| {
            let key = c.bare_name().ok_or_else(|| c.error(format!("expected a resource key, found {}", c.describe_next())))?;
            c.expect("=")?;
            c.skip_ws();
            if c.rest().starts_with("elided(") {
                return Err(c.error(format!(
                    "resource '{key}' was elided when printed; print the module without elision to parse it"
                )));
            }
            let text = c.string()?;
            let hex = text.strip_prefix("0x").ok_or_else(|| Diag::error(here.clone(), "a resource blob is a \"0x...\" hex string"))?;
            Ok::<_, Diag>((key.to_string(), decode_hex(hex).ok_or_else(|| Diag::error(here.clone(), "malformed hex in resource blob"))?))
        })();
        match entry {
            Ok((key, bytes)) => {
                resources.insert(key, bytes.into());
            }
            Err(d) => {
                diags.push(d);
                c.skip_line();
                if c.at_end() {
                    break;
                }
            }
        }
    }
    c.skip_ws();
    if !c.at_end() {
        diags.push(c.error("nothing may follow the resources section"));
    }
    (start, resources)
}

fn decode_hex(hex: &str) -> Option<Vec<u8>> {
    if !hex.len().is_multiple_of(2) {
        return None;
    }
    (0..hex.len()).step_by(2).map(|i| u8::from_str_radix(hex.get(i..i + 2)?, 16).ok()).collect()
}

/// An op that could not be built: a located error, or silence because an
/// operand already failed (its error was reported where it was defined).
enum OpFailure {
    Error(Diag),
    Poisoned,
}

impl From<Diag> for OpFailure {
    fn from(d: Diag) -> OpFailure {
        OpFailure::Error(d)
    }
}

struct Parser<'s> {
    c: Cursor<'s>,
    resources: Resources,
    diags: Vec<Diag>,
    module: Module,
}

/// Names visible while parsing one function. A name may be reused in a
/// sibling region but never shadows a visible one.
#[derive(Default)]
struct Scope {
    visible: HashMap<String, ValueId>,
    /// Names introduced in each open region, to hide them when it closes.
    frames: Vec<Vec<String>>,
    /// Names whose defining op failed; uses of them fail silently.
    poisoned: HashSet<String>,
}

impl<'s> Parser<'s> {
    fn module_items(&mut self) {
        loop {
            self.c.skip_ws();
            if self.c.at_end() {
                return;
            }
            let start = self.c.loc();
            let word = self.c.word(false);
            let result = match word {
                Some("param") => self.param(start),
                Some("func") => self.func(start),
                _ => Err(Diag::error(start, format!("expected 'func' or 'param', found {}", self.c.describe_next()))),
            };
            if let Err(d) = result {
                self.diags.push(d);
                self.skip_to_next_item();
            }
        }
    }

    /// Skips lines until one starts with `func` or `param` at column 1.
    fn skip_to_next_item(&mut self) {
        loop {
            self.c.skip_line();
            if self.c.at_end() || self.c.rest().starts_with("func ") || self.c.rest().starts_with("param ") {
                return;
            }
        }
    }

    fn param(&mut self, start: Loc) -> Result<(), Diag> {
        self.c.expect("@")?;
        let name = symbol_name(&mut self.c)?;
        if self.module.param(&name).is_some() {
            return Err(Diag::error(start, format!("parameter @{name} is declared twice")));
        }
        let (ty, init) = if self.c.eat(":") {
            match parse_type(&mut self.c)? {
                Type::Tensor(t) if t.static_dims().is_some() => (t, None),
                other => return Err(Diag::error(start, format!("a parameter needs a static tensor type, got {other}"))),
            }
        } else {
            self.c.expect("=")?;
            let dense = parse_dense(&mut self.c, &self.resources)?;
            (dense.ty().clone(), Some(dense))
        };
        let loc = self.trailing_loc()?.unwrap_or(start);
        self.module.params.push(Param { name, ty, init, loc });
        Ok(())
    }

    fn func(&mut self, start: Loc) -> Result<(), Diag> {
        self.c.expect("@")?;
        let name = symbol_name(&mut self.c)?;
        if self.module.func(&name).is_some() {
            return Err(Diag::error(start, format!("function @{name} is defined twice")));
        }
        self.c.expect("(")?;
        let args = self.arg_list()?;
        let mut results = Vec::new();
        if self.c.eat("->") {
            if self.c.eat("(") {
                if !self.c.eat(")") {
                    loop {
                        results.push(parse_type(&mut self.c)?);
                        if self.c.eat(")") {
                            break;
                        }
                        self.c.expect(",")?;
                    }
                }
            } else {
                results.push(parse_type(&mut self.c)?);
            }
        }
        let loc = self.trailing_loc()?.unwrap_or(start);
        let types: Vec<Type> = args.iter().map(|(_, _, t)| t.clone()).collect();
        let mut func = Func::new(&name, &types, results);
        func.loc = loc;
        let mut scope = Scope::default();
        scope.frames.push(Vec::new());
        for (i, (arg, at, _)) in args.into_iter().enumerate() {
            let v = func.args()[i];
            self.define(&mut func, &mut scope, &arg, v, at);
        }
        self.c.expect("{")?;
        let body = func.body();
        self.region_body(&mut func, &mut scope, body)?;
        self.module.funcs.push(func);
        Ok(())
    }

    /// Parses blocks and ops up to and including the closing `}`.
    fn region_body(&mut self, func: &mut Func, scope: &mut Scope, region: RegionId) -> Result<(), Diag> {
        let mut block: Option<BlockId> = func.region(region).blocks.first().copied();
        loop {
            self.c.skip_ws();
            if self.c.at_end() {
                return Err(self.c.error("unexpected end of file: missing '}'"));
            }
            if self.c.eat("}") {
                return Ok(());
            }
            if self.c.peek() == Some('^') {
                block = Some(self.block_label(func, scope, region)?);
                continue;
            }
            let current = match block {
                Some(b) => b,
                None => {
                    let b = func.new_block(region, &[]);
                    block = Some(b);
                    b
                }
            };
            match self.op(func, scope, current) {
                Ok(()) => {}
                Err(OpFailure::Poisoned) => {}
                Err(OpFailure::Error(d)) => {
                    self.diags.push(d);
                    self.recover_line();
                }
            }
        }
    }

    /// After a failed op, skips the rest of its line unless the cursor
    /// already stands at the start of the next one.
    fn recover_line(&mut self) {
        self.c.skip_inline_ws();
        if !matches!(self.c.peek(), None | Some('\n')) {
            self.c.skip_line();
        }
    }

    /// Parses `%a: T, %b: U)` after an opening parenthesis.
    fn arg_list(&mut self) -> Result<Vec<(String, Loc, Type)>, Diag> {
        let mut args = Vec::new();
        if self.c.eat(")") {
            return Ok(args);
        }
        loop {
            self.c.skip_ws();
            let at = self.c.loc();
            self.c.expect("%")?;
            let name = self.c.bare_name().ok_or_else(|| self.c.error("expected an argument name"))?.to_string();
            self.c.expect(":")?;
            args.push((name, at, parse_type(&mut self.c)?));
            if self.c.eat(")") {
                return Ok(args);
            }
            self.c.expect(",")?;
        }
    }

    fn block_label(&mut self, func: &mut Func, scope: &mut Scope, region: RegionId) -> Result<BlockId, Diag> {
        self.c.expect("^")?;
        self.c.bare_name().ok_or_else(|| self.c.error("expected a block label"))?;
        let args = if self.c.eat("(") { self.arg_list()? } else { Vec::new() };
        self.c.expect(":")?;
        let block = func.new_block(region, &[]);
        for (name, at, ty) in args {
            let v = func.add_block_arg(block, ty);
            self.define(func, scope, &name, v, at);
        }
        Ok(block)
    }

    fn define(&mut self, func: &mut Func, scope: &mut Scope, name: &str, v: ValueId, at: Loc) {
        if scope.visible.contains_key(name) {
            self.diags.push(Diag::error(at, format!("redefinition of %{name}")));
            return;
        }
        scope.visible.insert(name.to_string(), v);
        if let Some(frame) = scope.frames.last_mut() {
            frame.push(name.to_string());
        }
        if !name.chars().all(|c| c.is_ascii_digit()) {
            func.value_mut(v).name = Some(name.to_string());
        }
    }

    /// Skips white space and reads a value reference `%name`: the name and
    /// where its `%` stands.
    fn value_name(&mut self) -> Result<(&'s str, Loc), Diag> {
        self.c.skip_ws();
        let at = self.c.loc();
        self.c.expect("%")?;
        let name = self.c.bare_name().ok_or_else(|| self.c.error("expected a value name"))?;
        Ok((name, at))
    }

    fn op(&mut self, func: &mut Func, scope: &mut Scope, block: BlockId) -> Result<(), OpFailure> {
        let start = self.c.loc();
        let mut names: Vec<(String, Loc)> = Vec::new();
        if self.c.peek() == Some('%') {
            loop {
                let (name, at) = self.value_name()?;
                names.push((name.to_string(), at));
                if self.c.eat("=") {
                    break;
                }
                self.c.expect(",")?;
            }
        }
        let result = self.op_after_results(func, scope, block, &names, start);
        if result.is_err() {
            for (n, _) in &names {
                scope.poisoned.insert(n.clone());
            }
        }
        result
    }

    fn op_after_results(
        &mut self,
        func: &mut Func,
        scope: &mut Scope,
        block: BlockId,
        names: &[(String, Loc)],
        start: Loc,
    ) -> Result<(), OpFailure> {
        self.c.skip_ws();
        let name_loc = self.c.loc();
        let op_name = self.c.word(true).ok_or_else(|| self.c.error(format!("expected an op name, found {}", self.c.describe_next())))?;
        let def = dialect::lookup(op_name).ok_or_else(|| Diag::error(name_loc, format!("unknown op '{op_name}'")))?;
        let mut attrs = Attrs::new();
        self.c.skip_inline_ws();
        if self.c.peek() == Some('@') {
            self.c.bump();
            attrs.set("sym", Attr::SymbolRef(symbol_name(&mut self.c)?));
        }
        let mut operands = Vec::new();
        let mut poisoned = false;
        self.c.skip_inline_ws();
        if self.c.peek() == Some('%') {
            loop {
                let (name, at) = self.value_name()?;
                match scope.visible.get(name) {
                    Some(&v) => operands.push(v),
                    None if scope.poisoned.contains(name) => poisoned = true,
                    None => return Err(Diag::error(at, format!("use of undefined value %{name}")).into()),
                }
                self.c.skip_inline_ws();
                if self.c.peek() != Some(',') {
                    break;
                }
                self.c.bump();
            }
        }
        if self.attr_dict_next() {
            self.attr_dict(&mut attrs)?;
        }
        let mut types = None;
        self.c.skip_inline_ws();
        if self.c.peek() == Some(':') {
            self.c.bump();
            let mut list = vec![parse_type(&mut self.c)?];
            loop {
                self.c.skip_inline_ws();
                if self.c.peek() != Some(',') {
                    break;
                }
                self.c.bump();
                list.push(parse_type(&mut self.c)?);
            }
            types = Some(list);
        }
        let mut regions = Vec::new();
        loop {
            self.c.skip_inline_ws();
            if self.c.peek() != Some('{') {
                break;
            }
            self.c.bump();
            let region = func.new_region();
            scope.frames.push(Vec::new());
            let parsed = self.region_body(func, scope, region);
            for name in scope.frames.pop().unwrap_or_default() {
                scope.visible.remove(&name);
            }
            parsed?;
            regions.push(region);
        }
        let loc = self.trailing_loc()?.unwrap_or(start.clone());
        if poisoned {
            return Err(OpFailure::Poisoned);
        }
        let inferred = infer_types(func, &self.module, def, &operands, &attrs, &regions)
            .map_err(|m| Diag::error(start.clone(), format!("'{op_name}' op: {m}")));
        let types = match (types, inferred) {
            (None, inferred) => inferred?,
            (Some(declared), Err(d)) => {
                self.diags.push(d);
                declared
            }
            (Some(declared), Ok(inferred)) => {
                let mismatch = declared.len() != inferred.len() || declared.iter().zip(&inferred).any(|(d, i)| !d.refines(i));
                if mismatch {
                    let show = |ts: &[Type]| ts.iter().map(Type::to_string).collect::<Vec<_>>().join(", ");
                    self.diags.push(Diag::error(
                        start.clone(),
                        format!("'{op_name}' op: declared result type(s) {} but inferred {}", show(&declared), show(&inferred)),
                    ));
                }
                declared
            }
        };
        if types.len() != names.len() {
            return Err(Diag::error(
                start,
                format!("'{op_name}' op has {} result(s) but {} name(s) are bound", types.len(), names.len()),
            )
            .into());
        }
        let op = func.create_op(def, operands, attrs, types, regions, loc);
        func.append_op(block, op);
        let results = func.op(op).results.clone();
        for ((name, at), v) in names.iter().zip(results) {
            self.define(func, scope, name, v, at.clone());
        }
        Ok(())
    }

    /// Whether a `{` on this line opens an attribute dictionary (a name or
    /// string followed by `=`) rather than a region.
    fn attr_dict_next(&mut self) -> bool {
        self.c.skip_inline_ws();
        let rest = self.c.rest();
        let Some(inner) = rest.strip_prefix('{') else { return false };
        let inner = inner.trim_start();
        if inner.starts_with('}') {
            return true;
        }
        let key_len = if let Some(quoted) = inner.strip_prefix('"') {
            quoted.find('"').map(|i| i + 2)
        } else {
            Some(inner.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).unwrap_or(inner.len()))
        };
        key_len.is_some_and(|n| n > 0 && inner[n..].trim_start().starts_with('='))
    }

    fn attr_dict(&mut self, attrs: &mut Attrs) -> Result<(), Diag> {
        self.c.expect("{")?;
        if self.c.eat("}") {
            return Ok(());
        }
        loop {
            self.c.skip_ws();
            let at = self.c.loc();
            let key = if self.c.peek() == Some('"') {
                self.c.string()?
            } else {
                self.c.word(false).ok_or_else(|| self.c.error("expected an attribute name"))?.to_string()
            };
            self.c.expect("=")?;
            let value = parse_attr(&mut self.c, &self.resources)?;
            if attrs.get(&key).is_some() {
                return Err(Diag::error(at, format!("attribute '{key}' is given twice")));
            }
            attrs.set(&key, value);
            if self.c.eat("}") {
                return Ok(());
            }
            self.c.expect(",")?;
        }
    }

    /// Parses an optional `loc(...)` on the current line.
    fn trailing_loc(&mut self) -> Result<Option<Loc>, Diag> {
        self.c.skip_inline_ws();
        if !self.c.rest().starts_with("loc(") {
            return Ok(None);
        }
        self.c.eat("loc(");
        let loc = self.loc_inner()?;
        self.c.expect(")")?;
        Ok(Some(loc))
    }

    fn loc_inner(&mut self) -> Result<Loc, Diag> {
        self.c.skip_ws();
        if self.c.peek() == Some('"') {
            let file = self.c.string()?;
            self.c.expect(":")?;
            let line = self.c.digits().ok_or_else(|| self.c.error("expected a line number"))?;
            self.c.expect(":")?;
            let col = self.c.digits().ok_or_else(|| self.c.error("expected a column number"))?;
            return Ok(Loc::File { file: Arc::from(file.as_str()), line: line as u32, col: col as u32 });
        }
        match self.c.word(false) {
            Some("unknown") => Ok(Loc::Unknown),
            Some("node") => {
                self.c.skip_ws();
                let name = self.c.string()?;
                self.c.skip_ws();
                let op_type = self.c.string()?;
                Ok(Loc::Node { name, op_type })
            }
            Some("fused") => {
                self.c.expect("[")?;
                let mut locs = Vec::new();
                if !self.c.eat("]") {
                    loop {
                        locs.push(self.loc_inner()?);
                        if self.c.eat("]") {
                            break;
                        }
                        self.c.expect(",")?;
                    }
                }
                Ok(Loc::Fused(locs))
            }
            _ => Err(self.c.error("expected a location: \"file\":line:col, node \"name\" \"op\", fused[...] or unknown")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::equiv::module_difference;
    use crate::print::print_module;
    use crate::verify::verify;

    const SAMPLE: &str = r#"
// an MLP-like function with symbolic batch
param @fc.bias = dense<[0.5, -1.0, 2.0]> : tensor<3xf32>
param @big = dense<[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18]> : tensor<18xi64>
func @main(%x: tensor<N x 3 x f32>, %flag: tensor<i1>) -> (tensor<N x 3 x f32>, tensor<f32>) {
  %b = tg.param @fc.bias
  %0 = tg.add %x, %b
  %one = tg.constant {value = dense<1.0> : tensor<f32>}
  %1 = tg.mul %0, %one : tensor<N x 3 x f32>
  %r = tg.if %flag {
    tg.yield %one
  } {
    %n = tg.neg %one
    tg.yield %n
  }
  tg.return %1, %r
}
func @callee(%a: tensor<N x 3 x f32>) -> tensor<N x 3 x f32> {
  %s = tg.sigmoid %a
  tg.return %s
}
func @caller(%a: tensor<8x3xf32>) -> tensor<8x3xf32> {
  %c = tg.call @callee %a
  tg.return %c
}
"#;

    #[test]
    fn sample_round_trips_exactly() {
        let m = parse_module(SAMPLE, "sample.tir").unwrap_or_else(|d| panic!("{}", d.render(&Default::default())));
        verify(&m).unwrap_or_else(|d| panic!("{d}"));
        let text = print_module(&m);
        let again = parse_module(&text, "printed.tir").unwrap_or_else(|d| panic!("{d}\n{text}"));
        assert_eq!(module_difference(&m, &again), None, "{text}");
        assert_eq!(print_module(&again), text);
        assert!(text.contains("resources {"), "{text}");
        assert!(text.contains("%c = tg.call @callee %a : tensor<8x3xf32>"), "{text}");
    }

    #[test]
    fn every_error_is_reported_with_its_line() {
        let src = "func @f(%x: tensor<2xf32>) -> tensor<2xf32> {\n  %0 = tg.nope %x\n  %1 = tg.add %x, %y\n  %2 = tg.add %0, %x\n  tg.return %x\n}\n";
        let diags = parse_module(src, "bad.tir").unwrap_err();
        let text = diags.render(&Default::default());
        assert_eq!(diags.0.len(), 2, "{text}");
        assert!(text.contains("bad.tir:2:8: error: unknown op 'tg.nope'"), "{text}");
        assert!(text.contains("bad.tir:3:19: error: use of undefined value %y"), "{text}");
    }
}
