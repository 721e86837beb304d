//! The type and shape checker, which is also the walk lowering reuses.
//!
//! A [`Checker`] interprets the syntax tree abstractly: every expression
//! evaluates to a [`Val`] — a tensor with its static type (symbolic dims
//! included), a compile-time [`Static`], a tuple, or an error already
//! reported. Tensor operations go through an [`Emit`] back end: here
//! [`TypeEmit`], which only infers result types with each graph op's own
//! inference hook, so the checker and the IR agree by construction;
//! `lower.rs` supplies the back end that builds the ops. Checking a model
//! is therefore a dry run of lowering it.
//!
//! Functions (`fn`) are inlined where they are called. Each call binds the
//! callee's signature to the arguments: a plain dim name (`N`) binds to
//! the argument's size, `...` to a run of dims, other dims (`4*H`) must
//! then equal what they evaluate to; the body is checked with those types
//! (each distinct instantiation once). A function whose signature has no
//! `...` is also checked on its own, with its dim names as symbols and its
//! compile-time parameters unknown, so errors in a function nobody calls
//! are reported too.
//!
//! Every error is reported, at the expression it concerns; an erroneous
//! value becomes [`Val::Error`], which later checks pass over silently.
//! Errors inside the standard library are reported at the user's call.

use super::ast::*;
use super::init::Init;
use super::source::SourceFile;
use super::value::{dtype_name, fold, show, Static};
use super::{builtins, parser::dtype_named};
use std::collections::{HashMap, HashSet};
use tessera_ir::attr::DenseAttr;
use tessera_ir::builder::check_attrs;
use tessera_ir::infer::{infer_standalone, NoSymbols};
use tessera_ir::{Attrs, DType, Diag, Dim, Loc, OpRef, Param, TensorType};

/// Index of the user's file among the sources.
pub const USER: usize = 0;
/// Index of the standard library among the sources.
pub const STD: usize = 1;

/// A tensor value: its type, and whatever the back end tracks for it.
#[derive(Clone, Debug)]
pub struct TVal<V> {
    /// The static type.
    pub ty: TensorType,
    /// The back end's handle (`()` when checking, a `ValueId` when lowering).
    pub v: V,
}

/// What an expression evaluates to.
#[derive(Clone, Debug)]
pub enum Val<V> {
    /// A tensor.
    Tensor(TVal<V>),
    /// A compile-time value.
    Static(Static),
    /// Several values: what a function with several results returns, or a list holding tensors.
    Tuple(Vec<Val<V>>),
    /// The result of an error already reported.
    Error,
}

impl<V> Val<V> {
    /// A phrase naming the value for diagnostics.
    pub fn describe(&self) -> String {
        match self {
            Val::Tensor(t) => format!("a tensor {}", show(&t.ty)),
            Val::Static(s) => s.describe(),
            Val::Tuple(items) => format!("{} values", items.len()),
            Val::Error => "an erroneous value".to_string(),
        }
    }
}

/// Where the checker's tensor operations go.
pub trait Emit {
    /// The handle of a tensor value.
    type V: Clone + std::fmt::Debug;
    /// The handle of a region being built.
    type Region;
    /// Whether ops are really built (then only the taken branch of a
    /// compile-time `if` is walked, and nothing is cached).
    fn lowering(&self) -> bool;
    /// A graph op with one result per returned value.
    fn op(&mut self, def: OpRef, operands: &[&TVal<Self::V>], attrs: Attrs, loc: &Loc) -> Result<Vec<TVal<Self::V>>, String>;
    /// A `tg.constant`.
    fn constant(&mut self, value: DenseAttr, loc: &Loc) -> Result<TVal<Self::V>, String>;
    /// A `tg.param` read of module parameter `name`.
    fn param(&mut self, name: &str, ty: &TensorType, loc: &Loc) -> TVal<Self::V>;
    /// Gives a value a readable name (the `let` that bound it).
    fn name(&mut self, v: &Self::V, name: &str);
    /// Starts a region whose block takes arguments of these types; ops go there until [`Emit::leave_region`].
    fn enter_region(&mut self, args: &[TensorType]) -> (Self::Region, Vec<TVal<Self::V>>);
    /// Ends the region with `tg.yield` of `yields`, and goes back to where ops went before.
    fn leave_region(&mut self, region: &Self::Region, yields: &[&TVal<Self::V>], loc: &Loc) -> Result<(), String>;
    /// A `tg.if` on `cond` with two finished regions yielding `result`'s type.
    fn if_op(
        &mut self,
        cond: &TVal<Self::V>,
        regions: [Self::Region; 2],
        result: &TensorType,
        loc: &Loc,
    ) -> Result<TVal<Self::V>, String>;
    /// A `tg.loop` running `body` `trips` times (both scalars), carrying `init`.
    fn loop_op(
        &mut self,
        trips: &TVal<Self::V>,
        cond: &TVal<Self::V>,
        init: &[&TVal<Self::V>],
        body: Self::Region,
        loc: &Loc,
    ) -> Result<Vec<TVal<Self::V>>, String>;
}

/// The checking back end: result types from each op's inference hook.
pub struct TypeEmit;

impl Emit for TypeEmit {
    type V = ();
    type Region = ();
    fn lowering(&self) -> bool {
        false
    }
    fn op(&mut self, def: OpRef, operands: &[&TVal<()>], attrs: Attrs, _: &Loc) -> Result<Vec<TVal<()>>, String> {
        check_attrs(def, &attrs)?;
        let types: Vec<tessera_ir::Type> = operands.iter().map(|t| tessera_ir::Type::Tensor(t.ty.clone())).collect();
        let results = infer_standalone(def, &types, &attrs, &NoSymbols)?;
        results
            .into_iter()
            .map(|t| match t {
                tessera_ir::Type::Tensor(ty) => Ok(TVal { ty, v: () }),
                other => Err(format!("'{}' gives {other}, not a tensor", def.name())),
            })
            .collect()
    }
    fn constant(&mut self, value: DenseAttr, _: &Loc) -> Result<TVal<()>, String> {
        Ok(TVal { ty: value.ty().clone(), v: () })
    }
    fn param(&mut self, _: &str, ty: &TensorType, _: &Loc) -> TVal<()> {
        TVal { ty: ty.clone(), v: () }
    }
    fn name(&mut self, _: &(), _: &str) {}
    fn enter_region(&mut self, args: &[TensorType]) -> ((), Vec<TVal<()>>) {
        ((), args.iter().map(|ty| TVal { ty: ty.clone(), v: () }).collect())
    }
    fn leave_region(&mut self, _: &(), _: &[&TVal<()>], _: &Loc) -> Result<(), String> {
        Ok(())
    }
    fn if_op(&mut self, _: &TVal<()>, _: [(); 2], result: &TensorType, _: &Loc) -> Result<TVal<()>, String> {
        Ok(TVal { ty: result.clone(), v: () })
    }
    fn loop_op(
        &mut self,
        _: &TVal<()>,
        _: &TVal<()>,
        init: &[&TVal<()>],
        _: (),
        _: &Loc,
    ) -> Result<Vec<TVal<()>>, String> {
        Ok(init.iter().map(|t| TVal { ty: t.ty.clone(), v: () }).collect())
    }
}

/// Every function and model of the user's file and of the standard library.
#[derive(Default)]
pub struct Functions<'p> {
    user: HashMap<&'p str, &'p Item>,
    std: HashMap<&'p str, &'p Item>,
    broken: HashSet<&'p str>,
}

impl<'p> Functions<'p> {
    /// Indexes both programs; a name defined twice in the user's file is an error.
    pub fn new(user: &'p Program, std: &'p Program, sources: &[SourceFile]) -> (Functions<'p>, Vec<Diag>) {
        let mut f = Functions { broken: user.broken.iter().map(String::as_str).collect(), ..Functions::default() };
        let mut diags = Vec::new();
        for (program, table, source) in [(user, &mut f.user, &sources[USER]), (std, &mut f.std, &sources[STD])] {
            for item in &program.items {
                if table.insert(&item.name.name, item).is_some() {
                    diags.push(source.error(item.name.span, format!("'{}' is defined twice", item.name.name)));
                }
            }
        }
        (f, diags)
    }

