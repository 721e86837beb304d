//! `lower-to-kernel`: graph-dialect functions become kernel-dialect
//! functions of loop nests over buffers, the form code generation starts
//! from (see `tessera_ir::dialect::kernel`).
//!
//! **Calling convention.** A function `@f(%x: tensor<N x 4 x f32>) ->
//! tensor<N x 4 x f32>` becomes `@f(%x: buffer<N x 4 x f32>, %out0:
//! buffer<N x 4 x f32>)`: one buffer argument per input, in order, then one
//! per result, in order; it returns nothing and writes every element of
//! every output. The caller allocates the outputs. A symbolic dim is read
//! at the entry with `k.dim` from the first argument (inputs before
//! outputs) that has it as a whole axis, and composite dims (`2*N + 1`)
//! are computed from those. Inputs are never written; outputs may be read
//! after they are written.
//!
//! **What each op becomes.** Each lowered graph op has a rule (`rules.rs`):
//! - elementwise ops (unary, binary, comparisons, `tg.select`, `tg.cast`,
//!   `tg.bitcast`) and the index remappings `tg.broadcast_to`,
//!   `tg.transpose`, `tg.reshape`, `tg.slice`, `tg.reverse` and the
//!   gathers (`tg.gather`, `tg.gather_elements`, `tg.gather_nd`, whose
//!   indices become checked `k.to_index`es) compute one result element
//!   from operand elements, and `tg.iota` from its index (`elementwise.rs`,
//!   `layout.rs`, `gather.rs`);
//! - `tg.concat`, `tg.pad` (every mode), `tg.reduce_{sum,prod,max,min}`,
//!   `tg.dot`, `tg.conv`, `tg.reduce_window`, `tg.scatter`,
//!   `tg.scatter_nd`, `tg.argmax`/`tg.argmin`, `tg.cumsum`/`tg.cumprod`
//!   and `tg.shape_of` write their whole result with loop nests of their own (`layout.rs`,
//!   `reduce.rs`, `linalg.rs`, `conv.rs` (f32 and f64 as a `k.matmul` of the
//!   filter by the patches, `conv_gemm.rs`), `window.rs`, `gather.rs`,
//!   `scan.rs`), and `tg.sort` and `tg.topk` both their results
//!   (`sort.rs`);
//! - `tg.constant` becomes a scalar literal (when all its elements are
//!   equal) or a read-only constant buffer, and `tg.param` the parameter's
//!   read-only buffer, made once at the entry (`value.rs`).
//!
//! - `tg.if` becomes a `k.if` whose branches write the results' buffers,
//!   and `tg.loop` a `k.for` over the iterations when their number is
//!   known (a constant trip count, a condition that stays true) or else a
//!   `k.while` carrying the iteration and the condition; each carried
//!   tensor lives in one buffer (the result's), updated at the end of each
//!   iteration from the values the body yields, and each scan output is
//!   written at the iteration's slice (`control.rs`);
//! - `tg.call` is inlined before anything is lowered (`inline.rs`).
//!
//! Nothing falls back to the reference evaluator: an op without a rule
//! stops the pass with an error naming it. Every value must have static
//! or symbolic dims (`?` dims are refused: shape inference or `specialize`
//! resolves them first; the stacked scan outputs of a `tg.loop` whose
//! iteration count is known get it as their length here). A
//! gather whose result nothing reads, or whose reader reads only some of
//! its elements, does not check the indices it does not read.
//!
//! The rules live here, in the pass, rather than as a hook on each graph
//! op's declaration: a rule needs the emitter (loop nests, hoisting, the
//! fusion plan), which belongs to this crate, and the graph ops only
//! contribute what they already declare: their scalar semantics, reached
//! through `k.apply`, and their attribute readers.
//!
//! **Fusion.** A value is computed inline by its reader, with no buffer of
//! its own, when all of these hold: its producer computes elements (an
//! `Element` or `Remap` rule), it has exactly one use, that use is by a
//! lowered op (not the `tg.return` or a `tg.yield`) in the same block, and
//! either the reader reads each of its elements at most once or the
//! producer only moves elements (a remap, which repeats no arithmetic when
//! inlined). "At most once" holds for readers that do not broadcast it and
//! for reductions, concatenation and padding; it propagates, so a value
//! inlined into a broadcasting reader makes its own operands repeated too.
//! So `relu(x * w + b)` with `b` broadcast is one loop nest, and `sum(x * y)`
//! is one nest with the product computed in the reduction loop; `exp(b)`
//! broadcast into a larger add is computed once into a temporary. Every
//! other value is materialised: into the output buffer when it is returned
//! (its first return), else into a `k.alloc` temporary. Loops over result
//! positions are `parallel`; loops over reduced or contracted axes carry
//! their accumulator and are sequential. Values nothing uses are not
//! computed at all.

