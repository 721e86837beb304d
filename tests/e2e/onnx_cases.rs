//! What the ONNX suites share: where the node-test data is, reading a
//! case's tensors, importing a case with its shape inputs specialised,
//! comparing outputs with the per-dtype tolerance, running cases on every
//! core with panics caught, and keeping a pass/fail manifest.

use std::collections::BTreeMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use tessera_frontend::onnx::import::{graph_inputs, import_model_specialized, Imported};
use tessera_frontend::onnx::proto::ModelProto;
use tessera_frontend::onnx::{load_model, load_tensor, tensor_to_dense};
use tessera_ir::tensor::{allclose, Tensor};
use tessera_ir::DType;

/// The generated node-test data (`target/onnx-tests`, or
/// `TESSERA_ONNX_TESTS`), when `.ci/setup` has written it.
pub fn data_root() -> Option<PathBuf> {
    let root = std::env::var_os("TESSERA_ONNX_TESTS")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target/onnx-tests"));
    root.join("DONE").exists().then_some(root)
}

/// Node-test tolerance by dtype: floats relative and absolute; integers and bools exact.
pub fn tolerance(dtype: DType) -> (f64, f64) {
    match dtype {
        DType::F16 | DType::BF16 => (1e-2, 1e-3),
        DType::F32 | DType::F64 => (1e-3, 1e-6),
        _ => (0.0, 0.0),
    }
}

/// The tensors `{prefix}_0.pb`, `{prefix}_1.pb`, ... of a test data set.
pub fn read_tensors(dir: &Path, prefix: &str) -> Result<Vec<Tensor>, String> {
    let mut out = Vec::new();
    loop {
        let i = out.len();
        let path = dir.join(format!("{prefix}_{i}.pb"));
        if !path.exists() {
            return Ok(out);
        }
        let proto = load_tensor(&path).map_err(|d| format!("{prefix} #{i}: {}", d.message))?;
        let dense = tensor_to_dense(&proto).map_err(|d| format!("{prefix} #{i}: {}", d.message))?;
        out.push(Tensor::from(&dense));
    }
}

/// One node test, imported with its shape-determining inputs specialised
/// to the case's values (as `tessera run` does).
pub struct Case {
    /// The model as read.
    pub model: ModelProto,
    /// The imported module.
    pub imported: Imported,
    /// Every graph input with its value, in graph order.
    pub named: Vec<(String, Tensor)>,
    /// The values of `@main`'s arguments (the inputs not specialised).
    pub args: Vec<Tensor>,
    /// The expected outputs.
    pub expected: Vec<Tensor>,
}

/// Reads and imports the case in `dir`; an import error names the node's op.
pub fn import_case(dir: &Path) -> Result<Case, String> {
    let model = load_model(&dir.join("model.onnx")).map_err(|d| d.message)?;
    let data = dir.join("test_data_set_0");
    let inputs = read_tensors(&data, "input")?;
    let expected = read_tensors(&data, "output")?;
    let names: Vec<String> = graph_inputs(&model).map_err(|d| d.message)?.into_iter().map(|(n, _)| n).collect();
    let value_of = |name: &str| names.iter().position(|n| n == name).and_then(|i| inputs.get(i)).map(Tensor::to_dense);
    let imported = import_model_specialized(&model, &value_of).map_err(|d| {
        let first = &d.0[0];
        let node = match &first.loc {
            tessera_ir::Loc::Node { op_type, .. } => format!("{op_type}: "),
            _ => String::new(),
        };
        format!("import: {node}{}", first.message)
    })?;
    let named: Vec<(String, Tensor)> = names.into_iter().zip(inputs).collect();
    let args = imported
        .inputs
        .iter()
        .filter_map(|n| named.iter().find(|(m, _)| m == n).map(|(_, t)| t.clone()))
        .collect();
    Ok(Case { model, imported, named, args, expected })
}