    /// Whether the user's item `name` failed to parse (so calls to it are not errors of their own).
    pub fn is_broken(&self, name: &str) -> bool {
        self.broken.contains(name)
    }

    /// The function `name` as seen from code in `source`: the user's own
    /// functions first (from the user's file), then the standard library's.
    pub fn lookup(&self, name: &str, source: usize) -> Option<(&'p Item, usize)> {
        let user = if source == USER { self.user.get(name).map(|i| (*i, USER)) } else { None };
        user.or_else(|| self.std.get(name).map(|i| (*i, STD)))
    }
}

/// One argument as evaluated at a call.
#[derive(Clone, Debug)]
pub struct ArgVal<V> {
    /// The keyword, for `name=value`.
    pub key: Option<Ident>,
    /// The value.
    pub val: Val<V>,
    /// Where the value was written.
    pub span: Span,
}

/// Variables visible in one block.
struct Scope<V> {
    vars: HashMap<String, Val<V>>,
    /// Assignments inside may not reach variables outside (an `if` branch or a loop body).
    barrier: bool,
}

impl<V> Scope<V> {
    fn new(barrier: bool) -> Scope<V> {
        Scope { vars: HashMap::new(), barrier }
    }
}

/// One function being checked or inlined.
struct Frame<V> {
    /// Its name.
    func: String,
    /// Which source its spans refer to.
    source: usize,
    /// For code of the standard library called from the user's: the user's call.
    loc_override: Option<Loc>,
    /// For a user function inlined at a call: that call.
    call_site: Option<Loc>,
    /// Whether symbolic sizes stand for compile-time values not known yet
    /// (a function checked on its own): then what needs an integer accepts them as unknown.
    placeholders: bool,
    /// The model declaring parameters, when this frame is a model's body.
    model: Option<String>,
    scopes: Vec<Scope<V>>,
    /// What `...` in the signature stands for.
    ellipsis: Option<Vec<Dim>>,
    /// For each dim name bound by the signature, the parameter that bound it.
    binders: HashMap<String, String>,
}

/// The walk over the syntax tree; see the module documentation.
pub struct Checker<'p, E: Emit> {
    /// The back end.
    pub emit: E,
    funcs: &'p Functions<'p>,
    sources: &'p [SourceFile],
    diags: Vec<Diag>,
    reported: HashSet<String>,
    frames: Vec<Frame<E::V>>,
    cache: HashMap<String, Val<E::V>>,
    broken: HashSet<String>,
    /// The parameters declared so far (their values only when lowering).
    pub params: Vec<Param>,
}

/// The deepest chain of inlined calls.
const MAX_CALL_DEPTH: usize = 24;

impl<'p, E: Emit> Checker<'p, E> {
    /// A checker over `funcs` whose spans index `sources`.
    pub fn new(emit: E, funcs: &'p Functions<'p>, sources: &'p [SourceFile]) -> Self {
        Checker {
            emit,
            funcs,
            sources,
            diags: Vec::new(),
            reported: HashSet::new(),
            frames: Vec::new(),
            cache: HashMap::new(),
            broken: HashSet::new(),
            params: Vec::new(),
        }
    }

    /// The diagnostics reported so far.
    pub fn into_diags(self) -> Vec<Diag> {
        self.diags
    }

    // ---- diagnostics and locations ----

    fn frame(&self) -> Option<&Frame<E::V>> {
        self.frames.last()
    }

    fn frame_mut(&mut self) -> &mut Frame<E::V> {
        let n = self.frames.len();
        &mut self.frames[n - 1]
    }

    /// The location ops and errors at `span` get: the span's own, or the
    /// user's call when inside the standard library.
    pub fn loc(&self, span: Span) -> Loc {
        match self.frame() {
            Some(f) => f.loc_override.clone().unwrap_or_else(|| self.sources[f.source].loc(span)),
            None => Loc::Unknown,
        }
    }

    fn push_diag(&mut self, diag: Diag) {
        if self.reported.insert(format!("{:?}|{}", diag.loc, diag.message)) {
            self.diags.push(diag);
        }
    }

    /// The source text of `span` in the current function (a type as written).
    fn text(&self, span: Span) -> &str {
        let range = span.start as usize..span.end as usize;
        self.frame().and_then(|f| self.sources[f.source].text().get(range)).unwrap_or("")
    }

    /// Reports an error at `span`, in the caller when the value came from it.
    fn report(&mut self, in_caller: bool, span: Span, msg: String) {
        if in_caller {
            self.caller_error(span, msg);
        } else {
            self.error(span, msg);
        }
    }

    /// Reports an error at `span` in the current function.
    pub fn error(&mut self, span: Span, msg: impl Into<String>) {
        let msg = msg.into();
        let diag = match self.frame() {
            None => Diag::error(Loc::Unknown, msg),
            Some(f) => {
                let here = self.sources[f.source].loc(span);
                match (&f.loc_override, &f.call_site) {
                    (Some(outer), _) => Diag::error(outer.clone(), msg)
                        .with_note(here, format!("in '{}' of the standard library", f.func)),
                    (None, Some(call)) => Diag::error(here, msg).with_note(call.clone(), format!("in this call to '{}'", f.func)),
                    (None, None) => Diag::error(here, msg),
                }
            }
        };
        self.push_diag(diag);
    }

    /// Reports an error at `span` in the caller of the current function.
    fn caller_error(&mut self, span: Span, msg: impl Into<String>) {
        let top = self.frames.pop();
        self.error(span, msg);
        if let Some(f) = top {
            self.frames.push(f);
        }
    }

    /// Whether a symbolic size may stand where an integer is needed (as unknown).
    pub fn placeholders(&self) -> bool {
        self.frame().is_some_and(|f| f.placeholders)
    }

    // ---- scopes ----

    fn lookup(&self, name: &str) -> Option<&Val<E::V>> {
        self.frame()?.scopes.iter().rev().find_map(|s| s.vars.get(name))
    }

    fn define(&mut self, name: &str, val: Val<E::V>) {
        if let Some(scope) = self.frame_mut().scopes.last_mut() {
            scope.vars.insert(name.to_string(), val);
        }
    }

    /// The index of the scope `name` may be assigned in, if any.
    fn assignable(&self, name: &str) -> Result<usize, bool> {
        let Some(f) = self.frame() else { return Err(false) };
        for (i, s) in f.scopes.iter().enumerate().rev() {
            if s.vars.contains_key(name) {
                return Ok(i);
            }
            if s.barrier {
                let outside = f.scopes[..i].iter().any(|s| s.vars.contains_key(name));
                return Err(outside);
            }
        }
        Err(false)
    }

    fn push_scope(&mut self, barrier: bool) {
        self.frame_mut().scopes.push(Scope::new(barrier));
    }

    fn pop_scope(&mut self) -> Option<Scope<E::V>> {
        self.frame_mut().scopes.pop()
    }

    fn new_frame(&self, func: &str, source: usize) -> Frame<E::V> {
        Frame {
            func: func.to_string(),
            source,
            loc_override: None,
            call_site: None,
            placeholders: false,
            model: None,
            scopes: vec![Scope::new(false)],
            ellipsis: None,
            binders: HashMap::new(),
        }
    }

    // ---- models ----

