//! Tests of the whole `.tsr` pipeline on small programs: what compiles to
//! what (ops, types, names, locations), and which errors are reported where.

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

/// The op names of a printed module, in order.
fn op_names(printed: &str) -> Vec<&str> {
    printed.lines().filter_map(|l| l.split_whitespace().find(|w| w.starts_with("tg."))).collect()
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
fn the_example_lowers_to_graph_primitives() {
    let m = compile_tsr(MLP, "mlp.tsr").unwrap();
    let names: Vec<&str> = m.params.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["Mlp.w1", "Mlp.b1", "Mlp.w2", "Mlp.b2"]);
    assert!(m.params.iter().all(|p| p.init.is_some()));
    let f = &m.funcs[0];
    assert_eq!(f.name, "Mlp");
    assert_eq!(f.value(f.args()[0]).name.as_deref(), Some("x"));
    let printed = print_module(&m);
    assert!(printed.contains("func @Mlp(%x: tensor<N x 784 x f32>) -> tensor<N x 10 x f32>"), "{printed}");
    assert!(printed.contains("%h = tg.max"), "the let names its value:\n{printed}");
    let ops: Vec<&str> = op_names(&printed).into_iter().filter(|o| *o != "tg.param" && *o != "tg.constant").collect();
    assert_eq!(
        ops,
        ["tg.dot", "tg.add", "tg.max", "tg.dot", "tg.add", "tg.reduce_max", "tg.sub", "tg.exp", "tg.reduce_sum", "tg.div", "tg.return"]
    );
}

#[test]
fn every_op_points_at_its_expression() {
    let m = compile_tsr(MLP, "mlp.tsr").unwrap();
    let f = &m.funcs[0];
    let pos = |name: &str| {
        f.walk().into_iter().find(|&op| f.op(op).def.name() == name).and_then(|op| f.op(op).loc.file_pos().map(|(_, l, c)| (l, c)))
    };
    // `x @ w1 + b1` on line 6: the dot at '@', the add at '+'; the
    // library's relu and softmax at the user's calls.
    assert_eq!(pos("tg.dot"), Some((6, 18)));
    assert_eq!(pos("tg.add"), Some((6, 23)));
    assert_eq!(pos("tg.max"), Some((6, 11)));
    assert_eq!(pos("tg.exp"), Some((7, 10)));
    assert!(f.walk().into_iter().all(|op| f.op(op).loc.file_pos().is_some_and(|(file, ..)| file == "mlp.tsr")));
}

#[test]
fn a_shape_mismatch_names_both_shapes_at_the_operator() {
    let e = errors(&MLP.replace("b1: f32[256]", "b1: f32[128]"));
    assert_eq!(
        e,
        "t.tsr:6:23: error: cannot add f32[N, 256] and f32[128]: axis 1 has 256 and 128\n  |\n6 |   let h = relu(x @ w1 + b1)\n  |                       ^\n"
    );
}

#[test]
fn every_error_in_a_file_is_reported_once() {
    let src = "fn unused(x: f32[N, 3]) -> f32[N, 3] {
  return x @ x
}
model M(x: f32[N, 4], y: f32[N, 5]) -> f32[N, 4] {
  let a = x + y
  let b = a * 2
  let c = reshape(y, [N, 4])
  let d = x[:, 4]
  return b
}";
    let e = errors(src);
    assert_eq!(e.matches("error:").count(), 4, "{e}");
    assert!(e.contains("t.tsr:2:12: error: cannot matrix-multiply f32[N, 3] and f32[N, 3]"), "a function nobody calls is checked:\n{e}");
    assert!(e.contains("t.tsr:5:13: error: cannot add f32[N, 4] and f32[N, 5]: axis 1 has 4 and 5"), "{e}");
    assert!(!e.contains("6:"), "an erroneous value reports nothing more where it is used:\n{e}");
    assert!(e.contains("t.tsr:7:11: error: cannot reshape f32[N, 5] (5*N elements) to [N, 4] (4*N elements)"), "{e}");
    assert!(e.contains("t.tsr:8:12: error: index 4 is out of range for axis 1 of f32[N, 4] (size 4)"), "{e}");
}

