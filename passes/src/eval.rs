//! The reference evaluator: a naive, obviously-correct interpreter of the
//! graph dialect. It walks a function op by op, calling each op's `eval`
//! hook, binds symbolic dims from the arguments' shapes, and runs regions,
//! calls and parameters for the ops that need them. Constant folding and
//! every codegen test use it as the oracle.

use std::collections::HashMap;
use tessera_ir::builder::region_sig;
use tessera_ir::eval::{EvalCx, EvalEnv};
use tessera_ir::infer::{InferCx, RegionSig};
use tessera_ir::tensor::Tensor;
use tessera_ir::verify::VerifiedModule;
use crate::failure::Failure;
use tessera_ir::bindings::Bindings;
use tessera_ir::{Diag, Dim, Func, Loc, Module, OpId, RegionId, TensorType, Type, ValueId};

/// Runs functions of one verified module on host tensors.
pub struct Evaluator<'m> {
    module: &'m Module,
    params: HashMap<String, Tensor>,
}

impl<'m> Evaluator<'m> {
    /// An evaluator whose parameters hold their initial values.
    pub fn new(module: &'m VerifiedModule) -> Evaluator<'m> {
        let module = module.module();
        let params =
            module.params.iter().filter_map(|p| p.init.as_ref().map(|init| (p.name.clone(), Tensor::from(init)))).collect();
        Evaluator { module, params }
    }

    /// Replaces the value of parameter `name`; its type must match.
    pub fn set_param(&mut self, name: &str, value: Tensor) -> Result<(), Diag> {
        let p = self.module.param(name).ok_or_else(|| Diag::error(Loc::Unknown, format!("no parameter named @{name}")))?;
        if value.ty() != p.ty {
            return Err(Diag::error(p.loc.clone(), format!("parameter @{name} has type {}, got {}", p.ty, value.ty())));
        }
        self.params.insert(name.to_string(), value);
        Ok(())
    }

    /// Runs function `name` on `inputs` and returns its results.
    pub fn run(&self, name: &str, inputs: Vec<Tensor>) -> Result<Vec<Tensor>, Diag> {
        let func = self.module.func(name).ok_or_else(|| Diag::error(Loc::Unknown, format!("no function named @{name}")))?;
        self.run_func(func, inputs).map_err(|e| e.into_diag(func))
    }

    fn run_func(&self, func: &Func, inputs: Vec<Tensor>) -> Result<Vec<Tensor>, Failure> {
        let bindings = bind_arguments(func, &inputs).map_err(Failure::Func)?;
        let mut frame = Frame { eval: self, func, values: HashMap::new(), bindings };
        // The inputs bind the entry block's arguments, which are the function's.
        let results = frame.run_region(func.body(), inputs)?;
        for (i, (value, ty)) in results.iter().zip(&func.results).enumerate() {
            frame.check_type(value, ty).map_err(|e| Failure::Func(format!("result #{i}: {e}")))?;
        }
        Ok(results)
    }
}

/// Binds each symbol in the argument types to the size the inputs give it,
/// checking dtypes, ranks, static dims and repeated symbols.
fn bind_arguments(func: &Func, inputs: &[Tensor]) -> Result<Bindings, String> {
    let args = func.arg_types();
    if args.len() != inputs.len() {
        return Err(format!("takes {} input(s), got {}", args.len(), inputs.len()));
    }
    let tensors = args
        .iter()
        .enumerate()
        .map(|(i, ty)| ty.as_tensor().cloned().ok_or_else(|| format!("argument #{i} has non-tensor type {ty}")))
        .collect::<Result<Vec<TensorType>, String>>()?;
    Bindings::from_inputs(&tensors, inputs, |i| args[i].to_string())
}

/// One running function: its values and symbol bindings.
struct Frame<'e, 'm> {
    eval: &'e Evaluator<'m>,
    func: &'e Func,
    values: HashMap<ValueId, Tensor>,
    bindings: Bindings,
}

impl Frame<'_, '_> {
    fn run_region(&mut self, region: RegionId, args: Vec<Tensor>) -> Result<Vec<Tensor>, Failure> {
        let Some(&entry) = self.func.region(region).blocks.first() else {
            return Err(Failure::Func("a region has no block".into()));
        };
        let block = self.func.block(entry);
        if block.args.len() != args.len() {
            return Err(Failure::Func(format!("a region takes {} argument(s), got {}", block.args.len(), args.len())));
        }
        for (&a, v) in block.args.iter().zip(args) {
            self.values.insert(a, v);
        }
        let ops = block.ops.clone();
        for op in ops {
            if self.func.op(op).def.traits().contains(tessera_ir::Traits::TERMINATOR) {
                return self.func.op(op).operands.iter().map(|v| self.value(op, *v)).collect();
            }
            self.run_op(op)?;
        }
        Err(Failure::Func("a block has no terminator".into()))
    }