    /// Declares a model's input dims in the current frame and returns the
    /// input types (each plain dim name is a new symbol).
    fn declare_inputs(&mut self, item: &Item) -> Option<Vec<TensorType>> {
        let mut types = Vec::new();
        let mut ok = true;
        for p in &item.params {
            match &p.ty {
                TypeExpr::Tensor { dtype, dims, .. } => match self.declare_dims(*dtype, dims) {
                    Some(t) => types.push(t),
                    None => ok = false,
                },
                TypeExpr::Static(_, span) => {
                    self.error(*span, format!("the inputs of model '{}' must be tensors", item.name.name));
                    ok = false;
                }
                TypeExpr::Error(_) => ok = false,
            }
            if let Some(d) = &p.default {
                self.error(d.span, "a model's inputs have no default values");
            }
        }
        ok.then_some(types)
    }

    /// The type `dtype[dims]` with each new plain dim name declared as a symbol.
    fn declare_dims(&mut self, dtype: DType, dims: &[DimExpr]) -> Option<TensorType> {
        let mut out = Vec::with_capacity(dims.len());
        for d in dims {
            match d {
                DimExpr::Ellipsis(span) => {
                    self.error(*span, "'...' is for functions; a model's inputs have a fixed rank");
                    return None;
                }
                DimExpr::Size(Expr { kind: ExprKind::Name(n), .. }) if self.lookup(n).is_none() => {
                    let dim = Dim::sym(n);
                    self.define(n, Val::Static(Static::from_dim(&dim)));
                    out.push(dim);
                }
                DimExpr::Size(e) => out.push(self.dim_of(e)?),
            }
        }
        if let Err(e) = super::value::dim_product(&out) {
            let span = dims.first().map_or_else(Span::default, |d| match d {
                DimExpr::Ellipsis(s) => *s,
                DimExpr::Size(e) => e.span,
            });
            self.error(span, e);
            return None;
        }
        Some(TensorType::new(out, dtype))
    }

    /// The input types of model `item` (reporting errors in its signature).
    pub fn model_inputs(&mut self, item: &Item) -> Option<Vec<TensorType>> {
        self.frames.push(self.new_frame(&item.name.name, USER));
        let types = self.declare_inputs(item);
        self.frames.pop();
        types
    }

    /// Walks model `item`'s body with `args` (one handle per input, of the
    /// types [`Checker::model_inputs`] gives) and returns its results.
    /// Also gives the location of its `return`.
    pub fn run_model(&mut self, item: &Item, args: Vec<E::V>) -> Option<(Vec<TVal<E::V>>, Loc)> {
        let mut frame = self.new_frame(&item.name.name, USER);
        frame.model = Some(item.name.name.clone());
        self.frames.push(frame);
        let out = self.model_body(item, args);
        self.frames.pop();
        out
    }

    fn model_body(&mut self, item: &Item, args: Vec<E::V>) -> Option<(Vec<TVal<E::V>>, Loc)> {
        let types = self.declare_inputs(item)?;
        for ((p, ty), v) in item.params.iter().zip(types).zip(args) {
            self.emit.name(&v, &p.name.name);
            self.define(&p.name.name, Val::Tensor(TVal { ty, v }));
        }
        let (results, span) = self.body(&item.body)?;
        let loc = self.loc(span);
        self.results(item, results, span).map(|r| (r, loc))
    }

    // ---- functions ----

    /// Calls function `item` (from source `source`) with evaluated arguments, inlining it.
    fn call_fn(&mut self, item: &'p Item, source: usize, args: Vec<ArgVal<E::V>>, span: Span) -> Val<E::V> {
        let name = &item.name.name;
        if item.kind == ItemKind::Model {
            self.error(span, format!("'{name}' is a model and cannot be called; move what it shares into a fn"));
            return Val::Error;
        }
        if self.frames.iter().any(|f| &f.func == name && f.source == source) {
            self.error(span, format!("'{name}' calls itself: functions are inlined, so recursion is not supported"));
            return Val::Error;
        }
        if self.frames.len() > MAX_CALL_DEPTH {
            self.error(span, format!("calls are nested more than {MAX_CALL_DEPTH} deep"));
            return Val::Error;
        }
        if source == USER && self.broken.contains(name) {
            return Val::Error;
        }
        let key = (!self.emit.lowering()).then(|| cache_key(name, source, &args, self.placeholders()));
        if let Some(v) = key.as_ref().and_then(|k| self.cache.get(k)) {
            return v.clone();
        }
        let caller_loc = self.loc(span);
        let caller = self.frame();
        let mut frame = self.new_frame(name, source);
        frame.placeholders = caller.is_some_and(|f| f.placeholders);
        frame.loc_override = match caller.and_then(|f| f.loc_override.clone()) {
            Some(l) => Some(l),
            None if source == STD => Some(caller_loc.clone()),
            None => None,
        };
        if source == USER {
            frame.call_site = Some(caller_loc);
        }
        self.frames.push(frame);
        let result = self.fn_body(item, args, span);
        self.frames.pop();
        if let Some(k) = key {
            self.cache.insert(k, result.clone());
        }
        result
    }

    fn fn_body(&mut self, item: &Item, args: Vec<ArgVal<E::V>>, span: Span) -> Val<E::V> {
        if self.bind_params(item, args, span).is_none() {
            return Val::Error;
        }
        let Some((results, ret)) = self.body(&item.body) else { return Val::Error };
        match self.results(item, results, ret) {
            Some(mut r) if r.len() == 1 => r.pop().map_or(Val::Error, Val::Tensor),
            Some(r) => Val::Tuple(r.into_iter().map(Val::Tensor).collect()),
            None => Val::Error,
        }
    }

    /// Binds the current frame's parameters to the call's arguments.
    fn bind_params(&mut self, item: &Item, args: Vec<ArgVal<E::V>>, call: Span) -> Option<()> {
        let fname = &item.name.name;
        let n = item.params.len();
        let mut slots: Vec<Option<ArgVal<E::V>>> = (0..n).map(|_| None).collect();
        let mut positional = 0;
        for a in args {
            let i = match &a.key {
                None => {
                    positional += 1;
                    if positional > n {
                        self.caller_error(a.span, format!("'{fname}' takes {n} argument(s), got more"));
                        return None;
                    }
                    positional - 1
                }
                Some(k) => match item.params.iter().position(|p| p.name.name == k.name) {
                    Some(i) => i,
                    None => {
                        let names: Vec<&str> = item.params.iter().map(|p| p.name.name.as_str()).collect();
                        let msg = format!("'{fname}' has no parameter '{}' (it takes {})", k.name, names.join(", "));
                        self.caller_error(k.span, msg);
                        return None;
                    }
                },
            };
            if slots[i].is_some() {
                self.caller_error(a.span, format!("argument '{}' of '{fname}' is given twice", item.params[i].name.name));
                return None;
            }
            slots[i] = Some(a);
        }
        let mut tensors = Vec::new();
        for (p, slot) in item.params.iter().zip(slots) {
            let pname = &p.name.name;
            match &p.ty {
                TypeExpr::Static(kind, _) => {
                    let (val, span, from_caller) = match (slot, &p.default) {
                        (Some(a), _) => (a.val, a.span, true),
                        (None, Some(d)) => (self.expr(d), d.span, false),
                        (None, None) => {
                            self.caller_error(call, format!("'{fname}' needs an argument '{pname}'"));
                            return None;
                        }
                    };
                    let s = match val {
                        Val::Static(s) => s,
                        Val::Error => return None,
                        other => {
                            let msg = format!("'{pname}' of '{fname}' must be {}, got {}", kind_name(*kind), other.describe());
                            self.report(from_caller, span, msg);
                            return None;
                        }
                    };
                    let Some(s) = static_of_kind(*kind, s.clone()) else {
                        let msg = format!("'{pname}' of '{fname}' must be {}, got {}", kind_name(*kind), s.describe());
                        self.report(from_caller, span, msg);
                        return None;
                    };
                    self.define(pname, Val::Static(s));
                }
                TypeExpr::Tensor { dtype, dims, span: ty_span } => {
                    if let Some(d) = &p.default {
                        self.error(d.span, "only compile-time parameters (int, float, bool) have defaults");
                    }
                    let Some(a) = slot else {
                        self.caller_error(call, format!("'{fname}' needs an argument '{pname}'"));
                        return None;
                    };
                    let t = match a.val {
                        Val::Tensor(t) => t,
                        Val::Static(s) if dims.is_empty() => self.scalar(&s, *dtype, a.span)?,
                        Val::Error => return None,
                        other => {
                            let msg = format!("'{pname}' of '{fname}' must be a tensor {}, got {}", self.text(*ty_span), other.describe());
                            self.caller_error(a.span, msg);
                            return None;
                        }
                    };
                    tensors.push((p, *dtype, dims, *ty_span, t, a.span));
                }
                TypeExpr::Error(_) => return None,
            }
        }
        // Plain names bind first, so that `4*H` can use an `H` bound by a later argument.
        for (p, dtype, dims, ty_span, t, span) in &tensors {
            if let Err(msg) = self.bind_dims(*dtype, dims, &t.ty, &p.name.name) {
                let msg = self.signature_mismatch(fname, p, *ty_span, &t.ty, &msg);
                self.caller_error(*span, msg);
                return None;
            }
        }
        for (p, dtype, dims, ty_span, t, span) in tensors {
            match self.check_dims(dtype, dims, &t.ty) {
                Ok(()) => self.define(&p.name.name, Val::Tensor(t)),
                Err(None) => return None,
                Err(Some(msg)) => {
                    let msg = self.signature_mismatch(fname, p, ty_span, &t.ty, &msg);
                    self.caller_error(span, msg);
                    return None;
                }
            }
        }
        Some(())
    }

