//! Control flow: `tg.return`, `tg.yield`, `tg.call`, and the region ops
//! `tg.if` and `tg.loop`.

use super::kernels::{scalar_bool, scalar_i64};
use super::layout::stack;
use crate::dim::{Dim, Symbol};
use crate::dtype::DType;
use crate::eval::EvalCx;
use crate::infer::InferCx;
use crate::op::{Arity, AttrKind, AttrSpec, OpDef, OpRef, OpSpec, Traits};
use crate::tensor::{Data, Tensor};
use crate::types::{TensorType, Type};
use std::collections::HashMap;
use super::vjp::control as rules;
use crate::diag::Diag;
use crate::vjp::{Grads, VjpCx};

/// `tg.return %a, %b` and `tg.yield %a`: end a block, handing its operands
/// to whatever the block belongs to.
pub struct Terminator {
    spec: OpSpec,
}

impl Terminator {
    /// The terminator `name`, taking any number of operands.
    const fn new(name: &'static str, summary: &'static str) -> Terminator {
        let spec = OpSpec::new(name, summary)
            .traits(Traits::TERMINATOR)
            .operands(Arity::AtLeast(0))
            .results(Arity::Exactly(0));
        Terminator { spec }
    }
}

impl OpDef for Terminator {
    fn spec(&self) -> &OpSpec {
        &self.spec
    }
    fn infer(&self, _: &InferCx) -> Result<Vec<Type>, String> {
        Ok(Vec::new())
    }
}

/// `tg.return %a, %b`: ends a function body, returning its results.
pub static RETURN: Terminator = Terminator::new("tg.return", "returns the operands from the enclosing function");

/// `tg.yield %a`: ends a region of `tg.if` or `tg.loop`, handing values to the op.
pub static YIELD: Terminator = Terminator::new("tg.yield", "hands the operands to the op owning the region");

/// `%r = tg.call @f %a, %b`: calls function `sym`. Symbolic dims of the
/// callee's signature bind to the caller's dims, so a callee taking
/// `tensor<N x 4 x f32>` called with `tensor<8x4xf32>` returns `N = 8` shapes.
pub struct Call;

impl OpDef for Call {
    fn spec(&self) -> &OpSpec {
        const SPEC: OpSpec = OpSpec::new("tg.call", "calls the function `sym` with the operands")
            .traits(Traits::NONE)
            .operands(Arity::AtLeast(0))
            .results(Arity::AtLeast(0))
            .attrs(&[AttrSpec::req("sym", AttrKind::Symbol)]);
        &SPEC
    }
    fn infer(&self, cx: &InferCx) -> Result<Vec<Type>, String> {
        let name = cx.symbol("sym")?;
        let (params, results) =
            cx.symbols.func_signature(name).ok_or_else(|| format!("no function named @{name} in the module"))?;
        if params.len() != cx.operands.len() {
            return Err(format!("@{name} takes {} argument(s), got {}", params.len(), cx.operands.len()));
        }
        let mut bound: HashMap<Symbol, Dim> = HashMap::new();
        for (i, (param, actual)) in params.iter().zip(cx.operands).enumerate() {
            bind_symbols(param, actual, &mut bound)
                .map_err(|e| format!("argument #{i} of @{name}: expected {param}, got {actual}{e}"))?;
        }
        Ok(results.iter().map(|t| substitute(t, &bound)).collect())
    }
    fn eval(&self, cx: &mut EvalCx) -> Result<Vec<Tensor>, String> {
        let name = cx.op.symbol("sym")?;
        cx.env.call(name, cx.inputs.to_vec())
    }
    fn vjp(&self, cx: &mut VjpCx) -> Result<Grads, Diag> {
        rules::call(cx)
    }
}

/// The `tg.call` op.
pub static CALL: Call = Call;

fn bind_symbols(param: &Type, actual: &Type, bound: &mut HashMap<Symbol, Dim>) -> Result<(), String> {
    let (Type::Tensor(p), Type::Tensor(a)) = (param, actual) else {
        return if param == actual { Ok(()) } else { Err(String::new()) };
    };
    if p.dtype != a.dtype || p.rank() != a.rank() {
        return Err(String::new());
    }
    for (pd, ad) in p.dims.iter().zip(&a.dims) {
        let expected = match pd.as_symbol() {
            Some(s) => bound.entry(s).or_insert_with(|| ad.clone()).clone(),
            None => substitute_dim(pd, bound),
        };
        if !(matches!(expected, Dim::Unknown) || expected == *ad) {
            return Err(format!(" ({pd} is {expected} here, but the argument has {ad})"));
        }
    }
    Ok(())
}

