//! The C ABI called from Rust the way C calls it: raw pointers, status
//! codes, messages read back through `tessera_rt_last_error`; and the header
//! `include/tessera_rt.h` checked against the code it declares.

use std::collections::BTreeSet;
use std::ffi::{c_char, c_void, CStr};
use std::ptr;
use std::sync::atomic::{AtomicU64, Ordering};

use tessera_runtime::ffi::*;
use tessera_runtime::{Context, DType, Dim, Status};

/// `tessera_rt_last_error(ctx)` as a Rust string.
fn last_error(ctx: *const Context) -> String {
    // SAFETY: ctx is live or null; the result is a valid C string.
    unsafe { CStr::from_ptr(tessera_rt_last_error(ctx)) }
        .to_str()
        .unwrap()
        .to_string()
}

/// A fresh context, freed on drop.
struct Ctx(*mut Context);

impl Ctx {
    fn new() -> Ctx {
        let ctx = tessera_rt_context_new();
        assert!(!ctx.is_null());
        Ctx(ctx)
    }
}

impl Drop for Ctx {
    fn drop(&mut self) {
        // SAFETY: from tessera_rt_context_new, freed once.
        unsafe { tessera_rt_context_free(self.0) }
    }
}

#[test]
fn contexts_and_errors() {
    let cx = Ctx::new();
    assert_eq!(last_error(cx.0), "");
    assert_eq!(last_error(ptr::null()), "null context");
    // SAFETY: live context, valid strings.
    unsafe {
        let st = tessera_rt_set_error(
            cx.0,
            Status::ShapeMismatch.code(),
            c"output 'y': too big".as_ptr(),
        );
        assert_eq!(st, 5);
        assert_eq!(last_error(cx.0), "output 'y': too big");
        assert_eq!(tessera_rt_set_error(cx.0, 7, ptr::null()), 7);
        assert_eq!(last_error(cx.0), "out of memory");
        assert_eq!(tessera_rt_set_error(cx.0, 0, ptr::null()), 0);
        assert_eq!(last_error(cx.0), "");
        assert_eq!(
            tessera_rt_set_error(cx.0, 99, ptr::null()),
            Status::InvalidArgument.code()
        );
        assert_eq!(last_error(cx.0), "unknown status code 99");
        assert_eq!(
            tessera_rt_set_error(ptr::null_mut(), 5, ptr::null()),
            Status::NullArgument.code()
        );
        tessera_rt_context_free(ptr::null_mut());
    }
}

#[test]
fn status_strings() {
    let s = |code| {
        unsafe { CStr::from_ptr(tessera_rt_status_string(code)) }
            .to_str()
            .unwrap()
    };
    assert_eq!(s(0), "ok");
    assert_eq!(s(5), "shape mismatch");
    assert_eq!(s(11), "internal error");
    assert_eq!(s(-3), "unknown status");
}

#[test]
fn alloc_and_workspace() {
    let cx = Ctx::new();
    // SAFETY: live context; pointers freed once.
    unsafe {
        let p = tessera_rt_alloc(cx.0, 1000);
        assert!(!p.is_null());
        assert_eq!(p as usize % 64, 0);
        ptr::write_bytes(p.cast::<u8>(), 1, 1000);
        tessera_rt_free(p);
        tessera_rt_free(ptr::null_mut());
        let p = tessera_rt_alloc(ptr::null_mut(), 16);
        assert!(!p.is_null());
        tessera_rt_free(p);

        assert!(tessera_rt_alloc(cx.0, usize::MAX).is_null());
        assert!(
            last_error(cx.0).contains("overflows"),
            "{}",
            last_error(cx.0)
        );
        assert!(tessera_rt_alloc(ptr::null_mut(), usize::MAX).is_null());

        let w = tessera_rt_context_workspace(cx.0, 4096);
        assert!(!w.is_null() && (w as usize).is_multiple_of(64));
        assert_eq!(last_error(cx.0), "", "a success clears the last error");
        assert_eq!(tessera_rt_context_workspace(cx.0, 100), w);
        assert!(tessera_rt_context_workspace(cx.0, usize::MAX).is_null());
        assert!(!last_error(cx.0).is_empty());
        assert!(tessera_rt_context_workspace(ptr::null_mut(), 10).is_null());
    }
}