    fn signature_mismatch(&self, fname: &str, p: &ParamDecl, ty_span: Span, actual: &TensorType, why: &str) -> String {
        format!("argument '{}' of '{fname}' must be {}, got {}: {why}", p.name.name, self.text(ty_span), show(actual))
    }

    /// Maps each dim pattern to the axes of a rank-`rank` tensor: `Some(axis)`
    /// for a size, the run of axes `...` covers otherwise.
    fn align(dims: &[DimExpr], rank: usize) -> Result<(Vec<Option<usize>>, std::ops::Range<usize>), String> {
        let ell = dims.iter().position(|d| matches!(d, DimExpr::Ellipsis(_)));
        if dims.iter().filter(|d| matches!(d, DimExpr::Ellipsis(_))).count() > 1 {
            return Err("a type may hold only one '...'".into());
        }
        let fixed = dims.len() - usize::from(ell.is_some());
        match ell {
            None if rank != fixed => Err(format!("it has rank {rank}, not {fixed}")),
            Some(_) if rank < fixed => Err(format!("it has rank {rank}, fewer than the {fixed} named dims")),
            None => Ok(((0..fixed).map(Some).collect(), 0..0)),
            Some(e) => {
                let k = rank - fixed;
                let map = (0..dims.len()).map(|i| match i.cmp(&e) {
                    std::cmp::Ordering::Less => Some(i),
                    std::cmp::Ordering::Equal => None,
                    std::cmp::Ordering::Greater => Some(i - 1 + k),
                });
                Ok((map.collect(), e..e + k))
            }
        }
    }

    /// Binds the dim names of `dims` not yet in scope (and `...`) to `actual`'s dims.
    fn bind_dims(&mut self, dtype: DType, dims: &[DimExpr], actual: &TensorType, binder: &str) -> Result<(), String> {
        if actual.dtype != dtype {
            return Err(format!("its dtype is {}, not {}", dtype_name(actual.dtype), dtype_name(dtype)));
        }
        let (map, run) = Self::align(dims, actual.rank())?;
        if !run.is_empty() || dims.iter().any(|d| matches!(d, DimExpr::Ellipsis(_))) {
            let middle = actual.dims[run].to_vec();
            let frame = self.frame_mut();
            if frame.ellipsis.is_none() {
                frame.ellipsis = Some(middle);
            }
        }
        for (d, axis) in dims.iter().zip(map) {
            let (DimExpr::Size(e), Some(axis)) = (d, axis) else { continue };
            let Some((n, k)) = scaled_name(e) else { continue };
            if self.lookup(n).is_some() {
                continue;
            }
            let got = &actual.dims[axis];
            let value = match got {
                Dim::Unknown => Dim::Unknown,
                _ => got.div_exact(&Dim::Known(k)).ok_or_else(|| format!("axis {axis} is {got}, not a multiple of {k}"))?,
            };
            self.define(n, Val::Static(Static::from_dim(&value)));
            self.frame_mut().binders.insert(n.clone(), binder.to_string());
        }
        Ok(())
    }

    /// Checks `actual` against `dtype[dims]` with every name bound.
    /// `Err(None)` when evaluating a dim reported its own error.
    fn check_dims(&mut self, dtype: DType, dims: &[DimExpr], actual: &TensorType) -> Result<(), Option<String>> {
        if actual.dtype != dtype {
            return Err(Some(format!("its dtype is {}, not {}", dtype_name(actual.dtype), dtype_name(dtype))));
        }
        let (map, run) = Self::align(dims, actual.rank()).map_err(Some)?;
        if let Some(expected) = self.frame().and_then(|f| f.ellipsis.clone()) {
            if dims.iter().any(|d| matches!(d, DimExpr::Ellipsis(_))) && !dims_agree(&expected, &actual.dims[run.clone()]) {
                let shown = |d: &[Dim]| tessera_ir::infer::show_dims(d);
                return Err(Some(format!("'...' stands for {} here but {} there", shown(&expected), shown(&actual.dims[run]))));
            }
        }
        for (d, axis) in dims.iter().zip(map) {
            let (DimExpr::Size(e), Some(axis)) = (d, axis) else { continue };
            let expected = self.dim_of(e).ok_or(None)?;
            let got = &actual.dims[axis];
            if !dims_agree(std::slice::from_ref(&expected), std::slice::from_ref(got)) {
                let from = match &e.kind {
                    ExprKind::Name(n) if expected.to_string() == *n => String::new(),
                    ExprKind::Name(n) => self
                        .frame()
                        .and_then(|f| f.binders.get(n))
                        .map(|b| format!(" ({n} = {expected} from '{b}')"))
                        .unwrap_or_else(|| format!(" ({n} = {expected})")),
                    _ => String::new(),
                };
                return Err(Some(format!("axis {axis} is {got}, but should be {expected}{from}")));
            }
        }
        Ok(())
    }

    /// Checks the returned values against the declared result types.
    fn results(&mut self, item: &Item, results: Vec<Val<E::V>>, span: Span) -> Option<Vec<TVal<E::V>>> {
        let mut out = Vec::new();
        let mut ok = true;
        for v in results {
            match v {
                Val::Tensor(t) => out.push(t),
                Val::Error => ok = false,
                other => {
                    self.error(span, format!("'{}' must return tensors, got {}", item.name.name, other.describe()));
                    ok = false;
                }
            }
        }
        if !ok {
            return None;
        }
        let Some(declared) = &item.results else { return Some(out) };
        if declared.len() != out.len() {
            let msg = format!("'{}' returns {} value(s) but its signature declares {}", item.name.name, out.len(), declared.len());
            self.error(span, msg);
            return None;
        }
        for (d, t) in declared.iter().zip(&out) {
            match d {
                TypeExpr::Tensor { dtype, dims, span: ty_span } => match self.check_dims(*dtype, dims, &t.ty) {
                    Ok(()) => {}
                    Err(None) => ok = false,
                    Err(Some(why)) => {
                        let msg = format!(
                            "'{}' returns {}, but its signature declares {}: {why}",
                            item.name.name,
                            show(&t.ty),
                            self.text(*ty_span)
                        );
                        self.error(span, msg);
                        ok = false;
                    }
                },
                TypeExpr::Static(_, s) => {
                    self.error(*s, "results are tensors, not compile-time values");
                    ok = false;
                }
                TypeExpr::Error(_) => ok = false,
            }
        }
        ok.then_some(out)
    }