#[test]
fn errors_inside_the_standard_library_point_at_the_users_call() {
    let src = "model M(x: f32[N, S, 6]) -> f32[N, S, 6] {
  param w: f32[6, 6] = glorot(seed=0)
  param b: f32[6] = zeros()
  return multi_head_attention(x, w, b, w, b, w, b, w, b, heads=4)
}";
    let e = errors(src);
    assert!(e.starts_with("t.tsr:4:10: error: a size must be an integer, got the float 1.5"), "{e}");
    assert!(e.contains("std.tsr:") && e.contains("note: in 'multi_head_attention' of the standard library"), "{e}");
    let wrong = errors("model M(x: f32[N, 6]) -> f32[N, 4] {\n  param w: f32[5, 4] = zeros()\n  param b: f32[4] = zeros()\n  return linear(x, w, b)\n}");
    assert!(wrong.contains("t.tsr:4:20: error: argument 'w' of 'linear' must be f32[I, O], got f32[5, 4]: axis 0 is 5, but should be 6 (I = 6 from 'x')"), "{wrong}");
}

#[test]
fn generic_functions_bind_their_dims_at_each_call() {
    let src = "fn halves(x: f32[..., 2 * H]) -> (f32[..., H], f32[..., H]) {
  return x[..., 0:H], x[..., H:2 * H]
}
fn rows(x: f32[B, K], scale: float = 2.0) -> f32[B, K] {
  return x * scale
}
model M(a: f32[N, 8], b: f32[3, 2, 6]) -> (f32[N, 4], f32[3, 2, 3], f32[N, 8]) {
  let (p, q) = halves(a)
  let (r, s) = halves(b)
  return p + q, r - s, rows(a, scale=0.5)
}";
    let printed = ir(src);
    assert!(printed.contains("tg.slice %a {axes = [1], ends = [8], starts = [4], steps = [1]} : tensor<N x 4 x f32>"), "{printed}");
    assert!(printed.contains("tg.slice %b {axes = [2], ends = [3], starts = [0], steps = [1]} : tensor<3x2x3xf32>"), "{printed}");
    assert!(printed.contains("dense<0.5> : tensor<f32>"), "{printed}");
    let odd = errors(&src.replace("b: f32[3, 2, 6]", "b: f32[3, 2, 7]").replace("f32[3, 2, 3]", "f32[3, 2, 4]"));
    assert!(odd.contains("argument 'x' of 'halves' must be f32[..., 2 * H], got f32[3, 2, 7]: axis 2 is 7, not a multiple of 2"), "{odd}");
}

#[test]
fn compile_time_values_fold_and_sizes_stay_symbolic() {
    let src = "model M(x: f32[N, S, 64]) -> (f32[N, S, 4, 16], f32[N*S, 64], f32[N, S, 64]) {
  let heads = 4
  let d = x.shape[2] / heads
  let scale = 1.0 / sqrt(d)
  let y = if heads > 2 { x * scale } else { x }
  return reshape(x, [N, S, heads, d]), reshape(x, [N * S, -1]), y
}";
    let printed = ir(src);
    assert!(printed.contains("tg.reshape %x {shape = [N, S, 4, 16]}"), "{printed}");
    assert!(printed.contains("{shape = [N*S, 64]} : tensor<N*S x 64 x f32>"), "{printed}");
    assert!(printed.contains("dense<0.25> : tensor<f32>"), "{printed}");
    assert!(!printed.contains("tg.if"), "a compile-time condition is decided while compiling:\n{printed}");
}

#[test]
fn loops_carry_what_they_assign_and_ifs_check_both_branches() {
    let src = "model M(x: f32[N, 4], c: bool[]) -> f32[N, 4] {
  let h = x
  let unchanged = x * 3
  for i in 0..5 {
    let t = h * 0.5
    h = t + unchanged
  }
  return if c { h } else { relu(h) }
}";
    let printed = ir(src);
    assert!(printed.contains("%h = tg.loop %1, %2, %x : tensor<N x 4 x f32> {"), "{printed}");
    assert!(printed.contains("tg.yield %3, %h_2"), "{printed}");
    assert!(printed.contains("dense<5> : tensor<i64>"), "{printed}");
    assert!(printed.contains("tg.if %c : tensor<N x 4 x f32>"), "{printed}");
    let e = errors(&src.replace("{ relu(h) }", "{ h[:, 0] }"));
    assert!(e.contains("the branches of this if give f32[N, 4] and f32[N]"), "{e}");
    let e = errors(&src.replace("let t = h * 0.5", "if c { h } else { h }\n    let u = if c { unchanged = x\n x } else { x }\n    let t = h * 0.5"));
    assert!(e.contains("cannot assign to 'unchanged' here: it is defined outside this if branch"), "{e}");
}

