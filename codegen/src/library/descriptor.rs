//! The exported face of a compiled model in its LLVM module: one model
//! descriptor (`tessera_rt_model`) per entry point, the tables of a
//! training step (`tessera_rt_table`), and the `NAME_*` functions, each a
//! forwarder to a `tessera_rt_*` function with a descriptor or table (and a
//! role) put in front of the caller's arguments.

use super::api::{symbol, Function, Lead, C, CONTEXT, ENTRY, PROCESS, TRAINING};
use super::interface::Interface;
use inkwell::attributes::{Attribute, AttributeLoc};
use inkwell::context::Context;
use inkwell::module::{Linkage, Module};
use inkwell::types::{BasicMetadataTypeEnum, BasicType, BasicTypeEnum};
use inkwell::values::{BasicMetadataValueEnum, BasicValue, FunctionValue, GlobalValue, PointerValue};
use inkwell::AddressSpace;
use tessera_runtime::model::ABI_VERSION;

/// The names of the functions a library `lib` exports for entry points
/// with `prefixes`, with the training functions when `training`.
pub(crate) fn exported(lib: &str, prefixes: &[&str], training: bool) -> Vec<String> {
    let mut names: Vec<String> = CONTEXT.iter().map(|f| symbol(lib, "", f.suffix)).collect();
    for p in prefixes {
        names.extend(ENTRY.iter().map(|f| symbol(lib, p, f.suffix)));
    }
    if training {
        names.extend(TRAINING.iter().map(|f| symbol(lib, "", f.suffix)));
    }
    names.extend(PROCESS.iter().map(|f| symbol(lib, "", f.suffix)));
    names
}

/// Adds the library-wide `NAME_*` functions (contexts, threads) to `module`.
pub(crate) fn emit_library<'ctx>(cx: &'ctx Context, module: &Module<'ctx>, lib: &str) -> Result<(), String> {
    for f in CONTEXT.iter().chain(PROCESS) {
        forward(cx, module, &symbol(lib, "", f.suffix), f, &|_| None)?;
    }
    Ok(())
}

/// Adds the descriptor of `interface` (entry point `entry`) and its
/// functions, named with `prefix`, to `module`.
pub(crate) fn emit_entry<'ctx>(
    cx: &'ctx Context,
    module: &Module<'ctx>,
    lib: &str,
    prefix: &str,
    interface: &Interface,
    entry: FunctionValue<'ctx>,
) -> Result<(), String> {
    let stem = if prefix.is_empty() { lib.to_string() } else { format!("{lib}.{prefix}") };
    let model = descriptor(cx, module, &stem, interface, entry).as_pointer_value();
    for f in ENTRY {
        forward(cx, module, &symbol(lib, prefix, f.suffix), f, &|l| matches!(l, Lead::Model).then_some(model))?;
    }
    Ok(())
}

/// One entry of a training table: a name, a size in bytes, and the
/// initial bytes (`None`: zeros).
pub(crate) struct TableEntry<'ctx> {
    /// Its name.
    pub(crate) name: String,
    /// Its size in bytes.
    pub(crate) size: u64,
    /// Its initial bytes.
    pub(crate) data: Option<PointerValue<'ctx>>,
}

