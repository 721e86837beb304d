//! The normal form in which a module and its ONNX round trip (import →
//! export → import) are compared: "the same IR up to renaming". Spellings
//! that mean the same thing are made one on both sides, then
//! `canonicalize,cse,dce` run. Each rule identifies two spellings:
//!
//! - a negative axis and its non-negative equivalent (`axes = [-1]` on a
//!   rank-4 operand is `axes = [3]`): the importer's decompositions differ;
//! - an attribute at its default, written or left off (`steps` of ones,
//!   pad `mode = "constant"`, scatter `reduction = "none"`): ONNX
//!   attributes are optional;
//! - a static `tg.iota` and the literal it equals: the exporter writes small
//!   iotas as constants;
//! - a constant anywhere before its first use and right before it: the
//!   exporter writes Constant nodes where they are first needed.
//!
//! Anything else that differs is a real difference.

use tessera_ir::dialect::graph::{shape, value};
use tessera_ir::equiv::module_difference;
use tessera_ir::op::same_op;
use tessera_ir::types::TensorType;
use tessera_ir::verify::VerifiedModule;
use tessera_ir::{Attr, Attrs, DenseAttr, Dim, Func, Module, OpId};
use tessera_passes::{PassManager, Pipeline};

/// Attributes whose default may be written or left off: (op, attribute, default).
fn defaults() -> [(&'static str, &'static str, Attr); 2] {
    [("tg.pad", "mode", Attr::Str("constant".into())), ("tg.scatter", "reduction", Attr::Str("none".into()))]
}

/// How two modules compare after an ONNX round trip.
#[derive(Debug, PartialEq)]
pub enum Sameness {
    /// Equal as they are (up to value names and locations).
    Exact,
    /// Equal in the normal form.
    Normalised,
}

/// Whether `b` is `a` up to renaming: `Exact`, `Normalised`, or the first
/// difference in the normal form.
pub fn compare_modules(a: &VerifiedModule, b: &VerifiedModule) -> Result<Sameness, String> {
    if module_difference(a.module(), b.module()).is_none() {
        return Ok(Sameness::Exact);
    }
    let (na, nb) = (normal_form(a)?, normal_form(b)?);
    match module_difference(na.module(), nb.module()) {
        None => Ok(Sameness::Normalised),
        Some(d) => Err(format!("IR differs: {d}")),
    }
}

/// `module` in the normal form.
pub fn normal_form(module: &VerifiedModule) -> Result<VerifiedModule, String> {
    let mut m: Module = module.module().clone();
    for func in &mut m.funcs {
        for op in func.walk() {
            respell(func, op)?;
        }
    }
    let pipeline = Pipeline::parse("canonicalize,cse,dce").map_err(|d| d.message)?;
    let mut m = PassManager::new(pipeline).run(m).map_err(|d| format!("normalising: {d}"))?.into_inner();
    for func in &mut m.funcs {
        for op in func.walk() {
            move_to_first_use(func, op);
        }
    }
    VerifiedModule::new(m).map_err(|d| format!("normalising: {d}"))
}

/// Moves an op without operands or regions (a constant, a parameter, an
/// iota) right before the first op of its block that uses its result.
fn move_to_first_use(func: &mut Func, op: OpId) {
    let data = func.op(op);
    let (Some(block), [result]) = (data.block, data.results.as_slice()) else { return };
    if !data.operands.is_empty() || !data.regions.is_empty() {
        return;
    }
    let result = *result;
    let ops = func.block(block).ops.clone();
    let uses = |user: OpId| {
        let mut inner = vec![user];
        for &r in &func.op(user).regions {
            func.walk_region(r, &mut inner);
        }
        inner.iter().any(|&o| func.op(o).operands.contains(&result))
    };
    if let Some(&first) = ops.iter().find(|&&o| uses(o)) {
        func.erase_op(op);
        func.insert_op_before(first, op);
    }
}

/// Applies the rules of the module doc to one op, in place.
fn respell(func: &mut Func, op: OpId) -> Result<(), String> {
    let rank = {
        let data = func.op(op);
        let first = data.operands.first().or(data.results.first());
        first.and_then(|&v| func.ty(v).as_tensor()).map(|t| t.rank() as i64)
    };
    let data = func.op(op);
    let name = data.def.name();
    let mut attrs = data.attrs.clone();
    if let Some(r) = rank {
        for key in ["axis", "axes"] {
            match attrs.get(key) {
                Some(Attr::Int(a)) if *a < 0 => attrs.set(key, Attr::Int(a + r)),
                Some(Attr::Array(items)) if items.iter().any(|i| matches!(i, Attr::Int(a) if *a < 0)) => {
                    let items = items.iter().map(|i| match i {
                        Attr::Int(a) if *a < 0 => Attr::Int(a + r),
                        other => other.clone(),
                    });
                    attrs.set(key, Attr::Array(items.collect()));
                }
                _ => {}
            }
        }
    }
    if attrs.get("steps").and_then(Attr::as_ints).is_some_and(|s| s.iter().all(|&v| v == 1)) {
        attrs.remove("steps");
    }
    for (op_name, key, default) in defaults() {
        if name == op_name && attrs.get(key) == Some(&default) {
            attrs.remove(key);
        }
    }
    func.op_mut(op).attrs = attrs;
    if same_op(func.op(op).def, &shape::IOTA) {
        if let Some(literal) = iota_literal(func, op)? {
            let data = func.op_mut(op);
            data.def = &value::CONSTANT;
            data.attrs = Attrs::new().with("value", Attr::Dense(literal));
        }
    }
    Ok(())
}

/// The literal a static `tg.iota` equals.
fn iota_literal(func: &Func, op: OpId) -> Result<Option<DenseAttr>, String> {
    let Some(t) = func.ty(func.op(op).results[0]).as_tensor() else { return Ok(None) };
    let Some(sizes) = t.dims.iter().map(Dim::known).collect::<Option<Vec<u64>>>() else { return Ok(None) };
    let axis = func.op(op).attrs.get("axis").and_then(Attr::as_int).ok_or("tg.iota without an axis")? as usize;
    let count: u64 = sizes.iter().product();
    let inner: u64 = sizes[axis + 1..].iter().product();
    let values: Vec<f64> = (0..count).map(|i| ((i / inner.max(1)) % sizes[axis].max(1)) as f64).collect();
    DenseAttr::from_f64s(TensorType::of(&sizes, t.dtype), &values).map(Some)
}
