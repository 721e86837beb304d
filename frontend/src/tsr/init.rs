//! Parameter initialisers: `zeros()`, `ones()`, `full(v)`, `uniform(lo, hi,
//! seed=)`, `normal(mean=0, std=1, seed=)`, `glorot(seed=)` and `he(seed=)`.
//!
//! Values are deterministic given the seed: a xoshiro256** generator
//! seeded through splitmix64, so no external RNG crate is needed and the
//! same `.tsr` file always compiles to the same weights. A random
//! initialiser without `seed=` takes the FNV-1a hash of the parameter's
//! full name (`Mlp.w1`), so two parameters never share values by accident.
//!
//! `glorot` is Glorot/Xavier uniform, `U(-a, a)` with `a = sqrt(6 / (fan_in
//! + fan_out))`; `he` is He/Kaiming normal with `std = sqrt(2 / fan_in)`.
//! Fans follow the layouts the standard library uses: `[in, out]` for a
//! matrix (`x @ w`), `[out, in, k...]` for a convolution weight (each fan
//! times the kernel size), `[n]` for a vector (both fans `n`).

use super::value::{dtype_name, Static};
use tessera_ir::attr::DenseAttr;
use tessera_ir::print::fnv1a;
use tessera_ir::TensorType;

/// The most elements a parameter may have (so a typo cannot exhaust memory).
pub const MAX_ELEMENTS: u128 = 1 << 28;

/// How a parameter gets its initial value.
#[derive(Clone, Debug, PartialEq)]
pub enum Init {
    /// Every element `v`.
    Full(f64),
    /// Uniform on `[lo, hi)`.
    Uniform {
        /// The lower bound.
        lo: f64,
        /// The upper bound.
        hi: f64,
        /// The seed; `None` for the hash of the parameter's name.
        seed: Option<u64>,
    },
    /// Normal with the given mean and standard deviation.
    Normal {
        /// The mean.
        mean: f64,
        /// The standard deviation.
        std: f64,
        /// The seed; `None` for the hash of the parameter's name.
        seed: Option<u64>,
    },
    /// Glorot (Xavier) uniform.
    Glorot {
        /// The seed; `None` for the hash of the parameter's name.
        seed: Option<u64>,
    },
    /// He (Kaiming) normal.
    He {
        /// The seed; `None` for the hash of the parameter's name.
        seed: Option<u64>,
    },
}

/// Each initialiser's parameters, in positional order.
const SIGNATURES: &[(&str, &[&str])] = &[
    ("zeros", &[]),
    ("ones", &[]),
    ("full", &["value"]),
    ("uniform", &["lo", "hi", "seed"]),
    ("normal", &["mean", "std", "seed"]),
    ("glorot", &["seed"]),
    ("he", &["seed"]),
];

impl Init {
    /// Whether `name` is an initialiser.
    pub fn is_initialiser(name: &str) -> bool {
        SIGNATURES.iter().any(|(n, _)| *n == name)
    }

