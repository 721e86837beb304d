//! The verifier: structure, SSA dominance, terminators, attributes and
//! types against each op's inference. It reports every problem it finds,
//! and [`VerifiedModule`] is the proof later stages require.

use crate::builder::infer_types;
use crate::diag::{Diag, Diags};
use crate::dialect::graph::control;
use crate::func::Func;
use crate::id::{BlockId, OpId, RegionId, ValueId};
use crate::module::Module;
use crate::op::{same_op, OpDef, Traits};
use std::collections::HashSet;

/// A module that passed [`verify`]. Code generation accepts only this.
#[derive(Clone, Debug)]
pub struct VerifiedModule(Module);

impl VerifiedModule {
    /// Verifies `module` and wraps it.
    pub fn new(module: Module) -> Result<VerifiedModule, Diags> {
        verify(&module)?;
        Ok(VerifiedModule(module))
    }

    /// The verified module.
    pub fn module(&self) -> &Module {
        &self.0
    }

    /// Gives the module back for editing (it must be verified again).
    pub fn into_inner(self) -> Module {
        self.0
    }
}

/// Checks every invariant of the IR; returns all violations found.
pub fn verify(module: &Module) -> Result<(), Diags> {
    let mut diags = Vec::new();
    let mut names = HashSet::new();
    for p in &module.params {
        if !names.insert(&p.name) {
            diags.push(Diag::error(p.loc.clone(), format!("parameter @{} is declared twice", p.name)));
        }
        if let Some(init) = &p.init {
            if *init.ty() != p.ty {
                diags.push(Diag::error(
                    p.loc.clone(),
                    format!("parameter @{} has type {} but its initial value has type {}", p.name, p.ty, init.ty()),
                ));
            }
        }
    }
    let mut func_names = HashSet::new();
    for f in &module.funcs {
        if !func_names.insert(&f.name) {
            diags.push(Diag::error(f.loc.clone(), format!("function @{} is defined twice", f.name)));
        }
        FuncVerifier { module, func: f, diags: &mut diags, visible: HashSet::new() }.run();
    }
    if diags.is_empty() {
        Ok(())
    } else {
        Err(Diags(diags))
    }
}

struct FuncVerifier<'a> {
    module: &'a Module,
    func: &'a Func,
    diags: &'a mut Vec<Diag>,
    /// Values defined so far along the path to the current op.
    visible: HashSet<ValueId>,
}

impl FuncVerifier<'_> {
    fn run(&mut self) {
        let f = self.func;
        if f.region(f.body()).blocks.len() != 1 {
            self.error_at_func("a function body has exactly one block");
        }
        self.region(f.body(), None);
    }

    fn error_at_func(&mut self, msg: &str) {
        self.diags.push(Diag::error(self.func.loc.clone(), format!("in @{}: {msg}", self.func.name)));
    }

    fn op_error(&mut self, op: OpId, msg: String) {
        let data = self.func.op(op);
        self.diags.push(Diag::error(data.loc.clone(), format!("'{}' op: {msg}", data.def.name())));
    }

    fn region(&mut self, region: RegionId, owner: Option<OpId>) {
        let f = self.func;
        if f.region(region).blocks.is_empty() {
            match owner {
                Some(op) => self.op_error(op, "a region must hold at least one block".into()),
                None => self.error_at_func("the body has no block"),
            }
        }
        let added_before = self.visible.clone();
        for &b in &f.region(region).blocks {
            self.block(b, owner);
        }
        self.visible = added_before;
    }

    fn block(&mut self, b: BlockId, owner: Option<OpId>) {
        let f = self.func;
        let block = f.block(b);
        self.visible.extend(block.args.iter().copied());
        let Some(&last) = block.ops.last() else {
            match owner {
                Some(op) => self.op_error(op, "a block of its region is empty; it must end with 'tg.yield'".into()),
                None => self.error_at_func("the body is empty; it must end with 'tg.return'"),
            }
            return;
        };
        for &op in &block.ops {
            if f.op(op).block != Some(b) {
                self.op_error(op, "is listed in a block it does not record as its parent".into());
            }
            let is_term = f.op(op).def.traits().contains(Traits::TERMINATOR);
            if is_term && op != last {
                self.op_error(op, "a terminator must be the last op of its block".into());
            }
            self.op(op);
        }
        let def = f.op(last).def;
        let expected: &dyn OpDef = if owner.is_some() { &control::YIELD } else { &control::RETURN };
        if !def.traits().contains(Traits::TERMINATOR) {
            self.op_error(last, format!("the block must end with '{}'", expected.name()));
        } else if !same_op(def, expected) {
            self.op_error(last, format!("only '{}' may end this block", expected.name()));
        } else if owner.is_none() {
            self.check_return(last);
        }
    }

    fn check_return(&mut self, op: OpId) {
        let f = self.func;
        let actual: Vec<_> = f.op(op).operands.iter().map(|&v| f.ty(v).clone()).collect();
        if actual.len() != f.results.len() {
            return self.op_error(op, format!("@{} returns {} value(s), got {}", f.name, f.results.len(), actual.len()));
        }
        for (i, (a, e)) in actual.iter().zip(&f.results).enumerate() {
            if !a.refines(e) {
                self.op_error(op, format!("result #{i} of @{} has type {e}, but {a} is returned", f.name));
            }
        }
    }

    fn op(&mut self, op: OpId) {
        let f = self.func;
        let data = f.op(op);
        for (i, &v) in data.operands.iter().enumerate() {
            if !self.visible.contains(&v) {
                self.op_error(op, format!("operand #{i} is used before it is defined (or outside its region)"));
            }
        }
        for &r in &data.regions {
            self.region(r, Some(op));
        }
        match infer_types(f, self.module, data.def, &data.operands, &data.attrs, &data.regions) {
            Err(msg) => self.op_error(op, msg),
            Ok(inferred) => {
                if inferred.len() != data.results.len() {
                    self.op_error(op, format!("has {} result(s) but inference gives {}", data.results.len(), inferred.len()));
                } else {
                    for (i, (&r, inf)) in data.results.iter().zip(&inferred).enumerate() {
                        let declared = f.ty(r);
                        if !declared.refines(inf) {
                            self.op_error(op, format!("result #{i} is declared {declared} but inferred {inf}"));
                        }
                    }
                }
            }
        }
        self.visible.extend(data.results.iter().copied());
    }
}

