//! Memory planning on the corpus models: the peak bytes of temporaries
//! each model's generated code allocates per call, before `plan-memory`
//! (every `k.alloc` alive at once) and after (one arena), beside the
//! least any plan could reach (the most bytes alive at any one top-level
//! op). Printed with `--nocapture`; the test asserts the arena is never
//! larger than the temporaries it replaces (but for the padding that
//! aligns each to 64 bytes). That the planned models still match ONNX
//! Runtime is `corpus.rs`'s test (the JIT lowers with `plan-memory`).

use std::path::{Path, PathBuf};
use tessera::compile::LOWERING;
use tessera::model::Model;
use tessera_frontend::npy::read_npy;
use tessera_ir::bindings::Bindings;
use tessera_ir::dialect::kernel::{self, KernelOp};
use tessera_ir::tensor::Tensor;
use tessera_ir::{Func, Type, ValueId};
use tessera_passes::{PassManager, Pipeline};

/// Each top-level `k.alloc`'s bytes and the top-level ops it is live over.
fn temporaries(func: &Func, bindings: &Bindings) -> Vec<(usize, usize, usize)> {
    let ops = &func.block(func.entry()).ops;
    let used_at = |v: ValueId| -> Vec<usize> {
        ops.iter()
            .enumerate()
            .filter(|&(_, &op)| {
                let mut inner = vec![op];
                for &r in &func.op(op).regions {
                    func.walk_region(r, &mut inner);
                }
                inner.iter().any(|&o| func.op(o).operands.contains(&v))
            })
            .map(|(i, _)| i)
            .collect()
    };
    ops.iter()
        .filter(|&&op| kernel::kind(func.op(op).def) == Some(KernelOp::Alloc))
        .filter_map(|&op| {
            let v = func.op(op).results[0];
            let Type::Buffer(t) = func.ty(v) else { return None };
            let bytes = t.dims.iter().map(|d| bindings.size(d).unwrap()).product::<usize>() * t.dtype.size_bytes();
            let at = used_at(v);
            Some((bytes, *at.first()?, *at.last()?))
        })
        .collect()
}

/// Total bytes, and the most bytes alive at any one op.
fn totals(temps: &[(usize, usize, usize)]) -> (usize, usize) {
    let total = temps.iter().map(|t| t.0).sum();
    let end = temps.iter().map(|t| t.2).max().unwrap_or(0);
    let peak = (0..=end).map(|i| temps.iter().filter(|t| t.1 <= i && i <= t.2).map(|t| t.0).sum()).max().unwrap_or(0);
    (total, peak)
}

#[test]
fn arenas_on_the_corpus_models() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus");
    let Ok(entries) = std::fs::read_dir(&root) else {
        println!("skipped: ../shared/corpus not found");
        return;
    };
    let mut dirs: Vec<PathBuf> = entries.flatten().map(|e| e.path()).filter(|p| p.join("model.onnx").exists()).collect();
    dirs.sort();
    let unplanned = LOWERING.trim_end_matches(",plan-memory");
    println!("{:<22} {:>14} {:>14} {:>14}", "model", "before (B)", "live peak (B)", "arena (B)");
    for dir in dirs {
        let model = Model::load(&dir.join("model.onnx")).unwrap();
        let inputs: Vec<(String, Tensor)> = model
            .inputs
            .iter()
            .map(|(n, _)| (n.clone(), Tensor::from(&read_npy(&dir.join(format!("input_{n}.npy"))).unwrap())))
            .collect();
        let bound = model.bind(inputs).unwrap();
        let lower = |pipeline: &str| {
            let m = PassManager::new(Pipeline::parse(pipeline).unwrap()).run(bound.module.module().clone()).unwrap();
            m.module().func(&bound.entry).unwrap().clone()
        };
        let (before, planned) = (lower(unplanned), lower(LOWERING));
        let types: Vec<_> = before.arg_types().into_iter().filter_map(|t| match t { Type::Buffer(b) => Some(b), _ => None }).collect();
        let bindings = Bindings::from_inputs(&types[..bound.args.len()], &bound.args, |i| i.to_string()).unwrap();
        let temps = temporaries(&before, &bindings);
        let (total, peak) = totals(&temps);
        let (arena, _) = totals(&temporaries(&planned, &bindings));
        println!("{:<22} {total:>14} {peak:>14} {arena:>14}", dir.file_name().unwrap().to_string_lossy());
        let padding = 64 * temps.len();
        assert!(arena <= total + padding, "{}: an arena of {arena} bytes for {total}", dir.display());
    }
}