    /// The initialiser `name(args)` for a parameter of type `ty`.
    pub fn new(name: &str, positional: &[Static], keywords: &[(String, Static)], ty: &TensorType) -> Result<Init, String> {
        let Some((_, params)) = SIGNATURES.iter().find(|(n, _)| *n == name) else {
            let names: Vec<&str> = SIGNATURES.iter().map(|(n, _)| *n).collect();
            return Err(format!("unknown initialiser '{name}' (there are {})", names.join(", ")));
        };
        let count = ty.static_dims().map(|d| d.iter().fold(1u128, |acc, &n| acc.saturating_mul(n as u128)));
        if count.is_none_or(|c| c > MAX_ELEMENTS) {
            return Err(format!("a parameter may have at most {MAX_ELEMENTS} elements"));
        }
        let mut args: Vec<Option<&Static>> = vec![None; params.len()];
        if positional.len() > params.len() {
            return Err(format!("'{name}' takes {} argument(s) ({}), got {}", params.len(), params.join(", "), positional.len()));
        }
        for (slot, v) in args.iter_mut().zip(positional) {
            *slot = Some(v);
        }
        for (k, v) in keywords {
            let i = params.iter().position(|p| p == k).ok_or_else(|| format!("'{name}' has no parameter '{k}'"))?;
            if args[i].replace(v).is_some() {
                return Err(format!("argument '{k}' of '{name}' is given twice"));
            }
        }
        let number = |i: usize, default: Option<f64>| -> Result<f64, String> {
            match args[i] {
                None => default.ok_or_else(|| format!("'{name}' needs an argument '{}'", params[i])),
                Some(s) => s.number().ok_or_else(|| format!("'{}' of '{name}' must be a number, got {}", params[i], s.describe())),
            }
        };
        let seed = |i: usize| -> Result<Option<u64>, String> {
            match args[i] {
                None => Ok(None),
                Some(Static::Int(v)) if *v >= 0 => Ok(Some(*v as u64)),
                Some(s) => Err(format!("a seed is a non-negative integer, got {}", s.describe())),
            }
        };
        let init = match name {
            "zeros" => Init::Full(0.0),
            "ones" => Init::Full(1.0),
            "full" => match args[0] {
                Some(v) => {
                    v.scalar(ty.dtype)?;
                    Init::Full(number(0, None)?)
                }
                None => return Err("'full' needs the value: full(0.5)".into()),
            },
            "uniform" => Init::Uniform { lo: number(0, None)?, hi: number(1, None)?, seed: seed(2)? },
            "normal" => Init::Normal { mean: number(0, Some(0.0))?, std: number(1, Some(1.0))?, seed: seed(2)? },
            "glorot" => Init::Glorot { seed: seed(0)? },
            _ => Init::He { seed: seed(0)? },
        };
        if !matches!(init, Init::Full(_)) && !ty.dtype.is_float() {
            return Err(format!("'{name}' draws random floats; a parameter of dtype {} takes zeros(), ones() or full(v)", dtype_name(ty.dtype)));
        }
        Ok(init)
    }

    /// The values of parameter `name` of type `ty` (static; checked by [`Init::new`]).
    pub fn values(&self, ty: &TensorType, name: &str) -> Result<DenseAttr, String> {
        let dims = ty.static_dims().ok_or_else(|| format!("parameter {name} has a dynamic type"))?;
        let n = dims.iter().product::<u64>() as usize;
        let rng = |seed: &Option<u64>| Rng::new(seed.unwrap_or_else(|| fnv1a(name.as_bytes())));
        let (fan_in, fan_out) = fans(&dims);
        let values: Vec<f64> = match self {
            Init::Full(v) => vec![*v; n],
            Init::Uniform { lo, hi, seed } => {
                let mut r = rng(seed);
                (0..n).map(|_| lo + (hi - lo) * r.uniform()).collect()
            }
            Init::Normal { mean, std, seed } => {
                let mut r = rng(seed);
                (0..n).map(|_| mean + std * r.normal()).collect()
            }
            Init::Glorot { seed } => {
                let a = (6.0 / (fan_in + fan_out)).sqrt();
                let mut r = rng(seed);
                (0..n).map(|_| a * (2.0 * r.uniform() - 1.0)).collect()
            }
            Init::He { seed } => {
                let std = (2.0 / fan_in).sqrt();
                let mut r = rng(seed);
                (0..n).map(|_| std * r.normal()).collect()
            }
        };
        DenseAttr::from_f64s(ty.clone(), &values)
    }
}

/// `(fan_in, fan_out)` of a weight with static `dims` (see the module documentation).
pub fn fans(dims: &[u64]) -> (f64, f64) {
    let f = |v: u64| (v.max(1)) as f64;
    match dims {
        [] => (1.0, 1.0),
        [n] => (f(*n), f(*n)),
        [i, o] => (f(*i), f(*o)),
        [o, i, kernel @ ..] => {
            let k = kernel.iter().fold(1u64, |acc, &d| acc.saturating_mul(d));
            (f(i.saturating_mul(k)), f(o.saturating_mul(k)))
        }
    }
}

/// splitmix64: a seed to a well-mixed stream (used to seed xoshiro).
fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// xoshiro256**, with a spare normal from Box–Muller.
pub struct Rng {
    s: [u64; 4],
    spare: Option<f64>,
}