/// Adds the tables of a training step — the parameters' initial values
/// and the optimiser state's sizes — and the functions reading them.
pub(crate) fn emit_training<'ctx>(
    cx: &'ctx Context,
    module: &Module<'ctx>,
    lib: &str,
    params: &[TableEntry<'ctx>],
    state: &[TableEntry<'ctx>],
) -> Result<(), String> {
    let params = table(cx, module, &format!("{lib}.params"), params).as_pointer_value();
    let state = table(cx, module, &format!("{lib}.state"), state).as_pointer_value();
    let lead = |l: &Lead| match l {
        Lead::Params => Some(params),
        Lead::State => Some(state),
        _ => None,
    };
    for f in TRAINING {
        forward(cx, module, &symbol(lib, "", f.suffix), f, &lead)?;
    }
    Ok(())
}

/// Defines `exported` as `f`: a call of its runtime target with the leads
/// (`pointer` gives the descriptor or table a lead names) and then the
/// caller's arguments.
fn forward<'ctx>(
    cx: &'ctx Context,
    module: &Module<'ctx>,
    exported: &str,
    f: &Function,
    pointer: &dyn Fn(&Lead) -> Option<PointerValue<'ctx>>,
) -> Result<(), String> {
    let ptr = cx.ptr_type(AddressSpace::default());
    let ty = |c: C| -> Option<BasicTypeEnum<'ctx>> {
        match c {
            C::Void => None,
            C::I32 => Some(cx.i32_type().into()),
            C::I64 | C::Size => Some(cx.i64_type().into()),
            _ => Some(ptr.into()),
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
    let mut lead_types: Vec<BasicMetadataTypeEnum> = Vec::new();
    let mut args: Vec<BasicMetadataValueEnum> = Vec::new();
    for l in f.lead {
        match l {
            Lead::I32(v) => {
                lead_types.push(cx.i32_type().into());
                args.push(cx.i32_type().const_int(*v, false).into());
            }
            other => {
                let p = pointer(other).ok_or_else(|| format!("{exported}: no table or descriptor for {other:?}"))?;
                lead_types.push(ptr.into());
                args.push(p.into());
            }
        }
    }
    let target = module.get_function(f.target).unwrap_or_else(|| module.add_function(f.target, fn_type(&lead_types), None));
    let function = module.add_function(exported, fn_type(&[]), None);
    function.add_attribute(AttributeLoc::Function, cx.create_enum_attribute(Attribute::get_named_enum_kind_id("nounwind"), 0));
    let builder = cx.create_builder();
    builder.position_at_end(cx.append_basic_block(function, "entry"));
    args.extend(function.get_param_iter().map(BasicMetadataValueEnum::from));
    let call = builder.build_call(target, &args, "").map_err(|e| e.to_string())?;
    match call.try_as_basic_value().basic() {
        Some(v) => builder.build_return(Some(&v)),
        None => builder.build_return(None),
    }
    .map_err(|e| e.to_string())?;
    Ok(())
}

/// The constant `tessera_rt_table` holding `entries`.
fn table<'ctx>(cx: &'ctx Context, module: &Module<'ctx>, stem: &str, entries: &[TableEntry<'ctx>]) -> GlobalValue<'ctx> {
    let ptr = cx.ptr_type(AddressSpace::default());
    let i64t = cx.i64_type();
    let entry_type = cx.struct_type(&[ptr.into(), i64t.into(), ptr.into()], false);
    let values: Vec<_> = entries
        .iter()
        .enumerate()
        .map(|(i, e)| {
            let text: Vec<u8> = e.name.bytes().map(|b| if b == 0 { b'?' } else { b }).collect();
            let name = constant(module, &format!("{stem}.name{i}"), &cx.const_string(&text, true));
            let data = e.data.unwrap_or_else(|| ptr.const_null());
            entry_type.const_named_struct(&[name.as_pointer_value().into(), i64t.const_int(e.size, false).into(), data.into()])
        })
        .collect();
    let array = constant(module, &format!("{stem}.entries"), &entry_type.const_array(&values));
    let value = cx.const_struct(&[i64t.const_int(entries.len() as u64, false).into(), array.as_pointer_value().into()], false);
    constant(module, stem, &value)
}

/// The constant `tessera_rt_model` describing `interface`.
fn descriptor<'ctx>(
    cx: &'ctx Context,
    module: &Module<'ctx>,
    stem: &str,
    interface: &Interface,
    entry: FunctionValue<'ctx>,
) -> GlobalValue<'ctx> {
    let (words, strings) = interface.encode();
    let i64t = cx.i64_type();
    let words_init = i64t.const_array(&words.iter().map(|&w| i64t.const_int(w as u64, true)).collect::<Vec<_>>());
    let words_global = constant(module, &format!("{stem}.words"), &words_init);
    let strings_init = cx.const_string(&strings, false);
    let strings_global = constant(module, &format!("{stem}.strings"), &strings_init);
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
    constant(module, &format!("{stem}.model"), &value)
}

/// A private constant global initialised to `value`.
fn constant<'ctx>(module: &Module<'ctx>, name: &str, value: &dyn BasicValue<'ctx>) -> GlobalValue<'ctx> {
    let v = value.as_basic_value_enum();
    let g = module.add_global(v.get_type(), None, name);
    g.set_initializer(&v);
    g.set_constant(true);
    g.set_linkage(Linkage::Private);
    g
}
