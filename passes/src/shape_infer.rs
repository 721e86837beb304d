//! Shape inference (`shape-infer`) and specialisation (`specialize{N=8}`).
//!
//! `shape-infer` re-runs every op's inference hook, regions before the op
//! owning them, and writes the inferred result types back; a function whose
//! `tg.return` returns values that no longer fit its declared result types
//! gets the returned types. Run it after an edit that changes an input's type. `specialize`
//! first substitutes sizes for named symbols (in argument and block-argument
//! types, result types and shape attributes), then infers.

use crate::manager::{Pass, PassOptions};
use std::collections::HashMap;
use tessera_ir::builder::{infer_types, op_error};
use tessera_ir::dialect::graph::control;
use tessera_ir::infer::SymbolTable;
use tessera_ir::op::same_op;
use tessera_ir::{Attr, Diags, Dim, Func, Module, OpId, RegionId, Symbol, TensorType, Type};

/// The `shape-infer` pass.
pub struct ShapeInfer;

/// The registered instance of [`ShapeInfer`].
pub static SHAPE_INFER: ShapeInfer = ShapeInfer;

impl Pass for ShapeInfer {
    fn name(&self) -> &'static str {
        "shape-infer"
    }
    fn summary(&self) -> &'static str {
        "re-infers every result type, and function result types from tg.return"
    }
    fn run(&self, module: &mut Module) -> Result<bool, Diags> {
        infer_module(module)
    }
}

/// Re-infers every function; repeats while function signatures change (a
/// caller may precede its callee), at most once per function plus one.
pub fn infer_module(module: &mut Module) -> Result<bool, Diags> {
    let mut changed = false;
    for _ in 0..=module.funcs.len() {
        let symbols = module.symbols();
        let mut signatures_changed = false;
        for func in &mut module.funcs {
            let before = func.results.clone();
            changed |= infer_func(func, &symbols)?;
            signatures_changed |= func.results != before;
        }
        if !signatures_changed {
            break;
        }
    }
    Ok(changed)
}

/// Re-infers the result types of every op of `func` in order, regions
/// before their owner (inferred types replace declared ones: only they are
/// proven), then fits the function's result types to its `tg.return`. Returns whether any type changed; collects every op whose
/// inference fails.
pub fn infer_func(func: &mut Func, symbols: &dyn SymbolTable) -> Result<bool, Diags> {
    let mut order = Vec::new();
    post_order(func, func.body(), &mut order);
    let mut changed = false;
    let mut errors = Vec::new();
    for op in order {
        let data = func.op(op);
        let types = match infer_types(func, symbols, data.def, &data.operands, &data.attrs, &data.regions) {
            Ok(types) => types,
            Err(msg) => {
                errors.push(op_error(data.def, data.loc.clone(), &msg));
                continue;
            }
        };
        if types.len() != data.results.len() {
            let msg = format!("now infers {} result(s), but the op has {}", types.len(), data.results.len());
            errors.push(op_error(data.def, data.loc.clone(), &msg));
            continue;
        }
        for (v, ty) in data.results.clone().into_iter().zip(types) {
            if *func.ty(v) != ty {
                func.value_mut(v).ty = ty;
                changed = true;
            }
        }
    }
    if !errors.is_empty() {
        return Err(Diags(errors));
    }
    if let Some(returned) = returned_types(func) {
        changed |= update_signature(func, returned);
    }
    Ok(changed)
}

/// Makes the function's result types fit what its `tg.return` returns: a
/// declared type the returned one refines stays (a declared `?` is a
/// deliberate interface); any other is replaced. Returns whether it changed.
fn update_signature(func: &mut Func, returned: Vec<Type>) -> bool {
    if returned.len() != func.results.len() {
        func.results = returned;
        return true;
    }
    let mut changed = false;
    for (declared, actual) in func.results.iter_mut().zip(returned) {
        if !actual.refines(declared) {
            *declared = actual;
            changed = true;
        }
    }
    changed
}

/// Every op in `region`, each after the ops in its own regions.
fn post_order(func: &Func, region: RegionId, out: &mut Vec<OpId>) {
    for &block in &func.region(region).blocks {
        for &op in &func.block(block).ops {
            for &r in &func.op(op).regions {
                post_order(func, r, out);
            }
            out.push(op);
        }
    }
}

/// The types the body's `tg.return` returns.
fn returned_types(func: &Func) -> Option<Vec<Type>> {
    let &last = func.block(func.entry()).ops.last()?;
    let data = func.op(last);
    same_op(data.def, &control::RETURN).then(|| data.operands.iter().map(|&v| func.ty(v).clone()).collect())
}

/// The `specialize` pass: binds named symbols to sizes, then infers.
pub struct Specialize {
    bindings: Vec<(Symbol, i64)>,
}

/// The registered instance of [`Specialize`], binding nothing (configure it
/// in a pipeline: `specialize{N=8}`).
pub static SPECIALIZE: Specialize = Specialize { bindings: Vec::new() };

