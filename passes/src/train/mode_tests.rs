//! Training mode against its definitions: batch normalisation against
//! `onnx.reference`'s training-mode BatchNormalization (values generated
//! with onnx 1.23 in f64) and by finite differences through the batch
//! statistics; dropout's masks (rate, scale, reproducibility, the
//! documented generator); and a training step that carries running
//! statistics.

use super::random::fmix32;
use super::{build_train_step, inference_mode, training_mode, Loss, Optimizer};
use crate::autodiff::tests::check;
use crate::testing::verified;
use crate::Evaluator;
use tessera_ir::tensor::Tensor;
use tessera_ir::verify::VerifiedModule;
use tessera_ir::{DType, Func, Module, Type};

/// BatchNormalization of x `[3, 2, 2]` (epsilon 1e-3, momentum 0.8) with
/// every input an argument, as the ONNX importer writes its inference form.
const BATCH_NORM: &str = "func @f(%x: tensor<3x2x2xf64>, %s: tensor<2xf64>, %b: tensor<2xf64>, %m: tensor<2xf64>, %v: tensor<2xf64>) -> tensor<3x2x2xf64> {
  %mean, %var = tg.batch_stats %x, %m, %v {axes = [0, 2], momentum = 0.8}
  %eps = tg.constant {value = dense<1.0e-3> : tensor<f64>}
  %ve = tg.add %var, %eps
  %inv = tg.rsqrt %ve
  %k = tg.mul %s, %inv
  %kv = tg.reshape %k {shape = [1, 2, 1]}
  %mv = tg.reshape %mean {shape = [1, 2, 1]}
  %bv = tg.reshape %b {shape = [1, 2, 1]}
  %c = tg.sub %x, %mv
  %sc = tg.mul %c, %kv
  %y = tg.add %sc, %bv
  tg.return %y
}
";

const X: [f64; 12] = [-1.657, -1.053, 1.205, 0.329, -1.623, -0.267, -0.084, -1.361, 0.938, -1.545, -0.435, 0.067];
const SCALE: [f64; 2] = [1.5, -0.5];
const BIAS: [f64; 2] = [0.25, 1.0];
const MEAN: [f64; 2] = [0.1, -0.2];
const VAR: [f64; 2] = [0.8, 1.3];

/// `onnx.reference.ops.op_batch_normalization._batchnorm_training_mode`
/// on the inputs above: Y, then the running mean and variance.
const Y: [f64; 12] = [
    -1.0078458561880062,
    -0.04513553246565455,
    0.19287550110124108,
    0.7578304040459577,
    -0.9536535531970127,
    1.207663001384955,
    1.0241847133109896,
    1.8477548172612215,
    3.128301975036335,
    -0.8293300345706165,
    1.250553629901852,
    0.9268009343787382,
];
const RUNNING_MEAN: [f64; 2] = [-0.0935666666666666, -0.16930000000000003];
const RUNNING_VAR: [f64; 2] = [0.8169312277777778, 1.1600127833333334];

fn f64s(shape: &[usize], v: &[f64]) -> Tensor {
    Tensor::from_f64(DType::F64, shape.to_vec(), v.to_vec()).unwrap()
}

fn bn_inputs() -> Vec<Tensor> {
    vec![f64s(&[3, 2, 2], &X), f64s(&[2], &SCALE), f64s(&[2], &BIAS), f64s(&[2], &MEAN), f64s(&[2], &VAR)]
}

/// `@f` of `src` in training mode (dropouts drawing from `seed`), in a module of its own.
fn trained(src: &str, seed: u64) -> (VerifiedModule, Vec<usize>) {
    let module = verified(src).into_inner();
    let f = module.func("f").unwrap();
    let form = training_mode(f, &module.symbols(), seed).unwrap_or_else(|d| panic!("{}", d.message));
    let m = Module { params: module.params.clone(), funcs: vec![form.func] };
    let printed = tessera_ir::print::print_module(&m);
    (VerifiedModule::new(m).unwrap_or_else(|d| panic!("{d}\n{printed}")), form.updates)
}

