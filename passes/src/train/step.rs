//! The training step as one function:
//! `train_step(params..., opt_state..., inputs..., target) -> (params'..., opt_state'..., loss)`,
//! assembled from the forward function (its parameters turned into
//! arguments), the loss, the `grad` pass and the optimiser's updates.

use super::{Loss, Optimizer};
use crate::autodiff::{copy_body, grad, params_to_args, GradSpec, Seed};
use tessera_ir::func::sanitize_name;
use tessera_ir::{Builder, DType, Diag, Func, Module, TensorType, Traits, Type, ValueId};

/// A built training step and the layout of its arguments.
#[derive(Clone, Debug)]
pub struct TrainStep {
    /// A module holding the function `train_step` (and no parameters).
    pub module: Module,
    /// The trained parameters, in argument (and result) order.
    pub params: Vec<(String, TensorType)>,
    /// The optimiser state, in argument (and result) order: `step` (an f64
    /// count), then `<param>.<slot>` per parameter; all start at zero.
    pub state: Vec<(String, TensorType)>,
    /// The batch arguments: the forward function's inputs, then the target.
    pub batch: Vec<(String, Type)>,
}

/// Builds the step of training `forward` (one result: the prediction the
/// loss reads; parameters read with `tg.param` from `module`) with `loss`
/// against a target of type `target`, updating by `optimizer`.
pub fn build_train_step(module: &Module, forward: &Func, loss: Loss, target: Type, optimizer: &Optimizer) -> Result<TrainStep, Diag> {
    let (f, names) = params_to_args(module, forward)?;
    let n_in = forward.args().len();
    let symbols = module.symbols();
    let loss_fn = with_loss(&f, loss, target.clone(), &symbols)?;
    let wrt: Vec<usize> = (n_in..n_in + names.len()).collect();
    let gf = grad(&loss_fn, &symbols, &GradSpec { wrt, seed: Seed::Scalar(0), name: "loss_grad".into() })?;

    let params: Vec<(String, TensorType)> = names
        .iter()
        .map(|n| (n.clone(), module.param(n).map(|p| p.ty.clone()).unwrap_or_else(|| TensorType::scalar(DType::F32))))
        .collect();
    let slots = optimizer.slots();
    let mut state = vec![("step".to_string(), TensorType::scalar(DType::F64))];
    for (name, ty) in &params {
        for slot in &slots {
            state.push((format!("{name}.{slot}"), ty.clone()));
        }
    }
    let mut batch: Vec<(String, Type)> = forward
        .args()
        .iter()
        .enumerate()
        .map(|(i, &a)| (forward.value(a).name.clone().unwrap_or_else(|| format!("input{i}")), forward.ty(a).clone()))
        .collect();
    batch.push(("target".to_string(), target));

    let mut arg_types: Vec<Type> = params.iter().map(|(_, t)| Type::Tensor(t.clone())).collect();
    arg_types.extend(state.iter().map(|(_, t)| Type::Tensor(t.clone())));
    arg_types.extend(batch.iter().map(|(_, t)| t.clone()));
    let mut step = Func::new("train_step", &arg_types, Vec::new());
    let names_in_order = params.iter().map(|(n, _)| n).chain(state.iter().map(|(n, _)| n)).chain(batch.iter().map(|(n, _)| n));
    for (&a, name) in step.args().to_vec().iter().zip(names_in_order) {
        step.value_mut(a).name = Some(sanitize_name(name));
    }
    let args = step.args().to_vec();
    let (p_args, rest) = args.split_at(params.len());
    let (s_args, b_args) = rest.split_at(state.len());
    // loss_grad takes (inputs..., params..., target).
    let mut call: Vec<ValueId> = b_args[..n_in].to_vec();
    call.extend_from_slice(p_args);
    call.push(b_args[n_in]);
    let entry = step.entry();
    let out = copy_body(&gf, &mut step, entry, &call)?;
    let (loss_value, grads) = (out[0], &out[1..]);

    let mut b = Builder::new(&mut step, &symbols);
    let one = b.scalar(DType::F64, 1.0)?;
    let t = b.binary(&tessera_ir::dialect::graph::elementwise::ADD, s_args[0], one)?;
    let mut new_params = Vec::with_capacity(params.len());
    let mut new_state = vec![t];
    for (i, (&p, &g)) in p_args.iter().zip(grads).enumerate() {
        let own = &s_args[1 + i * slots.len()..1 + (i + 1) * slots.len()];
        let (np, ns) = optimizer.update(&mut b, t, p, g, own)?;
        new_params.push(np);
        new_state.extend(ns);
    }
    let mut results = new_params;
    results.extend(new_state);
    results.push(loss_value);
    b.ret(&results)?;
    step.results = results.iter().map(|&v| step.ty(v).clone()).collect();
    Ok(TrainStep { module: Module { params: Vec::new(), funcs: vec![step] }, params, state, batch })
}

/// `f` with a trailing `target` argument, returning `loss(f(...), target)`.
fn with_loss(f: &Func, loss: Loss, target: Type, symbols: &dyn tessera_ir::infer::SymbolTable) -> Result<Func, Diag> {
    let mut lf = f.clone();
    lf.name = "loss".into();
    let entry = lf.entry();
    let ret = *lf
        .block(entry)
        .ops
        .last()
        .filter(|&&op| lf.op(op).def.traits().contains(Traits::TERMINATOR))
        .ok_or_else(|| Diag::error(f.loc.clone(), format!("@{} has no tg.return", f.name)))?;
    let outputs = lf.op(ret).operands.clone();
    let [pred] = outputs[..] else {
        return Err(Diag::error(f.loc.clone(), format!("the trained function must return one value (the prediction), got {}", outputs.len())));
    };
    lf.erase_op(ret);
    let target = lf.add_block_arg(entry, target);
    let mut b = Builder::new(&mut lf, symbols);
    let l = loss.build(&mut b, pred, target)?;
    b.ret(&[l])?;
    lf.results = vec![lf.ty(l).clone()];
    Ok(lf)
}
