//! The ONNX node tests that pass on the reference evaluator, run as
//! generated code twice: JIT-compiled in process (what `tessera run`
//! does), and compiled into one C shared library — every case a model of
//! its own, `test_x_run_tensors` and so on — that is loaded with `dlopen`
//! and called through the C API, as an application would.
//!
//! `tests/onnx/codegen_manifest.txt` lists each case as `pass` or `fail`
//! with a reason; a listed pass that fails fails the test, and so does any
//! failure other than an op that is not lowered yet (a case that passes on
//! the evaluator but computes something else as generated code is a bug).
//! `TESSERA_UPDATE_MANIFEST=1` rewrites the manifest.

use crate::onnx_cases::{compare, data_root, import_case, passing_cases, run_parallel, tolerance, Manifest};
use crate::onnx_conformance::node_manifest;
use std::collections::BTreeMap;
use std::ffi::{c_char, c_void, CStr, CString};
use std::path::{Path, PathBuf};
use tessera::compile::{lower, Compiled};
use tessera_codegen::library::{dtype_code, link_shared, runtime_library};
use tessera_codegen::library::EntryOptions;
use tessera_codegen::{Library, LibraryOptions};
use tessera_ir::tensor::Tensor;
use tessera_runtime::ffi::RawTensorArg;

/// The codegen manifest.
fn codegen_manifest() -> Manifest {
    Manifest {
        path: Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/onnx/codegen_manifest.txt"),
        header: concat!(
            "# ONNX node tests that pass on the reference evaluator, as generated code (JIT and a C library).\n",
            "# Regenerate: TESSERA_UPDATE_MANIFEST=1 cargo test --test e2e onnx_node_tests_as_generated_code\n",
        ),
    }
}

/// A case that ran through the JIT, with its C-library object written.
struct Compiled1 {
    object: PathBuf,
    args: Vec<Tensor>,
    expected: Vec<Tensor>,
}

/// Why a case did not compile: an op not lowered yet (tolerated until it
/// is) or anything else (a bug).
fn not_lowered(reason: &str) -> bool {
    reason.contains("is not lowered")
}

/// Imports, lowers, JIT-compiles, runs and compares one case, then
/// compiles it as a library object into `objects`.
fn jit_case(dir: &Path, objects: &Path) -> Result<Compiled1, String> {
    let case = import_case(dir)?;
    let name = c_name(dir);
    let compiled = Compiled::new(case.imported.module.clone()).map_err(|f| f.0)?;
    let (outputs, _) = compiled.run("main", &case.args).map_err(|f| format!("JIT: {}", f.0))?;
    compare(&outputs, &case.expected, tolerance).map_err(|e| format!("JIT: {e}"))?;
    let options = LibraryOptions {
        name: name.clone(),
        entries: vec![EntryOptions {
            prefix: String::new(),
            function: "main".into(),
            inputs: case.imported.inputs.clone(),
            outputs: case.imported.outputs.clone(),
        }],
        training: None,
        target_cpu: "native".into(),
        source: format!("{name}/model.onnx"),
        assembly: false,
    };
    let kernels = lower(case.imported.module).map_err(|f| f.0)?;
    let library = Library::compile(&kernels, &options).map_err(|d| format!("library: {d}"))?;
    let object = objects.join(format!("{name}.o"));
    std::fs::write(&object, library.object()).map_err(|e| e.to_string())?;
    Ok(Compiled1 { object, args: case.args, expected: case.expected })
}

/// The case's library name: its folder name as a C identifier.
fn c_name(dir: &Path) -> String {
    let name = dir.file_name().unwrap_or_default().to_string_lossy();
    name.chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '_' }).collect()
}

extern "C" {
    fn dlopen(file: *const c_char, mode: i32) -> *mut c_void;
    fn dlsym(handle: *mut c_void, name: *const c_char) -> *mut c_void;
    fn dlerror() -> *const c_char;
}

/// `RTLD_NOW | RTLD_LOCAL`.
const RTLD_NOW: i32 = 2;

/// A loaded shared library.
struct Loaded(*mut c_void);

impl Loaded {
    fn open(path: &Path) -> Loaded {
        let c = CString::new(path.to_str().unwrap()).unwrap();
        // SAFETY: a NUL-terminated path; the library's initialisers are the runtime's.
        let handle = unsafe { dlopen(c.as_ptr(), RTLD_NOW) };
        assert!(!handle.is_null(), "dlopen: {}", unsafe { CStr::from_ptr(dlerror()) }.to_string_lossy());
        Loaded(handle)
    }

    /// The address of `symbol`, which must exist.
    fn symbol(&self, symbol: &str) -> *mut c_void {
        let c = CString::new(symbol).unwrap();
        // SAFETY: a live handle and a NUL-terminated name.
        let p = unsafe { dlsym(self.0, c.as_ptr()) };
        assert!(!p.is_null(), "no symbol {symbol}");
        p
    }
}

