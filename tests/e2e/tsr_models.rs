//! The example `.tsr` models of `models/` end to end through the CLI: each
//! compiles to a C library (`tessera compile`), runs (`tessera run`, the
//! JIT and `--engine reference` agreeing), exports (`tessera export`, and
//! ONNX Runtime agrees with tessera on the exported file when the venv has
//! it), and trains a few full-batch SGD steps on seeded data (`tessera
//! train`: every loss finite, and the last below the first). The model
//! with batch normalisation and dropout trains in training mode and runs
//! and exports in inference mode.

use crate::binary::{scratch, stderr, tessera};
use crate::onnx_cases::compare;
use crate::onnx_export::{read_npy_tensor, root, write_ort_case};
use std::path::Path;
use std::process::Command;
use tessera_frontend::npy::write_npy;
use tessera_frontend::npz::read_npz;
use tessera_frontend::onnx::import::import_model;
use tessera_frontend::onnx::load_model;
use tessera_ir::tensor::Tensor;
use tessera_ir::DType;

/// Rows of seeded data per model.
const ROWS: usize = 8;

/// JIT against the reference evaluator, and ONNX Runtime against tessera.
const TOLERANCE: (f64, f64) = (1e-4, 1e-5);

/// An example model: its file, its input's name, the shape of one row,
/// the input's dtype and value range, and its number of classes.
struct Example {
    file: &'static str,
    input: &'static str,
    row: &'static [usize],
    dtype: DType,
    range: f64,
    classes: usize,
}

const EXAMPLES: &[Example] = &[
    Example { file: "mlp.tsr", input: "x", row: &[784], dtype: DType::F32, range: 1.0, classes: 10 },
    Example { file: "lenet.tsr", input: "x", row: &[1, 28, 28], dtype: DType::F32, range: 1.0, classes: 10 },
    Example { file: "transformer_encoder.tsr", input: "ids", row: &[6], dtype: DType::I64, range: 100.0, classes: 4 },
    Example { file: "bn_dropout.tsr", input: "x", row: &[1, 8, 8], dtype: DType::F32, range: 1.0, classes: 3 },
];

/// `n` reproducible values in `[0, 1)` (a 64-bit LCG; the seed picks the stream).
fn uniform(n: usize, seed: u64) -> Vec<f64> {
    let mut s = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
    (0..n)
        .map(|_| {
            s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            (s >> 11) as f64 / (1u64 << 53) as f64
        })
        .collect()
}

/// Writes `t` as `.npy` and returns the path as text.
fn save(dir: &Path, name: &str, t: &Tensor) -> String {
    let path = dir.join(name);
    write_npy(&path, &t.to_dense()).expect("write .npy");
    path.to_str().expect("utf-8 path").to_string()
}

/// Runs `tessera` and panics with its stderr when it fails.
fn cli(args: &[&str]) {
    let out = tessera(args);
    assert!(out.status.success(), "tessera {}:\n{}", args.join(" "), stderr(&out));
}

/// The losses `tessera train` wrote to `loss.csv`.
fn losses(dir: &Path) -> Vec<f64> {
    let text = std::fs::read_to_string(dir.join("loss.csv")).expect("loss.csv");
    text.lines().skip(1).map(|l| l.rsplit(',').next().and_then(|v| v.parse().ok()).expect("step,loss")).collect()
}

