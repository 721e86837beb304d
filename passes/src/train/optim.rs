//! Optimisers as graph IR, with PyTorch's update formulas operation for
//! operation (`torch.optim`'s single-tensor paths): SGD (momentum,
//! dampening, Nesterov, weight decay), Adam and AdamW (with AMSGrad), and
//! RMSProp (momentum, centered). Hyper-parameters are constants of the
//! parameter's dtype; Adam's bias corrections are computed in f64 from the
//! step count, as PyTorch computes them in Python floats.

use tessera_ir::dialect::graph::elementwise as ew;
use tessera_ir::{Attrs, Builder, DType, Diag, Loc, ValueId};

/// An optimiser and its hyper-parameters.
#[derive(Clone, Debug, PartialEq)]
pub enum Optimizer {
    /// `torch.optim.SGD`.
    Sgd {
        /// Learning rate.
        lr: f64,
        /// Momentum factor (0: none).
        momentum: f64,
        /// Dampening of the momentum.
        dampening: f64,
        /// Nesterov momentum.
        nesterov: bool,
        /// L2 penalty added to the gradient.
        weight_decay: f64,
    },
    /// `torch.optim.Adam`, or `AdamW` when `decoupled`.
    Adam {
        /// Learning rate.
        lr: f64,
        /// Decay rates of the first and second moments.
        betas: (f64, f64),
        /// Added to the denominator.
        eps: f64,
        /// L2 penalty (Adam) or decoupled decay (AdamW).
        weight_decay: f64,
        /// Keep the maximum of the second moments.
        amsgrad: bool,
        /// AdamW: the decay scales the parameter instead of joining the gradient.
        decoupled: bool,
    },
    /// `torch.optim.RMSprop`.
    RmsProp {
        /// Learning rate.
        lr: f64,
        /// Smoothing constant.
        alpha: f64,
        /// Added to the denominator.
        eps: f64,
        /// L2 penalty added to the gradient.
        weight_decay: f64,
        /// Momentum factor (0: none).
        momentum: f64,
        /// Normalise by the variance instead of the second moment.
        centered: bool,
    },
}

/// Scalar helpers on a builder, for one parameter's dtype.
struct Ops<'b, 'f> {
    b: &'b mut Builder<'f>,
    dtype: DType,
}

impl Ops<'_, '_> {
    fn c(&mut self, v: f64) -> Result<ValueId, Diag> {
        self.b.scalar(self.dtype, v)
    }
    fn add(&mut self, a: ValueId, b: ValueId) -> Result<ValueId, Diag> {
        self.b.binary(&ew::ADD, a, b)
    }
    fn sub(&mut self, a: ValueId, b: ValueId) -> Result<ValueId, Diag> {
        self.b.binary(&ew::SUB, a, b)
    }
    fn mul(&mut self, a: ValueId, b: ValueId) -> Result<ValueId, Diag> {
        self.b.binary(&ew::MUL, a, b)
    }
    fn div(&mut self, a: ValueId, b: ValueId) -> Result<ValueId, Diag> {
        self.b.binary(&ew::DIV, a, b)
    }
    /// `x * k` for a constant `k`.
    fn scale(&mut self, x: ValueId, k: f64) -> Result<ValueId, Diag> {
        let k = self.c(k)?;
        self.mul(x, k)
    }
    /// `x + k * y` (PyTorch's `add(y, alpha=k)`).
    fn axpy(&mut self, x: ValueId, k: f64, y: ValueId) -> Result<ValueId, Diag> {
        let ky = self.scale(y, k)?;
        self.add(x, ky)
    }
    /// `x + w (end - x)` (PyTorch's `lerp` for `w < 0.5`).
    fn lerp(&mut self, x: ValueId, end: ValueId, w: f64) -> Result<ValueId, Diag> {
        let d = self.sub(end, x)?;
        self.axpy(x, w, d)
    }
    /// `x * a + k * y * z` (PyTorch's `mul_(a).addcmul_(y, z, value=k)`).
    fn decay_addcmul(&mut self, x: ValueId, a: f64, k: f64, y: ValueId, z: ValueId) -> Result<ValueId, Diag> {
        let xa = self.scale(x, a)?;
        let ky = self.scale(y, k)?;
        let kyz = self.mul(ky, z)?;
        self.add(xa, kyz)
    }
    fn sqrt(&mut self, x: ValueId) -> Result<ValueId, Diag> {
        self.b.unary(&ew::SQRT, x)
    }
}

