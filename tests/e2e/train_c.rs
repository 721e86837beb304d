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

use crate::clib::{cc, Link};
use crate::binary::{root, s, scratch, stderr, stdout, tessera};
use std::path::{Path, PathBuf};
use std::process::Command;
use tessera_frontend::npy::{read_npy, write_npy};
use tessera_ir::tensor::Tensor;
use tessera_ir::DType;

/// Builds `train.c` against library `mlp` in `dir`.
fn build_trainer(dir: &Path) -> PathBuf {
    let exe = dir.join("train");
    let defines = ["MODEL=mlp".to_string(), "MODEL_HEADER=\"mlp.h\"".to_string()];
    cc(&[root().join("examples/c/train.c")], dir, &["mlp"], Link::Shared, &defines, &exe);
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
    let dir = scratch("train-c", optimizer);
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
