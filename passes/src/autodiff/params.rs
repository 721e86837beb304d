//! Parameters as arguments: training differentiates and updates weights,
//! so the `tg.param` reads of a function become trailing arguments.

use std::collections::HashMap;
use tessera_ir::dialect::graph::value::PARAM;
use tessera_ir::op::same_op;
use tessera_ir::{Diag, Func, Module, ValueId};

/// A copy of `func` in which every parameter it reads (in the entry block)
/// is a new trailing argument, in the module's declaration order; returns
/// it with the names of those parameters. A parameter read inside a nested
/// region is an error.
pub fn params_to_args(module: &Module, func: &Func) -> Result<(Func, Vec<String>), Diag> {
    let mut f = func.clone();
    let entry = f.entry();
    let mut reads: HashMap<String, Vec<tessera_ir::OpId>> = HashMap::new();
    for op in f.walk() {
        let data = f.op(op);
        if !same_op(data.def, &PARAM) {
            continue;
        }
        if data.block != Some(entry) {
            return Err(Diag::error(data.loc.clone(), "a parameter read inside a region cannot become an argument"));
        }
        let name = data.attrs.get("sym").and_then(|a| match a {
            tessera_ir::Attr::SymbolRef(s) => Some(s.clone()),
            _ => None,
        });
        let name = name.ok_or_else(|| Diag::error(data.loc.clone(), "tg.param without a symbol"))?;
        reads.entry(name).or_default().push(op);
    }
    let mut names = Vec::new();
    let mut replace: HashMap<ValueId, ValueId> = HashMap::new();
    for p in &module.params {
        let Some(ops) = reads.remove(&p.name) else { continue };
        let arg = f.add_block_arg(entry, tessera_ir::Type::Tensor(p.ty.clone()));
        f.value_mut(arg).name = Some(tessera_ir::func::sanitize_name(&p.name));
        for op in ops {
            replace.insert(f.op(op).results[0], arg);
            f.erase_op(op);
        }
        names.push(p.name.clone());
    }
    if let Some(name) = reads.keys().next() {
        return Err(Diag::error(func.loc.clone(), format!("@{} reads the undeclared parameter @{name}", func.name)));
    }
    f.replace_uses(&replace);
    Ok((f, names))
}