/// Adds every index of its chunk into the `AtomicU64` behind `env`.
unsafe extern "C" fn add_indices(env: *mut c_void, begin: usize, end: usize) {
    // SAFETY: env is the &AtomicU64 the test passed.
    let sum = unsafe { &*env.cast::<AtomicU64>() };
    sum.fetch_add((begin..end).map(|i| i as u64).sum(), Ordering::Relaxed);
}

/// A body that runs a nested loop per index.
unsafe extern "C" fn nested(env: *mut c_void, begin: usize, end: usize) {
    for _ in begin..end {
        // SAFETY: same env, same contract.
        let st = unsafe { tessera_rt_parallel_for(10, Some(add_indices), env) };
        assert_eq!(st, 0);
    }
}

#[test]
fn parallel_for() {
    // SAFETY: the bodies use env as the AtomicU64 it is.
    unsafe {
        let sum = AtomicU64::new(0);
        let env = ptr::from_ref(&sum).cast_mut().cast::<c_void>();
        assert_eq!(tessera_rt_parallel_for(10_000, Some(add_indices), env), 0);
        assert_eq!(sum.load(Ordering::Relaxed), (0..10_000u64).sum());
        sum.store(0, Ordering::Relaxed);
        assert_eq!(tessera_rt_parallel_for(0, Some(add_indices), env), 0);
        assert_eq!(sum.load(Ordering::Relaxed), 0);
        assert_eq!(tessera_rt_parallel_for(50, Some(nested), env), 0);
        assert_eq!(sum.load(Ordering::Relaxed), 50 * 45);
        assert_eq!(
            tessera_rt_parallel_for(5, None, env),
            Status::NullArgument.code()
        );
    }
    assert!(tessera_rt_num_threads() >= 1);
    assert_eq!(
        tessera_rt_set_num_threads(5000),
        Status::InvalidArgument.code()
    );
}

/// The MLP signature of the check tests: x: N x 784 f32, out: N x 10 f32.
struct Mlp {
    x_dims: [i64; 2],
    out_dims: [i64; 2],
}

impl Mlp {
    fn new() -> Mlp {
        Mlp {
            x_dims: [Dim::symbol(0).0, 784],
            out_dims: [Dim::symbol(0).0, 10],
        }
    }

    fn specs(&self) -> [RawTensorSpec; 2] {
        [
            RawTensorSpec {
                name: c"x".as_ptr(),
                role: 0,
                dtype: 1,
                rank: 2,
                dims: self.x_dims.as_ptr(),
            },
            RawTensorSpec {
                name: c"out".as_ptr(),
                role: 1,
                dtype: 1,
                rank: 2,
                dims: self.out_dims.as_ptr(),
            },
        ]
    }
}

/// Calls `tessera_rt_check_args` for the MLP with `N` given as `n`.
fn check(cx: &Ctx, args: &[RawTensorArg; 2], n: i64) -> (i32, String, i64) {
    let mlp = Mlp::new();
    let names: [*const c_char; 1] = [c"N".as_ptr()];
    let mut values = [n];
    // SAFETY: every array holds the counts given.
    let st = unsafe {
        tessera_rt_check_args(
            cx.0,
            names.as_ptr(),
            values.as_mut_ptr(),
            1,
            mlp.specs().as_ptr(),
            args.as_ptr(),
            2,
        )
    };
    (st, last_error(cx.0), values[0])
}