    /// Walks a function body, which ends with `return`; gives the returned values.
    fn body(&mut self, block: &Block) -> Option<(Vec<Val<E::V>>, Span)> {
        for (i, s) in block.stmts.iter().enumerate() {
            if let Stmt::Return { values, span } = s {
                if let Some(next) = block.stmts.get(i + 1) {
                    self.error(stmt_span(next), "this comes after the return and never runs");
                }
                let vals = values.iter().map(|e| self.expr(e)).collect();
                return Some((vals, *span));
            }
            self.stmt(s);
        }
        let name = self.frame().map(|f| f.func.clone()).unwrap_or_default();
        self.error(Span { start: block.span.end.saturating_sub(1), end: block.span.end }, format!("'{name}' must end with a return"));
        None
    }

    // ---- statements ----

    fn stmt(&mut self, s: &Stmt) {
        match s {
            Stmt::Let { names, tuple, ty, value } => self.let_stmt(names, *tuple, ty.as_ref(), value),
            Stmt::Param { name, ty, init } => self.param_stmt(name, ty, init),
            Stmt::Assign { name, value } => {
                let v = self.expr(value);
                self.assign(name, v);
            }
            Stmt::For { var, lo, hi, body, span } => self.for_stmt(var, lo, hi, body, *span),
            Stmt::Return { span, .. } => self.error(*span, "return may only end a function body"),
            Stmt::Expr(e) => {
                self.expr(e);
            }
        }
    }

    fn let_stmt(&mut self, names: &[Ident], tuple: bool, ty: Option<&TypeExpr>, value: &Expr) {
        let v = self.expr(value);
        let values = match (tuple, v) {
            (_, Val::Error) => vec![Val::Error; names.len()],
            (true, Val::Tuple(items)) if items.len() == names.len() => items,
            (true, other) => {
                let n = if let Val::Tuple(items) = &other { items.len() } else { 1 };
                self.error(value.span, format!("{} name(s) cannot take {n} value(s)", names.len()));
                vec![Val::Error; names.len()]
            }
            (false, v) => vec![v],
        };
        if let (Some(ty), [Val::Tensor(t)]) = (ty, values.as_slice()) {
            self.annotation(ty, &t.ty.clone());
        }
        for (n, v) in names.iter().zip(values) {
            if let Val::Tensor(t) = &v {
                let h = t.v.clone();
                self.emit.name(&h, &n.name);
            }
            self.define(&n.name, v);
        }
    }

    /// Checks a value's type against a `let` annotation (new dim names bind).
    fn annotation(&mut self, ty: &TypeExpr, actual: &TensorType) {
        let TypeExpr::Tensor { dtype, dims, span } = ty else {
            if let TypeExpr::Static(_, span) = ty {
                self.error(*span, format!("the value is a tensor {}", show(actual)));
            }
            return;
        };
        let outcome = match self.bind_dims(*dtype, dims, actual, "the annotation") {
            Err(m) => Err(Some(m)),
            Ok(()) => self.check_dims(*dtype, dims, actual),
        };
        if let Err(Some(why)) = outcome {
            let msg = format!("the value is {}, not {}: {why}", show(actual), self.text(*span));
            self.error(*span, msg);
        }
    }

    fn assign(&mut self, name: &Ident, v: Val<E::V>) {
        match self.assignable(&name.name) {
            Ok(i) => {
                if let Val::Tensor(t) = &v {
                    let h = t.v.clone();
                    self.emit.name(&h, &name.name);
                }
                self.frame_mut().scopes[i].vars.insert(name.name.clone(), v);
            }
            Err(true) => self.error(
                name.span,
                format!(
                    "cannot assign to '{}' here: it is defined outside this if branch; bind the if's value instead (x = if c {{ a }} else {{ b }})",
                    name.name
                ),
            ),
            Err(false) => {
                self.error(name.span, format!("'{}' is not defined; write `let {} = ...`", name.name, name.name))
            }
        }
    }

    fn param_stmt(&mut self, name: &Ident, ty: &TypeExpr, init: &Expr) {
        let v = self.param_value(name, ty, init).map_or(Val::Error, Val::Tensor);
        self.define(&name.name, v);
    }

    /// Declares a model parameter and reads it.
    fn param_value(&mut self, name: &Ident, ty: &TypeExpr, init: &Expr) -> Option<TVal<E::V>> {
        let model = match self.frame() {
            Some(Frame { model: Some(m), scopes, .. }) if scopes.len() == 1 => m.clone(),
            Some(Frame { model: Some(_), .. }) => {
                self.error(name.span, "parameters are declared at the top of a model's body, not in a loop or branch");
                return None;
            }
            _ => {
                self.error(name.span, "only models declare parameters; pass weights to a fn as arguments");
                return None;
            }
        };
        let full = format!("{model}.{}", name.name);
        if self.params.iter().any(|p| p.name == full) {
            self.error(name.span, format!("parameter '{}' is declared twice", name.name));
            return None;
        }
        let ty = self.param_type(ty)?;
        let init = self.initialiser(init, &ty)?;
        let loc = self.loc(name.span);
        let value = if self.emit.lowering() {
            match init.values(&ty, &full) {
                Ok(v) => Some(v),
                Err(e) => {
                    self.error(name.span, e);
                    return None;
                }
            }
        } else {
            None
        };
        self.params.push(Param { name: full.clone(), ty: ty.clone(), init: value, loc: loc.clone() });
        let t = self.emit.param(&full, &ty, &loc);
        self.emit.name(&t.v.clone(), &name.name);
        Some(t)
    }

    /// A parameter's type: every dim a number known now.
    fn param_type(&mut self, ty: &TypeExpr) -> Option<TensorType> {
        let TypeExpr::Tensor { dtype, dims, .. } = ty else {
            if let TypeExpr::Static(_, span) = ty {
                self.error(*span, "a parameter is a tensor, such as f32[256, 10]");
            }
            return None;
        };
        let mut out = Vec::new();
        for d in dims {
            match d {
                DimExpr::Ellipsis(span) => {
                    self.error(*span, "a parameter's type has a fixed rank: '...' is for function signatures");
                    return None;
                }
                DimExpr::Size(e) => match self.dim_of(e)? {
                    Dim::Known(n) => out.push(Dim::Known(n)),
                    other => {
                        self.error(e.span, format!("a parameter's dims must be known while compiling, got {other}"));
                        return None;
                    }
                },
            }
        }
        Some(TensorType::new(out, *dtype))
    }

    fn initialiser(&mut self, init: &Expr, ty: &TensorType) -> Option<Init> {
        let ExprKind::Call(callee, args) = &init.kind else {
            self.error(init.span, "a parameter is initialised by a call: zeros(), ones(), full(v), uniform(lo, hi, seed=), normal(mean, std, seed=), glorot(seed=) or he(seed=)");
            return None;
        };
        let mut positional = Vec::new();
        let mut keywords = Vec::new();
        for a in args {
            let v = match self.expr(&a.value) {
                Val::Static(s) => s,
                Val::Error => return None,
                other => {
                    self.error(a.value.span, format!("initialiser arguments are compile-time numbers, got {}", other.describe()));
                    return None;
                }
            };
            match &a.name {
                Some(k) => keywords.push((k.name.clone(), v)),
                None => positional.push(v),
            }
        }
        match Init::new(&callee.name, &positional, &keywords, ty) {
            Ok(init) => Some(init),
            Err(e) => {
                self.error(init.span, e);
                None
            }
        }
    }