fn substitute_dim(d: &Dim, bound: &HashMap<Symbol, Dim>) -> Dim {
    if let Some(s) = d.as_symbol() {
        return bound.get(&s).cloned().unwrap_or_else(|| d.clone());
    }
    match d {
        Dim::Sym(e) => Dim::from_expr(e.substitute(&|s| bound.get(s).and_then(Dim::known).map(|n| n as i64))),
        _ => d.clone(),
    }
}

fn substitute(t: &Type, bound: &HashMap<Symbol, Dim>) -> Type {
    match t {
        Type::Tensor(tt) => Type::Tensor(TensorType::new(tt.dims.iter().map(|d| substitute_dim(d, bound)).collect(), tt.dtype)),
        other => other.clone(),
    }
}

/// The common type of two branches: equal dims stay, differing ones become `?`.
fn join(a: &Type, b: &Type) -> Option<Type> {
    match (a, b) {
        (Type::Tensor(x), Type::Tensor(y)) if x.dtype == y.dtype && x.rank() == y.rank() => {
            let dims = x.dims.iter().zip(&y.dims).map(|(p, q)| if p == q { p.clone() } else { Dim::Unknown }).collect();
            Some(Type::Tensor(TensorType::new(dims, x.dtype)))
        }
        _ => (a == b).then(|| a.clone()),
    }
}

/// `%r = tg.if %cond : T { ...then... tg.yield %a } { ...else... tg.yield %b }`:
/// runs one of two regions on a `tensor<i1>` condition. Results take the
/// yields' types; where the branches disagree on a dim it becomes `?`.
pub struct If;

impl OpDef for If {
    fn spec(&self) -> &OpSpec {
        const SPEC: OpSpec = OpSpec::new("tg.if", "runs the first region when cond is true, else the second")
            .traits(Traits::NONE)
            .results(Arity::AtLeast(0))
            .regions(2);
        &SPEC
    }
    fn infer(&self, cx: &InferCx) -> Result<Vec<Type>, String> {
        let cond = cx.tensor(0)?;
        if cond.dtype != DType::I1 || cond.rank() != 0 {
            return Err(format!("the condition must be tensor<i1>, got {cond}"));
        }
        let (then, els) = (&cx.regions[0], &cx.regions[1]);
        if !then.args.is_empty() || !els.args.is_empty() {
            return Err("the branches take no block arguments".into());
        }
        if then.yields.len() != els.yields.len() {
            return Err(format!(
                "the then branch yields {} value(s) but the else branch yields {}",
                then.yields.len(),
                els.yields.len()
            ));
        }
        then.yields
            .iter()
            .zip(&els.yields)
            .enumerate()
            .map(|(i, (a, b))| join(a, b).ok_or_else(|| format!("result #{i}: the branches yield {a} and {b}")))
            .collect()
    }
    fn eval(&self, cx: &mut EvalCx) -> Result<Vec<Tensor>, String> {
        let cond = scalar_bool(cx.input(0)?, "the condition")?;
        cx.env.run_region(if cond { 0 } else { 1 }, Vec::new())
    }
    fn vjp(&self, cx: &mut VjpCx) -> Result<Grads, Diag> {
        rules::if_(cx)
    }
}

/// The `tg.if` op.
pub static IF: If = If;

/// `%v, %s = tg.loop %max_trips, %cond, %init... { ^bb0(%i: tensor<i64>,
/// %c: tensor<i1>, %v...): ... tg.yield %c_next, %v_next..., %scan... }`
/// with ONNX `Loop` semantics: runs while `i < max_trips` and the condition
/// holds (both checked before each iteration, so a false condition or a
/// trip count of 0 or less runs nothing); results are the final carried
/// values, then each scan output stacked along a new leading axis of
/// unknown length (the iteration count). Every iteration must give a scan
/// output the same shape; with no iteration its shape is `[0, ...]`, the
/// trailing dims taken from the declared result type.
pub struct Loop;

