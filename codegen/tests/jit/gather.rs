//! Indices out of range in gathers and scatters: a status bit reported by
//! `run`, never a crash, even where the addressed axis is empty. (The
//! gathers and scatters themselves are shared cases:
//! [`tessera_passes::differential::cases::gather`].)

use crate::harness::{compile, lower, verified};
use tessera_ir::tensor::Tensor;
use tessera_ir::DType;
use tessera_passes::differential::cases::gather::OUT_OF_RANGE;

#[test]
fn indices_out_of_range_set_a_status_bit() {
    let jit = compile(&lower(&verified(OUT_OF_RANGE)));
    let x = Tensor::from_f64(DType::F32, vec![2, 3], vec![1.0; 6]).unwrap();
    let at = |i: i64| Tensor::from_i64s(&[i]).reshaped(vec![1, 1]).unwrap();
    let u = Tensor::from_f64(DType::F32, vec![1, 3], vec![5.0; 3]).unwrap();
    let message = "an index read from a tensor is out of range for its axis";
    let err = jit.run("g", &[x.clone(), Tensor::from_i64s(&[1, -4])]).unwrap_err().message;
    assert_eq!(err, format!("@g: {message}"));
    assert!(jit.run("g", &[x.clone(), Tensor::from_i64s(&[2, -3])]).is_ok());
    let err = jit.run("s", &[x, at(2), u.clone()]).unwrap_err().message;
    assert_eq!(err, format!("@s: {message}"));
    // An empty axis has no position 0 to fall back to: nothing is read or written.
    let empty = Tensor::from_f64(DType::F32, vec![0, 3], Vec::new()).unwrap();
    let err = jit.run("s", &[empty, at(0), u]).unwrap_err().message;
    assert_eq!(err, format!("@s: {message}"));
}