/// Compares outputs with expected values, output by output.
pub fn compare(outputs: &[Tensor], expected: &[Tensor], tol: impl Fn(DType) -> (f64, f64)) -> Result<(), String> {
    if outputs.len() != expected.len() {
        return Err(format!("{} output(s), expected {}", outputs.len(), expected.len()));
    }
    for (i, (actual, want)) in outputs.iter().zip(expected).enumerate() {
        let (rtol, atol) = tol(want.dtype());
        allclose(actual, want, rtol, atol).map_err(|e| format!("output #{i}: {e}"))?;
    }
    Ok(())
}

/// Runs `check` on every named folder on every core; a panic becomes an
/// error, and errors are flattened to one line. Results come by name.
pub fn run_parallel<R: Send>(
    cases: Vec<(String, PathBuf)>,
    check: impl Fn(&Path) -> Result<R, String> + Sync,
) -> BTreeMap<String, Result<R, String>> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let queue = Mutex::new(cases);
    let results = Mutex::new(BTreeMap::new());
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| loop {
                let Some((name, dir)) = queue.lock().unwrap().pop() else { break };
                let result = catch_unwind(AssertUnwindSafe(|| check(&dir))).unwrap_or_else(|panic| {
                    let msg = panic
                        .downcast_ref::<String>()
                        .cloned()
                        .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()));
                    Err(format!("PANIC: {}", msg.unwrap_or_default()))
                });
                results.lock().unwrap().insert(name, result.map_err(|e| e.replace('\n', " ")));
            });
        }
    });
    results.into_inner().unwrap()
}

/// A list of cases known to pass or fail: lines `pass NAME` or `fail NAME reason`.
pub struct Manifest {
    /// The manifest file.
    pub path: PathBuf,
    /// Its first lines (comments saying what it lists and how to regenerate it).
    pub header: &'static str,
}

impl Manifest {
    /// The cases listed as passing (`true`) or failing (`false`).
    pub fn read(&self) -> BTreeMap<String, bool> {
        let text = std::fs::read_to_string(&self.path).unwrap_or_default();
        text.lines()
            .filter_map(|l| {
                let mut parts = l.splitn(3, ' ');
                match (parts.next(), parts.next()) {
                    (Some("pass"), Some(name)) => Some((name.to_string(), true)),
                    (Some("fail"), Some(name)) => Some((name.to_string(), false)),
                    _ => None,
                }
            })
            .collect()
    }

    /// With `TESSERA_UPDATE_MANIFEST` set, rewrites the manifest from
    /// `results`; otherwise reports newly passing cases and fails on any
    /// listed pass that now fails.
    pub fn settle(&self, results: &BTreeMap<String, Result<(), String>>) {
        if std::env::var_os("TESSERA_UPDATE_MANIFEST").is_some() {
            let mut text = self.header.to_string();
            for (name, result) in results {
                match result {
                    Ok(()) => text.push_str(&format!("pass {name}\n")),
                    Err(reason) => text.push_str(&format!("fail {name} {}\n", reason.chars().take(160).collect::<String>())),
                }
            }
            std::fs::write(&self.path, text).expect("write the manifest");
            return;
        }
        let manifest = self.read();
        let regressions: Vec<&String> =
            results.iter().filter(|(n, r)| r.is_err() && manifest.get(*n) == Some(&true)).map(|(n, _)| n).collect();
        let newly: Vec<&String> =
            results.iter().filter(|(n, r)| r.is_ok() && manifest.get(*n) != Some(&true)).map(|(n, _)| n).collect();
        if !newly.is_empty() {
            let shown: Vec<&String> = newly.iter().take(20).copied().collect();
            println!("{} newly passing (add them with TESSERA_UPDATE_MANIFEST=1): {shown:?}", newly.len());
        }
        assert!(regressions.is_empty(), "cases in {}'s pass list now fail: {regressions:#?}", self.path.display());
    }
}

/// The cases a manifest lists as passing, as (name, folder under `root`) pairs.
pub fn passing_cases(manifest: &Manifest, root: &Path) -> Vec<(String, PathBuf)> {
    manifest
        .read()
        .into_iter()
        .filter(|(_, pass)| *pass)
        .map(|(name, _)| (name.clone(), root.join(name)))
        .filter(|(_, dir)| dir.join("model.onnx").exists())
        .collect()
}
