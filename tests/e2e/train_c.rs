//! Training through a generated library: `tessera compile --train` on the
//! corpus MLP, then `examples/c/train.c` (a real C program, linked against
//! the `.so`) runs 100 steps of `mlp_train_step` on the corpus data in
//! order. Its losses must equal `tessera train`'s bit for bit (the same
//! generated code: the library is compiled for this CPU, as the JIT is)
//! and PyTorch's within the tolerances of `summary.json`, for SGD and for
//! Adam (whose step counter is optimiser state the C program carries).
//! Then `train.c` runs `mlp_forward` with the trained parameters on the
//! first row; its output must match `tessera run` of the `model.onnx`
//! that `tessera train` writes for the same run.
//! Skipped when `../shared/corpus` is absent.

use crate::binary::{stderr, stdout, tessera};
use std::path::{Path, PathBuf};
use std::process::Command;
use tessera_frontend::npy::{read_npy, write_npy};
use tessera_ir::tensor::Tensor;
use tessera_ir::DType;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn scratch(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("train-c-{name}"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// Builds `train.c` against library `mlp` in `dir`.
fn build_trainer(dir: &Path) -> PathBuf {
    let exe = dir.join("train");
    let out = Command::new("cc")
        .args(["-std=c99", "-pedantic", "-Wall", "-Wextra", "-Werror", "-O1", "-DMODEL=mlp", "-DMODEL_HEADER=\"mlp.h\""])
        .arg("-I")
        .arg(dir)
        .arg("-I")
        .arg(root().join("examples/c"))
        .arg(root().join("examples/c/train.c"))
        .arg("-o")
        .arg(&exe)
        .arg(format!("-L{}", dir.display()))
        .arg(format!("-Wl,-rpath,{}", dir.display()))
        .args(["-lmlp", "-lm", "-lpthread", "-ldl"])
        .output()
        .expect("cc (a C compiler) must be installed");
    assert!(out.status.success(), "cc failed:\n{}", String::from_utf8_lossy(&out.stderr));
    exe
}

/// The losses `train.c` printed (`step S LOSS`).
fn printed_losses(text: &str) -> Vec<f32> {
    text.lines().filter(|l| l.starts_with("step ")).map(|l| l.rsplit(' ').next().unwrap().parse().unwrap()).collect()
}

/// The output row `train.c` printed after training (`forward V0 V1 ...`).
fn printed_forward(text: &str) -> Vec<f64> {
    let line = text.lines().find(|l| l.starts_with("forward ")).expect("train.c printed no forward line");
    line.split(' ').skip(1).map(|v| v.parse().unwrap()).collect()
}

/// The first output row of `tessera run MODEL` on the first row of `x`
/// (the corpus MLP takes one row).
fn run_first_row(model: &Path, x: &Path, dir: &Path) -> Vec<f64> {
    let data = Tensor::from(&read_npy(x).unwrap());
    let cols: usize = data.shape()[1..].iter().product();
    let mut shape = data.shape().to_vec();
    shape[0] = 1;
    let row = dir.join("row0.npy");
    write_npy(&row, &Tensor::from_f64(DType::F32, shape, data.to_f64s()[..cols].to_vec()).unwrap().to_dense()).unwrap();
    let out_dir = dir.join("run");
    let o = tessera(&["run", s(model), "--input", &format!("input={}", s(&row)), "--output-dir", s(&out_dir)]);
    assert!(o.status.success(), "tessera run:\n{}", stderr(&o));
    let y = Tensor::from(&read_npy(&out_dir.join("output.npy")).unwrap());
    let width: usize = y.shape()[1..].iter().product();
    y.to_f64s()[..width].to_vec()
}

/// The losses in `DIR/loss.csv`.
fn csv_losses(out: &Path) -> Vec<f32> {
    let text = std::fs::read_to_string(out.join("loss.csv")).unwrap();
    text.lines().skip(1).map(|l| l.split_once(',').unwrap().1.parse().unwrap()).collect()
}

/// Trains with `optimizer` at learning rate `lr` through the library and
/// through `tessera train`, and compares both with PyTorch.
fn trains_like_tessera_and_pytorch(optimizer: &str, lr: &str, rtol: f64) {
    let corpus = root().join("../shared/corpus");
    if !corpus.join("train_mlp/summary.json").exists() {
        println!("skipped: ../shared/corpus not found");
        return;
    }
    let (model, data) = (corpus.join("mlp/model.onnx"), corpus.join("train_mlp"));
    let (x, y) = (data.join("data_x.npy"), data.join("data_y.npy"));
    let dir = scratch(optimizer);
    let lib = dir.join("lib");
    let hyper = ["--optimizer", optimizer, "--lr", lr, "--batch", "64"];
    let mut args = vec!["compile", s(&model), "-o", s(&lib), "--name", "mlp", "--train", "--target-cpu", "native"];
    args.extend(hyper);
    let o = tessera(&args);
    assert!(o.status.success(), "tessera compile --train:\n{}", stderr(&o));
    let exe = build_trainer(&lib);
    let run = Command::new(&exe).args([&x, &y]).arg("100").output().unwrap();
    assert!(run.status.success(), "train.c failed:\n{}", stderr(&run));
    let from_c = printed_losses(&stdout(&run));

    let out = dir.join("train");
    let input = format!("input={}", x.display());
    let mut args = vec!["train", s(&model), "--input", &input, "--target", s(&y), "--steps", "100", "--quiet", "--out", s(&out)];
    args.extend(hyper);
    let o = tessera(&args);
    assert!(o.status.success(), "tessera train:\n{}", stderr(&o));
    assert_eq!(from_c, csv_losses(&out), "{optimizer}: the C program's losses differ from tessera train's");

    // Inference with the trained parameters: the library's forward entry
    // against the trained model.onnx through `tessera run` (the same
    // parameters bit for bit; the two compilations may fuse differently).
    let forward = printed_forward(&stdout(&run));
    let want = run_first_row(&out.join("model.onnx"), &x, &dir);
    assert_eq!(forward.len(), want.len(), "{optimizer}: forward row width");
    for (j, (got, want)) in forward.iter().zip(&want).enumerate() {
        assert!((got - want).abs() <= 1e-5 + 1e-4 * want.abs(), "{optimizer}: forward output {j}: {got} from C, tessera run {want}");
    }

    let pytorch = Tensor::from(&read_npy(&data.join(format!("{optimizer}/losses.npy"))).unwrap()).to_f64s();
    assert_eq!(from_c.len(), pytorch.len());
    for (step, (got, want)) in from_c.iter().zip(&pytorch).enumerate() {
        let rel = (f64::from(*got) - want).abs() / want.abs();
        assert!(rel <= rtol, "{optimizer} step {step}: loss {got} from C, PyTorch {want}");
    }
}

#[test]
fn sgd_through_the_c_library_matches_tessera_train_and_pytorch() {
    trains_like_tessera_and_pytorch("sgd", "0.1", 1e-3);
}

#[test]
fn adam_through_the_c_library_matches_tessera_train_and_pytorch() {
    trains_like_tessera_and_pytorch("adam", "1e-3", 3e-3);
}
