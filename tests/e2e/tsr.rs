//! The `.tsr` language end to end: valid fixtures lowered to IR snapshots
//! (with op locations), invalid fixtures reporting exactly their expected
//! diagnostics, the example models in `models/` compiled and run on the
//! reference evaluator (the MLP against a computation by hand, the
//! standard library's layers against their textbook formulas), the CLI on
//! `.tsr` files, and no panic on truncated files or random input.

use crate::binary::{stderr, stdout, tessera};
use crate::fixture;
use std::path::Path;
use tessera_frontend::npy::{read_npy, write_npy};
use tessera_frontend::tsr::{compile_tsr, source_map, STD_SOURCE};
use tessera_ir::print::{print_module_with, PrintOptions};
use tessera_ir::tensor::{allclose, Tensor};
use tessera_ir::verify::VerifiedModule;
use tessera_ir::{DType, Module};
use tessera_passes::Evaluator;

/// Compiles a program that must compile, panicking with its rendered diagnostics.
fn compile(text: &str, name: &str) -> Module {
    compile_tsr(text, name).unwrap_or_else(|d| panic!("{}", d.render(&source_map(name, text))))
}

/// Compiles a model file of `models/`.
fn model(file: &str) -> VerifiedModule {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("models").join(file);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    VerifiedModule::new(compile(&text, &format!("models/{file}"))).unwrap_or_else(|d| panic!("{d}"))
}

/// Runs the module's first function.
fn run(module: &VerifiedModule, inputs: Vec<Tensor>) -> Vec<Tensor> {
    let entry = &module.module().funcs[0].name;
    Evaluator::new(module).run(entry, inputs).unwrap_or_else(|d| panic!("{d}"))
}

/// `n` reproducible values in `[-1, 1)` (a 64-bit LCG; the seed picks the stream).
fn seeded(n: usize, seed: u64) -> Vec<f64> {
    let mut s = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
    (0..n)
        .map(|_| {
            s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            (s >> 11) as f64 / (1u64 << 52) as f64 - 1.0
        })
        .collect()
}

fn f32_tensor(shape: &[usize], seed: u64) -> Tensor {
    let n = shape.iter().product();
    Tensor::from_f64(DType::F32, shape.to_vec(), seeded(n, seed)).unwrap()
}

/// A parameter's initial value.
fn param(module: &VerifiedModule, name: &str) -> Tensor {
    let p = module.module().param(name).unwrap_or_else(|| panic!("no parameter {name}"));
    Tensor::from(p.init.as_ref().unwrap_or_else(|| panic!("{name} has no initial value")))
}

/// Checks every row of a `[rows, classes]` result is a probability distribution.
fn assert_distributions(t: &Tensor, rows: usize, classes: usize) {
    assert_eq!(t.shape(), &[rows, classes]);
    let v = t.to_f64s();
    for r in 0..rows {
        let row = &v[r * classes..(r + 1) * classes];
        assert!(row.iter().all(|p| p.is_finite() && (0.0..=1.0).contains(p)), "row {r}: {row:?}");
        assert!((row.iter().sum::<f64>() - 1.0).abs() < 1e-5, "row {r} sums to {}", row.iter().sum::<f64>());
    }
}

#[test]
fn tsr_fixtures_lower_to_their_snapshots() {
    insta::glob!("../fixtures", "tsr/*.tsr", |path| {
        let text = fixture::read(path);
        let name = fixture::display_name(path);
        let module = compile(&text, &name);
        tessera_ir::verify::verify(&module).unwrap_or_else(|d| panic!("{d}"));
        let every_op_located = module.funcs.iter().all(|f| {
            f.walk().into_iter().all(|op| f.op(op).loc.file_pos().is_some_and(|(file, ..)| file == name))
        });
        assert!(every_op_located, "{name}: an op has no location in the file");
        let options = PrintOptions { locs: true, elide_resources_over: Some(64) };
        insta::assert_snapshot!(print_module_with(&module, &options));
    });
}