#[test]
fn check_args() {
    let cx = Ctx::new();
    let x = vec![0f32; 3 * 785];
    let out = vec![0f32; 3 * 10];
    let arg = |data: &[f32], dims: &[i64]| RawTensorArg {
        data: data.as_ptr().cast(),
        dtype: DType::F32.code(),
        rank: dims.len(),
        dims: dims.as_ptr(),
    };
    let (good_x, good_out, bad_x) = ([3i64, 784], [3i64, 10], [3i64, 785]);
    assert_eq!(
        check(&cx, &[arg(&x, &good_x), arg(&out, &good_out)], -1),
        (0, String::new(), 3)
    );
    assert_eq!(
        check(&cx, &[arg(&x, &bad_x), arg(&out, &good_out)], -1),
        (5, "input 'x': dim 1 must be 784, got 785".to_string(), 3)
    );
    let (st, msg, _) = check(&cx, &[arg(&x, &good_x), arg(&out, &[4, 10])], -1);
    assert_eq!(
        (st, msg.as_str()),
        (
            5,
            "output 'out': dim 0 (N) must be 3 to match input 'x' dim 0, got 4"
        )
    );
    let (st, msg, _) = check(&cx, &[arg(&x, &good_x), arg(&out, &good_out)], 2);
    assert_eq!(
        (st, msg.as_str()),
        (
            5,
            "input 'x': dim 0 (N) must be 2, the value given for N, got 3"
        )
    );

    // Shapes from the signature, N given.
    let implied = |data: &[f32]| RawTensorArg {
        data: data.as_ptr().cast(),
        dtype: 1,
        rank: SHAPE_FROM_SIGNATURE,
        dims: ptr::null(),
    };
    assert_eq!(check(&cx, &[implied(&x), implied(&out)], 3).0, 0);
    let (st, msg, _) = check(&cx, &[implied(&x), implied(&out)], -1);
    assert_eq!(
        (st, msg.as_str()),
        (
            2,
            "input 'x': dim 0 (N) has no value: give N or the tensor's dims"
        )
    );

    // Nulls and bad codes.
    let mut null_out = arg(&out, &good_out);
    null_out.data = ptr::null();
    let (st, msg, _) = check(&cx, &[arg(&x, &good_x), null_out], -1);
    assert_eq!(
        (st, msg.as_str()),
        (1, "output 'out': data pointer is null")
    );
    let mut null_dims = arg(&x, &good_x);
    null_dims.dims = ptr::null();
    let (st, msg, _) = check(&cx, &[null_dims, arg(&out, &good_out)], -1);
    assert_eq!((st, msg.as_str()), (1, "input 'x': dims is null"));
    let mut bad_dtype = arg(&x, &good_x);
    bad_dtype.dtype = 8;
    let (st, msg, _) = check(&cx, &[bad_dtype, arg(&out, &good_out)], -1);
    assert_eq!((st, msg.as_str()), (2, "input 'x': unknown dtype code 8"));
    bad_dtype.dtype = DType::I64.code();
    let (st, msg, _) = check(&cx, &[bad_dtype, arg(&out, &good_out)], -1);
    assert_eq!(
        (st, msg.as_str()),
        (3, "input 'x': dtype must be f32, got i64")
    );

    // SAFETY: null arrays with non-zero counts are what is being tested.
    unsafe {
        let st = tessera_rt_check_args(
            ptr::null_mut(),
            ptr::null(),
            ptr::null_mut(),
            0,
            ptr::null(),
            ptr::null(),
            0,
        );
        assert_eq!(st, Status::NullArgument.code());
        let st = tessera_rt_check_args(
            cx.0,
            ptr::null(),
            ptr::null_mut(),
            0,
            ptr::null(),
            ptr::null(),
            0,
        );
        assert_eq!((st, last_error(cx.0).as_str()), (0, ""));
        let st = tessera_rt_check_args(
            cx.0,
            ptr::null(),
            ptr::null_mut(),
            1,
            ptr::null(),
            ptr::null(),
            0,
        );
        assert_eq!((st, last_error(cx.0).as_str()), (1, "symbol_names is null"));
        let names = [c"N".as_ptr()];
        let st = tessera_rt_check_args(
            cx.0,
            names.as_ptr(),
            ptr::null_mut(),
            1,
            ptr::null(),
            ptr::null(),
            0,
        );
        assert_eq!(
            (st, last_error(cx.0).as_str()),
            (1, "symbol_values is null")
        );
        let mut v = [-1i64];
        let st = tessera_rt_check_args(
            cx.0,
            names.as_ptr(),
            v.as_mut_ptr(),
            1,
            ptr::null(),
            ptr::null(),
            2,
        );
        assert_eq!((st, last_error(cx.0).as_str()), (1, "specs is null"));
        let mut specs = Mlp::new().specs();
        specs[1].role = 7;
        let args = [arg(&x, &good_x), arg(&out, &good_out)];
        let st = tessera_rt_check_args(
            cx.0,
            names.as_ptr(),
            v.as_mut_ptr(),
            1,
            specs.as_ptr(),
            args.as_ptr(),
            2,
        );
        assert_eq!(
            (st, last_error(cx.0).as_str()),
            (2, "signature of 'out': unknown role code 7")
        );
        specs[1].role = 1;
        specs[1].name = ptr::null();
        let st = tessera_rt_check_args(
            cx.0,
            names.as_ptr(),
            v.as_mut_ptr(),
            1,
            specs.as_ptr(),
            args.as_ptr(),
            2,
        );
        assert_eq!(
            (st, last_error(cx.0).as_str()),
            (1, "specs[1].name is null")
        );
    }
}