impl Specialize {
    /// A pass substituting each symbol by its size.
    pub fn new(bindings: &[(&str, u64)]) -> Result<Specialize, String> {
        let bindings = bindings
            .iter()
            .map(|&(name, size)| {
                let size = i64::try_from(size).map_err(|_| format!("size {size} for symbol '{name}' is too large"))?;
                Ok((Symbol::new(name), size))
            })
            .collect::<Result<_, String>>()?;
        Ok(Specialize { bindings })
    }
}

impl Pass for Specialize {
    fn name(&self) -> &'static str {
        "specialize"
    }
    fn summary(&self) -> &'static str {
        "substitutes sizes for symbolic dims (specialize{N=8}), then re-infers shapes"
    }
    fn options(&self) -> &'static [(&'static str, &'static str)] {
        &[("<symbol>", "the size (a non-negative integer) to substitute for that symbol")]
    }
    fn configure(&self, options: &PassOptions) -> Result<Box<dyn Pass>, String> {
        let mut bindings = Vec::new();
        for (key, value) in options.iter() {
            if !is_symbol_name(key) {
                return Err(format!("specialize: '{key}' is not a symbol name"));
            }
            let size: u64 = value.parse().map_err(|_| {
                format!("specialize: the size of '{key}' must be a non-negative integer, got '{value}'")
            })?;
            bindings.push((key, size));
        }
        Ok(Box::new(Specialize::new(&bindings)?))
    }
    fn run(&self, module: &mut Module) -> Result<bool, Diags> {
        let sizes: HashMap<Symbol, i64> = self.bindings.iter().cloned().collect();
        let mut changed = false;
        for func in &mut module.funcs {
            changed |= substitute_func(func, &sizes);
        }
        Ok(infer_module(module)? || changed)
    }
}