impl Rng {
    /// A generator whose state is four splitmix64 outputs of `seed`.
    pub fn new(seed: u64) -> Rng {
        let mut sm = seed;
        Rng { s: [splitmix64(&mut sm), splitmix64(&mut sm), splitmix64(&mut sm), splitmix64(&mut sm)], spare: None }
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        let s = &mut self.s;
        let result = s[1].wrapping_mul(5).rotate_left(7).wrapping_mul(9);
        let t = s[1] << 17;
        s[2] ^= s[0];
        s[3] ^= s[1];
        s[1] ^= s[2];
        s[0] ^= s[3];
        s[2] ^= t;
        s[3] = s[3].rotate_left(45);
        result
    }

    /// Uniform on `[0, 1)`, from the top 53 bits.
    pub fn uniform(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// Standard normal, by Box–Muller (both values of each pair used).
    pub fn normal(&mut self) -> f64 {
        if let Some(z) = self.spare.take() {
            return z;
        }
        let u1 = 1.0 - self.uniform();
        let u2 = self.uniform();
        let r = (-2.0 * u1.ln()).sqrt();
        let theta = 2.0 * std::f64::consts::PI * u2;
        self.spare = Some(r * theta.sin());
        r * theta.cos()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tessera_ir::DType;

    fn floats(d: &DenseAttr) -> Vec<f64> {
        (0..d.len()).map(|i| d.get(i).to_f64()).collect()
    }

    #[test]
    fn splitmix_and_xoshiro_match_their_reference_outputs() {
        let mut state = 0;
        assert_eq!(splitmix64(&mut state), 0xE220_A839_7B1D_CDAF);
        let mut a = Rng::new(42);
        let mut b = Rng::new(42);
        let xs: Vec<u64> = (0..4).map(|_| a.next_u64()).collect();
        assert_eq!(xs, (0..4).map(|_| b.next_u64()).collect::<Vec<_>>());
        assert_ne!(Rng::new(43).next_u64(), xs[0]);
    }

    #[test]
    fn random_initialisers_are_deterministic_and_well_scaled() {
        let ty = TensorType::of(&[100, 50], DType::F32);
        let glorot = Init::new("glorot", &[], &[("seed".into(), Static::Int(0))], &ty).unwrap();
        let a = floats(&glorot.values(&ty, "M.w").unwrap());
        assert_eq!(a, floats(&glorot.values(&ty, "M.other").unwrap()), "the seed, not the name, decides");
        let limit = (6.0f64 / 150.0).sqrt();
        assert!(a.iter().all(|v| v.abs() <= limit) && a.iter().any(|v| v.abs() > 0.9 * limit));
        let he = Init::new("he", &[Static::Int(3)], &[], &ty).unwrap();
        let h = floats(&he.values(&ty, "M.w").unwrap());
        let var = h.iter().map(|v| v * v).sum::<f64>() / h.len() as f64;
        assert!((var / (2.0 / 100.0) - 1.0).abs() < 0.1, "variance {var}");
        let unseeded = Init::new("normal", &[], &[], &ty).unwrap();
        assert_ne!(floats(&unseeded.values(&ty, "M.a").unwrap()), floats(&unseeded.values(&ty, "M.b").unwrap()));
        let u = Init::new("uniform", &[Static::Int(2), Static::Float(3.0)], &[], &ty).unwrap();
        assert!(floats(&u.values(&ty, "x").unwrap()).iter().all(|v| (2.0..3.0).contains(v)));
    }

    #[test]
    fn bad_initialisers_are_errors() {
        let f = TensorType::of(&[3], DType::F32);
        let i = TensorType::of(&[3], DType::I64);
        let err = |name: &str, pos: &[Static], ty: &TensorType| Init::new(name, pos, &[], ty).unwrap_err();
        assert!(err("glorot", &[], &i).contains("draws random floats"));
        assert!(err("uniform", &[Static::Int(0)], &f).contains("needs an argument 'hi'"));
        assert!(err("xavier", &[], &f).starts_with("unknown initialiser 'xavier'"));
        assert!(err("full", &[Static::Float(0.5)], &i).contains("is not a value of dtype i64"));
        assert!(err("he", &[Static::Int(-1)], &f).contains("non-negative"));
        assert!(err("zeros", &[], &TensorType::of(&[1 << 20, 1 << 20], DType::F32)).contains("at most"));
        assert_eq!(fans(&[16, 3, 5, 5]), (75.0, 400.0));
    }
}