#[test]
fn tsr_invalid_fixtures_report_every_expected_error() {
    insta::glob!("../fixtures", "tsr/invalid/*.tsr", |path| {
        let text = fixture::read(path);
        let name = fixture::display_name(path);
        let diags = match compile_tsr(&text, &name) {
            Ok(_) => panic!("{name} compiled"),
            Err(d) => d,
        };
        let rendered = diags.render(&source_map(&name, &text));
        fixture::assert_expected_errors(&name, &text, &diags, &rendered);
        insta::assert_snapshot!(rendered);
    });
}

#[test]
fn tsr_mlp_equals_a_computation_by_hand() {
    let m = model("mlp.tsr");
    let x = f32_tensor(&[3, 784], 1);
    let out = run(&m, vec![x.clone()]);
    let (w1, b1, w2, b2) = (param(&m, "Mlp.w1"), param(&m, "Mlp.b1"), param(&m, "Mlp.w2"), param(&m, "Mlp.b2"));
    assert_eq!(w1.shape(), &[784, 256]);
    let (x, w1, b1, w2, b2) = (x.to_f64s(), w1.to_f64s(), b1.to_f64s(), w2.to_f64s(), b2.to_f64s());
    let mut expected = Vec::new();
    for r in 0..3 {
        let h: Vec<f64> =
            (0..256).map(|j| ((0..784).map(|k| x[r * 784 + k] * w1[k * 256 + j]).sum::<f64>() + b1[j]).max(0.0)).collect();
        let logits: Vec<f64> = (0..10).map(|j| (0..256).map(|k| h[k] * w2[k * 10 + j]).sum::<f64>() + b2[j]).collect();
        let top = logits.iter().cloned().fold(f64::MIN, f64::max);
        let e: Vec<f64> = logits.iter().map(|l| (l - top).exp()).collect();
        let total: f64 = e.iter().sum();
        expected.extend(e.iter().map(|v| v / total));
    }
    let expected = Tensor::from_f64(DType::F32, vec![3, 10], expected).unwrap();
    allclose(&out[0], &expected, 1e-4, 1e-6).unwrap();
    assert_distributions(&out[0], 3, 10);
    // Deterministic weights: compiling again gives the same parameters.
    assert_eq!(model("mlp.tsr").module().params, m.module().params);
}

#[test]
fn tsr_lenet_and_transformer_run_on_seeded_inputs() {
    let lenet = model("lenet.tsr");
    assert_eq!(lenet.module().params.len(), 10);
    let out = run(&lenet, vec![f32_tensor(&[2, 1, 28, 28], 7)]);
    assert_distributions(&out[0], 2, 10);

    let encoder = model("transformer_encoder.tsr");
    // The sequence length is symbolic: two lengths, one model.
    for (n, s) in [(2, 5), (1, 16)] {
        let ids: Vec<i64> = seeded(n * s, s as u64).iter().map(|v| ((v + 1.0) * 50.0) as i64).collect();
        let ids = Tensor::new(DType::I64, vec![n, s], tessera_ir::tensor::Data::Int(ids)).unwrap();
        let out = run(&encoder, vec![ids]);
        assert_distributions(&out[0], n, 4);
    }
}