    fn value(&self, op: OpId, v: ValueId) -> Result<Tensor, Failure> {
        self.values.get(&v).cloned().ok_or_else(|| Failure::Op(op, "an operand has no value (invalid IR)".into()))
    }

    fn run_op(&mut self, op: OpId) -> Result<(), Failure> {
        let func = self.func;
        let data = func.op(op);
        let inputs = data.operands.iter().map(|&v| self.value(op, v)).collect::<Result<Vec<_>, _>>()?;
        let operand_types: Vec<Type> = data.operands.iter().map(|&v| func.ty(v).clone()).collect();
        let result_types: Vec<Type> = data.results.iter().map(|&v| func.ty(v).clone()).collect();
        let sigs: Vec<RegionSig> = data.regions.iter().map(|&r| region_sig(func, r)).collect();
        let symbols = self.eval.module;
        let outputs = {
            let mut env = OpEnv { frame: self, regions: &data.regions };
            let mut cx = EvalCx {
                op: InferCx { operands: &operand_types, attrs: &data.attrs, regions: &sigs, symbols },
                inputs: &inputs,
                results: &result_types,
                env: &mut env,
            };
            data.def.eval(&mut cx).map_err(|e| Failure::Op(op, e))?
        };
        if outputs.len() != data.results.len() {
            return Err(Failure::Op(op, format!("evaluation gave {} result(s), expected {}", outputs.len(), data.results.len())));
        }
        for (i, (value, ty)) in outputs.iter().zip(&result_types).enumerate() {
            self.check_type(value, ty).map_err(|e| Failure::Op(op, format!("result #{i}: {e}")))?;
        }
        for (&r, value) in data.results.iter().zip(outputs) {
            self.values.insert(r, value);
        }
        Ok(())
    }

    /// Checks a computed value against a declared type (`?` dims accept any size).
    fn check_type(&self, value: &Tensor, ty: &Type) -> Result<(), String> {
        let Type::Tensor(t) = ty else { return Err(format!("declared type {ty} is not a tensor")) };
        let fits = t.dtype == value.dtype()
            && t.rank() == value.rank()
            && t.dims.iter().zip(value.shape()).all(|(d, &n)| match d {
                Dim::Unknown => true,
                d => self.bindings.size(d).is_ok_and(|m| m == n),
            });
        if fits {
            Ok(())
        } else {
            Err(format!("computed {} but the IR declares {ty}", value.ty()))
        }
    }
}

/// The environment one op sees while it evaluates.
struct OpEnv<'a, 'e, 'm> {
    frame: &'a mut Frame<'e, 'm>,
    regions: &'a [RegionId],
}

impl EvalEnv for OpEnv<'_, '_, '_> {
    fn dim(&self, d: &Dim) -> Result<usize, String> {
        self.frame.bindings.size(d)
    }

    fn run_region(&mut self, index: usize, args: Vec<Tensor>) -> Result<Vec<Tensor>, String> {
        let region = *self.regions.get(index).ok_or_else(|| format!("the op has no region #{index}"))?;
        self.frame.run_region(region, args).map_err(|f| match f {
            Failure::Op(op, msg) => {
                let data = self.frame.func.op(op);
                format!("in region #{index}: '{}' op: {msg}", data.def.name())
            }
            Failure::Func(msg) => format!("in region #{index}: {msg}"),
        })
    }

    fn call(&mut self, name: &str, args: Vec<Tensor>) -> Result<Vec<Tensor>, String> {
        let eval = self.frame.eval;
        let callee = eval.module.func(name).ok_or_else(|| format!("no function named @{name}"))?;
        eval.run_func(callee, args).map_err(|f| f.into_diag(callee).message)
    }

    fn param(&self, name: &str) -> Result<Tensor, String> {
        self.frame.eval.params.get(name).cloned().ok_or_else(|| format!("parameter @{name} has no value"))
    }
}