    fn for_stmt(&mut self, var: &Ident, lo: &Expr, hi: &Expr, body: &Block, span: Span) {
        let (Some(lo_v), Some(hi_v)) = (self.loop_bound(lo), self.loop_bound(hi)) else { return };
        let trips = match (lo_v, hi_v) {
            (Some(a), Some(b)) if b < a => {
                self.error(span, format!("the range {a}..{b} runs backwards"));
                return;
            }
            (Some(a), Some(b)) => match b.checked_sub(a) {
                Some(n) => n,
                None => {
                    self.error(span, format!("the range {a}..{b} is too long"));
                    return;
                }
            },
            _ => 0,
        };
        // Variables the body assigns and that exist outside it are carried.
        let mut assigned = Vec::new();
        assigned_names(&body.stmts, &mut assigned);
        let mut carried: Vec<(String, usize, TVal<E::V>)> = Vec::new();
        for n in assigned {
            let Ok(scope) = self.assignable(&n) else { continue };
            match self.frame().and_then(|f| f.scopes[scope].vars.get(&n)) {
                Some(Val::Tensor(t)) => carried.push((n, scope, t.clone())),
                Some(Val::Static(s)) => {
                    let msg = format!("'{n}' is {} and cannot change inside a loop; only tensors can", s.describe());
                    self.error(span, msg);
                    return;
                }
                _ => return,
            }
        }
        let loc = self.loc(span);
        let Some(trip_count) = self.scalar(&Static::Int(trips), DType::I64, span) else { return };
        let Some(cond) = self.scalar(&Static::Bool(true), DType::I1, span) else { return };
        let mut arg_types = vec![TensorType::scalar(DType::I64), TensorType::scalar(DType::I1)];
        arg_types.extend(carried.iter().map(|(_, _, t)| t.ty.clone()));
        let (region, args) = self.emit.enter_region(&arg_types);
        self.push_scope(true);
        let mut args = args.into_iter();
        let (Some(counter), Some(cond_arg)) = (args.next(), args.next()) else { return };
        for ((n, _, _), a) in carried.iter().zip(args) {
            self.emit.name(&a.v, n);
            self.define(n, Val::Tensor(a));
        }
        self.emit.name(&counter.v, &var.name);
        let counter = match lo_v {
            Some(0) => Val::Tensor(counter),
            _ => {
                let lo_s = lo_v.map_or(Static::Unknown, Static::Int);
                self.binary_values(BinOp::Add, Val::Tensor(counter), Val::Static(lo_s), var.span)
            }
        };
        self.define(&var.name, counter);
        self.push_scope(false);
        for s in &body.stmts {
            self.stmt(s);
        }
        self.pop_scope();
        let scope = self.pop_scope();
        let mut finals = Vec::new();
        let mut ok = true;
        for (n, _, init) in &carried {
            match scope.as_ref().and_then(|s| s.vars.get(n)) {
                Some(Val::Tensor(t)) if t.ty == init.ty => finals.push(t.clone()),
                Some(Val::Tensor(t)) => {
                    let msg = format!(
                        "'{n}' is {} before the loop but {} after an iteration; a value carried by a loop keeps its type",
                        show(&init.ty),
                        show(&t.ty)
                    );
                    self.error(span, msg);
                    ok = false;
                }
                Some(Val::Error) => ok = false,
                _ => {
                    self.error(span, format!("'{n}' must stay a tensor through the loop"));
                    ok = false;
                }
            }
        }
        let mut yields = vec![&cond_arg];
        yields.extend(finals.iter());
        if let Err(e) = self.emit.leave_region(&region, &yields, &loc) {
            self.error(span, e);
            ok = false;
        }
        if !ok {
            return;
        }
        let inits: Vec<&TVal<E::V>> = carried.iter().map(|(_, _, t)| t).collect();
        match self.emit.loop_op(&trip_count, &cond, &inits, region, &loc) {
            Ok(results) => {
                for ((n, scope, _), r) in carried.iter().zip(results) {
                    let h = r.v.clone();
                    self.emit.name(&h, n);
                    self.frame_mut().scopes[*scope].vars.insert(n.clone(), Val::Tensor(r));
                }
            }
            Err(e) => self.error(span, e),
        }
    }

    /// A loop bound: `Some(Some(n))`, or `Some(None)` for a value not known yet.
    fn loop_bound(&mut self, e: &Expr) -> Option<Option<i64>> {
        match self.expr(e) {
            Val::Static(Static::Int(n)) => Some(Some(n)),
            Val::Static(Static::Unknown) => Some(None),
            Val::Static(Static::Size(_)) if self.placeholders() => Some(None),
            Val::Error => None,
            other => {
                self.error(e.span, format!("a loop bound is an integer known while compiling, got {}", other.describe()));
                None
            }
        }
    }

    // ---- expressions ----

    /// Evaluates an expression.
    pub fn expr(&mut self, e: &Expr) -> Val<E::V> {
        match &e.kind {
            ExprKind::Int(v) => Val::Static(Static::Int(*v)),
            ExprKind::Float(v) => Val::Static(Static::Float(*v)),
            ExprKind::Bool(v) => Val::Static(Static::Bool(*v)),
            ExprKind::Str(s) => Val::Static(Static::Str(s.clone())),
            ExprKind::Name(n) => self.name(n, e.span),
            ExprKind::List(items) => {
                let vals: Vec<Val<E::V>> = items.iter().map(|i| self.expr(i)).collect();
                if vals.iter().any(|v| matches!(v, Val::Error)) {
                    return Val::Error;
                }
                if vals.iter().all(|v| matches!(v, Val::Static(_))) {
                    let statics = vals.into_iter().filter_map(|v| if let Val::Static(s) = v { Some(s) } else { None });
                    return Val::Static(Static::List(statics.collect()));
                }
                Val::Tuple(vals)
            }
            ExprKind::Unary(op, x) => {
                let v = self.expr(x);
                self.unary(*op, v, e.span)
            }
            ExprKind::Binary(op, a, b) => {
                let (va, vb) = (self.expr(a), self.expr(b));
                self.binary_values(*op, va, vb, e.span)
            }
            ExprKind::Call(callee, args) => self.call(callee, args, e.span),
            ExprKind::Index(x, items) => {
                let v = self.expr(x);
                self.index(v, items, e.span)
            }
            ExprKind::Field(x, field) => {
                let v = self.expr(x);
                self.field(v, field)
            }
            ExprKind::If(cond, then, els) => self.if_expr(cond, then, els, e.span),
            ExprKind::Error => Val::Error,
        }
    }

    fn name(&mut self, n: &str, span: Span) -> Val<E::V> {
        if let Some(v) = self.lookup(n) {
            return v.clone();
        }
        if let Some(d) = dtype_named(n) {
            return Val::Static(Static::DType(d));
        }
        let source = self.frame().map_or(USER, |f| f.source);
        if self.funcs.lookup(n, source).is_some() || builtins::is_builtin(n) {
            self.error(span, format!("'{n}' is a function: call it, as in {n}(x)"));
        } else {
            self.error(span, format!("unknown name '{n}'"));
        }
        Val::Error
    }

    fn field(&mut self, v: Val<E::V>, field: &Ident) -> Val<E::V> {
        match (&v, field.name.as_str()) {
            (Val::Error, _) => Val::Error,
            (Val::Tensor(t), "shape") => Val::Static(Static::List(t.ty.dims.iter().map(Static::from_dim).collect())),
            (Val::Tensor(t), "rank") => Val::Static(Static::Int(t.ty.rank() as i64)),
            (Val::Tensor(t), "dtype") => Val::Static(Static::DType(t.ty.dtype)),
            (Val::Static(Static::List(items)), "len") => Val::Static(Static::Int(items.len() as i64)),
            _ => {
                self.error(field.span, format!("{} has no field '{}' (tensors have shape, rank and dtype)", v.describe(), field.name));
                Val::Error
            }
        }
    }

