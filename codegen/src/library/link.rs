//! Packaging a model's object file with the runtime into `libNAME.so` and
//! `libNAME.a`, through the system's C toolchain (`cc`, `objcopy`, `ar`).
//!
//! - The shared library links the runtime's static library in, with a
//!   version script exporting only `NAME_*`, and unused sections dropped.
//! - The static library is one relocatable object: the model's object and
//!   the runtime members it needs, linked with `cc -r`, then every global
//!   symbol but `NAME_*` made local (`objcopy`), so two models — each with
//!   its own copy of the runtime — link into one program without clashes.
//!
//! Both need only `-lm -lpthread -ldl` from the application.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The runtime's static library: `$TESSERA_RUNTIME_LIB`, else the
/// `libtessera_runtime.a` cargo built beside this executable (in its
/// folder or `deps/`, the newest if several).
pub fn runtime_library() -> Result<PathBuf, String> {
    if let Some(path) = std::env::var_os("TESSERA_RUNTIME_LIB") {
        let path = PathBuf::from(path);
        return if path.is_file() {
            Ok(path)
        } else {
            Err(format!("TESSERA_RUNTIME_LIB names {}, which is not a file", path.display()))
        };
    }
    let exe = std::env::current_exe().map_err(|e| format!("cannot locate this executable: {e}"))?;
    let mut folders = Vec::new();
    for dir in exe.ancestors().skip(1).take(2) {
        folders.push(dir.to_path_buf());
        folders.push(dir.join("deps"));
    }
    let newest = folders
        .iter()
        .filter_map(|d| std::fs::read_dir(d).ok())
        .flatten()
        .filter_map(|e| {
            let e = e.ok()?;
            let name = e.file_name().into_string().ok()?;
            let is_runtime = name.starts_with("libtessera_runtime") && name.ends_with(".a");
            is_runtime.then(|| Some((e.metadata().ok()?.modified().ok()?, e.path())))?
        })
        .max();
    newest.map(|(_, p)| p).ok_or_else(|| {
        "cannot find tessera's runtime library (libtessera_runtime.a) beside this executable; \
         build it with `cargo build -p tessera-runtime` or name it in TESSERA_RUNTIME_LIB"
            .to_string()
    })
}

/// Runs `cmd`, describing a failure with its output.
fn run(mut cmd: Command, what: &str) -> Result<(), String> {
    let program = cmd.get_program().to_string_lossy().into_owned();
    let out = cmd.output().map_err(|e| format!("{what}: cannot run `{program}` ({e}); a C toolchain (cc, binutils) is needed"))?;
    if out.status.success() {
        return Ok(());
    }
    Err(format!("{what}: `{program}` failed ({}):\n{}", out.status, String::from_utf8_lossy(&out.stderr).trim_end()))
}

/// Links `objects` (models) with the runtime into the shared library
/// `out`, exporting only the symbols starting with `prefix`; `scratch` is
/// a folder for the version script.
pub fn shared(objects: &[PathBuf], runtime: &Path, prefix: &str, scratch: &Path, out: &Path) -> Result<(), String> {
    let script = scratch.join("exports.map");
    std::fs::write(&script, format!("{{\n  global: {prefix}*;\n  local: *;\n}};\n"))
        .map_err(|e| format!("cannot write {}: {e}", script.display()))?;
    let file_name = out.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let mut cc = Command::new("cc");
    cc.arg("-shared")
        .arg("-o")
        .arg(out)
        .args(objects)
        .arg(runtime)
        .arg(format!("-Wl,--version-script={}", script.display()))
        .arg(format!("-Wl,-soname,{file_name}"))
        .args(["-Wl,--gc-sections", "-Wl,--strip-debug", "-Wl,-z,noexecstack", "-lm", "-lpthread", "-ldl"]);
    run(cc, "linking the shared library")
}

/// Makes the static library `out`: `object` and the runtime members it
/// needs as one object whose only global symbols start with `prefix`.
pub(crate) fn static_archive(object: &Path, runtime: &Path, prefix: &str, scratch: &Path, out: &Path) -> Result<(), String> {
    let combined = scratch.join("combined.o");
    let mut cc = Command::new("cc");
    cc.args(["-r", "-nostdlib", "-o"]).arg(&combined).arg(object).arg(runtime);
    run(cc, "linking the static library's object")?;
    let mut objcopy = Command::new("objcopy");
    // Rust's standard library carries LLVM bitcode (`.llvmbc`) that the
    // archiver's linker plugins may fail to read; machine code is all an
    // application links.
    objcopy
        .args(["--wildcard", "--strip-debug", "--remove-section=.llvmbc", "--remove-section=.llvmcmd"])
        .arg(format!("--keep-global-symbol={prefix}*"))
        .arg(&combined);
    run(objcopy, "hiding the runtime's symbols")?;
    let _ = std::fs::remove_file(out);
    let mut ar = Command::new("ar");
    ar.arg("rcs").arg(out).arg(&combined);
    run(ar, "archiving the static library")
}
