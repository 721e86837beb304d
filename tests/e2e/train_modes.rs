//! `tessera train` in training mode on `models/bn_dropout.onnx` (Conv,
//! BatchNormalization, Relu, Dropout 0.25, Gemm; made by
//! `models/make_bn_dropout.py`): batch statistics normalise and update the
//! running ones, dropout masks are seeded. The loss falls; generated code
//! and the reference evaluator draw the same masks; a seed reproduces a
//! run; the running statistics land in `params.npz` and `model.onnx`, and
//! ONNX Runtime runs that model in inference mode as tessera does.

use crate::binary::{scratch};
use std::path::{Path, PathBuf};
use std::process::Command;
use tessera_frontend::npy::write_npy;
use tessera_frontend::npz::read_npz;
use tessera_frontend::onnx::import::import_model;
use tessera_frontend::onnx::load_model;
use tessera_ir::tensor::Tensor;
use tessera_ir::DType;
use tessera_passes::Evaluator;

fn model() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("models/bn_dropout.onnx")
}

/// 64 made-up 8x8 images (offset and scaled, so the batch statistics
/// matter) and their classes: the band of rows (0-2, 3-4, 5-7) with the
/// largest sum.
fn data(dir: &Path) -> (PathBuf, PathBuf, Tensor) {
    let pixels: Vec<f64> = (0..64 * 64).map(|i| 3.0 + 2.0 * (((i * 7919 + 13) % 211) as f64 / 105.0 - 1.0)).collect();
    let labels: Vec<f64> = pixels
        .chunks(64)
        .map(|img| {
            let band = |rows: std::ops::Range<usize>| rows.clone().flat_map(|r| &img[r * 8..r * 8 + 8]).sum::<f64>() / rows.len() as f64;
            let sums = [band(0..3), band(3..5), band(5..8)];
            (0..3).max_by(|&a, &b| sums[a].total_cmp(&sums[b])).unwrap_or(0) as f64
        })
        .collect();
    let x = Tensor::from_f64(DType::F32, vec![64, 1, 8, 8], pixels).unwrap();
    let (xp, yp) = (dir.join("x.npy"), dir.join("y.npy"));
    write_npy(&xp, &x.to_dense()).unwrap();
    write_npy(&yp, &Tensor::convert_f64(DType::I64, vec![64], &labels).unwrap().to_dense()).unwrap();
    (xp, yp, x)
}

/// Trains 30 steps of 16 with Adam; returns the losses.
fn train(x: &Path, y: &Path, out: &Path, extra: &[&str]) -> Vec<f64> {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_tessera"));
    cmd.arg("train").arg(model()).arg("--input").arg(format!("input={}", x.display())).arg("--target").arg(y);
    cmd.args(["--batch", "16", "--steps", "30", "--optimizer", "adam", "--lr", "0.01", "--quiet", "--out"]).arg(out);
    cmd.args(extra);
    let o = cmd.output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let text = std::fs::read_to_string(out.join("loss.csv")).unwrap();
    text.lines().skip(1).map(|l| l.split_once(',').unwrap().1.parse().unwrap()).collect()
}

#[test]
fn batch_norm_and_dropout_train_in_training_mode() {
    let dir = scratch("train-modes", "train");
    let (x, y, images) = data(&dir);
    let jit = train(&x, &y, &dir.join("jit"), &["--seed", "5"]);
    assert!(jit.iter().all(|l| l.is_finite()), "{jit:?}");
    let (first, last) = (jit[..5].iter().sum::<f64>(), jit[25..].iter().sum::<f64>());
    assert!(last < 0.8 * first, "the loss falls: {jit:?}");
    let reference = train(&x, &y, &dir.join("reference"), &["--seed", "5", "--engine", "reference"]);
    for (step, (a, b)) in jit.iter().zip(&reference).enumerate() {
        assert!((a - b).abs() <= 1e-5 * b.abs(), "step {step}: {a} as generated code, {b} on the reference evaluator");
    }
    assert_eq!(train(&x, &y, &dir.join("again"), &["--seed", "5"]), jit, "the same seed, the same run");
    assert_ne!(train(&x, &y, &dir.join("other"), &["--seed", "6"]), jit, "another seed, other masks");

    let params = read_npz(&dir.join("jit/params.npz")).unwrap();
    let get = |name: &str| params.iter().find(|(n, _)| n == name).map(|(_, d)| Tensor::from(d).to_f64s()).unwrap();
    let (mean, var) = (get("bn.running_mean"), get("bn.running_var"));
    assert!(mean.iter().all(|&m| m != 0.0) && var.iter().all(|&v| v != 1.0 && v > 0.0), "running statistics {mean:?} {var:?}");

    // The exported model holds them and infers with them, as ONNX Runtime does.
    let exported = import_model(&load_model(&dir.join("jit/model.onnx")).unwrap()).unwrap();
    let text = tessera_ir::print::print_module(exported.module.module());
    assert!(!text.contains("batch_stats") && !text.contains("dropout"), "{text}");
    let stored = exported.module.module().param("bn.running_mean").and_then(|p| p.init.as_ref()).map(|d| Tensor::from(d).to_f64s());
    assert_eq!(stored, Some(mean));
    let batch = Tensor::from_f64(DType::F32, vec![4, 1, 8, 8], images.to_f64s()[..4 * 64].to_vec()).unwrap();
    let want = Evaluator::new(&exported.module).run("main", vec![batch.clone()]).unwrap();
    let case = dir.join("ort/case");
    std::fs::create_dir_all(&case).unwrap();
    std::fs::copy(dir.join("jit/model.onnx"), case.join("model.onnx")).unwrap();
    write_npy(&case.join("input.npy"), &batch.to_dense()).unwrap();
    write_npy(&case.join("output.npy"), &want[0].to_dense()).unwrap();
    let spec = serde_json::json!({
        "inputs": [{ "name": "input", "file": "input.npy" }],
        "outputs": [{ "name": "logits", "file": "output.npy" }],
        "rtol": 1e-4,
        "atol": 1e-5,
    });
    std::fs::write(case.join("case.json"), spec.to_string()).unwrap();
    let python = Path::new(env!("CARGO_MANIFEST_DIR")).join(".venv/bin/python");
    if !Command::new(&python).args(["-c", "import onnxruntime, onnx"]).output().is_ok_and(|o| o.status.success()) {
        println!("skipped ONNX Runtime: .venv has no onnxruntime (run `bash .ci/setup`)");
        return;
    }
    let check = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/onnx/check_exported.py");
    let o = Command::new(&python).arg(check).arg(dir.join("ort")).output().unwrap();
    assert!(o.status.success(), "{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr));
}
