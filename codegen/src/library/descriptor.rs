//! The exported face of a compiled model in its LLVM module: the model
//! descriptor the runtime reads (`tessera_rt_model`) and the `NAME_*`
//! functions, each a forwarder to a `tessera_rt_*` function with the
//! descriptor (and a role) put in front of the caller's arguments.

use super::api::{Lead, C, FUNCTIONS};
use super::interface::Interface;
use inkwell::attributes::{Attribute, AttributeLoc};
use inkwell::context::Context;
use inkwell::module::{Linkage, Module};
use inkwell::types::{BasicMetadataTypeEnum, BasicType, BasicTypeEnum};
use inkwell::values::{BasicMetadataValueEnum, FunctionValue, GlobalValue};
use inkwell::AddressSpace;
use tessera_runtime::model::ABI_VERSION;

/// The names of the exported functions of library `name`.
pub(crate) fn exported(name: &str) -> Vec<String> {
    FUNCTIONS.iter().map(|f| format!("{name}_{}", f.suffix)).collect()
}

/// Adds the descriptor of `interface` (entry point `entry`) and the
/// `NAME_*` forwarders to `module`.
pub(crate) fn emit<'ctx>(
    cx: &'ctx Context,
    module: &Module<'ctx>,
    name: &str,
    interface: &Interface,
    entry: FunctionValue<'ctx>,
) -> Result<(), String> {
    let model = descriptor(cx, module, name, interface, entry);
    let builder = cx.create_builder();
    let nounwind = cx.create_enum_attribute(Attribute::get_named_enum_kind_id("nounwind"), 0);
    for f in FUNCTIONS {
        let ty = |c: C| -> Option<BasicTypeEnum<'ctx>> {
            match c {
                C::Void => None,
                C::I32 => Some(cx.i32_type().into()),
                C::I64 | C::Size => Some(cx.i64_type().into()),
                _ => Some(cx.ptr_type(AddressSpace::default()).into()),
            }
        };
        let fn_type = |lead: &[BasicMetadataTypeEnum<'ctx>]| {
            let mut params = lead.to_vec();
            params.extend(f.params.iter().filter_map(|&(c, _)| ty(c)).map(BasicMetadataTypeEnum::from));
            match ty(f.ret) {
                Some(r) => r.fn_type(&params, false),
                None => cx.void_type().fn_type(&params, false),
            }
        };
        let lead_types: Vec<BasicMetadataTypeEnum> = f
            .lead
            .iter()
            .map(|l| match l {
                Lead::Model => cx.ptr_type(AddressSpace::default()).into(),
                Lead::I32(_) => cx.i32_type().into(),
            })
            .collect();
        let target = module.get_function(f.target).unwrap_or_else(|| module.add_function(f.target, fn_type(&lead_types), None));
        let exported = module.add_function(&format!("{name}_{}", f.suffix), fn_type(&[]), None);
        exported.add_attribute(AttributeLoc::Function, nounwind);
        builder.position_at_end(cx.append_basic_block(exported, "entry"));
        let mut args: Vec<BasicMetadataValueEnum> = f
            .lead
            .iter()
            .map(|l| match l {
                Lead::Model => model.as_pointer_value().into(),
                Lead::I32(v) => cx.i32_type().const_int(*v, false).into(),
            })
            .collect();
        args.extend(exported.get_param_iter().map(BasicMetadataValueEnum::from));
        let call = builder.build_call(target, &args, "").map_err(|e| e.to_string())?;
        match call.try_as_basic_value().basic() {
            Some(v) => builder.build_return(Some(&v)),
            None => builder.build_return(None),
        }
        .map_err(|e| e.to_string())?;
    }
    Ok(())
}

/// The constant `tessera_rt_model` describing `interface`.
fn descriptor<'ctx>(
    cx: &'ctx Context,
    module: &Module<'ctx>,
    name: &str,
    interface: &Interface,
    entry: FunctionValue<'ctx>,
) -> GlobalValue<'ctx> {
    let (words, strings) = interface.encode();
    let i64t = cx.i64_type();
    let words_init = i64t.const_array(&words.iter().map(|&w| i64t.const_int(w as u64, true)).collect::<Vec<_>>());
    let words_global = constant(module, &format!("{name}.words"), &words_init);
    let strings_init = cx.const_string(&strings, false);
    let strings_global = constant(module, &format!("{name}.strings"), &strings_init);
    let i32t = cx.i32_type();
    let value = cx.const_struct(
        &[
            i32t.const_int(u64::from(ABI_VERSION), false).into(),
            i32t.const_zero().into(),
            words_global.as_pointer_value().into(),
            i64t.const_int(words.len() as u64, false).into(),
            strings_global.as_pointer_value().into(),
            i64t.const_int(strings.len() as u64, false).into(),
            entry.as_global_value().as_pointer_value().into(),
        ],
        false,
    );
    constant(module, &format!("{name}.model"), &value)
}

/// A private constant global initialised to `value`.
fn constant<'ctx>(module: &Module<'ctx>, name: &str, value: &dyn inkwell::values::BasicValue<'ctx>) -> GlobalValue<'ctx> {
    let v = value.as_basic_value_enum();
    let g = module.add_global(v.get_type(), None, name);
    g.set_initializer(&v);
    g.set_constant(true);
    g.set_linkage(Linkage::Private);
    g
}
