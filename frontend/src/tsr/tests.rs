//! Tests of the whole `.tsr` pipeline on small programs: what compiles to
//! what, and which errors are reported where.

use super::*;
use tessera_ir::print::print_module;

/// The printed module of a program that must compile.
fn ir(src: &str) -> String {
    match compile_tsr(src, "t.tsr") {
        Ok(m) => print_module(&m),
        Err(d) => panic!("{}", d.render(&source_map("t.tsr", src))),
    }
}

/// The rendered diagnostics of a program that must fail.
fn errors(src: &str) -> String {
    match compile_tsr(src, "t.tsr") {
        Ok(m) => panic!("compiled:\n{}", print_module(&m)),
        Err(d) => d.render(&source_map("t.tsr", src)),
    }
}

const MLP: &str = "model Mlp(x: f32[N, 784]) -> f32[N, 10] {
  param w1: f32[784, 256] = glorot(seed=0)
  param b1: f32[256]      = zeros()
  param w2: f32[256, 10]  = glorot(seed=1)
  param b2: f32[10]       = zeros()
  let h = relu(x @ w1 + b1)
  return softmax(h @ w2 + b2, axis=-1)
}
";

#[test]
fn smoke() {
    println!("{}", ir(MLP));
    println!("{}", errors(&MLP.replace("b1: f32[256]", "b1: f32[128]")));
}

#[test]
fn explore() {
    let path = std::env::var("TSR").unwrap_or_default();
    if path.is_empty() { return; }
    let src = std::fs::read_to_string(&path).unwrap();
    match compile_tsr(&src, &path) {
        Ok(m) => println!("{}", print_module(&m)),
        Err(d) => println!("{}", d.render(&source_map(&path, &src))),
    }
}