fn close(got: &[f64], want: &[f64], what: &str) {
    assert_eq!(got.len(), want.len(), "{what}");
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert!((g - w).abs() <= 1e-12 * w.abs().max(1.0), "{what}[{i}]: {g}, expected {w}");
    }
}

#[test]
fn batch_norm_in_training_matches_onnx_reference() {
    let (m, updates) = trained(BATCH_NORM, 0);
    assert_eq!(updates, [3, 4]);
    let out = Evaluator::new(&m).run("f", bn_inputs()).unwrap();
    close(&out[0].to_f64s(), &Y, "Y");
    close(&out[1].to_f64s(), &RUNNING_MEAN, "running mean");
    close(&out[2].to_f64s(), &RUNNING_VAR, "running var");
    // At inference the running statistics normalise, and nothing is updated.
    let mut inference = verified(BATCH_NORM).into_inner();
    inference_mode(&mut inference);
    let text = tessera_ir::print::print_module(&inference);
    assert!(!text.contains("batch_stats"), "{text}");
    let y = Evaluator::new(&VerifiedModule::new(inference).unwrap()).run("f", bn_inputs()).unwrap();
    let want: Vec<f64> = (0..12).map(|i| {
        let c = (i / 2) % 2;
        SCALE[c] * (X[i] - MEAN[c]) / (VAR[c] + 1e-3).sqrt() + BIAS[c]
    }).collect();
    close(&y[0].to_f64s(), &want, "inference Y");
}

#[test]
fn batch_norm_gradients_flow_through_the_batch_statistics() {
    let (m, _) = trained(BATCH_NORM, 0);
    let text = tessera_ir::print::print_module(m.module());
    check(&text, bn_inputs(), &[0, 1, 2, 3, 4]);
}

/// Dropout with ratio 0.3 of x `[40, 50]`, in training mode.
const DROPOUT: &str = "func @f(%x: tensor<40x50xf32>) -> tensor<40x50xf32> {
  %y = tg.dropout %x {ratio = 0.3}
  tg.return %y
}
";

fn dropped(seed: u64, counter: f64) -> Vec<f64> {
    let (m, _) = trained(DROPOUT, seed);
    let x = Tensor::from_f64(DType::F32, vec![40, 50], vec![2.0; 2000]).unwrap();
    let c = f64s(&[], &[counter]);
    Evaluator::new(&m).run("f", vec![x, c]).unwrap()[0].to_f64s()
}

#[test]
fn dropout_zeroes_a_ratio_and_rescales_the_rest_reproducibly() {
    let y = dropped(7, 1.0);
    let zeros = y.iter().filter(|&&v| v == 0.0).count();
    assert!((540..660).contains(&zeros), "{zeros} of 2000 dropped at ratio 0.3");
    assert!(y.iter().all(|&v| v == 0.0 || (v - 2.0 / 0.7).abs() < 1e-6), "kept values are x / (1 - ratio)");
    assert_eq!(dropped(7, 1.0), y, "same seed and step, same mask");
    let differ = |other: &[f64]| other.iter().zip(&y).filter(|(a, b)| (**a == 0.0) != (**b == 0.0)).count();
    assert!(differ(&dropped(7, 2.0)) > 500, "a new step draws a new mask");
    assert!(differ(&dropped(8, 1.0)) > 500, "a new seed draws a new mask");
}

/// The generator's documented formula, written out for element `(i, j)`.
fn documented(seed: u64, counter: u32, i: u32, j: u32) -> f64 {
    const K: u32 = 0x9E37_79B1;
    let key = fmix32(fmix32(seed as u32) ^ (seed >> 32) as u32);
    let h0 = fmix32(counter.wrapping_mul(K).wrapping_add(key));
    let h = (h0.wrapping_add(i).wrapping_mul(K).wrapping_add(j)).wrapping_mul(K);
    f64::from(fmix32(h) >> 8) * 2f64.powi(-24)
}

