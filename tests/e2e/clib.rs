//! Generated C libraries as an application uses them: `tessera compile`,
//! then a real C program (`examples/c/`, `tests/e2e/c/`) compiled with `cc`
//! against the `.so` and, separately, the `.a`, with only `-lm -lpthread
//! -ldl`, run, and its printed numbers checked; 4 threads with separate
//! contexts; two models in one program; every kind of bad argument; and,
//! where valgrind is installed, no leaks or invalid accesses.

use crate::binary::{root, s, scratch, stderr, stdout, tessera};
use std::path::{Path, PathBuf};
use std::process::Command;
use tessera_frontend::npy::read_npy;
use tessera_ir::tensor::{allclose, Tensor};

/// `tessera compile model -o dir --name name`, which must succeed.
fn compile(model: &Path, dir: &Path, name: &str) {
    let out = tessera(&["compile", s(model), "-o", s(dir), "--name", name]);
    assert!(out.status.success(), "tessera compile {}:\n{}", model.display(), stderr(&out));
}

/// How a C program links the generated library.
#[derive(Copy, Clone, Debug)]
pub(crate) enum Link {
    Shared,
    Static,
}

/// Compiles C `sources` into `exe` against libraries `names` in `dir`,
/// with the header folder and `examples/c` on the include path and
/// `defines` as `-D` flags.
pub(crate) fn cc(sources: &[PathBuf], dir: &Path, names: &[&str], link: Link, defines: &[String], exe: &Path) {
    let mut cmd = Command::new("cc");
    cmd.args(["-std=c99", "-pedantic", "-Wall", "-Wextra", "-Werror", "-O1"]);
    cmd.arg("-I").arg(dir).arg("-I").arg(root().join("examples/c"));
    for d in defines {
        cmd.arg(format!("-D{d}"));
    }
    cmd.args(sources).arg("-o").arg(exe);
    for name in names {
        match link {
            Link::Shared => cmd.arg(format!("-L{}", dir.display())).arg(format!("-l{name}")).arg(format!("-Wl,-rpath,{}", dir.display())),
            Link::Static => cmd.arg(dir.join(format!("lib{name}.a"))),
        };
    }
    cmd.args(["-lm", "-lpthread", "-ldl"]);
    let out = cmd.output().expect("cc (a C compiler) must be installed");
    assert!(out.status.success(), "cc failed ({link:?}):\n{}", String::from_utf8_lossy(&out.stderr));
}

/// Runs `exe` with `args`; returns its standard output, asserting success.
fn run(exe: &Path, args: &[&Path]) -> String {
    let out = Command::new(exe).args(args).output().unwrap();
    assert!(out.status.success(), "{} failed:\n{}{}", exe.display(), stdout(&out), stderr(&out));
    stdout(&out)
}

/// The outputs `run_model.c` printed: name, shape, values.
fn parse_outputs(text: &str) -> Vec<(String, Vec<usize>, Vec<f64>)> {
    let mut outputs: Vec<(String, Vec<usize>, Vec<f64>)> = Vec::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("output ") {
            let (name, shape) = rest.rsplit_once(" [").unwrap();
            let dims = shape.trim_end_matches(']').split(", ").filter(|d| !d.is_empty()).map(|d| d.parse().unwrap()).collect();
            outputs.push((name.to_string(), dims, Vec::new()));
        } else {
            outputs.last_mut().expect("a value before any output").2.push(line.parse().unwrap());
        }
    }
    outputs
}

/// One model with its inputs (in order) and expected outputs by name.
struct Case {
    model: PathBuf,
    inputs: Vec<PathBuf>,
    expected: Vec<(String, PathBuf)>,
    rtol: f64,
    atol: f64,
}

/// The bundled CNN, always present.
fn bundled() -> Case {
    let models = root().join("models");
    Case {
        model: models.join("tiny_cnn.onnx"),
        inputs: vec![models.join("tiny_cnn_input.npy")],
        expected: vec![("probabilities".into(), models.join("tiny_cnn_expected.npy"))],
        rtol: 1e-4,
        atol: 1e-5,
    }
}

