//! ONNX emitters: control flow. `tg.if` is `If` with its regions as the
//! `then_branch`/`else_branch` subgraphs, `tg.loop` is `Loop` (the same
//! operands, body arguments and yields as ONNX's), and `tg.call` is
//! inlined: the callee's ops are emitted in place, its arguments named
//! after the call's operands and its results after the call's results.

use super::cx::{attr_graph, OpCx};
use super::registry::Emit;

/// How deeply calls may nest while inlining (a deeper chain is recursion).
const MAX_INLINE_DEPTH: usize = 64;

fn if_op(cx: &mut OpCx) -> Result<(), String> {
    let cond = cx.input(0);
    let then_branch = cx.subgraph(0, "then_branch")?;
    let else_branch = cx.subgraph(1, "else_branch")?;
    let outs: Vec<String> = (0..cx.op.results.len()).map(|i| cx.out(i)).collect();
    let refs: Vec<&str> = outs.iter().map(String::as_str).collect();
    cx.node(
        "If",
        &[&cond],
        &refs,
        vec![attr_graph("then_branch", then_branch), attr_graph("else_branch", else_branch)],
    );
    Ok(())
}

fn loop_op(cx: &mut OpCx) -> Result<(), String> {
    let inputs: Vec<String> = (0..cx.op.operands.len()).map(|i| cx.input(i)).collect();
    let body = cx.subgraph(0, "body")?;
    let outs: Vec<String> = (0..cx.op.results.len()).map(|i| cx.out(i)).collect();
    let ins: Vec<&str> = inputs.iter().map(String::as_str).collect();
    let refs: Vec<&str> = outs.iter().map(String::as_str).collect();
    cx.node("Loop", &ins, &refs, vec![attr_graph("body", body)]);
    Ok(())
}

fn call(cx: &mut OpCx) -> Result<(), String> {
    let name = cx.attrs().symbol("sym")?.to_string();
    let callee = cx.ex.module.func(&name).ok_or_else(|| format!("the module has no function @{name}"))?;
    if cx.ex.frames.len() >= MAX_INLINE_DEPTH {
        return Err(format!("calls nest more than {MAX_INLINE_DEPTH} deep (is @{name} recursive?)"));
    }
    let args: Vec<String> = (0..cx.op.operands.len()).map(|i| cx.input(i)).collect();
    let outs: Vec<String> = (0..cx.op.results.len()).map(|i| cx.out(i)).collect();
    let ex = &mut *cx.ex;
    ex.open_frame(callee, &args, false);
    let block = callee.entry();
    let returned = super::terminator_operands(ex, block);
    let identities = super::bind_outputs(ex, block, &returned, &outs);
    super::emit_block(ex, block);
    for (v, to) in identities {
        let from = ex.name_of(v);
        super::identity(ex, &from, &to, &name);
    }
    ex.frames.pop();
    Ok(())
}

/// The emitters of this family, by op name.
pub(super) const EMITTERS: &[(&str, Emit)] = &[("tg.if", if_op), ("tg.loop", loop_op), ("tg.call", call)];