#[test]
fn tsr_standard_layers_match_their_formulas() {
    let src = "model Layers(x: f32[2, 4], q: f32[3, 4], k: f32[5, 4], v: f32[5, 2]) -> (f32[2, 4], f32[2, 4], f32[2, 4], f32[3, 2], f32[2, 4]) {
  param g: f32[4] = full(2.0)
  param b: f32[4] = full(0.5)
  return layer_norm(x, g, b), softmax(x, axis=0), log_softmax(x), attention(q, k, v), leaky_relu(x, alpha=0.1)
}";
    let m = VerifiedModule::new(compile(src, "layers.tsr")).unwrap();
    let (x, q, k, v) = (f32_tensor(&[2, 4], 1), f32_tensor(&[3, 4], 2), f32_tensor(&[5, 4], 3), f32_tensor(&[5, 2], 4));
    let out = run(&m, vec![x.clone(), q.clone(), k.clone(), v.clone()]);
    let (x, q, k, v) = (x.to_f64s(), q.to_f64s(), k.to_f64s(), v.to_f64s());
    let row = |t: &[f64], r: usize, n: usize| t[r * n..(r + 1) * n].to_vec();
    let mut ln = Vec::new();
    let mut lsm = Vec::new();
    for r in 0..2 {
        let xs = row(&x, r, 4);
        let mu = xs.iter().sum::<f64>() / 4.0;
        let var = xs.iter().map(|a| (a - mu) * (a - mu)).sum::<f64>() / 4.0;
        ln.extend(xs.iter().map(|a| (a - mu) / (var + 1e-5).sqrt() * 2.0 + 0.5));
        let lse = xs.iter().map(|a| a.exp()).sum::<f64>().ln();
        lsm.extend(xs.iter().map(|a| a - lse));
    }
    let sm: Vec<f64> = (0..8).map(|i| x[i].exp() / (x[i % 4].exp() + x[4 + i % 4].exp())).collect();
    let mut att = Vec::new();
    for i in 0..3 {
        let scores: Vec<f64> = (0..5).map(|j| (0..4).map(|e| q[i * 4 + e] * k[j * 4 + e]).sum::<f64>() / 2.0).collect();
        let z: f64 = scores.iter().map(|s| s.exp()).sum();
        att.extend((0..2).map(|f| (0..5).map(|j| scores[j].exp() / z * v[j * 2 + f]).sum::<f64>()));
    }
    let leaky: Vec<f64> = x.iter().map(|&a| if a > 0.0 { a } else { 0.1 * a }).collect();
    for (i, (expected, shape)) in
        [(ln, vec![2, 4]), (sm, vec![2, 4]), (lsm, vec![2, 4]), (att, vec![3, 2]), (leaky, vec![2, 4])].into_iter().enumerate()
    {
        let expected = Tensor::from_f64(DType::F32, shape, expected).unwrap();
        allclose(&out[i], &expected, 1e-4, 1e-5).unwrap_or_else(|e| panic!("result #{i}: {e}"));
    }
}

#[test]
fn tsr_lstm_cell_matches_its_formula() {
    let src = "model Cell(x: f32[1, 2], h: f32[1, 3], c: f32[1, 3], w_ih: f32[2, 12], w_hh: f32[3, 12], b: f32[12]) -> (f32[1, 3], f32[1, 3]) {
  let (h2, c2) = lstm_cell(x, h, c, w_ih, w_hh, b)
  return h2, c2
}";
    let m = VerifiedModule::new(compile(src, "cell.tsr")).unwrap();
    let shapes: [&[usize]; 6] = [&[1, 2], &[1, 3], &[1, 3], &[2, 12], &[3, 12], &[12]];
    let inputs: Vec<Tensor> = shapes.iter().enumerate().map(|(i, s)| f32_tensor(s, 10 + i as u64)).collect();
    let out = run(&m, inputs.clone());
    let [x, h, c, wi, wh, b] = [0, 1, 2, 3, 4, 5].map(|i| inputs[i].to_f64s());
    let gate = |j: usize| (0..2).map(|i| x[i] * wi[i * 12 + j]).sum::<f64>() + (0..3).map(|i| h[i] * wh[i * 12 + j]).sum::<f64>() + b[j];
    let sigmoid = |v: f64| 1.0 / (1.0 + (-v).exp());
    let (mut h2, mut c2) = (Vec::new(), Vec::new());
    for (u, c_prev) in c.iter().enumerate() {
        let (i, f, g, o) = (sigmoid(gate(u)), sigmoid(gate(3 + u)), gate(6 + u).tanh(), sigmoid(gate(9 + u)));
        let cn = f * c_prev + i * g;
        c2.push(cn);
        h2.push(cn.tanh() * o);
    }
    allclose(&out[0], &Tensor::from_f64(DType::F32, vec![1, 3], h2).unwrap(), 1e-5, 1e-6).unwrap();
    allclose(&out[1], &Tensor::from_f64(DType::F32, vec![1, 3], c2).unwrap(), 1e-5, 1e-6).unwrap();
}

