//! Reflect and edge padding, growing and cropping, of floats and
//! integers with a symbolic batch.

use crate::harness::{check_each, Tol, N1_N5};

#[test]
fn reflect_and_edge_pads_grow_and_crop() {
    for mode in ["reflect", "edge"] {
        let src = format!(
            "func @f(%x: tensor<3x7xf32>, %v: tensor<f32>, %y: tensor<N x 4 x i32>, %k: tensor<i32>) -> (tensor<7x11xf32>, tensor<3x6xf32>, tensor<N x 5 x i32>, tensor<3x7xf32>) {{
  %a = tg.pad %x, %v {{low = [2, 1], high = [2, 3], mode = \"{mode}\"}}
  %b = tg.pad %x, %v {{low = [0, -2], high = [0, 1], mode = \"{mode}\"}}
  %c = tg.pad %y, %k {{low = [0, -1], high = [0, 2], mode = \"{mode}\"}}
  %d = tg.pad %x, %v {{low = [0, 0], high = [0, 0], mode = \"{mode}\"}}
  tg.return %a, %b, %c, %d
}}"
        );
        check_each(&src, "f", N1_N5, Tol::Exact);
    }
}
