//! `tessera train` against PyTorch: `../shared/corpus/train_mlp/` holds
//! PyTorch's per-step losses and final weights for SGD and Adam on the
//! corpus MLP (initial weights inside `mlp/model.onnx`, batches in order);
//! the CLI must reproduce them within the tolerances its `summary.json`
//! states (the step runs as generated code). Also: resuming from a
//! checkpoint, the trained model exported to ONNX and run by ONNX Runtime,
//! and the errors for bad data and options. Skipped when the corpus is
//! absent.

use crate::binary::{scratch};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use tessera_frontend::npy::{read_npy, write_npy};
use tessera_frontend::npz::read_npz;
use tessera_frontend::onnx::import::import_model;
use tessera_frontend::onnx::load_model;
use tessera_ir::tensor::Tensor;
use tessera_ir::DType;
use tessera_passes::Evaluator;

fn corpus() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus");
    dir.join("train_mlp/summary.json").exists().then_some(dir)
}

/// `tessera train` on the corpus MLP with its data, plus `extra` arguments.
fn train(root: &Path, out: &Path, extra: &[&str]) -> Output {
    train_on(root, &root.join("train_mlp/data_y.npy"), out, extra)
}

/// `tessera train` on the corpus MLP with the targets `target`.
fn train_on(root: &Path, target: &Path, out: &Path, extra: &[&str]) -> Output {
    let data = root.join("train_mlp");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_tessera"));
    cmd.arg("train").arg(root.join("mlp/model.onnx"));
    cmd.arg("--input").arg(format!("input={}", data.join("data_x.npy").display()));
    cmd.arg("--target").arg(target);
    cmd.args(["--loss", "cross-entropy", "--batch", "64", "--quiet", "--out"]).arg(out);
    cmd.args(extra);
    cmd.output().unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// The losses of `DIR/loss.csv`, with their step numbers.
fn losses(out: &Path) -> Vec<(usize, f64)> {
    let text = std::fs::read_to_string(out.join("loss.csv")).unwrap();
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("step,loss"));
    lines
        .map(|l| {
            let (s, v) = l.split_once(',').unwrap();
            (s.parse().unwrap(), v.parse().unwrap())
        })
        .collect()
}