#[test]
fn the_standard_library_parses_and_every_function_instantiates() {
    let (std, diags) = parser::parse(&SourceFile::new(STD_FILE, STD_SOURCE));
    assert!(diags.is_empty(), "{diags:?}");
    let src = "model AllStd(x: f32[N, 8], img: f32[N, 3, 8, 8], ids: i64[N, 5], c0: f32[N, 16]) -> f32[N, 8] {
  param w: f32[8, 8] = glorot(seed=0)
  param b: f32[8] = zeros()
  param cw: f32[4, 3, 3, 3] = he(seed=2)
  param c4: f32[4] = ones()
  param table: f32[20, 8] = normal(0, 1, seed=3)
  param w_ih: f32[8, 64] = uniform(-0.1, 0.1, seed=4)
  param w_hh: f32[16, 64] = uniform(-0.1, 0.1, seed=5)
  param lb: f32[64] = zeros()
  let a = relu(x) + gelu(x) + leaky_relu(x) + silu(x)
  let s = softmax(a) + log_softmax(a, axis=1)
  let n = layer_norm(dropout(linear(s, w, b)), b, b)
  let conv = batch_norm(conv2d(img, cw, c4, padding=1), c4, c4, c4, c4)
  let p = max_pool2d(conv) + avg_pool2d(conv)
  let e = embedding(ids, table)
  let seq = multi_head_attention(e, w, b, w, b, w, b, w, b, heads=2) + attention(e, e, e)
  let (h, c) = lstm_cell(x, c0, c0, w_ih, w_hh, lb)
  return n + mean(seq, axis=1) + sum(p) + sum(h, axis=1, keepdims=true)
}";
    for item in &std.items {
        assert!(src.contains(&format!("{}(", item.name.name)), "the test does not call '{}'", item.name.name);
    }
    let printed = ir(src);
    for op in ["tg.conv", "tg.reduce_window", "tg.gather", "tg.erf", "tg.select", "tg.rsqrt", "tg.tanh", "tg.sigmoid"] {
        assert!(printed.contains(op), "{op} missing:\n{printed}");
    }
}

#[test]
fn truncated_and_garbled_sources_never_panic() {
    let sources = [MLP, STD_SOURCE];
    for src in sources {
        for (i, _) in src.char_indices().step_by(5) {
            let _ = compile_tsr(&src[..i], "cut.tsr");
            let _ = compile_tsr(&format!("{}}}", &src[..i]), "cut.tsr");
        }
    }
    for junk in ["model", "model M(", "fn f(x: f32[...]) -> f32[...] { return f(x) }\nmodel M(x: f32[2]) { return f(x) }", "model M(x: f32[N]) -> f32[N] { return x[::0] }", "\u{0}\u{ffff}", "model M(x: f32[99999999999999999999]) { return x }"] {
        assert!(compile_tsr(junk, "junk.tsr").is_err(), "{junk}");
    }
}

#[test]
fn the_deepest_accepted_programs_fit_a_test_threads_stack() {
    // Calls nested to the limit, each with expressions nested nearly to the parser's limit.
    let program = |calls: usize| {
        let depth = parser::MAX_DEPTH as usize - 8;
        let deep = |inner: &str| format!("{}{inner}{}", "-(".repeat(depth / 2), ")".repeat(depth / 2));
        let mut src = String::new();
        for i in 0..calls {
            src.push_str(&format!("fn f{i}(x: f32[...]) -> f32[...] {{\n  return {}\n}}\n", deep(&format!("f{}(x)", i + 1))));
        }
        src.push_str(&format!("fn f{calls}(x: f32[...]) -> f32[...] {{\n  return x\n}}\n"));
        src.push_str("model M(x: f32[2]) -> f32[2] {\n  return f0(x)\n}\n");
        src
    };
    assert!(ir(&program(22)).contains("tg.neg"));
    let e = errors(&program(30));
    assert!(e.contains("calls are nested more than"), "{e}");
}
