//! Integer division by zero (and an integer power of zero to a negative
//! exponent) reported by `run` as an error, not a crash; the JIT runs on
//! after it. (Every elementwise op over every dtype is a shared case:
//! [`tessera_passes::differential::cases::elementwise`].)

use crate::harness::{Compiled, Tol};
use tessera_ir::tensor::Tensor;
use tessera_ir::DType;

#[test]
fn integer_division_by_zero_is_an_error_not_a_crash() {
    let mut src = String::new();
    let ops = ["div", "rem", "mod"];
    let dtypes = [DType::I8, DType::I32, DType::I64, DType::U8, DType::U64];
    for op in ops {
        for d in dtypes {
            src += &format!(
                "func @{op}_{d}(%a: tensor<4x{d}>, %b: tensor<4x{d}>) -> tensor<4x{d}> {{\n  %0 = tg.{op} %a, %b\n  tg.return %0\n}}\n"
            );
        }
    }
    src += "func @pow_i32(%a: tensor<2xi32>, %b: tensor<2xi32>) -> tensor<2xi32> {\n  %0 = tg.pow %a, %b\n  tg.return %0\n}\n";
    let c = Compiled::new(&src);
    for op in ops {
        for d in dtypes {
            let a = Tensor::convert_f64(d, vec![4], &[7.0, 8.0, 9.0, 10.0]).unwrap();
            let b = Tensor::convert_f64(d, vec![4], &[1.0, 2.0, 0.0, 3.0]).unwrap();
            let err = c.jit.run(&format!("{op}_{d}"), &[a.clone(), b]).unwrap_err();
            assert!(err.message.ends_with("integer division by zero"), "{op} {d}: {}", err.message);
            let ok = Tensor::convert_f64(d, vec![4], &[1.0, 2.0, 4.0, 3.0]).unwrap();
            c.check_inputs(&format!("{op}_{d}"), vec![a, ok], Tol::Exact, "after an error");
        }
    }
    let zero_to_negative = c
        .jit
        .run("pow_i32", &[Tensor::from_i64s(&[0, 2]).cast(DType::I32), Tensor::from_i64s(&[-1, 3]).cast(DType::I32)]);
    assert!(zero_to_negative.unwrap_err().message.ends_with("integer division by zero"));
}
