//! The real models in `../shared/corpus/` (exported from PyTorch and
//! TensorFlow) match ONNX Runtime's recorded outputs within the tolerance
//! each model's `meta.json` states, on the reference evaluator and as
//! generated code (JIT). Skipped when the corpus is absent.

use std::path::{Path, PathBuf};
use tessera::compile::Engine;
use tessera::model::Model;
use tessera_frontend::npy::read_npy;
use tessera_ir::tensor::{allclose, Tensor};

fn corpus() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus");
    dir.join("MANIFEST.json").exists().then_some(dir)
}

fn read(path: &Path) -> Tensor {
    Tensor::from(&read_npy(path).unwrap_or_else(|d| panic!("{}: {d}", path.display())))
}

/// Runs one corpus model with `engine` and compares each output; `Err`
/// says what differs.
fn check_model(dir: &Path, engine: Engine) -> Result<(), String> {
    let meta: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("meta.json")).map_err(|e| e.to_string())?).map_err(|e| e.to_string())?;
    let model = Model::load(&dir.join("model.onnx")).map_err(|f| f.to_string())?;
    let inputs = meta["inputs"]
        .as_array()
        .ok_or("meta.json lists no inputs")?
        .iter()
        .map(|i| (i["name"].as_str().unwrap_or_default().to_string(), read(&dir.join(i["file"].as_str().unwrap_or_default()))))
        .collect();
    let outputs = model.run(inputs, engine).map_err(|f| f.to_string())?;
    let rtol = meta["tolerance"]["rtol"].as_f64().ok_or("no rtol")?;
    let atol = meta["tolerance"]["atol"].as_f64().ok_or("no atol")?;
    for spec in meta["outputs"].as_array().ok_or("meta.json lists no outputs")? {
        let name = spec["name"].as_str().unwrap_or_default();
        let expected = read(&dir.join(spec["file"].as_str().unwrap_or_default()));
        let (_, actual) = outputs.iter().find(|(n, _)| n == name).ok_or_else(|| format!("no output named '{name}'"))?;
        allclose(actual, &expected, rtol, atol).map_err(|e| format!("output '{name}': {e}"))?;
    }
    Ok(())
}

#[test]
fn every_corpus_model_matches_onnx_runtime() {
    let Some(root) = corpus() else {
        println!("skipped: ../shared/corpus not found");
        return;
    };
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(&root).unwrap().flatten().map(|e| e.path()).filter(|p| p.join("meta.json").exists()).collect();
    dirs.sort();
    assert!(dirs.len() >= 7, "expected the corpus models under {}", root.display());
    let mut failures = Vec::new();
    for dir in &dirs {
        for engine in [Engine::Reference, Engine::Jit] {
            let name = format!("{} ({engine:?})", dir.file_name().unwrap().to_string_lossy());
            match check_model(dir, engine) {
                Ok(()) => println!("PASS {name}"),
                Err(e) => {
                    println!("FAIL {name}: {e}");
                    failures.push(format!("{name}: {e}"));
                }
            }
        }
    }
    assert!(failures.is_empty(), "corpus models that do not match:\n{}", failures.join("\n"));
}