impl OpDef for Loop {
    fn spec(&self) -> &OpSpec {
        const SPEC: OpSpec =
            OpSpec::new("tg.loop", "ONNX Loop: iterates the body, carrying values and stacking scan outputs")
                .traits(Traits::NONE)
                .operands(Arity::AtLeast(2))
                .results(Arity::AtLeast(0))
                .regions(1);
        &SPEC
    }
    fn infer(&self, cx: &InferCx) -> Result<Vec<Type>, String> {
        let scalar = |dtype| Type::Tensor(TensorType::scalar(dtype));
        if cx.operands[0] != scalar(DType::I64) {
            return Err(format!("the trip count must be tensor<i64>, got {}", cx.operands[0]));
        }
        if cx.operands[1] != scalar(DType::I1) {
            return Err(format!("the condition must be tensor<i1>, got {}", cx.operands[1]));
        }
        let body = &cx.regions[0];
        let carried = &cx.operands[2..];
        if body.args.len() != carried.len() + 2 {
            return Err(format!(
                "the body takes (iteration, condition, {} carried value(s)) = {} argument(s), got {}",
                carried.len(),
                carried.len() + 2,
                body.args.len()
            ));
        }
        if body.args[0] != scalar(DType::I64) || body.args[1] != scalar(DType::I1) {
            return Err(format!(
                "the body's first arguments must be tensor<i64> and tensor<i1>, got {} and {}",
                body.args[0], body.args[1]
            ));
        }
        for (i, (init, arg)) in carried.iter().zip(&body.args[2..]).enumerate() {
            if !init.refines(arg) {
                return Err(format!("carried value #{i}: initial value {init} does not fit the body argument {arg}"));
            }
        }
        if body.yields.len() < carried.len() + 1 {
            return Err(format!(
                "the body must yield the condition and {} carried value(s), got {} value(s)",
                carried.len(),
                body.yields.len()
            ));
        }
        if body.yields[0] != scalar(DType::I1) {
            return Err(format!("the body must yield the condition (tensor<i1>) first, got {}", body.yields[0]));
        }
        let mut results = Vec::new();
        for (i, (next, arg)) in body.yields[1..=carried.len()].iter().zip(&body.args[2..]).enumerate() {
            if !next.refines(arg) {
                return Err(format!("carried value #{i}: the body yields {next} for argument {arg}"));
            }
            results.push(arg.clone());
        }
        for (i, scan) in body.yields[carried.len() + 1..].iter().enumerate() {
            let t = scan.as_tensor().ok_or_else(|| format!("scan output #{i} must be a tensor, got {scan}"))?;
            let mut dims = vec![Dim::Unknown];
            dims.extend(t.dims.iter().cloned());
            results.push(Type::Tensor(TensorType::new(dims, t.dtype)));
        }
        Ok(results)
    }
    fn eval(&self, cx: &mut EvalCx) -> Result<Vec<Tensor>, String> {
        let max_trips = scalar_i64(cx.input(0)?, "the trip count")?;
        let mut cond = scalar_bool(cx.input(1)?, "the condition")?;
        let mut carried = cx.inputs.get(2..).unwrap_or_default().to_vec();
        let n = carried.len();
        let scan_count = cx.results.len().saturating_sub(n);
        let mut scans: Vec<Vec<Tensor>> = vec![Vec::new(); scan_count];
        let mut i = 0;
        while i < max_trips && cond {
            let mut args = vec![
                Tensor::new(DType::I64, Vec::new(), Data::Int(vec![i]))?,
                Tensor::new(DType::I1, Vec::new(), Data::Bool(vec![cond]))?,
            ];
            args.extend(carried);
            let yields = cx.env.run_region(0, args)?;
            if yields.len() != 1 + n + scan_count {
                return Err(format!(
                    "iteration {i}: the body yielded {} value(s), expected {}",
                    yields.len(),
                    1 + n + scan_count
                ));
            }
            cond = scalar_bool(&yields[0], "the condition the body yields")?;
            let mut rest = yields.into_iter().skip(1);
            carried = rest.by_ref().take(n).collect();
            for (k, value) in rest.enumerate() {
                scans[k].push(value);
            }
            i += 1;
        }
        for (k, parts) in scans.into_iter().enumerate() {
            let ty = cx.results[n + k].as_tensor().ok_or_else(|| format!("scan output #{k} is not a tensor"))?;
            let item = match parts.first() {
                Some(first) => first.shape().to_vec(),
                None => cx
                    .sizes(ty.dims.get(1..).unwrap_or_default())
                    .map_err(|e| format!("scan output #{k} after no iteration: {e}"))?,
            };
            carried.push(stack(ty.dtype, &item, &parts).map_err(|e| format!("scan output #{k}: {e}"))?);
        }
        Ok(carried)
    }
    fn vjp(&self, cx: &mut VjpCx) -> Result<Grads, Diag> {
        rules::loop_(cx)
    }
}

/// The `tg.loop` op.
pub static LOOP: Loop = Loop;

/// Every op declared in this file.
pub static OPS: &[OpRef] = &[&RETURN, &YIELD, &CALL, &IF, &LOOP];