#[test]
fn tsr_loops_and_ifs_run() {
    let src = "model Flow(x: f32[2], flag: bool[]) -> (f32[2], f32[2]) {
  let acc = x
  for i in 0..4 {
    acc = acc * 2 + cast(i, f32)
  }
  return acc, if flag { x + 1 } else { x - 1 }
}";
    let m = VerifiedModule::new(compile(src, "flow.tsr")).unwrap();
    let x = Tensor::from_f64(DType::F32, vec![2], vec![1.0, -0.5]).unwrap();
    let yes = Tensor::new(DType::I1, vec![], tessera_ir::tensor::Data::Bool(vec![true])).unwrap();
    let out = run(&m, vec![x, yes]);
    // acc = ((((x*2 + 0)*2 + 1)*2 + 2)*2 + 3) = 16x + 11
    assert_eq!(out[0].to_f64s(), vec![27.0, 3.0]);
    assert_eq!(out[1].to_f64s(), vec![2.0, 0.5]);
}

#[test]
fn tsr_models_run_and_inspect_from_the_command_line() {
    let dir = std::env::temp_dir().join(format!("tessera-tsr-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let input = dir.join("x.npy");
    write_npy(&input, &f32_tensor(&[2, 784], 3).to_dense()).unwrap();
    let out_dir = dir.join("out");
    let arg = format!("x={}", input.display());
    let out = tessera(&["run", "models/mlp.tsr", "--input", &arg, "--output-dir", out_dir.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let probs = Tensor::from(&read_npy(&out_dir.join("output_0.npy")).unwrap());
    assert_distributions(&probs, 2, 10);

    let out = tessera(&["inspect", "models/lenet.tsr"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let report = stdout(&out);
    assert!(report.contains("func @LeNet(%x: tensor<N x 1 x 28 x 28 x f32>) -> tensor<N x 10 x f32>"), "{report}");
    assert!(report.contains("parameters: 10 (61706 elements"), "{report}");

    let bad = dir.join("bad.tsr");
    std::fs::write(&bad, "model M(x: f32[N, 4]) -> f32[N, 4] {\n  let y = x @ x\n  return y + undefined\n}\n").unwrap();
    let out = tessera(&["run", bad.to_str().unwrap(), "--input", &arg, "--output-dir", out_dir.to_str().unwrap()]);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(err.contains("bad.tsr:2:13: error: cannot matrix-multiply f32[N, 4] and f32[N, 4]"), "{err}");
    assert!(err.contains("  let y = x @ x\n") && err.contains('^') && !err.contains("panicked"), "{err}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn tsr_compilation_never_panics() {
    let mut texts: Vec<String> = Vec::new();
    for file in ["mlp.tsr", "lenet.tsr", "transformer_encoder.tsr", "bn_dropout.tsr"] {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("models").join(file);
        texts.push(std::fs::read_to_string(path).unwrap());
    }
    texts.push(STD_SOURCE.to_string());
    let mut inputs: Vec<String> = Vec::new();
    for text in &texts {
        let cuts: Vec<usize> = text.char_indices().map(|(i, _)| i).step_by(3).collect();
        inputs.extend(cuts.iter().map(|&i| text[..i].to_string()));
        inputs.extend(cuts.iter().step_by(7).map(|&i| format!("{}}}", &text[..i])));
    }
    // Random bytes, and random soups of the language's own tokens.
    let words = [
        "model", "fn", "M", "(", ")", "x", ":", "f32", "[", "]", "N", "...", ",", "{", "}", "let", "=", "+", "*", "@", "-",
        "return", "relu", "softmax", "1", "2.5", "for", "i", "in", "..", "if", "else", "\n", "param", "zeros", "glorot",
        "seed", "axis", "reshape", "x.shape", "[0]", "int", "bool", "true", "not", "and", "<", "\"max\"", "linear", "i64",
    ];
    let mut state = 0x2545F4914F6CDD1Du64;
    let mut next = |n: u64| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state % n
    };
    for _ in 0..300 {
        let len = next(200) as usize;
        let bytes: Vec<u8> = (0..len).map(|_| next(256) as u8).collect();
        inputs.push(String::from_utf8_lossy(&bytes).into_owned());
        let soup: Vec<&str> = (0..len).map(|_| words[next(words.len() as u64) as usize]).collect();
        inputs.push(soup.join(" "));
    }
    for text in &inputs {
        if let Err(d) = compile_tsr(text, "fuzz.tsr") {
            assert!(d.error_count() > 0);
            let _ = d.render(&source_map("fuzz.tsr", text));
        }
    }
}
