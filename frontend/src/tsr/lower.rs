//! Lowering: each model becomes a function of the module, built through
//! the IR [`Builder`] by walking its body with the checker and the
//! [`IrEmit`] back end. Every op gets the `Loc::File` of the expression it
//! comes from (inside the standard library: of the user's call), every
//! `let` names the value it binds, and each declared parameter becomes a
//! module [`tessera_ir::Param`] with its initial value.

use super::ast::{ItemKind, Program};
use super::check::{Checker, Emit, Functions, TVal, TypeEmit};
use super::source::SourceFile;
use tessera_ir::attr::{Attr, DenseAttr};
use tessera_ir::dialect::graph::{control, value};
use tessera_ir::func::sanitize_name;
use tessera_ir::infer::NoSymbols;
use tessera_ir::{Attrs, Builder, Diag, Func, InsertPoint, Loc, Module, OpRef, RegionId, TensorType, Type, ValueId};

/// The back end that builds graph ops in one function.
pub struct IrEmit<'f> {
    b: Builder<'f>,
}

impl IrEmit<'_> {
    fn tval(&self, v: ValueId) -> Result<TVal<ValueId>, String> {
        match self.b.func.ty(v) {
            Type::Tensor(ty) => Ok(TVal { ty: ty.clone(), v }),
            other => Err(format!("expected a tensor, got {other}")),
        }
    }

    fn results(&self, op: tessera_ir::OpId) -> Result<Vec<TVal<ValueId>>, String> {
        self.b.func.op(op).results.clone().into_iter().map(|r| self.tval(r)).collect()
    }
}

/// A region being built, and where ops went before it.
pub struct OpenRegion {
    region: RegionId,
    outer: InsertPoint,
}

impl Emit for IrEmit<'_> {
    type V = ValueId;
    type Region = OpenRegion;

    fn lowering(&self) -> bool {
        true
    }

    fn op(&mut self, def: OpRef, operands: &[&TVal<ValueId>], attrs: Attrs, loc: &Loc) -> Result<Vec<TVal<ValueId>>, String> {
        self.b.set_loc(loc.clone());
        let ids: Vec<ValueId> = operands.iter().map(|t| t.v).collect();
        let op = self.b.create(def, &ids, attrs, Vec::new()).map_err(|d| d.message)?;
        self.results(op)
    }

    fn constant(&mut self, value: DenseAttr, loc: &Loc) -> Result<TVal<ValueId>, String> {
        self.b.set_loc(loc.clone());
        let v = self.b.constant(value).map_err(|d| d.message)?;
        self.tval(v)
    }

    fn param(&mut self, name: &str, ty: &TensorType, loc: &Loc) -> TVal<ValueId> {
        self.b.set_loc(loc.clone());
        let attrs = Attrs::from([("sym", Attr::SymbolRef(name.to_string()))]);
        let op = self.b.create_typed(&value::PARAM, &[], attrs, vec![Type::Tensor(ty.clone())], Vec::new());
        TVal { ty: ty.clone(), v: self.b.func.op(op).results[0] }
    }

    fn name(&mut self, v: &ValueId, name: &str) {
        let data = self.b.func.value_mut(*v);
        if data.name.is_none() {
            data.name = Some(sanitize_name(name));
        }
    }

    fn enter_region(&mut self, args: &[TensorType]) -> (OpenRegion, Vec<TVal<ValueId>>) {
        let outer = self.b.insert_point();
        let types: Vec<Type> = args.iter().cloned().map(Type::Tensor).collect();
        let (region, block) = self.b.new_region(&types);
        self.b.set_insert_point(InsertPoint::End(block));
        let vals = self.b.func.block(block).args.iter().zip(args).map(|(&v, ty)| TVal { ty: ty.clone(), v }).collect();
        (OpenRegion { region, outer }, vals)
    }

    fn leave_region(&mut self, region: &OpenRegion, yields: &[&TVal<ValueId>], loc: &Loc) -> Result<(), String> {
        self.b.set_loc(loc.clone());
        let ids: Vec<ValueId> = yields.iter().map(|t| t.v).collect();
        let done = self.b.yield_values(&ids).map_err(|d| d.message);
        self.b.set_insert_point(region.outer);
        done
    }

    fn if_op(&mut self, cond: &TVal<ValueId>, regions: [OpenRegion; 2], _: &TensorType, loc: &Loc) -> Result<TVal<ValueId>, String> {
        self.b.set_loc(loc.clone());
        let [a, b] = regions;
        let op = self.b.create(&control::IF, &[cond.v], Attrs::new(), vec![a.region, b.region]).map_err(|d| d.message)?;
        self.results(op)?.pop().ok_or_else(|| "tg.if gave no result".to_string())
    }

    fn loop_op(
        &mut self,
        trips: &TVal<ValueId>,
        cond: &TVal<ValueId>,
        init: &[&TVal<ValueId>],
        body: OpenRegion,
        loc: &Loc,
    ) -> Result<Vec<TVal<ValueId>>, String> {
        self.b.set_loc(loc.clone());
        let mut operands = vec![trips.v, cond.v];
        operands.extend(init.iter().map(|t| t.v));
        let op = self.b.create(&control::LOOP, &operands, Attrs::new(), vec![body.region]).map_err(|d| d.message)?;
        self.results(op)
    }
}

/// Lowers every model of `program` (already checked) to a module; the
/// diagnostics of anything that still fails, verification included.
pub fn lower(program: &Program, funcs: &Functions, sources: &[SourceFile]) -> Result<Module, Vec<Diag>> {
    let mut module = Module::new();
    let mut diags = Vec::new();
    for item in program.items.iter().filter(|i| i.kind == ItemKind::Model) {
        let mut types = Checker::new(TypeEmit, funcs, sources);
        let Some(inputs) = types.model_inputs(item) else {
            diags.extend(types.into_diags());
            continue;
        };
        let arg_types: Vec<Type> = inputs.into_iter().map(Type::Tensor).collect();
        let mut func = Func::new(&item.name.name, &arg_types, Vec::new());
        func.loc = sources[super::check::USER].loc(item.name.span);
        let args = func.args().to_vec();
        let (results, params, errors) = {
            let mut cx = Checker::new(IrEmit { b: Builder::new(&mut func, &NoSymbols) }, funcs, sources);
            let results = cx.run_model(item, args).and_then(|(values, loc)| {
                cx.emit.b.set_loc(loc);
                let ids: Vec<ValueId> = values.iter().map(|t| t.v).collect();
                cx.emit.b.ret(&ids).ok()?;
                Some(values.into_iter().map(|t| Type::Tensor(t.ty)).collect::<Vec<_>>())
            });
            (results, std::mem::take(&mut cx.params), cx.into_diags())
        };
        diags.extend(errors);
        if let Some(results) = results {
            func.results = results;
        }
        module.params.extend(params);
        module.funcs.push(func);
    }
    if diags.is_empty() {
        if let Err(errs) = tessera_ir::verify::verify(&module) {
            diags.extend(errs.0);
        }
    }
    if diags.is_empty() {
        Ok(module)
    } else {
        Err(diags)
    }
}
