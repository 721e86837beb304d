//! ONNX emitters: values. `tg.constant` is a `Constant` node (so it stays
//! a constant on re-import, where a float initializer would become a
//! trainable parameter); `tg.param` names its result after the parameter,
//! which the driver writes as an initializer (or, without an initial
//! value, as a graph input).

use super::cx::OpCx;
use super::registry::Emit;
use tessera_ir::Attr;

fn constant(cx: &mut OpCx) -> Result<(), String> {
    let Some(Attr::Dense(dense)) = cx.op.attrs.get("value") else {
        return Err("attribute 'value' must be a dense constant".to_string());
    };
    let y = cx.out(0);
    cx.constant_to(dense, &y);
    Ok(())
}

fn param(cx: &mut OpCx) -> Result<(), String> {
    let name = cx.attrs().symbol("sym")?.to_string();
    if cx.ex.module.param(&name).is_none() {
        return Err(format!("the module has no parameter @{name}"));
    }
    cx.ex.bind(cx.op.results[0], &name);
    cx.ex.params.insert(name);
    Ok(())
}

/// The emitters of this family, by op name.
pub(super) const EMITTERS: &[(&str, Emit)] = &[("tg.constant", constant), ("tg.param", param)];
