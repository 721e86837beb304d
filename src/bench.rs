//! `tessera bench`: compile time and latency of a model's generated code,
//! beside the same model in tract (`tract-onnx`), run in the same process
//! on the same inputs.
//!
//! Latency is measured after warm-up runs as the median and spread (10th
//! and 90th percentiles) of repeated runs. tessera's time is the generated
//! function's (inputs already in its buffers); tract's is its
//! `SimplePlan::run`, which also allocates the outputs.

use crate::compile::Compiled;
use crate::model::Model;
use crate::tract_peer::TractPlan;
use crate::Failure;
use std::path::Path;
use std::time::{Duration, Instant};
use tessera_ir::tensor::Tensor;
use tessera_ir::{DType, Dim, Type};

/// How to benchmark.
#[derive(Clone, Debug)]
pub struct BenchOptions {
    /// Untimed runs first.
    pub warmup: usize,
    /// Timed runs.
    pub runs: usize,
    /// Values of symbolic input dims (`N=8`); unnamed ones are 1.
    pub dims: Vec<(String, usize)>,
    /// Whether to run the model in tract too (ONNX models only).
    pub tract: bool,
}

/// The distribution of repeated timings.
#[derive(Copy, Clone, Debug)]
pub struct Stats {
    /// The median.
    pub median: Duration,
    /// The 10th percentile.
    pub p10: Duration,
    /// The 90th percentile.
    pub p90: Duration,
}

impl Stats {
    /// The statistics of `times` (not empty).
    fn of(mut times: Vec<Duration>) -> Stats {
        times.sort();
        let at = |q: f64| times[((times.len() - 1) as f64 * q).round() as usize];
        Stats { median: at(0.5), p10: at(0.1), p90: at(0.9) }
    }
}

/// tract's figures for the same model.
#[derive(Clone, Debug)]
pub struct TractReport {
    /// Loading, optimising and planning the model.
    pub prepare: Duration,
    /// Latency.
    pub latency: Stats,
    /// The largest absolute difference between its outputs and tessera's.
    pub max_abs_diff: f64,
}

/// What `tessera bench` measured.
#[derive(Clone, Debug)]
pub struct BenchReport {
    /// The inputs' shapes, for the report.
    pub inputs: Vec<(String, Vec<usize>)>,
    /// Lowering to kernel functions.
    pub lower: Duration,
    /// LLVM: translation, O3, machine code.
    pub codegen: Duration,
    /// Latency of the generated code.
    pub latency: Stats,
    /// tract on the same inputs, or why it could not run the model.
    pub tract: Option<Result<TractReport, String>>,
}

/// Benchmarks the model at `path` on `inputs` (by name; generated from a
/// fixed seed when empty).
pub fn bench(path: &Path, inputs: Vec<(String, Tensor)>, options: &BenchOptions) -> Result<BenchReport, Failure> {
    let model = Model::load(path)?;
    let inputs = if inputs.is_empty() { random_inputs(&model, &options.dims)? } else { inputs };
    let shapes = inputs.iter().map(|(n, t)| (n.clone(), t.shape().to_vec())).collect();
    let bound = model.bind(inputs.clone())?;
    let compiled = Compiled::new(bound.module)?;
    let (outputs, timings) = compiled.run(&bound.entry, &bound.args)?;
    let mut times = Vec::with_capacity(options.runs);
    for i in 0..options.warmup + options.runs.max(1) {
        let (_, t) = compiled.run(&bound.entry, &bound.args)?;
        if i >= options.warmup {
            times.push(t.run);
        }
    }
    let is_onnx = path.extension().is_some_and(|e| e == "onnx");
    let tract = (options.tract && is_onnx).then(|| tract_bench(path, &inputs, &outputs, options));
    Ok(BenchReport { inputs: shapes, lower: timings.lower, codegen: timings.codegen, latency: Stats::of(times), tract })
}

/// Inputs for every model input: uniform in [-1, 1) for floats, in [0, 4)
/// for integers (valid indices for small axes), from a fixed seed.
pub fn random_inputs(model: &Model, dims: &[(String, usize)]) -> Result<Vec<(String, Tensor)>, Failure> {
    let mut state: u64 = 0x2545_f491_4f6c_dd1d;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state >> 11) as f64 / (1u64 << 53) as f64
    };
    let mut out = Vec::new();
    for (name, ty) in &model.inputs {
        let Type::Tensor(t) = ty else { continue };
        let shape = t
            .dims
            .iter()
            .map(|d| match d {
                Dim::Known(n) => Ok(*n as usize),
                other => match other.as_symbol() {
                    Some(s) => Ok(dims.iter().find(|(n, _)| n == s.as_str()).map_or(1, |(_, v)| *v)),
                    None => Err(Failure(format!("error: input '{name}' has dim {other}; give the input with --input"))),
                },
            })
            .collect::<Result<Vec<_>, _>>()?;
        let count = shape.iter().product();
        let values: Vec<f64> = (0..count)
            .map(|_| if t.dtype.is_float() { next() * 2.0 - 1.0 } else if t.dtype == DType::I1 { (next() * 2.0).floor() } else { (next() * 4.0).floor() })
            .collect();
        let tensor = Tensor::convert_f64(t.dtype, shape, &values).map_err(|e| Failure(format!("error: input '{name}': {e}")))?;
        out.push((name.clone(), tensor));
    }
    Ok(out)
}

/// Runs the ONNX model at `path` in tract on `inputs`.
fn tract_bench(path: &Path, inputs: &[(String, Tensor)], expected: &[Tensor], options: &BenchOptions) -> Result<TractReport, String> {
    let start = Instant::now();
    let plan = TractPlan::new(path, inputs)?;
    let prepare = start.elapsed();
    let outputs = plan.run()?;
    let mut max_abs_diff = 0f64;
    for (ours, theirs) in expected.iter().zip(&outputs) {
        for (a, b) in ours.to_f64s().iter().zip(theirs.to_f64s()) {
            max_abs_diff = max_abs_diff.max((a - b).abs());
        }
    }
    let mut times = Vec::with_capacity(options.runs);
    for i in 0..options.warmup + options.runs.max(1) {
        let start = Instant::now();
        plan.run()?;
        if i >= options.warmup {
            times.push(start.elapsed());
        }
    }
    Ok(TractReport { prepare, latency: Stats::of(times), max_abs_diff })
}
