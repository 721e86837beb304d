//! Modules: functions plus the named parameters (trainable weights) they read.

use crate::attr::DenseAttr;
use crate::func::Func;
use crate::infer::SymbolTable;
use crate::loc::Loc;
use crate::types::{TensorType, Type};

/// A named weight read by `tg.param @name`; trainable unless frozen by a pass.
#[derive(Clone, Debug, PartialEq)]
pub struct Param {
    /// The symbol name, without `@` (ONNX initializer names are kept as they are).
    pub name: String,
    /// Its type (always static).
    pub ty: TensorType,
    /// Its initial value; `None` when it is to be supplied at run time.
    pub init: Option<DenseAttr>,
    /// Where it was declared.
    pub loc: Loc,
}

/// A compilation unit: parameters, then functions.
#[derive(Clone, Debug, Default)]
pub struct Module {
    /// Parameters in declaration order; names are unique.
    pub params: Vec<Param>,
    /// Functions in declaration order; names are unique.
    pub funcs: Vec<Func>,
}

impl Module {
    /// An empty module.
    pub fn new() -> Module {
        Module::default()
    }

    /// The function called `name`.
    pub fn func(&self, name: &str) -> Option<&Func> {
        self.funcs.iter().find(|f| f.name == name)
    }

    /// The parameter called `name`.
    pub fn param(&self, name: &str) -> Option<&Param> {
        self.params.iter().find(|p| p.name == name)
    }

    /// A snapshot of the module's symbols, usable while a function is borrowed mutably.
    pub fn symbols(&self) -> Symbols {
        Symbols {
            funcs: self.funcs.iter().map(|f| (f.name.clone(), f.arg_types(), f.results.clone())).collect(),
            params: self.params.iter().map(|p| (p.name.clone(), Type::Tensor(p.ty.clone()))).collect(),
        }
    }

    /// Total elements and bytes of all parameters.
    pub fn param_footprint(&self) -> (u64, u64) {
        self.params.iter().fold((0, 0), |(n, b), p| {
            let count = p.ty.static_dims().map(|d| d.iter().product::<u64>()).unwrap_or(0);
            (n + count, b + count * p.ty.dtype.size_bytes() as u64)
        })
    }
}

impl SymbolTable for Module {
    fn func_signature(&self, name: &str) -> Option<(Vec<Type>, Vec<Type>)> {
        self.func(name).map(|f| (f.arg_types(), f.results.clone()))
    }
    fn param_type(&self, name: &str) -> Option<Type> {
        self.param(name).map(|p| Type::Tensor(p.ty.clone()))
    }
}

/// An owned copy of a module's function signatures and parameter types.
#[derive(Clone, Debug, Default)]
pub struct Symbols {
    funcs: Vec<(String, Vec<Type>, Vec<Type>)>,
    params: Vec<(String, Type)>,
}

impl SymbolTable for Symbols {
    fn func_signature(&self, name: &str) -> Option<(Vec<Type>, Vec<Type>)> {
        self.funcs.iter().find(|(n, ..)| n == name).map(|(_, a, r)| (a.clone(), r.clone()))
    }
    fn param_type(&self, name: &str) -> Option<Type> {
        self.params.iter().find(|(n, _)| n == name).map(|(_, t)| t.clone())
    }
}