mod control;
#[cfg(test)]
mod control_tests;
mod conv;
mod conv_gemm;
mod elementwise;
mod emit;
mod gather;
#[cfg(test)]
mod gather_tests;
pub mod inline;
mod layout;
mod linalg;
mod reduce;
mod rules;
mod scan;
mod sort;
#[cfg(test)]
mod tests;
mod value;
mod window;
#[cfg(test)]
mod window_tests;

use crate::manager::Pass;
use emit::{Lowerer, Source};
use rules::{rule, Lowering};
use std::collections::{HashMap, HashSet};
use tessera_ir::attr::Attrs;
use tessera_ir::dialect::graph::control::RETURN;
use tessera_ir::dialect::kernel;
use tessera_ir::infer::SymbolTable;
use tessera_ir::{BlockId, Diag, Diags, Dim, Func, Module, OpId, Traits, Type, ValueId};

/// The `lower-to-kernel` pass.
pub struct LowerToKernel;

impl Pass for LowerToKernel {
    fn name(&self) -> &'static str {
        "lower-to-kernel"
    }

    fn summary(&self) -> &'static str {
        "lowers graph functions to kernel loop nests over buffers (inputs, then outputs), fusing elementwise chains"
    }

    fn run(&self, module: &mut Module) -> Result<bool, Diags> {
        let symbols = module.symbols();
        let callees = inline::callees(module);
        let mut diags = Vec::new();
        let mut changed = false;
        for func in &mut module.funcs {
            if is_kernel(func) {
                continue;
            }
            let inlined = inline::inline_calls(func, &callees, &symbols);
            match inlined.and_then(|f| lower_func(&f, &symbols)) {
                Ok(lowered) => {
                    *func = lowered;
                    changed = true;
                }
                Err(d) => diags.extend(d.0),
            }
        }
        if diags.is_empty() {
            Ok(changed)
        } else {
            Err(Diags(diags))
        }
    }
}

/// The registered instance.
pub static LOWER_TO_KERNEL: LowerToKernel = LowerToKernel;

/// Whether `func` already is a kernel function: no tensors in its signature
/// and nothing but kernel ops and terminators in its body.
fn is_kernel(func: &Func) -> bool {
    let tensor = |t: &Type| matches!(t, Type::Tensor(_));
    !func.arg_types().iter().any(tensor)
        && !func.results.iter().any(tensor)
        && func.walk().into_iter().all(|op| {
            let def = func.op(op).def;
            kernel::kind(def).is_some() || def.traits().contains(Traits::TERMINATOR)
        })
}

/// The kernel function computing graph function `src` (whose calls are
/// inlined already, see [`inline::inline_calls`]).
pub fn lower_func(src: &Func, symbols: &dyn SymbolTable) -> Result<Func, Diags> {
    let refined = control::refine_loops(src, symbols)?;
    let src = refined.as_ref();
    check(src)?;
    if src.block(src.entry()).ops.is_empty() {
        return Err(Diag::error(src.loc.clone(), format!("@{} is empty", src.name)).into());
    }

    let mut signature: Vec<Type> = src.arg_types().into_iter().map(buffer_of).collect();
    signature.extend(src.results.iter().cloned().map(buffer_of));
    let mut func = Func::new(&src.name, &signature, Vec::new());
    func.loc = src.loc.clone();
    let args = func.args().to_vec();
    let (inputs, outputs) = args.split_at(src.args().len());
    for (&k, &g) in inputs.iter().zip(src.args()) {
        func.value_mut(k).name = src.value(g).name.clone();
    }
    for (i, &out) in outputs.iter().enumerate() {
        func.value_mut(out).name = Some(format!("out{i}"));
    }

    let mut l = Lowerer::new(src, symbols, func);
    for (&g, &k) in src.args().iter().zip(inputs) {
        l.sources.insert(g, Source::Buffer(k));
    }
    let uses = src.use_counts();
    l.inline = plan(src, &uses);
    lower_block(&mut l, src.entry(), outputs, &uses)?;
    l.emit(&RETURN, &[], Attrs::new(), Vec::new())?;
    Ok(l.func)
}