/// The corpus models (empty when `../shared/corpus` is absent).
fn corpus() -> Vec<Case> {
    let dir = root().join("../shared/corpus");
    let Ok(entries) = std::fs::read_dir(&dir) else { return Vec::new() };
    let mut cases: Vec<Case> = entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.join("meta.json").exists())
        .map(|p| {
            let meta: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(p.join("meta.json")).unwrap()).unwrap();
            let files = |key: &str| -> Vec<(String, PathBuf)> {
                meta[key]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|t| (t["name"].as_str().unwrap().to_string(), p.join(t["file"].as_str().unwrap())))
                    .collect()
            };
            Case {
                model: p.join("model.onnx"),
                inputs: files("inputs").into_iter().map(|(_, f)| f).collect(),
                expected: files("outputs"),
                rtol: meta["tolerance"]["rtol"].as_f64().unwrap(),
                atol: meta["tolerance"]["atol"].as_f64().unwrap(),
            }
        })
        .collect();
    cases.sort_by(|a, b| a.model.cmp(&b.model));
    cases
}

/// Compiles `case`, links `run_model.c` both ways, runs it and compares
/// what it prints with the expected outputs; `Err` says what differs.
fn check_case(case: &Case, dir: &Path) -> Result<(), String> {
    compile(&case.model, dir, "model");
    let defines = ["MODEL=model".to_string(), "MODEL_HEADER=\"model.h\"".to_string()];
    for link in [Link::Shared, Link::Static] {
        let exe = dir.join(format!("run_model_{link:?}"));
        cc(&[root().join("examples/c/run_model.c")], dir, &["model"], link, &defines, &exe);
        let inputs: Vec<&Path> = case.inputs.iter().map(PathBuf::as_path).collect();
        let printed = parse_outputs(&run(&exe, &inputs));
        for (name, file) in &case.expected {
            let expected = Tensor::from(&read_npy(file).map_err(|d| d.to_string())?);
            let (_, shape, values) = printed.iter().find(|(n, _, _)| n == name).ok_or_else(|| format!("{link:?}: no output '{name}'"))?;
            let actual = Tensor::from_f64(expected.dtype(), shape.clone(), values.clone()).map_err(|e| e.to_string())?;
            allclose(&actual, &expected, case.rtol, case.atol).map_err(|e| format!("{link:?} output '{name}': {e}"))?;
        }
    }
    Ok(())
}