    fn unary(&mut self, op: UnOp, v: Val<E::V>, span: Span) -> Val<E::V> {
        match (op, v) {
            (_, Val::Error) => Val::Error,
            (UnOp::Neg, Val::Static(s)) => match fold(BinOp::Sub, &Static::Int(0), &s) {
                Ok(r) => Val::Static(r),
                Err(_) => {
                    self.error(span, format!("cannot negate {}", s.describe()));
                    Val::Error
                }
            },
            (UnOp::Not, Val::Static(Static::Bool(b))) => Val::Static(Static::Bool(!b)),
            (UnOp::Not, Val::Static(Static::Unknown)) => Val::Static(Static::Unknown),
            (UnOp::Neg, Val::Tensor(t)) => self.prim(&tessera_ir::dialect::graph::elementwise::NEG, &[&t], Attrs::new(), span),
            (UnOp::Not, Val::Tensor(t)) if t.ty.dtype == DType::I1 => {
                self.prim(&tessera_ir::dialect::graph::elementwise::NOT, &[&t], Attrs::new(), span)
            }
            (UnOp::Not, other) => {
                self.error(span, format!("'not' needs a bool, got {}", other.describe()));
                Val::Error
            }
            (UnOp::Neg, other) => {
                self.error(span, format!("cannot negate {}", other.describe()));
                Val::Error
            }
        }
    }

    fn call(&mut self, callee: &Ident, args: &[Arg], span: Span) -> Val<E::V> {
        let vals: Vec<ArgVal<E::V>> =
            args.iter().map(|a| ArgVal { key: a.name.clone(), val: self.expr(&a.value), span: a.value.span }).collect();
        if vals.iter().any(|a| matches!(a.val, Val::Error)) {
            return Val::Error;
        }
        let source = self.frame().map_or(USER, |f| f.source);
        if let Some((item, src)) = self.funcs.lookup(&callee.name, source) {
            return self.call_fn(item, src, vals, span);
        }
        if let Some(v) = builtins::call(self, &callee.name, vals, span) {
            return v;
        }
        if self.funcs.is_broken(&callee.name) {
            return Val::Error;
        }
        if Init::is_initialiser(&callee.name) {
            self.error(span, format!("'{}' initialises a parameter: write `param w: f32[...] = {}(...)`", callee.name, callee.name));
        } else {
            self.error(callee.span, format!("unknown function '{}'", callee.name));
        }
        Val::Error
    }

    fn if_expr(&mut self, cond: &Expr, then: &Block, els: &Else, span: Span) -> Val<E::V> {
        let c = self.expr(cond);
        match c {
            Val::Error => Val::Error,
            Val::Static(Static::Bool(b)) => {
                if self.emit.lowering() {
                    return if b { self.block_value(then) } else { self.else_value(els) };
                }
                let (t, e) = (self.block_value(then), self.else_value(els));
                if b {
                    t
                } else {
                    e
                }
            }
            Val::Static(Static::Unknown) => {
                let t = self.block_value(then);
                self.else_value(els);
                t
            }
            Val::Tensor(ct) if ct.ty.dtype == DType::I1 && ct.ty.rank() == 0 => {
                let loc = self.loc(span);
                let (r1, _) = self.emit.enter_region(&[]);
                let a = self.branch_tensor(|cx| cx.block_value(then), then.span);
                let ya = a.as_ref().map(|t| vec![t]).unwrap_or_default();
                let left_a = self.emit.leave_region(&r1, &ya, &loc);
                let (r2, _) = self.emit.enter_region(&[]);
                let else_span = match els {
                    Else::Block(b) => b.span,
                    Else::If(e) => e.span,
                };
                let b = self.branch_tensor(|cx| cx.else_value(els), else_span);
                let yb = b.as_ref().map(|t| vec![t]).unwrap_or_default();
                let left_b = self.emit.leave_region(&r2, &yb, &loc);
                let (Some(a), Some(b)) = (a, b) else { return Val::Error };
                if let Err(e) = left_a.and(left_b) {
                    self.error(span, e);
                    return Val::Error;
                }
                if a.ty != b.ty {
                    let msg = format!("the branches of this if give {} and {}; both must have one type", show(&a.ty), show(&b.ty));
                    self.error(span, msg);
                    return Val::Error;
                }
                match self.emit.if_op(&ct, [r1, r2], &a.ty, &loc) {
                    Ok(t) => Val::Tensor(t),
                    Err(e) => {
                        self.error(span, e);
                        Val::Error
                    }
                }
            }
            other => {
                let msg = format!(
                    "an if's condition is a bool known while compiling or a bool[] tensor, got {}; for elementwise choice use where(cond, a, b)",
                    other.describe()
                );
                self.error(cond.span, msg);
                Val::Error
            }
        }
    }

    /// The tensor a branch of a runtime `if` gives (a compile-time value
    /// is an error: its dtype would be a guess).
    fn branch_tensor(&mut self, f: impl FnOnce(&mut Self) -> Val<E::V>, span: Span) -> Option<TVal<E::V>> {
        match f(self) {
            Val::Tensor(t) => Some(t),
            Val::Error => None,
            other => {
                self.error(span, format!("a branch of an if on a tensor must give a tensor, got {}", other.describe()));
                None
            }
        }
    }

    fn else_value(&mut self, els: &Else) -> Val<E::V> {
        match els {
            Else::Block(b) => self.block_value(b),
            Else::If(e) => {
                self.push_scope(true);
                let v = self.expr(e);
                self.pop_scope();
                v
            }
        }
    }

    /// The value of a branch: its statements in a scope of their own, then its last expression.
    fn block_value(&mut self, b: &Block) -> Val<E::V> {
        self.push_scope(true);
        let value = match b.stmts.split_last() {
            Some((Stmt::Expr(last), rest)) => {
                for s in rest {
                    self.stmt(s);
                }
                self.expr(last)
            }
            _ => {
                for s in &b.stmts {
                    self.stmt(s);
                }
                self.error(Span { start: b.span.end.saturating_sub(1), end: b.span.end }, "this branch has no value: end it with an expression");
                Val::Error
            }
        };
        self.pop_scope();
        value
    }

    // ---- helpers the operations share ----

    /// Emits a graph op with one result, reporting a failure at `span`.
    pub fn prim(&mut self, def: OpRef, operands: &[&TVal<E::V>], attrs: Attrs, span: Span) -> Val<E::V> {
        match self.prim_all(def, operands, attrs, span) {
            Some(mut r) if r.len() == 1 => r.pop().map_or(Val::Error, Val::Tensor),
            _ => Val::Error,
        }
    }

    /// Emits a graph op, reporting a failure at `span`.
    pub fn prim_all(&mut self, def: OpRef, operands: &[&TVal<E::V>], attrs: Attrs, span: Span) -> Option<Vec<TVal<E::V>>> {
        let loc = self.loc(span);
        match self.emit.op(def, operands, attrs, &loc) {
            Ok(r) => Some(r),
            Err(e) => {
                let what = def.name().trim_start_matches("tg.");
                self.error(span, format!("{what}: {}", ir_types_to_tsr(&e)));
                None
            }
        }
    }

    /// A rank-0 constant of `dtype` holding a compile-time number.
    pub fn scalar(&mut self, s: &Static, dtype: DType, span: Span) -> Option<TVal<E::V>> {
        if let Static::Size(e) = s {
            self.error(span, format!("the size {e} is known only when the model runs and cannot be used as a number here"));
            return None;
        }
        let value = s.scalar(dtype).and_then(|v| DenseAttr::splat(TensorType::scalar(dtype), v));
        let loc = self.loc(span);
        match value.and_then(|v| self.emit.constant(v, &loc)) {
            Ok(t) => Some(t),
            Err(e) => {
                self.error(span, e);
                None
            }
        }
    }