/// Lowers the ops of graph block `block` (a function body or a branch of
/// `tg.if`) at the insertion point, writing the values its terminator
/// hands over into `outs`, in order. Each value computed in the block and
/// handed over is written straight into its first destination; every other
/// (an argument, a constant, a value from outside, one handed over twice)
/// is copied at the end.
pub(crate) fn lower_block(
    l: &mut Lowerer<'_>,
    block: BlockId,
    outs: &[ValueId],
    uses: &HashMap<ValueId, usize>,
) -> Result<(), Diag> {
    let src = l.src;
    let (&term, body) = src
        .block(block)
        .ops
        .split_last()
        .ok_or_else(|| Diag::error(src.loc.clone(), format!("@{}: a block is empty", src.name)))?;
    let handed = &src.op(term).operands;
    let mut dests: HashMap<ValueId, ValueId> = HashMap::new();
    let mut copies = Vec::new();
    for (&v, &out) in handed.iter().zip(outs) {
        let computed = src.def_op(v).is_some_and(|op| {
            src.op(op).block == Some(block)
                && rule(src.op(op).def).is_some_and(|r| !matches!(r.lowering, Lowering::Source(_)))
        });
        if computed && !dests.contains_key(&v) {
            dests.insert(v, out);
        } else {
            copies.push((v, out));
        }
    }
    lower_ops(l, body, &dests, uses)?;
    l.set_loc(src.op(term).loc.clone());
    for (v, out) in copies {
        l.copy_into(v, out, &[])?;
    }
    Ok(())
}

/// Lowers graph ops `ops` (of one block, in order) at the insertion point:
/// each value into its buffer in `dests` when it has one, else into a
/// temporary, unless it is computed inline by its reader or nothing uses it.
pub(crate) fn lower_ops(
    l: &mut Lowerer<'_>,
    ops: &[OpId],
    dests: &HashMap<ValueId, ValueId>,
    uses: &HashMap<ValueId, usize>,
) -> Result<(), Diag> {
    let src = l.src;
    for &op in ops {
        let results = &src.op(op).results;
        let Some(r) = rule(src.op(op).def).filter(|_| results.iter().any(|v| uses.contains_key(v))) else {
            continue;
        };
        l.set_loc(src.op(op).loc.clone());
        if let Lowering::Nests(f) = r.lowering {
            let outs = results.iter().map(|&v| destination(l, v, dests)).collect::<Result<Vec<_>, _>>()?;
            f(l, op, &outs)?;
            continue;
        }
        let v = l.result(op)?;
        match r.lowering {
            Lowering::Source(f) => {
                let s = f(l, op)?;
                l.sources.insert(v, s);
            }
            _ if l.inline.contains(&v) => {}
            Lowering::Nest(f) => {
                let dest = destination(l, v, dests)?;
                f(l, op, dest)?;
            }
            Lowering::Nests(_) => {}
            Lowering::Element(f) | Lowering::Remap(f) => {
                let dest = destination(l, v, dests)?;
                let bounds = l.extents(&l.tensor(v)?.dims)?;
                l.nest(&bounds, true, "i", Vec::new(), &mut |l, ivs, _| {
                    let e = f(l, op, ivs)?;
                    l.store(e, dest, ivs)?;
                    Ok(Vec::new())
                })?;
            }
        }
    }
    Ok(())
}

/// The buffer graph value `v` is materialised in, from now on read from:
/// its output when it is returned, else a new temporary named after it.
fn destination(l: &mut Lowerer<'_>, v: ValueId, dests: &HashMap<ValueId, ValueId>) -> Result<ValueId, Diag> {
    let d = match dests.get(&v) {
        Some(&d) => d,
        None => {
            let d = l.alloc(l.tensor(v)?)?;
            if let Some(name) = l.src.value(v).name.clone() {
                l.name(d, name);
            }
            d
        }
    };
    l.sources.insert(v, Source::Buffer(d));
    Ok(d)
}

