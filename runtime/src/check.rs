//! Argument checking for a generated `NAME_run`: the caller's tensors
//! against the model's signature (dtypes, ranks, static dims, symbolic dims
//! bound consistently, null and misaligned pointers, sizes that overflow),
//! with a message that names the tensor and the dim:
//! `input 'x': dim 1 must be 784, got 785`.
//!
//! Symbolic dims are numbered (`0..symbols.len()`); their values live in a
//! caller-owned `[i64]`, [`UNBOUND`] until known. A value may be given up
//! front (a `NAME_run` that takes `N` as an argument) or bound by the first
//! tensor that has the symbol; every later use must agree. Checking reads
//! tensors with explicit dims first, in order, then those whose dims are
//! implied by the signature (see [`TensorArg::dims`]), so an implied shape
//! can use a symbol bound by any explicit one.

use std::ffi::c_void;
use std::fmt;

use crate::buffer::byte_size;
use crate::dtype::DType;
use crate::error::{RuntimeError, Status};

/// The value of a symbol that is not bound yet.
pub const UNBOUND: i64 = -1;

/// Whether a tensor is read or written by the model; only used in messages.
#[repr(i32)]
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Role {
    /// Read by the model.
    Input = 0,
    /// Written by the model.
    Output = 1,
}

impl Role {
    /// `input` or `output`, as messages say it.
    pub fn name(self) -> &'static str {
        match self {
            Role::Input => "input",
            Role::Output => "output",
        }
    }

    /// The role with numeric code `code` (0 input, 1 output).
    pub fn from_code(code: i32) -> Option<Role> {
        [Role::Input, Role::Output]
            .into_iter()
            .find(|r| *r as i32 == code)
    }
}

/// One dim of a signature, in the encoding the C ABI uses (so a C array of
/// `int64_t` is a `[Dim]`): `n >= 0` is the static size `n`, `-(k + 1)` is
/// symbol number `k`.
#[repr(transparent)]
#[derive(Copy, Clone, PartialEq, Eq, Hash)]
pub struct Dim(pub i64);

/// What a [`Dim`] says.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum DimKind {
    /// Exactly this size.
    Static(u64),
    /// The size bound to this symbol number.
    Symbol(usize),
}

impl Dim {
    /// A static size; `n` must be at most `i64::MAX`.
    pub const fn fixed(n: u64) -> Dim {
        assert!(n <= i64::MAX as u64, "a static dim must fit in i64");
        Dim(n as i64)
    }

    /// Symbol number `k`.
    pub const fn symbol(k: usize) -> Dim {
        Dim(-(k as i64) - 1)
    }

    /// Decodes the dim.
    pub fn kind(self) -> DimKind {
        if self.0 >= 0 {
            DimKind::Static(self.0.unsigned_abs())
        } else {
            // -(k + 1) for k in 0..=i64::MAX.
            DimKind::Symbol((-(self.0 + 1)).unsigned_abs() as usize)
        }
    }
}

impl fmt::Debug for Dim {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind() {
            DimKind::Static(n) => write!(f, "{n}"),
            DimKind::Symbol(k) => write!(f, "sym{k}"),
        }
    }
}

/// What the model expects of one tensor.
#[derive(Copy, Clone, Debug)]
pub struct TensorSpec<'a> {
    /// The tensor's name, as the model calls it.
    pub name: &'a str,
    /// Input or output.
    pub role: Role,
    /// The element type.
    pub dtype: DType,
    /// The dims; symbols index [`Signature::symbols`].
    pub dims: &'a [Dim],
}

/// The names of a model's symbolic dims and the tensors it takes, inputs
/// and outputs in the order `NAME_run` receives them.
#[derive(Copy, Clone, Debug)]
pub struct Signature<'a> {
    /// Symbol names, by number (`N`, `seq_len`).
    pub symbols: &'a [&'a str],
    /// The tensors.
    pub tensors: &'a [TensorSpec<'a>],
}