#[test]
fn contexts_on_many_threads() {
    // One context per thread, each checking its own arguments concurrently.
    std::thread::scope(|s| {
        for t in 0..4i64 {
            s.spawn(move || {
                let cx = Ctx::new();
                let x = vec![0f32; (t as usize + 1) * 784];
                let out = vec![0f32; (t as usize + 1) * 10];
                for _ in 0..200 {
                    let xd = [t + 1, 784];
                    let bad = [t + 2, 10];
                    let args = [
                        RawTensorArg {
                            data: x.as_ptr().cast(),
                            dtype: 1,
                            rank: 2,
                            dims: xd.as_ptr(),
                        },
                        RawTensorArg {
                            data: out.as_ptr().cast(),
                            dtype: 1,
                            rank: 2,
                            dims: bad.as_ptr(),
                        },
                    ];
                    let (st, msg, n) = check(&cx, &args, -1);
                    assert_eq!(st, 5);
                    assert_eq!(n, t + 1);
                    let want = format!(
                        "output 'out': dim 0 (N) must be {} to match input 'x' dim 0, got {}",
                        t + 1,
                        t + 2
                    );
                    assert_eq!(msg, want);
                }
            });
        }
    });
}

/// The identifiers `tessera_rt_...` directly followed by `(` in `text`,
/// each found after `marker` (which ends in `tessera_rt_`).
fn names_before_paren(text: &str, marker: &str) -> BTreeSet<String> {
    text.match_indices(marker)
        .filter_map(|(i, _)| {
            let rest = &text[i + marker.len() - "tessera_rt_".len()..];
            let end = rest.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))?;
            rest[end..]
                .starts_with('(')
                .then(|| rest[..end].to_string())
        })
        .collect()
}

#[test]
fn header_declares_every_function() {
    let dir = env!("CARGO_MANIFEST_DIR");
    let header = std::fs::read_to_string(format!("{dir}/include/tessera_rt.h")).unwrap();
    let source = ["src/ffi.rs", "src/model/ffi.rs"]
        .map(|f| std::fs::read_to_string(format!("{dir}/{f}")).unwrap())
        .concat();
    // Declarations: `int32_t tessera_rt_x(` and `void *tessera_rt_x(`.
    let mut declared = names_before_paren(&header, " tessera_rt_");
    declared.extend(names_before_paren(&header, "*tessera_rt_"));
    let defined = names_before_paren(&source, "extern \"C\" fn tessera_rt_");
    assert_eq!(defined.len(), 26, "{defined:?}");
    assert_eq!(declared, defined);
}

#[test]
fn header_constants_match_the_code() {
    let header =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/include/tessera_rt.h"))
            .unwrap();
    let define = |name: &str| -> i64 {
        let line = header
            .lines()
            .find(|l| l.split_whitespace().nth(1) == Some(name) && l.starts_with("#define"))
            .unwrap_or_else(|| panic!("{name} not in the header"));
        line.split_whitespace().nth(2).unwrap().parse().unwrap()
    };
    for status in Status::ALL {
        // NullArgument -> NULL_ARGUMENT
        let mut snake = String::new();
        for (i, c) in format!("{status:?}").chars().enumerate() {
            if c.is_ascii_uppercase() && i > 0 {
                snake.push('_');
            }
            snake.push(c.to_ascii_uppercase());
        }
        let name = if status == Status::Ok {
            "TESSERA_RT_OK".to_string()
        } else {
            format!("TESSERA_RT_ERR_{snake}")
        };
        let name = name.replace("D_TYPE", "DTYPE");
        assert_eq!(define(&name), i64::from(status.code()), "{name}");
    }
    for dtype in DType::ALL {
        let name = format!("TESSERA_RT_{}", dtype.name().to_ascii_uppercase());
        assert_eq!(define(&name), i64::from(dtype.code()), "{name}");
    }
    assert_eq!(
        define("TESSERA_RT_ALIGN"),
        tessera_runtime::buffer::ALIGN as i64
    );
}