/// Trains with `optimizer` and compares with PyTorch's curve and weights.
fn matches_pytorch(optimizer: &str, lr: &str, loss_rtol: f64, weight_atol: f64) {
    let Some(root) = corpus() else {
        println!("skipped: ../shared/corpus not found");
        return;
    };
    let out = scratch("train", optimizer);
    let o = train(&root, &out, &["--optimizer", optimizer, "--lr", lr, "--steps", "100"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let reference = Tensor::from(&read_npy(&root.join(format!("train_mlp/{optimizer}/losses.npy"))).unwrap()).to_f64s();
    let got = losses(&out);
    assert_eq!(got.len(), 100);
    let mut worst = 0.0f64;
    for ((step, loss), want) in got.iter().zip(&reference) {
        let rel = (loss - want).abs() / want.abs();
        assert!(rel <= loss_rtol, "{optimizer} step {step}: loss {loss}, PyTorch {want}");
        worst = worst.max(rel);
    }
    let params = read_npz(&out.join("params.npz")).unwrap();
    let dir = root.join(format!("train_mlp/{optimizer}/final"));
    let mut worst_weight = 0.0f64;
    for entry in std::fs::read_dir(&dir).unwrap().flatten() {
        let name = entry.file_name().to_string_lossy().trim_end_matches(".npy").to_string();
        let want = Tensor::from(&read_npy(&entry.path()).unwrap());
        let (_, got) = params.iter().find(|(n, _)| *n == name).unwrap_or_else(|| panic!("params.npz lacks {name}"));
        let got = Tensor::from(got);
        // ONNX may store a weight transposed relative to PyTorch's [out, in].
        let got = if got.shape() == want.shape() { got.to_f64s() } else { transposed(&got) };
        assert_eq!(got.len(), want.len(), "{name}");
        for (a, b) in got.iter().zip(want.to_f64s()) {
            worst_weight = worst_weight.max((a - b).abs());
        }
    }
    assert!(worst_weight <= weight_atol, "{optimizer}: final weights differ from PyTorch's by up to {worst_weight}");
    println!("{optimizer}: max relative loss error {worst:.3e}, max weight error {worst_weight:.3e}");
}

/// The elements of a 2-D tensor in transposed order.
fn transposed(t: &Tensor) -> Vec<f64> {
    let (r, c) = (t.shape()[0], t.shape()[1]);
    let v = t.to_f64s();
    (0..c).flat_map(|j| (0..r).map(move |i| (i, j))).map(|(i, j)| v[i * c + j]).collect()
}

#[test]
fn sgd_matches_pytorch() {
    matches_pytorch("sgd", "0.1", 1e-3, 2e-3);
}

#[test]
fn adam_matches_pytorch() {
    matches_pytorch("adam", "1e-3", 3e-3, 2e-2);
}

#[test]
fn resuming_continues_the_same_run() {
    let Some(root) = corpus() else {
        println!("skipped: ../shared/corpus not found");
        return;
    };
    let (whole, split) = (scratch("train", "whole"), scratch("train", "split"));
    let args = ["--optimizer", "adam", "--lr", "1e-3", "--shuffle", "--seed", "7", "--steps"];
    assert!(train(&root, &whole, &[&args[..], &["6"]].concat()).status.success());
    assert!(train(&root, &split, &[&args[..], &["3"]].concat()).status.success());
    let ckpt = split.join("checkpoint.npz");
    let o = train(&root, &split, &[&args[..], &["3", "--resume", ckpt.to_str().unwrap()]].concat());
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(losses(&whole), losses(&split));
}

#[test]
fn bad_data_and_options_are_clear_errors() {
    let Some(root) = corpus() else {
        println!("skipped: ../shared/corpus not found");
        return;
    };
    let dir = scratch("train", "errors");
    let out = dir.join("out");
    let bad_labels = dir.join("labels.npy");
    let mut labels = Tensor::from(&read_npy(&root.join("train_mlp/data_y.npy")).unwrap()).to_f64s();
    labels[5] = 10.0;
    let t = Tensor::convert_f64(tessera_ir::DType::I64, vec![labels.len()], &labels).unwrap();
    tessera_frontend::npy::write_npy(&bad_labels, &t.to_dense()).unwrap();
    let short = dir.join("short.npy");
    let t = Tensor::convert_f64(tessera_ir::DType::I64, vec![10], &[0.0; 10]).unwrap();
    tessera_frontend::npy::write_npy(&short, &t.to_dense()).unwrap();
    let y = root.join("train_mlp/data_y.npy");
    let cases: Vec<(&Path, Vec<&str>, &str)> = vec![
        (&bad_labels, vec!["--steps", "1"], "label 10 at row 5 is out of range for 10 classes"),
        (&short, vec!["--steps", "1"], "input 'input' has 1024 rows but the target has 10"),
        (&y, vec!["--steps", "1", "--optimizer", "adam", "--momentum", "0.9"], "the adam optimizer has no option --momentum"),
        (&y, vec!["--steps", "1", "--optimizer", "lion"], "unknown optimizer 'lion'"),
        (&y, vec!["--steps", "3", "--lr", "1e30"], "at step 1"),
    ];
    for (target, extra, expected) in cases {
        let o = train_on(&root, target, &out, &extra);
        assert!(!o.status.success(), "{extra:?} succeeded");
        let err = stderr(&o);
        assert!(err.contains(expected), "{extra:?}: expected '{expected}' in:\n{err}");
    }
}

/// The model `tessera train` writes, with the trained weights as its
/// initializers: ONNX Runtime (through `tests/onnx/check_exported.py`)
/// must give what tessera's reference evaluator gives for the original
/// model with the parameters of `params.npz`, on a few rows of the data.
#[test]
fn the_trained_model_exports_to_onnx() {
    let Some(root) = corpus() else {
        println!("skipped: ../shared/corpus not found");
        return;
    };
    let out = scratch("train", "export");
    let o = train(&root, &out, &["--optimizer", "sgd", "--lr", "0.1", "--steps", "20"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let original = import_model(&load_model(&root.join("mlp/model.onnx")).unwrap()).unwrap();
    let mut eval = Evaluator::new(&original.module);
    for (name, value) in read_npz(&out.join("params.npz")).unwrap() {
        eval.set_param(&name, Tensor::from(&value)).unwrap();
    }
    let exported = import_model(&load_model(&out.join("model.onnx")).unwrap()).unwrap();
    let reimported = Evaluator::new(&exported.module);
    let x = Tensor::from(&read_npy(&root.join("train_mlp/data_x.npy")).unwrap());
    let cases = scratch("train", "export-ort");
    for row in [0usize, 5, 700] {
        let values = x.to_f64s()[row * 784..(row + 1) * 784].to_vec();
        let input = Tensor::from_f64(DType::F32, vec![1, 784], values).unwrap();
        let want = eval.run("main", vec![input.clone()]).unwrap();
        assert_eq!(reimported.run("main", vec![input.clone()]).unwrap(), want, "row {row}: the exported model re-imported");
        let dir = cases.join(format!("row{row}"));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::copy(out.join("model.onnx"), dir.join("model.onnx")).unwrap();
        write_npy(&dir.join("input.npy"), &input.to_dense()).unwrap();
        write_npy(&dir.join("output.npy"), &want[0].to_dense()).unwrap();
        let case = serde_json::json!({
            "inputs": [{ "name": original.inputs[0], "file": "input.npy" }],
            "outputs": [{ "name": original.outputs[0], "file": "output.npy" }],
            "rtol": 1e-4,
            "atol": 1e-6,
        });
        std::fs::write(dir.join("case.json"), case.to_string()).unwrap();
    }
    let python = Path::new(env!("CARGO_MANIFEST_DIR")).join(".venv/bin/python");
    if !Command::new(&python).args(["-c", "import onnxruntime, onnx"]).output().is_ok_and(|o| o.status.success()) {
        println!("skipped ONNX Runtime: .venv has no onnxruntime (run `bash .ci/setup`)");
        return;
    }
    let check = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/onnx/check_exported.py");
    let o = Command::new(&python).arg(check).arg(&cases).output().unwrap();
    assert!(o.status.success(), "{}{}", String::from_utf8_lossy(&o.stdout), stderr(&o));
}

/// The bundled CNN (convolutions, pooling; batch dim `N` in the model) on
/// made-up data: the step compiled to generated code gives the reference
/// evaluator's losses, and the exported model keeps its symbolic batch.
#[test]
fn a_cnn_with_a_symbolic_batch_trains_as_generated_code() {
    let dir = scratch("train", "cnn");
    let (x, y) = (dir.join("x.npy"), dir.join("y.npy"));
    let pixels: Vec<f64> = (0..32 * 784).map(|i| ((i * 7919) % 255) as f64 / 255.0 - 0.5).collect();
    write_npy(&x, &Tensor::from_f64(DType::F32, vec![32, 1, 28, 28], pixels).unwrap().to_dense()).unwrap();
    let labels: Vec<f64> = (0..32).map(|i| (i % 10) as f64).collect();
    write_npy(&y, &Tensor::convert_f64(DType::I64, vec![32], &labels).unwrap().to_dense()).unwrap();
    let model = Path::new(env!("CARGO_MANIFEST_DIR")).join("models/tiny_cnn.onnx");
    let mut curves = Vec::new();
    for engine in ["jit", "reference"] {
        let out = dir.join(engine);
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_tessera"));
        cmd.arg("train").arg(&model).arg("--input").arg(format!("input={}", x.display())).arg("--target").arg(&y);
        cmd.args(["--batch", "8", "--steps", "5", "--optimizer", "adam", "--quiet", "--engine", engine, "--out"]).arg(&out);
        let o = cmd.output().unwrap();
        assert!(o.status.success(), "{engine}: {}", stderr(&o));
        curves.push(losses(&out));
    }
    for ((step, jit), (_, reference)) in curves[0].iter().zip(&curves[1]) {
        assert!((jit - reference).abs() <= 1e-5 * reference.abs(), "step {step}: {jit} as generated code, {reference} on the reference evaluator");
    }
    let exported = import_model(&load_model(&dir.join("jit/model.onnx")).unwrap()).unwrap();
    let main = exported.module.module().func("main").unwrap();
    assert_eq!(main.arg_types()[0].to_string(), "tensor<N x 1 x 28 x 28 x f32>");
}