#[test]
fn models_run_from_c_through_the_shared_and_the_static_library() {
    let mut cases = vec![bundled()];
    cases.extend(corpus());
    let mut failures = Vec::new();
    for (i, case) in cases.iter().enumerate() {
        let what = case.model.parent().unwrap().file_name().unwrap().to_string_lossy().into_owned();
        match check_case(case, &scratch("clib", &format!("model{i}"))) {
            Ok(()) => println!("PASS {what}"),
            Err(e) => failures.push(format!("{what}: {e}")),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn four_threads_with_their_own_contexts_agree() {
    let case = bundled();
    let dir = scratch("clib", "threads");
    compile(&case.model, &dir, "cnn");
    let exe = dir.join("threads");
    let defines = ["MODEL=cnn".to_string(), "MODEL_HEADER=\"cnn.h\"".to_string()];
    cc(&[root().join("examples/c/threads.c")], &dir, &["cnn"], Link::Static, &defines, &exe);
    assert_eq!(run(&exe, &[&case.inputs[0]]), "threads 4 runs 100 identical\n");
}

#[test]
fn bad_arguments_are_reported_never_aborting() {
    let dir = scratch("clib", "bad-args");
    compile(&root().join("tests/e2e/c/checked.tir"), &dir, "checked");
    let exe = dir.join("bad_args");
    cc(&[root().join("tests/e2e/c/bad_args.c")], &dir, &["checked"], Link::Static, &[], &exe);
    let expected = "\
null context: 1 \n\
null inputs: 1 inputs is null\n\
null symbols: 1 symbol_values is null\n\
negative symbol: 2 symbol 'N' must be >= 0, got -1\n\
null data: 1 input 'x': data pointer is null\n\
output overlaps input: 2 output 'output_0' overlaps input 'x'; outputs need memory of their own\n\
division by zero: 12 integer division by zero\n\
wrong dim: 5 input 'x': dim 1 must be 4, got 5\n\
wrong dtype: 3 input 'x': dtype must be f32, got f64\n\
wrong rank: 4 input 'a': rank must be 1, got 2\n\
output shape: 5 output 'output_0': dim 0 (N) must be 2, got 3\n\
tensors ok: 0 \n\
ok: 0 \n\
y 1 4 9 16 5 12 21 32\n\
q 3 -3 3\n\
input 0 x rank 2 dims -1 (N) 4; symbol N; out-of-range -2 NULL\n";
    assert_eq!(run(&exe, &[]), expected);
}

#[test]
fn two_models_link_into_one_program() {
    let dir = scratch("clib", "two-models");
    let model = root().join("tests/e2e/c/checked.tir");
    compile(&model, &dir, "first");
    compile(&model, &dir, "second");
    let exe = dir.join("two_models");
    cc(&[root().join("tests/e2e/c/two_models.c")], &dir, &["first", "second"], Link::Static, &[], &exe);
    assert_eq!(run(&exe, &[]), "0 0 16 16 3 3\n");
    let exe = dir.join("two_models_shared");
    cc(&[root().join("tests/e2e/c/two_models.c")], &dir, &["first", "second"], Link::Shared, &[], &exe);
    assert_eq!(run(&exe, &[]), "0 0 16 16 3 3\n");
}

#[test]
fn valgrind_finds_no_leak_or_invalid_access() {
    if Command::new("valgrind").arg("--version").output().is_err() {
        println!("skipped: valgrind is not installed");
        return;
    }
    let case = bundled();
    let dir = scratch("clib", "valgrind");
    compile(&case.model, &dir, "cnn");
    let defines = ["MODEL=cnn".to_string(), "MODEL_HEADER=\"cnn.h\"".to_string()];
    for link in [Link::Static, Link::Shared] {
        let exe = dir.join(format!("run_model_{link:?}"));
        cc(&[root().join("examples/c/run_model.c")], &dir, &["cnn"], link, &defines, &exe);
        let out = Command::new("valgrind")
            .args(["--leak-check=full", "--errors-for-leak-kinds=definite,indirect,possible", "--error-exitcode=9", "--quiet"])
            .arg(format!("--suppressions={}", root().join("tests/e2e/c/valgrind.supp").display()))
            .arg(&exe)
            .arg(&case.inputs[0])
            .output()
            .unwrap();
        assert!(out.status.success(), "valgrind ({link:?}):\n{}", stderr(&out));
    }
}

#[test]
fn compile_writes_what_emit_asks_for_and_reports_bad_input() {
    let dir = scratch("clib", "emit");
    let model = root().join("tests/e2e/c/checked.tir");
    let out = tessera(&["compile", s(&model), "-o", s(&dir), "--emit", "llvm", "--emit", "asm", "--emit", "obj", "--emit", "ir"]);
    assert!(out.status.success(), "{}", stderr(&out));
    for file in ["libchecked.so", "libchecked.a", "checked.h", "checked.ll", "checked.s", "checked.o", "checked.kernel.tir"] {
        assert!(dir.join(file).is_file(), "{file} not written");
    }
    let ll = std::fs::read_to_string(dir.join("checked.ll")).unwrap();
    assert!(ll.contains("define i32 @checked_run("), "{ll}");
    let header = std::fs::read_to_string(dir.join("checked.h")).unwrap();
    assert!(header.contains("0 \"x\": f32 [N, 4] (dtype 1)"), "{header}");
    assert!(header.contains("int32_t checked_run(checked_context *ctx, const void *const *inputs"), "{header}");

    for (args, needle) in [
        (vec!["compile", "missing.onnx", "-o", s(&dir)], "missing.onnx"),
        (vec!["compile", s(&model), "-o", s(&dir), "--name", "1bad-name"], "not a C identifier"),
        (vec!["compile", s(&model), "-o", s(&dir), "--emit", "pdf"], "invalid value 'pdf'"),
        (vec!["compile", s(&model), "-o", s(&dir), "--target-cpu", "foo"], "unknown target CPU 'foo'"),
        (vec!["compile", s(&model), "-o", s(&dir), "--name", "tessera_rt"], "is reserved"),
    ] {
        let out = tessera(&args);
        assert!(!out.status.success(), "{args:?} should fail");
        let err = stderr(&out);
        assert!(err.contains(needle) && !err.contains("panicked"), "{args:?}: {err}");
    }
}
