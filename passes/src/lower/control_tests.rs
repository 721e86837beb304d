//! Tests of lowering control flow (`tg.loop`, `tg.if`, `tg.call`): what
//! the programs of `tests/fixtures/lower/control.tir` lower to (loops with
//! a known iteration count as counted loops, others as while loops,
//! branches as `k.if`, calls inlined), and what is refused (recursion, scan
//! outputs of unknown length). That they compute what the reference
//! evaluator computes, on the kernel interpreter and the JIT, is checked by
//! `differential::cases::control`.

use super::inline::inline_calls;
use crate::differential::cases::control::CONTROL;
use crate::{PassManager, Pipeline};
use tessera_ir::parse::parse_module;
use tessera_ir::verify::VerifiedModule;
use tessera_ir::{Diags, Func};

/// Parses and verifies `src`.
fn verified(src: &str) -> VerifiedModule {
    let module = parse_module(src, "control.tir").unwrap_or_else(|d| panic!("{}", d.render(&Default::default())));
    VerifiedModule::new(module).unwrap_or_else(|d| panic!("{}", d.render(&Default::default())))
}

/// `m` lowered to the kernel dialect, verified after the pass.
fn lowered(m: &VerifiedModule) -> Result<VerifiedModule, Diags> {
    PassManager::new(Pipeline::parse("lower-to-kernel").unwrap()).verify_each(true).run(m.module().clone())
}

/// Function `name` of the programs, lowered.
fn lowered_func(name: &str) -> Func {
    let k = lowered(&verified(CONTROL)).unwrap_or_else(|d| panic!("{}", d.render(&Default::default())));
    k.module().func(name).unwrap().clone()
}

/// The ops of `func`, nested ones included, named `name`.
fn count(func: &Func, name: &str) -> usize {
    func.walk().into_iter().filter(|&op| func.op(op).def.name() == name).count()
}

#[test]
fn scans_with_a_known_count_are_counted_loops() {
    let f = lowered_func("scan");
    assert_eq!((count(&f, "k.for") > 0, count(&f, "k.while"), count(&f, "k.if")), (true, 0, 0));
}

#[test]
fn loops_with_a_run_time_count_or_condition_are_while_loops() {
    assert_eq!(count(&lowered_func("grow"), "k.while"), 1);
}

#[test]
fn branches_are_one_if() {
    assert_eq!(count(&lowered_func("pick"), "k.if"), 1);
}

#[test]
fn loops_and_branches_nest() {
    let f = lowered_func("nested");
    assert_eq!((count(&f, "k.if"), count(&f, "k.while")), (1, 1));
}

#[test]
fn calls_are_inlined() {
    assert_eq!(count(&lowered_func("caller"), "tg.call"), 0);
    assert_eq!(count(&lowered_func("twice"), "tg.call"), 0);
}

#[test]
fn call_chains_deeper_than_the_limit_are_refused_as_recursion() {
    // Text cannot spell recursion (a callee comes before its callers), so
    // the callee @helper is swapped for a copy of its caller.
    let src = "
func @helper(%x: tensor<3xf32>) -> tensor<3xf32> {
  tg.return %x
}
func @forever(%x: tensor<3xf32>) -> tensor<3xf32> {
  %y = tg.call @helper %x
  tg.return %y
}";
    let m = verified(src);
    let forever = m.module().func("forever").unwrap().clone();
    let mut helper = forever.clone();
    helper.name = "helper".into();
    let err = inline_calls(&forever, &[helper], &m.module().symbols()).expect_err("recursion inlined");
    assert!(err.to_string().contains("recursion is not compiled"), "{err}");
}

#[test]
fn scan_outputs_of_an_unknown_count_are_refused() {
    let src = "
func @range(%n: tensor<i64>, %x: tensor<f32>) -> tensor<? x f32> {
  %true = tg.constant {value = dense<true> : tensor<i1>}
  %last, %all = tg.loop %n, %true, %x : tensor<f32>, tensor<? x f32> {
  ^bb0(%i: tensor<i64>, %c: tensor<i1>, %s: tensor<f32>):
    %t = tg.add %s, %s
    tg.yield %c, %t, %s
  }
  tg.return %all
}";
    let err = lowered(&verified(src)).expect_err("a scan of unknown length lowers");
    assert!(err.to_string().contains("'?' dim"), "{err}");
}
