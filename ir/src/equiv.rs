//! Structural equality of modules, the meaning of "round-trips exactly":
//! same parameters, functions, op order, kinds, attributes, types and
//! dataflow. Value names and locations are cosmetic and not compared.

use crate::func::Func;
use crate::id::{BlockId, OpId, RegionId, ValueId};
use crate::module::Module;
use std::collections::HashMap;

/// `None` when the modules are structurally equal, else the first difference.
pub fn module_difference(a: &Module, b: &Module) -> Option<String> {
    if a.params.len() != b.params.len() {
        return Some(format!("{} parameters vs {}", a.params.len(), b.params.len()));
    }
    for (p, q) in a.params.iter().zip(&b.params) {
        if p.name != q.name || p.ty != q.ty || p.init != q.init {
            return Some(format!("parameter @{} differs from @{}", p.name, q.name));
        }
    }
    if a.funcs.len() != b.funcs.len() {
        return Some(format!("{} functions vs {}", a.funcs.len(), b.funcs.len()));
    }
    a.funcs.iter().zip(&b.funcs).find_map(|(f, g)| func_difference(f, g))
}

/// `None` when the functions are structurally equal, else the first difference.
pub fn func_difference(f: &Func, g: &Func) -> Option<String> {
    if f.name != g.name || f.results != g.results || f.arg_types() != g.arg_types() {
        return Some(format!("signature of @{} differs from @{}", f.name, g.name));
    }
    let mut cmp = Comparer { f, g, map: HashMap::new() };
    cmp.region(f.body(), g.body()).err().map(|e| format!("in @{}: {e}", f.name))
}

struct Comparer<'a> {
    f: &'a Func,
    g: &'a Func,
    map: HashMap<ValueId, ValueId>,
}

impl Comparer<'_> {
    fn region(&mut self, ra: RegionId, rb: RegionId) -> Result<(), String> {
        let (ba, bb) = (&self.f.region(ra).blocks, &self.g.region(rb).blocks);
        if ba.len() != bb.len() {
            return Err(format!("a region has {} blocks vs {}", ba.len(), bb.len()));
        }
        for (&x, &y) in ba.iter().zip(bb) {
            self.block(x, y)?;
        }
        Ok(())
    }

    fn block(&mut self, x: BlockId, y: BlockId) -> Result<(), String> {
        let (bx, by) = (self.f.block(x), self.g.block(y));
        if bx.args.len() != by.args.len() || bx.ops.len() != by.ops.len() {
            return Err("a block differs in its arguments or op count".into());
        }
        for (&u, &v) in bx.args.iter().zip(&by.args) {
            if self.f.ty(u) != self.g.ty(v) {
                return Err(format!("block argument types {} vs {}", self.f.ty(u), self.g.ty(v)));
            }
            self.map.insert(u, v);
        }
        for (&p, &q) in bx.ops.iter().zip(&by.ops) {
            self.op(p, q)?;
        }
        Ok(())
    }

    fn op(&mut self, p: OpId, q: OpId) -> Result<(), String> {
        let (a, b) = (self.f.op(p), self.g.op(q));
        let name = a.def.name();
        if name != b.def.name() {
            return Err(format!("op '{name}' vs '{}'", b.def.name()));
        }
        if a.attrs != b.attrs {
            return Err(format!("attributes of '{name}' differ: {:?} vs {:?}", a.attrs, b.attrs));
        }
        let mapped: Vec<Option<ValueId>> = a.operands.iter().map(|v| self.map.get(v).copied()).collect();
        if mapped.len() != b.operands.len() || mapped.iter().zip(&b.operands).any(|(m, &o)| *m != Some(o)) {
            return Err(format!("operands of '{name}' differ"));
        }
        if a.results.len() != b.results.len() || a.regions.len() != b.regions.len() {
            return Err(format!("result or region count of '{name}' differs"));
        }
        for (&r, &s) in a.results.iter().zip(&b.results) {
            if self.f.ty(r) != self.g.ty(s) {
                return Err(format!("result type of '{name}': {} vs {}", self.f.ty(r), self.g.ty(s)));
            }
            self.map.insert(r, s);
        }
        for (&r, &s) in a.regions.iter().zip(&b.regions) {
            self.region(r, s)?;
        }
        Ok(())
    }
}
