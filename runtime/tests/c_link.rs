//! Links `tests/c/smoke.c` against the static library with only the flags a
//! generated library's users get (`-lm -lpthread -ldl`), runs it, and
//! checks what it prints: the C ABI from real C, header included.

use std::path::PathBuf;
use std::process::Command;

/// The newest `libtessera_runtime*.a` of this profile. Cargo builds the
/// crate's `staticlib` beside its rlib in `deps/` (with the unit's hash in
/// the name) before running the tests, but copies it up to the profile
/// folder only on `cargo build`; the newest of both is at least as new as
/// the sources the tests were built from.
fn static_lib() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let deps = exe.parent().unwrap();
    let profile_dir = deps.parent().unwrap();
    let candidates = [deps, profile_dir]
        .into_iter()
        .flat_map(|d| std::fs::read_dir(d).unwrap())
        .filter_map(|e| {
            let e = e.ok()?;
            let name = e.file_name().into_string().ok()?;
            let is_lib = name.starts_with("libtessera_runtime") && name.ends_with(".a");
            is_lib.then(|| Some((e.metadata().ok()?.modified().ok()?, e.path())))?
        });
    candidates
        .max()
        .map(|(_, path)| path)
        .expect("cargo built no libtessera_runtime .a")
}

#[test]
fn c_program_links_and_runs() {
    let dir = env!("CARGO_MANIFEST_DIR");
    let exe = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("tessera_rt_smoke");
    let cc = Command::new("cc")
        .args(["-std=c99", "-pedantic", "-Wall", "-Wextra", "-Werror", "-I"])
        .arg(format!("{dir}/include"))
        .arg(format!("{dir}/tests/c/smoke.c"))
        .arg(static_lib())
        .args(["-lm", "-lpthread", "-ldl", "-o"])
        .arg(&exe)
        .output()
        .expect("cc (a C compiler) must be installed");
    assert!(
        cc.status.success(),
        "cc failed:\n{}",
        String::from_utf8_lossy(&cc.stderr)
    );

    let run = Command::new(&exe)
        .env("TESSERA_NUM_THREADS", "3")
        .output()
        .unwrap();
    assert!(
        run.status.success(),
        "smoke failed:\n{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let n: i64 = 10007;
    let squares = |n: i64| (n - 1) * n * (2 * n - 1) / 6;
    let want = format!(
        "parallel_for 0 sum {}\n\
         nested 0 sum {}\n\
         null body 1\n\
         threads 3\n\
         check 5 (shape mismatch): input 'x': dim 1 must be 784, got 785\n\
         alloc aligned 1\n\
         huge alloc null 1: cannot allocate {} bytes: the size overflows\n\
         null context: null context\n\
         shutdown 0\n",
        squares(n),
        50 * squares(100),
        usize::MAX,
    );
    assert_eq!(String::from_utf8_lossy(&run.stdout), want);
}