/// The buffer type of a tensor type.
fn buffer_of(t: Type) -> Type {
    match t {
        Type::Tensor(t) => Type::Buffer(t),
        other => other,
    }
}

/// Refuses, with every reason at once, a function the lowering cannot
/// handle: ops (nested ones included) without a rule, ops with other than
/// one result, `?` dims.
fn check(src: &Func) -> Result<(), Diags> {
    let mut diags = Vec::new();
    let unknown = |t: &Type| t.as_tensor().is_some_and(|t| t.dims.contains(&Dim::Unknown));
    let why = "a dim known only at run time (such as a loop's data-dependent trip count) is not lowered yet: shape inference or specialize must resolve it";
    for (i, t) in src.arg_types().iter().chain(&src.results).enumerate() {
        if unknown(t) {
            diags.push(Diag::error(
                src.loc.clone(),
                format!("@{}: signature type #{i} {t} has a '?' dim; {why}", src.name),
            ));
        }
    }
    for op in src.walk() {
        let data = src.op(op);
        let name = data.def.name();
        if data.def.traits().contains(Traits::TERMINATOR) {
            continue;
        }
        let rule = rule(data.def);
        if rule.is_none() {
            diags.push(Diag::error(data.loc.clone(), format!("'{name}' op: is not lowered to the kernel dialect yet")));
        } else if data.results.len() != 1 && !rule.is_some_and(|r| matches!(r.lowering, Lowering::Nests(_))) {
            diags.push(Diag::error(
                data.loc.clone(),
                format!("'{name}' op: has {} results; the lowering handles one", data.results.len()),
            ));
        } else if let Some(t) = data.results.iter().map(|&r| src.ty(r)).find(|t| unknown(t)) {
            diags.push(Diag::error(data.loc.clone(), format!("'{name}' op: its result {t} has a '?' dim; {why}")));
        }
    }
    if diags.is_empty() {
        Ok(())
    } else {
        Err(Diags(diags))
    }
}

/// The values computed inline by their single reader (the fusion rule in
/// the module doc), given each value's number of uses. Readers come before producers when walking `body`
/// backwards, so each reader's own placement (and whether it is inlined
/// into a reader that repeats elements) is known when its operands are
/// considered.
fn plan(src: &Func, uses: &HashMap<ValueId, usize>) -> HashSet<ValueId> {
    let mut inline = HashSet::new();
    let mut blocks = vec![src.entry()];
    for op in src.walk() {
        for &r in &src.op(op).regions {
            blocks.extend(src.region(r).blocks.iter().copied());
        }
    }
    for block in blocks {
        plan_block(src, &src.block(block).ops, uses, &mut inline);
    }
    inline
}

/// [`plan`] for the ops of one block: only a producer in the same block is
/// computed inline (one outside a loop body would be computed again on
/// every iteration).
fn plan_block(src: &Func, body: &[OpId], uses: &HashMap<ValueId, usize>, inline: &mut HashSet<ValueId>) {
    // Inlined values whose elements their reader reads more than once.
    let mut repeated: HashSet<ValueId> = HashSet::new();
    for &op in body.iter().rev() {
        let data = src.op(op);
        let Some(reader) = rule(data.def) else { continue };
        let reader_repeats = data.results.iter().any(|r| repeated.contains(r));
        for (k, &x) in data.operands.iter().enumerate() {
            let Some(producer) = src.def_op(x).filter(|&p| src.op(p).block == data.block) else { continue };
            let Some(p) = rule(src.op(producer).def) else { continue };
            let repeats = reader_repeats || !(reader.reads_once)(src, op, k);
            let fusable = match p.lowering {
                Lowering::Element(_) => !repeats,
                Lowering::Remap(_) => true,
                Lowering::Nest(_) | Lowering::Nests(_) | Lowering::Source(_) => false,
            };
            if fusable && uses.get(&x) == Some(&1) {
                inline.insert(x);
                if repeats {
                    repeated.insert(x);
                }
            }
        }
    }
}
