//! The training step as one function:
//! `train_step(params..., opt_state..., inputs..., target) -> (params'..., opt_state'..., loss)`,
//! assembled from the forward function (its parameters turned into
//! arguments), the loss, the `grad` pass and the optimiser's updates.

use super::{training_mode, Loss, Optimizer};
use crate::autodiff::{grad, params_to_args, return_op, GradSpec, Seed};
use tessera_ir::copy::copy_body;
use tessera_ir::func::sanitize_name;
use tessera_ir::{Builder, DType, Diag, Func, Module, TensorType, Type, ValueId};

/// A built training step and the layout of its arguments.
#[derive(Clone, Debug)]
pub struct TrainStep {
    /// A module holding the function `train_step` (and no parameters).
    pub module: Module,
    /// The parameters the step updates, in argument (and result) order:
    /// the trained ones and the running statistics of batch normalisations.
    pub params: Vec<(String, TensorType)>,
    /// The names of the parameters among `params` that the forward pass
    /// updates (running statistics) rather than the optimiser.
    pub buffers: Vec<String>,
    /// The optimiser state, in argument (and result) order: `step` (an f64
    /// count), then `<param>.<slot>` per trained parameter; all start at zero.
    pub state: Vec<(String, TensorType)>,
    /// The batch arguments: the forward function's inputs, then the target.
    pub batch: Vec<(String, Type)>,
}

/// Builds the step of training `forward` (one result: the prediction the
/// loss reads; parameters read with `tg.param` from `module`) with `loss`
/// against a target of type `target`, updating by `optimizer`. Ops with a
/// training mode train ([`training_mode`]): batch statistics normalise and
/// update their running averages, and dropout masks are drawn from `seed`
/// and the step count.
pub fn build_train_step(
    module: &Module,
    forward: &Func,
    loss: Loss,
    target: Type,
    optimizer: &Optimizer,
    seed: u64,
) -> Result<TrainStep, Diag> {
    if forward.results.len() != 1 {
        return Err(Diag::error(
            forward.loc.clone(),
            format!("the trained function must return one value (the prediction), got {}", forward.results.len()),
        ));
    }
    let (f, names) = params_to_args(module, forward)?;
    let n_in = forward.args().len();
    let symbols = module.symbols();
    let form = training_mode(&f, &symbols, seed)?;
    let loss_fn = with_loss(&form.func, loss, target.clone(), &symbols)?;
    let trained: Vec<usize> = (0..names.len()).filter(|i| !form.updates.contains(&(n_in + i))).collect();
    let wrt: Vec<usize> = trained.iter().map(|i| n_in + i).collect();
    let gf = grad(&loss_fn, &symbols, &GradSpec { wrt, seed: Seed::Scalar(0), name: "loss_grad".into() })?;

    let params: Vec<(String, TensorType)> = names
        .iter()
        .map(|n| (n.clone(), module.param(n).map(|p| p.ty.clone()).unwrap_or_else(|| TensorType::scalar(DType::F32))))
        .collect();
    let buffers = form.updates.iter().map(|&a| names[a - n_in].clone()).collect();
    let slots = optimizer.slots();
    let mut state = vec![("step".to_string(), TensorType::scalar(DType::F64))];
    for &i in &trained {
        let (name, ty) = &params[i];
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
    let entry = step.entry();
    let mut b = Builder::new(&mut step, &symbols);
    let one = b.scalar(DType::F64, 1.0)?;
    let t = b.binary(&tessera_ir::dialect::graph::elementwise::ADD, s_args[0], one)?;
    // loss_grad takes (inputs..., params..., [counter], target) and returns
    // (loss, running statistics..., gradients of the trained parameters...).
    let mut call: Vec<ValueId> = b_args[..n_in].to_vec();
    call.extend_from_slice(p_args);
    if form.counter {
        call.push(t);
    }
    call.push(b_args[n_in]);
    let out = copy_body(&gf, &mut *b.func, entry, &call)?;
    let (loss_value, rest) = out.split_first().ok_or_else(|| Diag::error(forward.loc.clone(), "the loss gradient returns nothing"))?;
    let (running, grads) = rest.split_at(form.updates.len());
    let mut new_params = p_args.to_vec();
    for (&arg, &value) in form.updates.iter().zip(running) {
        new_params[arg - n_in] = value;
    }
    let mut new_state = vec![t];
    for (k, (&i, &g)) in trained.iter().zip(grads).enumerate() {
        let own = &s_args[1 + k * slots.len()..1 + (k + 1) * slots.len()];
        let (np, ns) = optimizer.update(&mut b, t, p_args[i], g, own)?;
        new_params[i] = np;
        new_state.extend(ns);
    }
    let mut results = new_params;
    results.extend(new_state);
    results.push(*loss_value);
    b.ret(&results)?;
    step.results = results.iter().map(|&v| step.ty(v).clone()).collect();
    Ok(TrainStep { module: Module { params: Vec::new(), funcs: vec![step] }, params, buffers, state, batch })
}

/// `f` with a trailing `target` argument, returning `loss(f(...), target)`
/// and then `f`'s other results.
fn with_loss(f: &Func, loss: Loss, target: Type, symbols: &dyn tessera_ir::infer::SymbolTable) -> Result<Func, Diag> {
    let mut lf = f.clone();
    lf.name = "loss".into();
    let entry = lf.entry();
    let ret = return_op(&lf)?;
    let outputs = lf.op(ret).operands.clone();
    let Some((&pred, others)) = outputs.split_first() else {
        return Err(Diag::error(f.loc.clone(), format!("@{} returns nothing", f.name)));
    };
    lf.erase_op(ret);
    let target = lf.add_block_arg(entry, target);
    let mut b = Builder::new(&mut lf, symbols);
    let l = loss.build(&mut b, pred, target)?;
    let mut results = vec![l];
    results.extend_from_slice(others);
    b.ret(&results)?;
    lf.results = results.iter().map(|&v| lf.ty(v).clone()).collect();
    Ok(lf)
}
