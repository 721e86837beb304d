//! The samples `tessera train` learns from: the rows of the `--input` and
//! `--target` arrays, checked against the model, and the rows of each
//! step's batch. Without shuffling, step `s` takes rows
//! `(batch * s + i) % rows`; with `--shuffle`, the same positions index a
//! fresh seeded permutation of the rows for every pass over the data.

use crate::Failure;
use tessera_runtime::AlignedBuf;
use tessera_ir::tensor::Tensor;
use tessera_ir::DenseAttr;
use tessera_ir::{DType, Dim, Type};

/// The training data.
pub struct Dataset {
    /// The number of rows every array shares.
    pub rows: usize,
    shuffle: Option<u64>,
    /// Each array (the inputs, then the target) as bytes, with the size
    /// of one of its rows.
    dense: Vec<(DenseAttr, usize)>,
}

impl Dataset {
    /// Checks that every array has the same number of rows and that each
    /// input's rows fit the model's input types (`names` and `types`, batch dim first).
    pub fn new(inputs: Vec<Tensor>, target: Tensor, names: &[String], types: &[Type], shuffle: Option<u64>) -> Result<Dataset, Failure> {
        let rows = target.shape().first().copied().ok_or_else(|| Failure("error: the target must have a row axis (rank 1 or more)".into()))?;
        for ((x, name), ty) in inputs.iter().zip(names).zip(types) {
            let n = x.shape().first().copied().unwrap_or(0);
            if n != rows {
                return Err(Failure(format!(
                    "error: input '{name}' has {n} rows but the target has {rows}; each row is one sample"
                )));
            }
            let t = ty.as_tensor().ok_or_else(|| Failure(format!("error: input '{name}' is not a tensor")))?;
            let fits = x.dtype() == t.dtype
                && x.rank() == t.rank()
                && t.dims.iter().zip(x.shape()).skip(1).all(|(d, &s)| !matches!(d, Dim::Known(k) if *k as usize != s));
            if !fits {
                return Err(Failure(format!(
                    "error: input '{name}' has rows of {:?} {}, but the model takes {t} (rows first)",
                    &x.shape()[1..],
                    x.dtype()
                )));
            }
        }
        if rows == 0 {
            return Err(Failure("error: the data has no rows".into()));
        }
        let dense = inputs
            .iter()
            .chain([&target])
            .map(|t| {
                let d = t.to_dense();
                let width = d.bytes().len() / rows;
                (d, width)
            })
            .collect();
        Ok(Dataset { rows, shuffle, dense })
    }

    /// The rows of step `step`'s batch of `batch` samples.
    pub fn batch_rows(&self, step: usize, batch: usize) -> Vec<usize> {
        let mut perms: Vec<(usize, Vec<usize>)> = Vec::new();
        let mut rows = Vec::with_capacity(batch);
        for i in 0..batch {
            let p = batch * step + i;
            let Some(seed) = self.shuffle else {
                rows.push(p % self.rows);
                continue;
            };
            let epoch = p / self.rows;
            if !perms.iter().any(|(e, _)| *e == epoch) {
                perms.push((epoch, permutation(self.rows, seed, epoch as u64)));
            }
            let perm = perms.iter().find(|(e, _)| *e == epoch).map(|(_, q)| q);
            rows.push(perm.map_or(p % self.rows, |q| q[p % self.rows]));
        }
        rows
    }

    /// The shapes of every array's batch of `batch` rows (the inputs, then the target).
    pub fn batch_shapes(&self, batch: usize) -> Vec<Vec<usize>> {
        self.dense
            .iter()
            .map(|(d, _)| {
                let mut shape: Vec<usize> = d.ty().dims.iter().map(|d| d.known().unwrap_or(0) as usize).collect();
                shape[0] = batch;
                shape
            })
            .collect()
    }

    /// Writes the rows `rows` of every array (the inputs, then the
    /// target) into `out`, one byte buffer per array, each sized for
    /// `rows.len()` rows.
    pub fn fill(&self, rows: &[usize], out: &mut [AlignedBuf]) -> Result<(), Failure> {
        for ((dense, width), buffer) in self.dense.iter().zip(out) {
            let (bytes, dst) = (dense.bytes(), buffer.as_mut_slice());
            if dst.len() != rows.len() * width {
                return Err(Failure(format!("error: a batch buffer holds {} bytes, {} rows need {}", dst.len(), rows.len(), rows.len() * width)));
            }
            for (chunk, &r) in dst.chunks_exact_mut((*width).max(1)).zip(rows) {
                chunk.copy_from_slice(&bytes[r * width..(r + 1) * width]);
            }
        }
        Ok(())
    }
}

/// Class labels as i64, each checked to lie in `0..classes`.
pub fn class_labels(target: &Tensor, classes: u64) -> Result<Tensor, Failure> {
    if !matches!(target.dtype(), DType::I8 | DType::I16 | DType::I32 | DType::I64 | DType::U8 | DType::U16 | DType::U32 | DType::U64) {
        return Err(Failure(format!(
            "error: the cross-entropy loss takes integer class labels, got a {} target (use --loss cross-entropy-probs for probabilities)",
            target.dtype()
        )));
    }
    if target.rank() != 1 {
        return Err(Failure(format!("error: class labels must be a 1-D array (one per row), got shape {:?}", target.shape())));
    }
    let labels = target.cast(DType::I64);
    if let Some((row, &label)) = labels.to_i64s().iter().enumerate().find(|(_, &l)| l < 0 || l as u64 >= classes) {
        return Err(Failure(format!("error: label {label} at row {row} is out of range for {classes} classes (0..{})", classes - 1)));
    }
    Ok(labels)
}

/// A seeded permutation of `0..n` for pass `epoch` (Fisher-Yates over a
/// splitmix64 stream).
fn permutation(n: usize, seed: u64, epoch: u64) -> Vec<usize> {
    let mut state = seed ^ epoch.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    let mut next = || {
        state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    };
    let mut p: Vec<usize> = (0..n).collect();
    for i in (1..n).rev() {
        let j = (next() % (i as u64 + 1)) as usize;
        p.swap(i, j);
    }
    p
}
