//! The training step against hand-written PyTorch formulas: a linear model
//! with an MSE loss, three steps of every optimiser, in f64; and the
//! cross-entropy losses against their definitions.

use super::{build_train_step, Loss, Optimizer};
use crate::testing::verified;
use crate::Evaluator;
use tessera_ir::tensor::Tensor;
use tessera_ir::verify::VerifiedModule;
use tessera_ir::{DType, Dim, Type};

const LINEAR: &str = "param @w = dense<[[0.1, -0.2], [0.3, 0.4], [-0.5, 0.6]]> : tensor<3x2xf64>
func @f(%x: tensor<N x 3 x f64>) -> tensor<N x 2 x f64> {
  %w = tg.param @w
  %y = tg.dot %x, %w {lhs_contract = [1], rhs_contract = [0]}
  tg.return %y
}
";

const X: [f64; 12] = [0.5, -1.0, 2.0, 1.5, 0.25, -0.75, -2.0, 1.0, 0.5, 0.3, 0.7, -0.2];
const T: [f64; 8] = [1.0, 0.0, -1.0, 2.0, 0.5, 0.5, 0.0, -1.0];
const W0: [f64; 6] = [0.1, -0.2, 0.3, 0.4, -0.5, 0.6];

/// The MSE gradient of the linear model at `w`.
fn mse_grad(w: &[f64]) -> Vec<f64> {
    let mut g = vec![0.0; 6];
    for n in 0..4 {
        for j in 0..2 {
            let y: f64 = (0..3).map(|k| X[n * 3 + k] * w[k * 2 + j]).sum();
            let d = 2.0 * (y - T[n * 2 + j]) / 8.0;
            for k in 0..3 {
                g[k * 2 + j] += d * X[n * 3 + k];
            }
        }
    }
    g
}

/// PyTorch's update of one element, with `s` the element's slots.
fn reference(opt: &Optimizer, t: f64, p: f64, g: f64, s: &mut [f64]) -> f64 {
    match *opt {
        Optimizer::Sgd { lr, momentum, dampening, nesterov, weight_decay } => {
            let mut d = g + weight_decay * p;
            if momentum != 0.0 {
                s[0] = if t == 1.0 { d } else { momentum * s[0] + (1.0 - dampening) * d };
                d = if nesterov { d + momentum * s[0] } else { s[0] };
            }
            p - lr * d
        }
        Optimizer::Adam { lr, betas: (b1, b2), eps, weight_decay, amsgrad, decoupled } => {
            let (mut p, mut g) = (p, g);
            if decoupled {
                p *= 1.0 - lr * weight_decay;
            } else {
                g += weight_decay * p;
            }
            s[0] += (1.0 - b1) * (g - s[0]);
            s[1] = s[1] * b2 + (1.0 - b2) * g * g;
            let v = if amsgrad {
                s[2] = s[2].max(s[1]);
                s[2]
            } else {
                s[1]
            };
            let denom = v.sqrt() / (1.0 - b2.powf(t)).sqrt() + eps;
            p - lr / (1.0 - b1.powf(t)) * s[0] / denom
        }
        Optimizer::RmsProp { lr, alpha, eps, weight_decay, momentum, centered } => {
            let g = g + weight_decay * p;
            s[0] = alpha * s[0] + (1.0 - alpha) * g * g;
            let last = s.len() - 1;
            let avg = if centered {
                s[last] += (1.0 - alpha) * (g - s[last]);
                (s[0] - s[last] * s[last]).sqrt()
            } else {
                s[0].sqrt()
            } + eps;
            if momentum > 0.0 {
                s[1] = momentum * s[1] + g / avg;
                p - lr * s[1]
            } else {
                p - lr * g / avg
            }
        }
    }
}

fn f64s(shape: &[usize], v: &[f64]) -> Tensor {
    Tensor::from_f64(DType::F64, shape.to_vec(), v.to_vec()).unwrap()
}