type ContextNew = unsafe extern "C" fn() -> *mut c_void;
type ContextFree = unsafe extern "C" fn(*mut c_void);
type LastError = unsafe extern "C" fn(*mut c_void) -> *const c_char;
type RunTensors = unsafe extern "C" fn(*mut c_void, *const RawTensorArg, *const RawTensorArg) -> i32;

/// Runs case `name` of the loaded library on `c.args` through
/// `NAME_run_tensors` and compares the outputs.
fn library_case(lib: &Loaded, name: &str, c: &Compiled1) -> Result<(), String> {
    // SAFETY: the symbols are the generated API, with these C signatures (NAME.h).
    let (new, free, last_error, run) = unsafe {
        (
            std::mem::transmute::<*mut c_void, ContextNew>(lib.symbol(&format!("{name}_context_new"))),
            std::mem::transmute::<*mut c_void, ContextFree>(lib.symbol(&format!("{name}_context_free"))),
            std::mem::transmute::<*mut c_void, LastError>(lib.symbol(&format!("{name}_last_error"))),
            std::mem::transmute::<*mut c_void, RunTensors>(lib.symbol(&format!("{name}_run_tensors"))),
        )
    };
    let inputs: Vec<(Vec<u8>, Vec<i64>)> = c.args.iter().map(|t| (t.to_dense().bytes().to_vec(), dims(t))).collect();
    let mut outputs: Vec<(Vec<u8>, Vec<i64>)> =
        c.expected.iter().map(|t| (vec![0u8; t.to_dense().bytes().len()], dims(t))).collect();
    let raw = |(bytes, d): &(Vec<u8>, Vec<i64>), t: &Tensor| RawTensorArg {
        data: if bytes.is_empty() { std::ptr::null() } else { bytes.as_ptr().cast() },
        dtype: dtype_code(t.dtype()),
        rank: d.len(),
        dims: d.as_ptr(),
    };
    let raw_in: Vec<RawTensorArg> = inputs.iter().zip(&c.args).map(|(b, t)| raw(b, t)).collect();
    let raw_out: Vec<RawTensorArg> = outputs.iter_mut().zip(&c.expected).map(|(b, t)| raw(b, t)).collect();
    // SAFETY: the C API's contract: arrays of the model's counts, each
    // tensor's memory of its dtype and dims; the outputs are distinct buffers.
    let (status, message) = unsafe {
        let ctx = new();
        let status = run(ctx, raw_in.as_ptr(), raw_out.as_ptr());
        let message = CStr::from_ptr(last_error(ctx)).to_string_lossy().into_owned();
        free(ctx);
        (status, message)
    };
    if status != 0 {
        return Err(format!("C library: status {status}: {message}"));
    }
    let actual = outputs
        .iter()
        .zip(&c.expected)
        .map(|((bytes, _), t)| {
            let ty = tessera_ir::TensorType::of(&t.shape().iter().map(|&n| n as u64).collect::<Vec<_>>(), t.dtype());
            tessera_ir::DenseAttr::from_bytes(ty, bytes.clone().into()).map(|d| Tensor::from(&d))
        })
        .collect::<Result<Vec<_>, _>>()?;
    compare(&actual, &c.expected, tolerance).map_err(|e| format!("C library: {e}"))
}

fn dims(t: &Tensor) -> Vec<i64> {
    t.shape().iter().map(|&n| n as i64).collect()
}

#[test]
fn onnx_node_tests_as_generated_code() {
    let Some(root) = data_root() else {
        println!("skipped: ONNX node-test data not found (run `bash .ci/setup`)");
        return;
    };
    let scratch = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("codegen-conformance");
    let _ = std::fs::remove_dir_all(&scratch);
    let objects = scratch.join("objects");
    std::fs::create_dir_all(&objects).unwrap();
    let compiled = run_parallel(passing_cases(&node_manifest(), &root), |dir| jit_case(dir, &objects));

    let built: Vec<PathBuf> = compiled.values().filter_map(|r| r.as_ref().ok()).map(|c| c.object.clone()).collect();
    let library = scratch.join("libnodetests.so");
    let runtime = runtime_library().unwrap();
    link_shared(&built, &runtime, "test_", &scratch, &library).unwrap();
    let lib = Loaded::open(&library);

    let mut results: BTreeMap<String, Result<(), String>> = BTreeMap::new();
    for (name, result) in compiled {
        let outcome = result.and_then(|c| library_case(&lib, &c_name(Path::new(&name)), &c));
        results.insert(name, outcome);
    }
    let passed = results.values().filter(|r| r.is_ok()).count();
    let unlowered = results.values().filter(|r| matches!(r, Err(e) if not_lowered(e))).count();
    let bugs: Vec<String> =
        results.iter().filter_map(|(n, r)| r.as_ref().err().filter(|e| !not_lowered(e)).map(|e| format!("{n}: {e}"))).collect();
    println!(
        "onnx node tests as generated code: {passed} passed (JIT and C library), {unlowered} not lowered yet, {} failed",
        bugs.len()
    );
    codegen_manifest().settle(&results);
    assert!(bugs.is_empty(), "node tests that pass on the evaluator but not as generated code:\n{}", bugs.join("\n"));
}