impl Optimizer {
    /// The per-parameter state tensors, by name (each the parameter's shape, starting at zero).
    pub fn slots(&self) -> Vec<&'static str> {
        match *self {
            Optimizer::Sgd { momentum, .. } if momentum != 0.0 => vec!["momentum_buffer"],
            Optimizer::Sgd { .. } => vec![],
            Optimizer::Adam { amsgrad, .. } => {
                if amsgrad {
                    vec!["exp_avg", "exp_avg_sq", "max_exp_avg_sq"]
                } else {
                    vec!["exp_avg", "exp_avg_sq"]
                }
            }
            Optimizer::RmsProp { momentum, centered, .. } => {
                let mut s = vec!["square_avg"];
                if momentum > 0.0 {
                    s.push("momentum_buffer");
                }
                if centered {
                    s.push("grad_avg");
                }
                s
            }
        }
    }

    /// Builds one parameter's update: from the parameter, its gradient, its
    /// slots (in [`Optimizer::slots`] order) and the step count `t` after
    /// this step (an f64 rank-0 tensor, 1 on the first step), the new
    /// parameter and the new slots.
    pub fn update(
        &self,
        b: &mut Builder,
        t: ValueId,
        param: ValueId,
        grad: ValueId,
        slots: &[ValueId],
    ) -> Result<(ValueId, Vec<ValueId>), Diag> {
        let dtype = b.func.ty(param).as_tensor().map(|t| t.dtype).ok_or_else(|| Diag::error(Loc::Unknown, "a parameter must be a tensor"))?;
        let mut o = Ops { b, dtype };
        match *self {
            Optimizer::Sgd { lr, momentum, dampening, nesterov, weight_decay } => {
                let mut d = grad;
                if weight_decay != 0.0 {
                    d = o.axpy(d, weight_decay, param)?;
                }
                let mut state = Vec::new();
                if momentum != 0.0 {
                    let decayed = o.scale(slots[0], momentum)?;
                    let running = o.axpy(decayed, 1.0 - dampening, d)?;
                    let one = o.b.scalar(DType::F64, 1.0)?;
                    let first = o.b.binary(&ew::EQ, t, one)?;
                    let buf = o.b.op(&ew::SELECT, &[first, d, running], Attrs::new())?;
                    d = if nesterov { o.axpy(d, momentum, buf)? } else { buf };
                    state.push(buf);
                }
                Ok((o.axpy(param, -lr, d)?, state))
            }
            Optimizer::Adam { lr, betas: (b1, b2), eps, weight_decay, amsgrad, decoupled } => {
                let mut p = param;
                let mut g = grad;
                if weight_decay != 0.0 {
                    if decoupled {
                        p = o.scale(p, 1.0 - lr * weight_decay)?;
                    } else {
                        g = o.axpy(g, weight_decay, p)?;
                    }
                }
                let m = o.lerp(slots[0], g, 1.0 - b1)?;
                let v = o.decay_addcmul(slots[1], b2, 1.0 - b2, g, g)?;
                let (step_size, bc2_sqrt) = bias_corrections(o.b, t, (b1, b2), lr, dtype)?;
                let mut state = vec![m, v];
                let second = if amsgrad {
                    let vmax = o.b.binary(&ew::MAX, slots[2], v)?;
                    state.push(vmax);
                    vmax
                } else {
                    v
                };
                let root = o.sqrt(second)?;
                let scaled = o.div(root, bc2_sqrt)?;
                let e = o.c(eps)?;
                let denom = o.add(scaled, e)?;
                let ratio = o.div(m, denom)?;
                let minus = o.b.unary(&ew::NEG, step_size)?;
                let delta = o.mul(minus, ratio)?;
                Ok((o.add(p, delta)?, state))
            }
            Optimizer::RmsProp { lr, alpha, eps, weight_decay, momentum, centered } => {
                let mut g = grad;
                if weight_decay != 0.0 {
                    g = o.axpy(g, weight_decay, param)?;
                }
                let sq = o.decay_addcmul(slots[0], alpha, 1.0 - alpha, g, g)?;
                let mut state = vec![sq];
                let mut next = 1;
                let buf_slot = (momentum > 0.0).then(|| {
                    next += 1;
                    slots[1]
                });
                let avg = if centered {
                    let ga = o.lerp(slots[next], g, 1.0 - alpha)?;
                    let ga2 = o.mul(ga, ga)?;
                    let var = o.sub(sq, ga2)?;
                    let root = o.sqrt(var)?;
                    (root, Some(ga))
                } else {
                    (o.sqrt(sq)?, None)
                };
                let e = o.c(eps)?;
                let denom = o.add(avg.0, e)?;
                let p = match buf_slot {
                    Some(buf) => {
                        let decayed = o.scale(buf, momentum)?;
                        let ratio = o.div(g, denom)?;
                        let nb = o.add(decayed, ratio)?;
                        state.push(nb);
                        o.axpy(param, -lr, nb)?
                    }
                    None => {
                        let ratio = o.div(g, denom)?;
                        o.axpy(param, -lr, ratio)?
                    }
                };
                if let Some(ga) = avg.1 {
                    state.push(ga);
                }
                Ok((p, state))
            }
        }
    }
}

/// Adam's `lr / (1 - b1^t)` and `sqrt(1 - b2^t)`, computed in f64 and cast to `dtype`.
fn bias_corrections(b: &mut Builder, t: ValueId, (b1, b2): (f64, f64), lr: f64, dtype: DType) -> Result<(ValueId, ValueId), Diag> {
    let one = b.scalar(DType::F64, 1.0)?;
    let correction = |b: &mut Builder, beta: f64| -> Result<ValueId, Diag> {
        let base = b.scalar(DType::F64, beta)?;
        let power = b.binary(&ew::POW, base, t)?;
        b.binary(&ew::SUB, one, power)
    };
    let bc1 = correction(b, b1)?;
    let bc2 = correction(b, b2)?;
    let rate = b.scalar(DType::F64, lr)?;
    let step_size = b.binary(&ew::DIV, rate, bc1)?;
    let bc2_sqrt = b.unary(&ew::SQRT, bc2)?;
    Ok((b.cast(step_size, dtype)?, b.cast(bc2_sqrt, dtype)?))
}