    /// The dim an expression in a type (or a shape list) stands for.
    pub fn dim_of(&mut self, e: &Expr) -> Option<Dim> {
        match self.expr(e) {
            Val::Static(s) => match s.to_dim() {
                Ok(d) => Some(d),
                Err(msg) => {
                    self.error(e.span, msg);
                    None
                }
            },
            Val::Error => None,
            other => {
                self.error(e.span, format!("a size must be an integer known while compiling, got {}", other.describe()));
                None
            }
        }
    }

    /// An integer needed while compiling (an axis, a slice bound): `Ok(None)` for a value not known yet.
    pub fn int_of(&mut self, s: &Static, what: &str) -> Result<Option<i64>, String> {
        match s {
            Static::Int(v) => Ok(Some(*v)),
            Static::Unknown => Ok(None),
            Static::Size(_) if self.placeholders() => Ok(None),
            Static::Size(e) => Err(format!("{what} must be an integer known while compiling, got the size {e}")),
            other => Err(format!("{what} must be an integer, got {}", other.describe())),
        }
    }
}

impl<'p> Checker<'p, TypeEmit> {
    /// Checks every item of the user's program: first each function that
    /// can be checked on its own (no `...` in its signature; one with
    /// errors then reports nothing more where it is called), then each model.
    pub fn check_program(&mut self, program: &'p Program) {
        for item in program.items.iter().filter(|i| i.kind == ItemKind::Fn) {
            let before = self.diags.len();
            self.check_fn(item);
            if self.diags.len() > before {
                self.broken.insert(item.name.name.clone());
            }
        }
        for item in program.items.iter().filter(|i| i.kind == ItemKind::Model) {
            if let Some(types) = self.model_inputs(item) {
                self.run_model(item, vec![(); types.len()]);
            }
        }
    }

    /// Checks a function on its own: dim names are symbols, compile-time parameters unknown.
    fn check_fn(&mut self, item: &Item) {
        let variadic = item.params.iter().any(|p| matches!(&p.ty, TypeExpr::Tensor { dims, .. } if dims.iter().any(|d| matches!(d, DimExpr::Ellipsis(_)))));
        if variadic {
            return;
        }
        let mut frame = self.new_frame(&item.name.name, USER);
        frame.placeholders = true;
        self.frames.push(frame);
        let mut ok = true;
        for p in &item.params {
            match &p.ty {
                TypeExpr::Static(kind, _) => {
                    if let Some(d) = &p.default {
                        match self.expr(d) {
                            Val::Static(s) if static_of_kind(*kind, s.clone()).is_some() => {}
                            Val::Error => {}
                            other => self.error(d.span, format!("the default of '{}' must be {}, got {}", p.name.name, kind_name(*kind), other.describe())),
                        }
                    }
                    self.define(&p.name.name, Val::Static(Static::Unknown));
                }
                TypeExpr::Tensor { dtype, dims, .. } => {
                    if let Some(d) = &p.default {
                        self.error(d.span, "only compile-time parameters (int, float, bool) have defaults");
                    }
                    match self.declare_dims(*dtype, dims) {
                        Some(ty) => self.define(&p.name.name, Val::Tensor(TVal { ty, v: () })),
                        None => ok = false,
                    }
                }
                TypeExpr::Error(_) => ok = false,
            }
        }
        if ok {
            if let Some((results, span)) = self.body(&item.body) {
                self.results(item, results, span);
            }
        }
        self.frames.pop();
    }
}

/// The name of a compile-time kind, with an article.
fn kind_name(k: StaticKind) -> &'static str {
    match k {
        StaticKind::Int => "an int",
        StaticKind::Float => "a float",
        StaticKind::Bool => "a bool",
    }
}

/// `s` as a value of kind `k` (integers convert to floats), if it is one.
fn static_of_kind(k: StaticKind, s: Static) -> Option<Static> {
    match (k, s) {
        (_, Static::Unknown) => Some(Static::Unknown),
        (StaticKind::Int, s @ (Static::Int(_) | Static::Size(_))) => Some(s),
        (StaticKind::Float, Static::Int(v)) => Some(Static::Float(v as f64)),
        (StaticKind::Float, s @ Static::Float(_)) => Some(s),
        (StaticKind::Bool, s @ Static::Bool(_)) => Some(s),
        _ => None,
    }
}

/// The name a dim pattern binds and the factor it is scaled by: `N` is
/// `(N, 1)`, `4 * H` and `H * 4` are `(H, 4)`.
fn scaled_name(e: &Expr) -> Option<(&String, u64)> {
    let factor = |x: &Expr| match x.kind {
        ExprKind::Int(k) if k > 0 => Some(k as u64),
        _ => None,
    };
    match &e.kind {
        ExprKind::Name(n) => Some((n, 1)),
        ExprKind::Binary(BinOp::Mul, a, b) => match (&a.kind, &b.kind) {
            (ExprKind::Name(n), _) => Some((n, factor(b)?)),
            (_, ExprKind::Name(n)) => Some((n, factor(a)?)),
            _ => None,
        },
        _ => None,
    }
}

/// Whether two dim lists may be the same sizes (`?` agrees with anything).
fn dims_agree(a: &[Dim], b: &[Dim]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x == y || matches!(x, Dim::Unknown) || matches!(y, Dim::Unknown))
}

/// The key of one instantiation of a function: its name and its arguments' types and values.
fn cache_key<V>(name: &str, source: usize, args: &[ArgVal<V>], placeholders: bool) -> String {
    let mut key = format!("{source}:{name}:{placeholders}");
    for a in args {
        let k = a.key.as_ref().map_or("", |k| k.name.as_str());
        let v = match &a.val {
            Val::Tensor(t) => show(&t.ty),
            Val::Static(s) => format!("{s:?}"),
            other => other.describe(),
        };
        key.push_str(&format!("|{k}={v}"));
    }
    key
}

/// Every name a statement list assigns with `=`, nested loops included
/// (not `if` branches: they cannot assign outward).
fn assigned_names(stmts: &[Stmt], out: &mut Vec<String>) {
    for s in stmts {
        match s {
            Stmt::Assign { name, .. } if !out.contains(&name.name) => out.push(name.name.clone()),
            Stmt::For { body, .. } => assigned_names(&body.stmts, out),
            _ => {}
        }
    }
}

/// Where a statement starts.
fn stmt_span(s: &Stmt) -> Span {
    match s {
        Stmt::Let { names, .. } => names.first().map_or_else(Span::default, |n| n.span),
        Stmt::Param { name, .. } | Stmt::Assign { name, .. } => name.span,
        Stmt::For { span, .. } | Stmt::Return { span, .. } => *span,
        Stmt::Expr(e) => e.span,
    }
}

/// Rewrites `tensor<N x 4 x f32>` in an IR message as `f32[N, 4]`.
fn ir_types_to_tsr(msg: &str) -> String {
    let mut out = String::new();
    let mut rest = msg;
    while let Some(at) = rest.find("tensor<") {
        out.push_str(&rest[..at]);
        let after = &rest[at + "tensor<".len()..];
        let Some(close) = after.find('>') else {
            out.push_str(&rest[at..]);
            return out;
        };
        let body = &after[..close];
        let sep = if body.contains(" x ") { " x " } else { "x" };
        let parts: Vec<&str> = body.split(sep).collect();
        match parts.split_last().and_then(|(d, dims)| DType::from_name(d.trim()).map(|d| (d, dims))) {
            Some((d, dims)) => out.push_str(&format!("{}[{}]", dtype_name(d), dims.join(", "))),
            None => out.push_str(&rest[at..at + "tensor<".len() + close + 1]),
        }
        rest = &after[close + 1..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::ir_types_to_tsr;

    #[test]
    fn ir_types_in_messages_read_as_tsr_types() {
        assert_eq!(ir_types_to_tsr("cannot reshape tensor<N x 4 x f32> to tensor<2xi1>"), "cannot reshape f32[N, 4] to bool[2]");
        assert_eq!(ir_types_to_tsr("rank-0 tensor<f32> and tensor<"), "rank-0 f32[] and tensor<");
    }
}