#[test]
fn tsr_examples_compile_run_export_and_train() {
    let dir = scratch("onnx-export", "tsr-models");
    let mut ort_cases = 0;
    for (i, e) in EXAMPLES.iter().enumerate() {
        let stem = e.file.trim_end_matches(".tsr");
        let model = format!("models/{}", e.file);
        let work = dir.join(stem);
        std::fs::create_dir_all(&work).expect("a scratch folder");
        let text = |p: &Path| p.to_str().expect("utf-8 path").to_string();

        let lib = work.join("lib");
        cli(&["compile", &model, "-o", &text(&lib)]);
        for file in [format!("lib{stem}.so"), format!("lib{stem}.a"), format!("{stem}.h")] {
            assert!(lib.join(&file).exists(), "{model}: tessera compile wrote no {file}");
        }

        let shape: Vec<usize> = std::iter::once(ROWS).chain(e.row.iter().copied()).collect();
        let count = shape.iter().product();
        let values: Vec<f64> = uniform(count, i as u64).iter().map(|u| (u * 2.0 - 1.0) * e.range).collect();
        let values = if e.dtype.is_float() { values } else { values.iter().map(|v| v.abs().floor()).collect() };
        let input = Tensor::convert_f64(e.dtype, shape, &values).expect("an input tensor");
        let arg = format!("{}={}", e.input, save(&work, "input.npy", &input));
        let outputs = |engine: &str| {
            let out = work.join(engine);
            cli(&["run", &model, "--input", &arg, "--output-dir", &text(&out), "--engine", engine]);
            read_npy_tensor(&out.join("output_0.npy")).expect("output_0.npy")
        };
        let (jit, reference) = (outputs("jit"), outputs("reference"));
        compare(&[jit], std::slice::from_ref(&reference), |_| TOLERANCE).unwrap_or_else(|d| panic!("{model}: JIT vs reference: {d}"));

        let onnx = work.join("model.onnx");
        cli(&["export", &model, "-o", &text(&onnx)]);
        let exported = load_model(&onnx).unwrap_or_else(|d| panic!("{model}: the export does not load: {}", d.message));
        let case = dir.join("ort").join(stem);
        write_ort_case(&case, &exported, &[(e.input.to_string(), input)], &[("output_0".into(), reference)], TOLERANCE, false);
        ort_cases += 1;

        let labels: Vec<f64> = uniform(ROWS, 100 + i as u64).iter().map(|u| (u * e.classes as f64).floor()).collect();
        let target = save(&work, "target.npy", &Tensor::convert_f64(DType::I64, vec![ROWS], &labels).expect("labels"));
        let run = work.join("train");
        let rows = ROWS.to_string();
        cli(&["train", &model, "--input", &arg, "--target", &target, "--steps", "5", "--batch", &rows, "--out", &text(&run), "--quiet"]);
        let curve = losses(&run);
        assert_eq!(curve.len(), 5, "{model}: {curve:?}");
        assert!(curve.iter().all(|l| l.is_finite()), "{model}: a loss is not finite: {curve:?}");
        assert!(curve[4] < curve[0], "{model}: full-batch SGD did not lower the loss: {curve:?}");
    }
    let python = root().join(".venv/bin/python");
    let has_ort = Command::new(&python).args(["-c", "import onnxruntime, onnx"]).output().is_ok_and(|o| o.status.success());
    if !has_ort {
        println!("ONNX Runtime check skipped: .venv has no onnxruntime (run `bash .ci/setup`)");
        return;
    }
    let out = Command::new(&python)
        .arg(root().join("tests/onnx/check_exported.py"))
        .arg(dir.join("ort"))
        .output()
        .expect("the check script runs");
    let report = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "ONNX Runtime disagrees with tessera on an exported .tsr model:\n{report}");
    assert!(report.contains(&format!("{ort_cases} passed, 0 failed")), "{report}");
}