#[test]
fn dropout_masks_follow_the_documented_generator() {
    // The first dropout of a function draws with the seed itself.
    let y = dropped(0x1234_5678_9ABC, 3.0);
    for (i, j) in [(0, 0), (0, 1), (1, 0), (17, 33), (39, 49)] {
        let keep = documented(0x1234_5678_9ABC, 3, i, j) >= f64::from(0.3f32);
        assert_eq!(y[i as usize * 50 + j as usize] != 0.0, keep, "element ({i}, {j})");
    }
}

/// A linear layer followed by a batch normalisation over the batch, with
/// running statistics as parameters.
const LINEAR_BN: &str = "param @w = dense<[[0.5, -1.0], [1.5, 0.25], [-0.5, 2.0]]> : tensor<3x2xf64>
param @rm = dense<[0.0, 0.0]> : tensor<2xf64>
param @rv = dense<[1.0, 1.0]> : tensor<2xf64>
func @f(%x: tensor<4 x 3 x f64>) -> tensor<4 x 2 x f64> {
  %w = tg.param @w
  %rm = tg.param @rm
  %rv = tg.param @rv
  %h = tg.dot %x, %w {lhs_contract = [1], rhs_contract = [0]}
  %mean, %var = tg.batch_stats %h, %rm, %rv {axes = [0], momentum = 0.9}
  %c = tg.sub %h, %mean
  %eps = tg.constant {value = dense<1.0e-5> : tensor<f64>}
  %ve = tg.add %var, %eps
  %inv = tg.rsqrt %ve
  %y = tg.mul %c, %inv
  tg.return %y
}
";

#[test]
fn a_training_step_updates_running_statistics_outside_the_optimiser() {
    let module = verified(LINEAR_BN).into_inner();
    let forward: Func = module.func("f").unwrap().clone();
    let target = Type::tensor(forward.results[0].as_tensor().unwrap().dims.clone(), DType::F64);
    let adam = Optimizer::Adam { lr: 0.1, betas: (0.9, 0.999), eps: 1e-8, weight_decay: 0.0, amsgrad: false, decoupled: false };
    let step = build_train_step(&module, &forward, Loss::Mse, target, &adam, 0).unwrap_or_else(|d| panic!("{}", d.message));
    assert_eq!(step.buffers, ["rm", "rv"]);
    let state: Vec<&str> = step.state.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(state, ["step", "w.exp_avg", "w.exp_avg_sq"]);
    let x = [1.0, 2.0, 0.5, -1.0, 0.0, 1.5, 0.25, -0.5, 2.0, 3.0, 1.0, -2.0];
    let mut args = vec![module.param("w").unwrap().init.as_ref().map(Tensor::from).unwrap(), f64s(&[2], &[0.0, 0.0]), f64s(&[2], &[1.0, 1.0])];
    args.extend([f64s(&[], &[0.0]), f64s(&[3, 2], &[0.0; 6]), f64s(&[3, 2], &[0.0; 6])]);
    args.extend([f64s(&[4, 3], &x), f64s(&[4, 2], &[0.5; 8])]);
    let out = Evaluator::new(&VerifiedModule::new(step.module).unwrap()).run("train_step", args).unwrap();
    let w = [0.5, -1.0, 1.5, 0.25, -0.5, 2.0];
    let h: Vec<[f64; 2]> = (0..4).map(|n| [0, 1].map(|j| (0..3).map(|k| x[n * 3 + k] * w[k * 2 + j]).sum())).collect();
    let mean = [0, 1].map(|j| h.iter().map(|r| r[j]).sum::<f64>() / 4.0);
    let var = [0, 1].map(|j| h.iter().map(|r| (r[j] - mean[j]).powi(2)).sum::<f64>() / 4.0);
    close(&out[1].to_f64s(), &mean.map(|m| 0.1 * m), "running mean");
    close(&out[2].to_f64s(), &var.map(|v| 0.9 + 0.1 * v), "running var");
    assert!(out[0].to_f64s().iter().zip(w).all(|(a, b)| a != &b), "the weight trains");
}