/// One tensor as the caller passes it.
#[derive(Copy, Clone, Debug)]
pub struct TensorArg<'a> {
    /// The data; may be null only if the tensor has no elements.
    pub data: *const c_void,
    /// The element type the caller says the data has.
    pub dtype: DType,
    /// The caller's shape; `None` means "the signature's shape, with the
    /// symbols' values", for callers that pass only symbol values.
    pub dims: Option<&'a [i64]>,
}

/// `input 'x'` / `output 'y'`: how messages name a tensor.
struct Label<'a>(&'a TensorSpec<'a>);

impl fmt::Display for Label<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} '{}'", self.0.role.name(), self.0.name)
    }
}

/// Checks `args` against `sig`. `values` holds one entry per symbol: a value
/// `>= 0` given by the caller, or [`UNBOUND`]; on success every entry holds
/// the symbol's value. On an error `values` may be partly filled.
///
/// ```
/// use tessera_runtime::check::{check_args, Dim, Role, Signature, TensorArg, TensorSpec, UNBOUND};
/// use tessera_runtime::DType;
/// let x = [Dim::symbol(0), Dim::fixed(784)];
/// let tensors = [TensorSpec { name: "x", role: Role::Input, dtype: DType::F32, dims: &x }];
/// let sig = Signature { symbols: &["N"], tensors: &tensors };
/// let data = vec![0f32; 2 * 785];
/// let arg = TensorArg { data: data.as_ptr().cast(), dtype: DType::F32, dims: Some(&[2, 785]) };
/// let err = check_args(&sig, &[arg], &mut [UNBOUND]).unwrap_err();
/// assert_eq!(err.message, "input 'x': dim 1 must be 784, got 785");
/// ```
pub fn check_args(
    sig: &Signature<'_>,
    args: &[TensorArg<'_>],
    values: &mut [i64],
) -> Result<(), RuntimeError> {
    let invalid = |message: String| Err(RuntimeError::new(Status::InvalidArgument, message));
    if values.len() != sig.symbols.len() {
        return invalid(format!(
            "{} symbol values given for {} symbols",
            values.len(),
            sig.symbols.len()
        ));
    }
    if args.len() != sig.tensors.len() {
        let inputs = sig.tensors.iter().filter(|t| t.role == Role::Input).count();
        return invalid(format!(
            "expected {} tensors ({}, {}), got {}",
            sig.tensors.len(),
            counted(inputs, "input"),
            counted(sig.tensors.len() - inputs, "output"),
            args.len()
        ));
    }
    for (name, &v) in sig.symbols.iter().zip(values.iter()) {
        if v < UNBOUND {
            return invalid(format!("symbol '{name}' has a negative value ({v})"));
        }
    }
    let mut checker = Checker { sig, values };
    // Explicit shapes bind symbols; implied shapes need them bound.
    for implied in [false, true] {
        for (i, (spec, arg)) in sig.tensors.iter().zip(args).enumerate() {
            if arg.dims.is_none() == implied {
                checker.tensor(i, spec, arg)?;
            }
        }
    }
    if let Some(k) = checker.values.iter().position(|&v| v == UNBOUND) {
        return invalid(format!(
            "symbol '{}' has no value: no tensor has it and none was given",
            sig.symbols[k]
        ));
    }
    Ok(())
}

/// `1 input`, `2 inputs`.
fn counted(n: usize, noun: &str) -> String {
    format!("{n} {noun}{}", if n == 1 { "" } else { "s" })
}

/// The state of one [`check_args`] call.
struct Checker<'s, 'a> {
    /// The signature.
    sig: &'s Signature<'a>,
    /// Symbol values, [`UNBOUND`] until bound.
    values: &'s mut [i64],
}

impl Checker<'_, '_> {
    /// Checks tensor `index` and binds the symbols it is first to have.
    fn tensor(
        &mut self,
        index: usize,
        spec: &TensorSpec<'_>,
        arg: &TensorArg<'_>,
    ) -> Result<(), RuntimeError> {
        let label = Label(spec);
        let fail =
            |status, message: String| Err(RuntimeError::new(status, format!("{label}: {message}")));
        if arg.dtype != spec.dtype {
            return fail(
                Status::DTypeMismatch,
                format!("dtype must be {}, got {}", spec.dtype, arg.dtype),
            );
        }
        let mut shape = Vec::with_capacity(spec.dims.len());
        match arg.dims {
            Some(dims) => {
                if dims.len() != spec.dims.len() {
                    return fail(
                        Status::RankMismatch,
                        format!("rank must be {}, got {}", spec.dims.len(), dims.len()),
                    );
                }
                for (axis, (&want, &got)) in spec.dims.iter().zip(dims).enumerate() {
                    if got < 0 {
                        return fail(
                            Status::InvalidArgument,
                            format!("dim {axis} is negative ({got})"),
                        );
                    }
                    self.dim(index, spec, axis, want, got)?;
                    shape.push(got);
                }
            }
            None => {
                for (axis, &want) in spec.dims.iter().enumerate() {
                    shape.push(self.implied(spec, axis, want)?);
                }
            }
        }
        let dims: Vec<usize> = shape
            .iter()
            .map(|&d| usize::try_from(d).unwrap_or(usize::MAX))
            .collect();
        let Ok(bytes) = byte_size(spec.dtype, &dims) else {
            return fail(
                Status::SizeOverflow,
                format!("shape {shape:?} does not fit in memory"),
            );
        };
        if arg.data.is_null() {
            if bytes > 0 {
                return fail(Status::NullArgument, "data pointer is null".into());
            }
        } else if !(arg.data as usize).is_multiple_of(spec.dtype.size()) {
            return fail(
                Status::InvalidArgument,
                format!(
                    "data pointer {:p} is not aligned to {} bytes ({})",
                    arg.data,
                    spec.dtype.size(),
                    spec.dtype
                ),
            );
        }
        Ok(())
    }

    /// Checks dim `axis` of tensor `index`: `got` against `want`, binding a
    /// symbol on its first use.
    fn dim(
        &mut self,
        index: usize,
        spec: &TensorSpec<'_>,
        axis: usize,
        want: Dim,
        got: i64,
    ) -> Result<(), RuntimeError> {
        let label = Label(spec);
        match want.kind() {
            DimKind::Static(n) => {
                if got.unsigned_abs() != n {
                    return Err(RuntimeError::new(
                        Status::ShapeMismatch,
                        format!("{label}: dim {axis} must be {n}, got {got}"),
                    ));
                }
            }
            DimKind::Symbol(k) => {
                let name = self.symbol_name(spec, axis, k)?;
                let bound = self.values[k];
                if bound == UNBOUND {
                    self.values[k] = got;
                } else if bound != got {
                    let source = match self.first_use(index, axis, k) {
                        Some((t, a)) => {
                            format!(" to match {} dim {a},", Label(&self.sig.tensors[t]))
                        }
                        None => format!(", the value given for {name},"),
                    };
                    return Err(RuntimeError::new(
                        Status::ShapeMismatch,
                        format!("{label}: dim {axis} ({name}) must be {bound}{source} got {got}"),
                    ));
                }
            }
        }
        Ok(())
    }

    /// The size of dim `axis` of a tensor whose shape is implied.
    fn implied(&self, spec: &TensorSpec<'_>, axis: usize, want: Dim) -> Result<i64, RuntimeError> {
        match want.kind() {
            DimKind::Static(n) => Ok(n as i64),
            DimKind::Symbol(k) => {
                let name = self.symbol_name(spec, axis, k)?;
                match self.values[k] {
                    UNBOUND => Err(RuntimeError::new(
                        Status::InvalidArgument,
                        format!("{}: dim {axis} ({name}) has no value: give {name} or the tensor's dims", Label(spec)),
                    )),
                    v => Ok(v),
                }
            }
        }
    }

    /// The name of symbol `k`, or an error if the signature has no such symbol.
    fn symbol_name(
        &self,
        spec: &TensorSpec<'_>,
        axis: usize,
        k: usize,
    ) -> Result<&str, RuntimeError> {
        self.sig.symbols.get(k).copied().ok_or_else(|| {
            RuntimeError::new(
                Status::InvalidArgument,
                format!(
                    "{}: dim {axis} refers to symbol {k}, but the signature has {} symbols",
                    Label(spec),
                    self.sig.symbols.len()
                ),
            )
        })
    }

    /// The first explicit-shape use of symbol `k` before dim `axis` of tensor
    /// `index`: the tensor and axis that bound it, if a tensor did.
    fn first_use(&self, index: usize, axis: usize, k: usize) -> Option<(usize, usize)> {
        let target = Dim::symbol(k);
        self.sig.tensors[..=index]
            .iter()
            .enumerate()
            .find_map(|(t, spec)| {
                let end = if t == index { axis } else { spec.dims.len() };
                spec.dims[..end]
                    .iter()
                    .position(|&d| d == target)
                    .map(|a| (t, a))
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const N: Dim = Dim::symbol(0);
    const S: Dim = Dim::symbol(1);

    /// An aligned, non-null pointer for tensors that are not read.
    fn data() -> *const c_void {
        static BACKING: [u64; 1] = [0];
        BACKING.as_ptr().cast()
    }

    fn arg<'a>(dtype: DType, dims: &'a [i64]) -> TensorArg<'a> {
        TensorArg {
            data: data(),
            dtype,
            dims: Some(dims),
        }
    }

    /// `mlp(x: N x 784 f32, y: N x S x i64) -> out: N x 10 f32`.
    fn with_mlp<R>(f: impl FnOnce(&Signature<'_>) -> R) -> R {
        let x = [N, Dim::fixed(784)];
        let y = [N, S];
        let out = [N, Dim::fixed(10)];
        let tensors = [
            TensorSpec {
                name: "x",
                role: Role::Input,
                dtype: DType::F32,
                dims: &x,
            },
            TensorSpec {
                name: "y",
                role: Role::Input,
                dtype: DType::I64,
                dims: &y,
            },
            TensorSpec {
                name: "out",
                role: Role::Output,
                dtype: DType::F32,
                dims: &out,
            },
        ];
        f(&Signature {
            symbols: &["N", "S"],
            tensors: &tensors,
        })
    }

    fn check(args: &[TensorArg<'_>], values: &mut [i64]) -> Result<(), String> {
        with_mlp(|sig| check_args(sig, args, values)).map_err(|e| e.message)
    }

    #[test]
    fn dim_encoding() {
        assert_eq!(Dim::fixed(784).kind(), DimKind::Static(784));
        assert_eq!(Dim::fixed(0).kind(), DimKind::Static(0));
        assert_eq!(Dim::symbol(0), Dim(-1));
        assert_eq!(Dim::symbol(3).kind(), DimKind::Symbol(3));
        assert_eq!(Dim(i64::MIN).kind(), DimKind::Symbol(i64::MAX as usize));
        assert_eq!(format!("{:?}", [N, Dim::fixed(2)]), "[sym0, 2]");
        assert_eq!(Role::from_code(1), Some(Role::Output));
        assert_eq!(Role::from_code(2), None);
    }

    #[test]
    fn consistent_args_bind_symbols() {
        let mut v = [UNBOUND, UNBOUND];
        check(
            &[
                arg(DType::F32, &[4, 784]),
                arg(DType::I64, &[4, 7]),
                arg(DType::F32, &[4, 10]),
            ],
            &mut v,
        )
        .unwrap();
        assert_eq!(v, [4, 7]);
    }

    #[test]
    fn static_dim_mismatch() {
        let mut v = [UNBOUND; 2];
        let e = check(
            &[
                arg(DType::F32, &[4, 785]),
                arg(DType::I64, &[4, 7]),
                arg(DType::F32, &[4, 10]),
            ],
            &mut v,
        );
        assert_eq!(e.unwrap_err(), "input 'x': dim 1 must be 784, got 785");
    }

    #[test]
    fn symbolic_dim_mismatch_names_the_binder() {
        let mut v = [UNBOUND; 2];
        let e = check(
            &[
                arg(DType::F32, &[4, 784]),
                arg(DType::I64, &[5, 7]),
                arg(DType::F32, &[4, 10]),
            ],
            &mut v,
        );
        assert_eq!(
            e.unwrap_err(),
            "input 'y': dim 0 (N) must be 4 to match input 'x' dim 0, got 5"
        );
        let mut v = [UNBOUND; 2];
        let e = check(
            &[
                arg(DType::F32, &[4, 784]),
                arg(DType::I64, &[4, 7]),
                arg(DType::F32, &[3, 10]),
            ],
            &mut v,
        );
        assert_eq!(
            e.unwrap_err(),
            "output 'out': dim 0 (N) must be 4 to match input 'x' dim 0, got 3"
        );
    }

    #[test]
    fn symbol_given_by_the_caller() {
        let mut v = [2, UNBOUND];
        let e = check(
            &[
                arg(DType::F32, &[4, 784]),
                arg(DType::I64, &[4, 7]),
                arg(DType::F32, &[4, 10]),
            ],
            &mut v,
        );
        assert_eq!(
            e.unwrap_err(),
            "input 'x': dim 0 (N) must be 2, the value given for N, got 4"
        );
        let mut v = [-5, UNBOUND];
        let e = check(
            &[
                arg(DType::F32, &[4, 784]),
                arg(DType::I64, &[4, 7]),
                arg(DType::F32, &[4, 10]),
            ],
            &mut v,
        );
        assert_eq!(e.unwrap_err(), "symbol 'N' has a negative value (-5)");
    }

    #[test]
    fn rank_dtype_and_negative_dims() {
        let mut v = [UNBOUND; 2];
        let e = check(
            &[
                arg(DType::F32, &[4, 784, 1]),
                arg(DType::I64, &[4, 7]),
                arg(DType::F32, &[4, 10]),
            ],
            &mut v,
        );
        assert_eq!(e.unwrap_err(), "input 'x': rank must be 2, got 3");
        let e = check(
            &[
                arg(DType::F64, &[4, 784]),
                arg(DType::I64, &[4, 7]),
                arg(DType::F32, &[4, 10]),
            ],
            &mut v,
        );
        assert_eq!(e.unwrap_err(), "input 'x': dtype must be f32, got f64");
        let mut v = [UNBOUND; 2];
        let e = check(
            &[
                arg(DType::F32, &[-1, 784]),
                arg(DType::I64, &[4, 7]),
                arg(DType::F32, &[4, 10]),
            ],
            &mut v,
        );
        assert_eq!(e.unwrap_err(), "input 'x': dim 0 is negative (-1)");
    }

    #[test]
    fn wrong_number_of_tensors() {
        let mut v = [UNBOUND; 2];
        let e = check(&[arg(DType::F32, &[4, 784])], &mut v);
        assert_eq!(
            e.unwrap_err(),
            "expected 3 tensors (2 inputs, 1 output), got 1"
        );
        let e = check(&[], &mut [UNBOUND]);
        assert_eq!(e.unwrap_err(), "1 symbol values given for 2 symbols");
    }

    #[test]
    fn null_and_misaligned_pointers() {
        let mut v = [UNBOUND; 2];
        let mut out = arg(DType::F32, &[4, 10]);
        out.data = std::ptr::null();
        let e = check(
            &[arg(DType::F32, &[4, 784]), arg(DType::I64, &[4, 7]), out],
            &mut v,
        );
        assert_eq!(e.unwrap_err(), "output 'out': data pointer is null");
        // Null is fine for an empty tensor.
        let mut v = [UNBOUND; 2];
        let mut x = arg(DType::F32, &[0, 784]);
        x.data = std::ptr::null();
        check(
            &[x, arg(DType::I64, &[0, 7]), arg(DType::F32, &[0, 10])],
            &mut v,
        )
        .unwrap();
        assert_eq!(v, [0, 7]);
        let mut v = [UNBOUND; 2];
        let mut x = arg(DType::F32, &[1, 784]);
        x.data = data().cast::<u8>().wrapping_add(2).cast();
        let e = check(
            &[x, arg(DType::I64, &[1, 7]), arg(DType::F32, &[1, 10])],
            &mut v,
        )
        .unwrap_err();
        assert!(
            e.starts_with("input 'x': data pointer 0x")
                && e.ends_with("is not aligned to 4 bytes (f32)"),
            "{e}"
        );
    }

    #[test]
    fn overflowing_shapes() {
        let mut v = [UNBOUND; 2];
        let big = i64::MAX / 2;
        let e = check(
            &[
                arg(DType::F32, &[4, 784]),
                arg(DType::I64, &[4, big]),
                arg(DType::F32, &[4, 10]),
            ],
            &mut v,
        );
        assert_eq!(
            e.unwrap_err(),
            format!("input 'y': shape [4, {big}] does not fit in memory")
        );
    }

    #[test]
    fn implied_shapes_use_symbol_values() {
        // Only N and S given, no dims: the NAME_run(ctx, x, y, out, N, S) style.
        let implied = |dtype| TensorArg {
            data: data(),
            dtype,
            dims: None,
        };
        let mut v = [4, 7];
        check(
            &[
                implied(DType::F32),
                implied(DType::I64),
                implied(DType::F32),
            ],
            &mut v,
        )
        .unwrap();
        // S comes from y's explicit dims even though y follows x.
        let mut v = [4, UNBOUND];
        check(
            &[
                implied(DType::F32),
                arg(DType::I64, &[4, 9]),
                implied(DType::F32),
            ],
            &mut v,
        )
        .unwrap();
        assert_eq!(v, [4, 9]);
        let mut v = [UNBOUND, 7];
        let e = check(
            &[
                implied(DType::F32),
                implied(DType::I64),
                implied(DType::F32),
            ],
            &mut v,
        );
        assert_eq!(
            e.unwrap_err(),
            "input 'x': dim 0 (N) has no value: give N or the tensor's dims"
        );
        let mut v = [4, i64::MAX];
        let e = check(
            &[
                implied(DType::F32),
                implied(DType::I64),
                implied(DType::F32),
            ],
            &mut v,
        );
        assert_eq!(
            e.unwrap_err(),
            format!("input 'y': shape [4, {}] does not fit in memory", i64::MAX)
        );
    }

    #[test]
    fn unused_symbol_needs_a_value() {
        let x = [Dim::fixed(2)];
        let tensors = [TensorSpec {
            name: "x",
            role: Role::Input,
            dtype: DType::U8,
            dims: &x,
        }];
        let sig = Signature {
            symbols: &["K"],
            tensors: &tensors,
        };
        let e = check_args(&sig, &[arg(DType::U8, &[2])], &mut [UNBOUND]).unwrap_err();
        assert_eq!(
            e.message,
            "symbol 'K' has no value: no tensor has it and none was given"
        );
        check_args(&sig, &[arg(DType::U8, &[2])], &mut [3]).unwrap();
    }

    #[test]
    fn bad_symbol_index_in_signature() {
        let x = [Dim::symbol(5)];
        let tensors = [TensorSpec {
            name: "x",
            role: Role::Input,
            dtype: DType::U8,
            dims: &x,
        }];
        let sig = Signature {
            symbols: &["N"],
            tensors: &tensors,
        };
        let e = check_args(&sig, &[arg(DType::U8, &[2])], &mut [UNBOUND]).unwrap_err();
        assert_eq!(e.status, Status::InvalidArgument);
        assert_eq!(
            e.message,
            "input 'x': dim 0 refers to symbol 5, but the signature has 1 symbols"
        );
    }

    #[test]
    fn statuses() {
        let mut v = [UNBOUND; 2];
        let st = |args: &[TensorArg<'_>], v: &mut [i64]| {
            with_mlp(|sig| check_args(sig, args, v)).unwrap_err().status
        };
        assert_eq!(
            st(
                &[
                    arg(DType::F32, &[4, 785]),
                    arg(DType::I64, &[4, 7]),
                    arg(DType::F32, &[4, 10])
                ],
                &mut v
            ),
            Status::ShapeMismatch
        );
        assert_eq!(
            st(
                &[
                    arg(DType::F32, &[4]),
                    arg(DType::I64, &[4, 7]),
                    arg(DType::F32, &[4, 10])
                ],
                &mut v
            ),
            Status::RankMismatch
        );
        assert_eq!(
            st(
                &[
                    arg(DType::I8, &[4, 784]),
                    arg(DType::I64, &[4, 7]),
                    arg(DType::F32, &[4, 10])
                ],
                &mut v
            ),
            Status::DTypeMismatch
        );
    }
}