/// `models/bn_dropout.tsr` under `tessera train` (Adam, batches of 16
/// offset and scaled images, so that batch statistics differ from the
/// initial running ones): the loss falls; the running statistics move (batch
/// normalisation trains in training mode); another seed gives other losses
/// (dropout draws masks). `tessera run` and `tessera export`, and the
/// trained `model.onnx`, hold neither marker: the running statistics
/// normalise and dropout is the identity, so two runs agree exactly.
#[test]
fn tsr_batch_norm_and_dropout_train_in_training_mode_and_infer_without() {
    let dir = scratch("onnx-export", "tsr-modes");
    let text = |p: &Path| p.to_str().expect("utf-8 path").to_string();
    let model = "models/bn_dropout.tsr";
    let rows = 16;
    let pixels: Vec<f64> = uniform(rows * 64, 21).iter().map(|u| 3.0 + 4.0 * (u - 0.5)).collect();
    let images = Tensor::convert_f64(DType::F32, vec![rows, 1, 8, 8], &pixels).expect("images");
    let labels: Vec<f64> = uniform(rows, 22).iter().map(|u| (u * 3.0).floor()).collect();
    let arg = format!("x={}", save(&dir, "x.npy", &images));
    let target = save(&dir, "y.npy", &Tensor::convert_f64(DType::I64, vec![rows], &labels).expect("labels"));
    let train = |seed: &str| {
        let out = dir.join(format!("seed{seed}"));
        let args = ["train", model, "--input", &arg, "--target", &target, "--batch", "16", "--steps", "12"];
        cli(&[&args[..], &["--optimizer", "adam", "--lr", "0.01", "--seed", seed, "--quiet", "--out", &text(&out)]].concat());
        (losses(&out), out)
    };
    let (curve, out) = train("1");
    assert!(curve.iter().all(|l| l.is_finite()), "{curve:?}");
    assert!(curve[9..].iter().sum::<f64>() < 0.6 * curve[..3].iter().sum::<f64>(), "the loss falls: {curve:?}");
    assert_ne!(train("2").0, curve, "another seed draws other dropout masks");

    let params = read_npz(&out.join("params.npz")).expect("params.npz");
    let get = |name: &str| params.iter().find(|(n, _)| n == name).map(|(_, d)| Tensor::from(d).to_f64s()).expect(name);
    let (mean, var) = (get("BnDropout.bn_mean"), get("BnDropout.bn_var"));
    assert!(mean.iter().all(|&m| m != 0.0) && var.iter().all(|&v| v != 1.0 && v > 0.0), "running statistics {mean:?} {var:?}");

    let exported = dir.join("model.onnx");
    cli(&["export", model, "-o", &text(&exported)]);
    for file in [exported, out.join("model.onnx")] {
        let proto = load_model(&file).unwrap_or_else(|d| panic!("{}: {}", file.display(), d.message));
        let ops: Vec<&str> = proto.graph.iter().flat_map(|g| &g.node).map(|n| n.op_type.as_str()).collect();
        assert!(!ops.contains(&"Dropout") && !ops.contains(&"BatchNormalization"), "{}: {ops:?}", file.display());
        let imported = import_model(&proto).unwrap_or_else(|d| panic!("{}: {d}", file.display()));
        let ir = tessera_ir::print::print_module(imported.module.module());
        assert!(!ir.contains("batch_stats") && !ir.contains("dropout"), "{ir}");
    }
    let run = |name: &str| {
        let out = dir.join(name);
        cli(&["run", model, "--input", &arg, "--output-dir", &text(&out)]);
        read_npy_tensor(&out.join("output_0.npy")).expect("output_0.npy").to_f64s()
    };
    assert_eq!(run("run1"), run("run2"), "inference is deterministic");
}

/// A regression loss on a model with a symbolic batch: the target keeps the
/// output's symbolic batch dim (it was fixed to `--batch` and no longer
/// matched the output), under `tessera train` and `tessera compile --train`.
#[test]
fn mse_on_a_symbolic_batch_trains_and_compiles() {
    let dir = scratch("onnx-export", "tsr-mse");
    let text = |p: &Path| p.to_str().expect("utf-8 path").to_string();
    let model = "models/bn_dropout.tsr";
    let rows = 8;
    let images = Tensor::convert_f64(DType::F32, vec![rows, 1, 8, 8], &uniform(rows * 64, 31)).expect("images");
    let targets = Tensor::convert_f64(DType::F32, vec![rows, 3], &uniform(rows * 3, 32)).expect("targets");
    let arg = format!("x={}", save(&dir, "x.npy", &images));
    let target = save(&dir, "y.npy", &targets);
    let out = dir.join("run");
    let args = ["train", model, "--input", &arg, "--target", &target, "--loss", "mse", "--optimizer", "sgd"];
    cli(&[&args[..], &["--lr", "0.05", "--batch", "4", "--steps", "4", "--quiet", "--out", &text(&out)]].concat());
    let curve = losses(&out);
    assert!(curve.len() == 4 && curve.iter().all(|l| l.is_finite()), "{curve:?}");
    let lib = dir.join("lib");
    cli(&["compile", model, "-o", &text(&lib), "--train", "--loss", "mse", "--optimizer", "sgd", "--batch", "4"]);
    assert!(lib.join("libbn_dropout.a").is_file());
}