#[test]
fn every_optimizer_matches_pytorch_formulas() {
    let sgd = |momentum, dampening, nesterov, weight_decay| Optimizer::Sgd { lr: 0.1, momentum, dampening, nesterov, weight_decay };
    let adam = |weight_decay, amsgrad, decoupled| Optimizer::Adam { lr: 0.01, betas: (0.9, 0.999), eps: 1e-8, weight_decay, amsgrad, decoupled };
    let rms = |momentum, centered| Optimizer::RmsProp { lr: 0.01, alpha: 0.99, eps: 1e-8, weight_decay: 0.1, momentum, centered };
    let all = [
        sgd(0.0, 0.0, false, 0.0),
        sgd(0.9, 0.0, false, 0.01),
        sgd(0.9, 0.0, true, 0.0),
        sgd(0.5, 0.3, false, 0.0),
        adam(0.0, false, false),
        adam(0.1, true, false),
        adam(0.1, false, true),
        rms(0.0, false),
        rms(0.9, true),
    ];
    let module = verified(LINEAR).into_inner();
    let forward = module.func("f").unwrap().clone();
    let target = Type::tensor(vec![Dim::sym("N"), Dim::Known(2)], DType::F64);
    for opt in &all {
        let step = build_train_step(&module, &forward, Loss::Mse, target.clone(), opt, 0).unwrap_or_else(|d| panic!("{opt:?}: {}", d.message));
        let vm = VerifiedModule::new(step.module.clone()).unwrap_or_else(|d| panic!("{d}"));
        let eval = Evaluator::new(&vm);
        let nslots = opt.slots().len();
        let mut w = W0.to_vec();
        let mut slots = vec![vec![0.0; nslots]; 6];
        let mut args = vec![f64s(&[3, 2], &W0), Tensor::scalar(DType::F64, 0.0)];
        args.extend((0..nslots).map(|_| f64s(&[3, 2], &[0.0; 6])));
        for t in 1..=3 {
            let mut call = args.clone();
            call.push(f64s(&[4, 3], &X));
            call.push(f64s(&[4, 2], &T));
            let out = eval.run("train_step", call).unwrap_or_else(|d| panic!("{}", d.message));
            let g = mse_grad(&w);
            for (i, wi) in w.iter_mut().enumerate() {
                *wi = reference(opt, t as f64, *wi, g[i], &mut slots[i]);
            }
            let got = out[0].to_f64s();
            for (a, e) in got.iter().zip(&w) {
                assert!((a - e).abs() < 1e-12, "{opt:?} step {t}: {got:?} vs {w:?}");
            }
            assert_eq!(out[1].to_f64s(), [t as f64]);
            args = out[..out.len() - 1].to_vec();
        }
    }
}

/// The loss of `pred` against `target` through a step-free function.
fn loss_of(loss: Loss, pred: Tensor, target: Tensor) -> f64 {
    let rank = |t: &Tensor| t.shape().iter().map(|&d| format!("{d}x")).collect::<String>();
    let dt = |t: &Tensor| t.dtype().to_string();
    let src = format!(
        "func @f(%p: tensor<{}{}>, %t: tensor<{}{}>) -> tensor<{}> {{\n  tg.return %p\n}}\n",
        rank(&pred),
        dt(&pred),
        rank(&target),
        dt(&target),
        dt(&pred)
    );
    let mut module = verified(&src.replace(&format!("-> tensor<{}>", dt(&pred)), &format!("-> tensor<{}{}>", rank(&pred), dt(&pred)))).into_inner();
    let f = &mut module.funcs[0];
    let entry = f.entry();
    let ret = *f.block(entry).ops.last().unwrap();
    f.erase_op(ret);
    let (p, t) = (f.args()[0], f.args()[1]);
    let mut b = tessera_ir::Builder::new(f, &tessera_ir::infer::NoSymbols);
    let l = loss.build(&mut b, p, t).unwrap();
    b.ret(&[l]).unwrap();
    f.results = vec![f.ty(l).clone()];
    let vm = VerifiedModule::new(module).unwrap();
    Evaluator::new(&vm).run("f", vec![pred, target]).unwrap()[0].to_f64s()[0]
}

#[test]
fn losses_match_their_definitions() {
    let logits = f64s(&[2, 3], &[1.0, 2.0, 0.5, -1.0, 0.0, 3.0]);
    let lse = |r: &[f64]| r.iter().map(|v| v.exp()).sum::<f64>().ln();
    let (r0, r1) = ([1.0, 2.0, 0.5], [-1.0, 0.0, 3.0]);
    let labels = Tensor::convert_f64(DType::I64, vec![2], &[1.0, 2.0]).unwrap();
    let expected = ((lse(&r0) - 2.0) + (lse(&r1) - 3.0)) / 2.0;
    assert!((loss_of(Loss::CrossEntropy, logits.clone(), labels) - expected).abs() < 1e-12);
    let probs = f64s(&[2, 3], &[0.0, 1.0, 0.0, 0.2, 0.3, 0.5]);
    let expected = ((lse(&r0) - 2.0) + (lse(&r1) - (-0.2 + 0.5 * 3.0))) / 2.0;
    assert!((loss_of(Loss::CrossEntropyProbs, logits.clone(), probs) - expected).abs() < 1e-12);
    let p = f64s(&[2], &[0.25, 0.9]);
    let t = f64s(&[2], &[1.0, 0.0]);
    let expected = -(0.25f64.ln() + 0.1f64.ln()) / 2.0;
    assert!((loss_of(Loss::Bce, p, t.clone()) - expected).abs() < 1e-12);
    let x = f64s(&[2], &[0.5, -2.0]);
    let sig = |v: f64| 1.0 / (1.0 + (-v).exp());
    let expected = -(sig(0.5).ln() + (1.0 - sig(-2.0)).ln()) / 2.0;
    assert!((loss_of(Loss::BceWithLogits, x, t) - expected).abs() < 1e-12);
    assert!((loss_of(Loss::Mse, f64s(&[2], &[1.0, 2.0]), f64s(&[2], &[0.0, 4.0])) - 2.5).abs() < 1e-12);
}