/// Whether `s` is spelled like a symbolic dim: a letter or `_`, then
/// letters, digits or `_`.
fn is_symbol_name(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Substitutes `sizes` in the types of every block argument, in the
/// function's result types, and in every shape attribute; returns whether
/// anything changed. Op result types are left to inference.
fn substitute_func(func: &mut Func, sizes: &HashMap<Symbol, i64>) -> bool {
    let mut changed = false;
    let mut blocks = func.region(func.body()).blocks.clone();
    let ops = func.walk();
    for &op in &ops {
        for &r in &func.op(op).regions {
            blocks.extend(func.region(r).blocks.iter().copied());
        }
    }
    for block in blocks {
        for v in func.block(block).args.clone() {
            let ty = substitute_type(func.ty(v), sizes);
            if ty != *func.ty(v) {
                func.value_mut(v).ty = ty;
                changed = true;
            }
        }
    }
    let results: Vec<Type> = func.results.iter().map(|t| substitute_type(t, sizes)).collect();
    if results != func.results {
        func.results = results;
        changed = true;
    }
    for op in ops {
        let updates: Vec<(String, Attr)> = func
            .op(op)
            .attrs
            .iter()
            .filter_map(|(name, attr)| {
                let new = substitute_attr(attr, sizes);
                (new != *attr).then(|| (name.to_string(), new))
            })
            .collect();
        for (name, attr) in updates {
            func.op_mut(op).attrs.set(&name, attr);
            changed = true;
        }
    }
    changed
}

fn substitute_dim(d: &Dim, sizes: &HashMap<Symbol, i64>) -> Dim {
    match d {
        Dim::Sym(e) => Dim::from_expr(e.substitute(&|s| sizes.get(s).copied())),
        _ => d.clone(),
    }
}

fn substitute_dims(dims: &[Dim], sizes: &HashMap<Symbol, i64>) -> Vec<Dim> {
    dims.iter().map(|d| substitute_dim(d, sizes)).collect()
}

fn substitute_type(ty: &Type, sizes: &HashMap<Symbol, i64>) -> Type {
    match ty {
        Type::Tensor(t) => Type::Tensor(TensorType::new(substitute_dims(&t.dims, sizes), t.dtype)),
        Type::Buffer(t) => Type::Buffer(TensorType::new(substitute_dims(&t.dims, sizes), t.dtype)),
        other => other.clone(),
    }
}

/// A shape attribute with sizes substituted, in canonical form (an array of
/// ints once every dim is known); arrays are searched recursively.
fn substitute_attr(attr: &Attr, sizes: &HashMap<Symbol, i64>) -> Attr {
    match attr {
        Attr::Shape(dims) => Attr::shape(&substitute_dims(dims, sizes)),
        Attr::Array(items) => Attr::Array(items.iter().map(|a| substitute_attr(a, sizes)).collect()),
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manager::Pipeline;
    use crate::testing::returned;
    use tessera_ir::dialect::graph::{control, elementwise, shape};
    use tessera_ir::infer::NoSymbols;
    use tessera_ir::{Attrs, Builder, DType, InsertPoint};

    fn t(dims: Vec<Dim>) -> Type {
        Type::tensor(dims, DType::F32)
    }

    #[test]
    fn propagates_a_new_input_type_through_regions_and_the_signature() {
        let n = Dim::sym("N");
        let cond_ty = Type::static_tensor(&[], DType::I1);
        let mut func = Func::new("f", &[cond_ty, t(vec![n.clone(), Dim::Known(4)])], vec![t(vec![n, Dim::Known(4)])]);
        let (c, x) = (func.args()[0], func.args()[1]);
        let entry = func.entry();
        let mut b = Builder::new(&mut func, &NoSymbols);
        let e = b.unary(&elementwise::EXP, x).unwrap();
        let (then_r, then_b) = b.new_region(&[]);
        let (else_r, else_b) = b.new_region(&[]);
        b.set_insert_point(InsertPoint::End(then_b));
        let inner = b.unary(&elementwise::NEG, e).unwrap();
        b.yield_values(&[inner]).unwrap();
        b.set_insert_point(InsertPoint::End(else_b));
        b.yield_values(&[e]).unwrap();
        b.set_insert_point(InsertPoint::End(entry));
        let if_op = b.create(&control::IF, &[c], Attrs::new(), vec![then_r, else_r]).unwrap();
        let r = b.func.op(if_op).results[0];
        b.ret(&[r]).unwrap();

        let eight_by_4 = Type::static_tensor(&[8, 4], DType::F32);
        func.value_mut(x).ty = eight_by_4.clone();
        assert!(infer_func(&mut func, &NoSymbols).unwrap());
        assert_eq!(func.ty(e), &eight_by_4);
        assert_eq!(func.ty(inner), &eight_by_4);
        assert_eq!(func.ty(returned(&func)[0]), &eight_by_4);
        assert_eq!(func.results, vec![eight_by_4]);
        assert!(!infer_func(&mut func, &NoSymbols).unwrap());
    }

    #[test]
    fn keeps_a_declared_unknown_result_dim() {
        let mut func =
            Func::new("f", &[Type::static_tensor(&[8, 4], DType::F32)], vec![t(vec![Dim::Unknown, Dim::Known(4)])]);
        let x = func.args()[0];
        let mut b = Builder::new(&mut func, &NoSymbols);
        let e = b.unary(&elementwise::EXP, x).unwrap();
        b.ret(&[e]).unwrap();
        assert!(!infer_func(&mut func, &NoSymbols).unwrap());
        assert_eq!(func.results, vec![t(vec![Dim::Unknown, Dim::Known(4)])]);
        func.value_mut(x).ty = Type::static_tensor(&[8, 5], DType::F32);
        assert!(infer_func(&mut func, &NoSymbols).unwrap());
        assert_eq!(func.results, vec![Type::static_tensor(&[8, 5], DType::F32)]);
    }

    #[test]
    fn reports_ops_that_no_longer_infer() {
        let mut func = Func::new("f", &[Type::static_tensor(&[4], DType::F32)], vec![]);
        let x = func.args()[0];
        let mut b = Builder::new(&mut func, &NoSymbols);
        let e = b.unary(&elementwise::EXP, x).unwrap();
        b.ret(&[e]).unwrap();
        func.value_mut(x).ty = Type::static_tensor(&[4], DType::I32);
        let err = infer_func(&mut func, &NoSymbols).unwrap_err();
        assert_eq!(err.0.len(), 1);
        assert!(err.0[0].message.starts_with("'tg.exp' op: operand #0 must have a float dtype"), "{}", err);
    }

    #[test]
    fn specialize_substitutes_symbols_everywhere() {
        let n = Dim::sym("N");
        let four_n = n.mul(&Dim::Known(4));
        let mut module = Module::new();
        let mut func = Func::new("f", &[t(vec![n.clone(), Dim::Known(4)])], vec![t(vec![four_n.clone()])]);
        let x = func.args()[0];
        let mut b = Builder::new(&mut func, &NoSymbols);
        let flat = b.op(&shape::RESHAPE, &[x], Attrs::from([("shape", Attr::shape(&[four_n]))])).unwrap();
        b.ret(&[flat]).unwrap();
        module.funcs.push(func);

        let pipeline = Pipeline::parse("specialize{N=8}").unwrap();
        let pass = pipeline.passes().next().unwrap();
        assert!(pass.run(&mut module).unwrap());
        let func = &module.funcs[0];
        assert_eq!(func.arg_types(), vec![Type::static_tensor(&[8, 4], DType::F32)]);
        assert_eq!(func.results, vec![Type::static_tensor(&[32], DType::F32)]);
        let reshape = func.op(func.def_op(returned(func)[0]).unwrap());
        assert_eq!(reshape.attrs.get("shape"), Some(&Attr::ints(&[32])));
        assert!(!pass.run(&mut module).unwrap());
    }

    #[test]
    fn specialize_checks_its_options() {
        let err = |text: &str| Pipeline::parse(text).unwrap_err().message;
        assert!(err("specialize{N=-1}").contains("must be a non-negative integer, got '-1'"));
        assert!(err("specialize{4=1}").contains("'4' is not a symbol name"));
        assert!(err("specialize{N=1,N=2}").contains("option 'N' is given twice"));
    }
}
