//! The pass manager: the [`Pass`] trait, the registry of every pass, pipelines
//! parsed from strings (`canonicalize,cse,specialize{N=8}`), and the
//! [`PassManager`] that runs them with verification, IR printing and
//! bisection.

use crate::canonicalize::CANONICALIZE;
use crate::cse::CSE;
use crate::dce::DCE;
use crate::lower::LOWER_TO_KERNEL;
use crate::plan_memory::PLAN_MEMORY;
use crate::shape_infer::{SHAPE_INFER, SPECIALIZE};
use std::cell::RefCell;
use std::fmt;
use std::io::Write;
use std::str::FromStr;
use tessera_ir::print::print_module;
use tessera_ir::verify::{verify, VerifiedModule};
use tessera_ir::{Diag, Diags, Loc, Module};

/// An IR→IR transformation of a whole module. Passes keep no state between
/// runs: the registry holds one shared instance of each.
pub trait Pass: Send + Sync {
    /// The name a pipeline spells it by (`cse`).
    fn name(&self) -> &'static str;

    /// One line saying what it does.
    fn summary(&self) -> &'static str;

    /// Transforms `module` in place; returns whether anything changed.
    fn run(&self, module: &mut Module) -> Result<bool, Diags>;

    /// The options it understands, as `(key, meaning)` pairs; empty for a
    /// pass that takes none.
    fn options(&self) -> &'static [(&'static str, &'static str)] {
        &[]
    }

    /// A new instance configured by `options` (a pipeline's
    /// `name{key=value,...}`). Passes without options keep this default,
    /// which refuses any.
    fn configure(&self, options: &PassOptions) -> Result<Box<dyn Pass>, String> {
        let given: Vec<&str> = options.iter().map(|(k, _)| k).collect();
        Err(format!("pass '{}' takes no options, got {}", self.name(), given.join(", ")))
    }
}

/// Every registered pass, by name.
static REGISTRY: &[&dyn Pass] = &[&CANONICALIZE, &CSE, &DCE, &LOWER_TO_KERNEL, &PLAN_MEMORY, &SHAPE_INFER, &SPECIALIZE];

/// Every registered pass, sorted by name.
pub fn registered() -> &'static [&'static dyn Pass] {
    REGISTRY
}

/// The registered pass called `name`.
pub fn lookup(name: &str) -> Option<&'static dyn Pass> {
    REGISTRY.iter().copied().find(|p| p.name() == name)
}

/// The names of every registered pass, comma separated, for error messages.
fn known_passes() -> String {
    REGISTRY.iter().map(|p| p.name()).collect::<Vec<_>>().join(", ")
}

/// The options of one pipeline item: `specialize{N=8, M=16}` holds
/// `[("N", "8"), ("M", "16")]`, in the order given; keys are unique.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PassOptions(Vec<(String, String)>);

impl PassOptions {
    /// No options.
    pub fn new() -> PassOptions {
        PassOptions::default()
    }

    /// Adds `key = value`; fails when `key` is already set.
    pub fn insert(&mut self, key: &str, value: &str) -> Result<(), String> {
        if self.get(key).is_some() {
            return Err(format!("option '{key}' is given twice"));
        }
        self.0.push((key.to_string(), value.to_string()));
        Ok(())
    }

    /// The value of `key`.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }

    /// Every `(key, value)` in the order given.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// True when there are none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Display for PassOptions {
    /// `{N=8,M=16}`, or nothing when empty.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            return Ok(());
        }
        let items: Vec<String> = self.0.iter().map(|(k, v)| format!("{k}={v}")).collect();
        write!(f, "{{{}}}", items.join(","))
    }
}

/// One item of a pipeline: a registered pass, or one configured with options.
enum Step {
    Registered(&'static dyn Pass),
    Configured { pass: Box<dyn Pass>, options: PassOptions },
}

impl Step {
    fn pass(&self) -> &dyn Pass {
        match self {
            Step::Registered(p) => *p,
            Step::Configured { pass, .. } => pass.as_ref(),
        }
    }
}

impl fmt::Display for Step {
    /// The spelling that parses back to this step: `cse`, `specialize{N=8}`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Step::Registered(p) => f.write_str(p.name()),
            Step::Configured { pass, options } => write!(f, "{}{options}", pass.name()),
        }
    }
}

/// An ordered list of passes, parsed from `"canonicalize, cse,dce"`
/// (whitespace around names and options is ignored; the empty string is
/// the empty pipeline). Displays back in canonical form.
#[derive(Default)]
pub struct Pipeline {
    steps: Vec<Step>,
}

impl Pipeline {
    /// The empty pipeline.
    pub fn new() -> Pipeline {
        Pipeline::default()
    }

    /// Parses a pipeline string; unknown pass names and malformed options
    /// are errors that say what was expected.
    pub fn parse(text: &str) -> Result<Pipeline, Diag> {
        let mut pipeline = Pipeline::new();
        for item in split_top_level(text).map_err(pipeline_error)? {
            let item = item.trim();
            if item.is_empty() {
                if text.trim().is_empty() {
                    continue;
                }
                return Err(pipeline_error(format!("empty item in pipeline '{text}'")));
            }
            pipeline.steps.push(parse_step(item).map_err(pipeline_error)?);
        }
        Ok(pipeline)
    }

    /// Appends a registered pass.
    pub fn push(&mut self, pass: &'static dyn Pass) {
        self.steps.push(Step::Registered(pass));
    }

    /// Number of passes.
    pub fn len(&self) -> usize {
        self.steps.len()
    }

    /// True for the empty pipeline.
    pub fn is_empty(&self) -> bool {
        self.steps.is_empty()
    }

    /// The passes in order.
    pub fn passes(&self) -> impl Iterator<Item = &dyn Pass> {
        self.steps.iter().map(Step::pass)
    }
}

impl fmt::Display for Pipeline {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let items: Vec<String> = self.steps.iter().map(Step::to_string).collect();
        f.write_str(&items.join(","))
    }
}

impl fmt::Debug for Pipeline {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Pipeline({self})")
    }
}

impl FromStr for Pipeline {
    type Err = Diag;
    fn from_str(text: &str) -> Result<Pipeline, Diag> {
        Pipeline::parse(text)
    }
}

fn pipeline_error(message: String) -> Diag {
    Diag::error(Loc::Unknown, message)
}

/// Splits at commas outside `{...}`.
fn split_top_level(text: &str) -> Result<Vec<&str>, String> {
    let mut items = Vec::new();
    let (mut depth, mut start) = (0usize, 0usize);
    for (i, c) in text.char_indices() {
        match c {
            '{' if depth == 0 => depth = 1,
            '{' => return Err(format!("nested '{{' in pipeline '{text}'")),
            '}' if depth == 1 => depth = 0,
            '}' => return Err(format!("unmatched '}}' in pipeline '{text}'")),
            ',' if depth == 0 => {
                items.push(&text[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    if depth != 0 {
        return Err(format!("unclosed '{{' in pipeline '{text}'"));
    }
    items.push(&text[start..]);
    Ok(items)
}

/// Parses `name` or `name{key=value,...}`.
fn parse_step(item: &str) -> Result<Step, String> {
    let (name, options) = match item.find('{') {
        Some(open) => {
            let inner = item[open + 1..]
                .strip_suffix('}')
                .ok_or_else(|| format!("unexpected text after the options of '{item}'"))?;
            (item[..open].trim(), Some(parse_options(inner)?))
        }
        None => (item, None),
    };
    let pass = lookup(name).ok_or_else(|| format!("unknown pass '{name}'; known passes: {}", known_passes()))?;
    match options {
        Some(options) if !options.is_empty() => {
            let configured = pass.configure(&options)?;
            Ok(Step::Configured { pass: configured, options })
        }
        _ => Ok(Step::Registered(pass)),
    }
}

/// Parses `key=value, key=value`.
fn parse_options(text: &str) -> Result<PassOptions, String> {
    let mut options = PassOptions::new();
    if text.trim().is_empty() {
        return Ok(options);
    }
    for pair in text.split(',') {
        let (key, value) =
            pair.split_once('=').ok_or_else(|| format!("expected key=value in options, got '{}'", pair.trim()))?;
        let (key, value) = (key.trim(), value.trim());
        if key.is_empty() || value.is_empty() {
            return Err(format!("expected key=value in options, got '{}'", pair.trim()));
        }
        options.insert(key, value)?;
    }
    Ok(options)
}

/// The header printed before the module after each pass.
pub fn ir_after_header(step: &str) -> String {
    format!("// -----// IR after {step} //----- //")
}

/// Runs a pipeline over a module.
///
/// The input is verified first. With verification after each pass (on by
/// default in debug builds and tests), a pass that breaks the IR is named in
/// the error: `pass 'cse' produced invalid IR:` followed by the verifier's
/// diagnostics. The result is always verified: [`PassManager::run`] returns
/// a [`VerifiedModule`].
pub struct PassManager<'a> {
    pipeline: Pipeline,
    verify_each: bool,
    stop_after: Option<usize>,
    printer: Option<RefCell<&'a mut dyn Write>>,
}

impl<'a> PassManager<'a> {
    /// A manager for `pipeline`, verifying after each pass in debug builds.
    pub fn new(pipeline: Pipeline) -> PassManager<'a> {
        PassManager { pipeline, verify_each: cfg!(debug_assertions), stop_after: None, printer: None }
    }

    /// Whether to verify the module after every pass (not only at the end).
    pub fn verify_each(mut self, on: bool) -> PassManager<'a> {
        self.verify_each = on;
        self
    }

    /// Runs only the first `n` passes (all when `None`), to bisect a
    /// miscompile to one pass.
    pub fn stop_after(mut self, n: Option<usize>) -> PassManager<'a> {
        self.stop_after = n;
        self
    }

    /// After each pass, writes [`ir_after_header`] and the module's text to `out`.
    pub fn print_ir_after_each(mut self, out: &'a mut dyn Write) -> PassManager<'a> {
        self.printer = Some(RefCell::new(out));
        self
    }

    /// The pipeline it runs.
    pub fn pipeline(&self) -> &Pipeline {
        &self.pipeline
    }

    /// Verifies `module`, runs the passes, and returns the verified result.
    pub fn run(&self, mut module: Module) -> Result<VerifiedModule, Diags> {
        let count = self.stop_after.map_or(self.pipeline.len(), |n| n.min(self.pipeline.len()));
        let steps = &self.pipeline.steps[..count];
        let Some(last) = steps.last() else { return VerifiedModule::new(module) };
        verify(&module)?;
        for (i, step) in steps.iter().enumerate() {
            step.pass().run(&mut module).map_err(|diags| with_header(format!("pass '{step}' failed:"), diags))?;
            self.print_after(step, &module)?;
            // The last pass's output is verified once, below, by `VerifiedModule::new`.
            if self.verify_each && i + 1 < count {
                verify(&module).map_err(|diags| with_header(format!("pass '{step}' produced invalid IR:"), diags))?;
            }
        }
        VerifiedModule::new(module).map_err(|diags| {
            let header = if self.verify_each || count == 1 {
                format!("pass '{last}' produced invalid IR:")
            } else {
                "the pipeline produced invalid IR (verify after each pass to find which pass):".to_string()
            };
            with_header(header, diags)
        })
    }

    fn print_after(&self, step: &Step, module: &Module) -> Result<(), Diags> {
        let Some(printer) = &self.printer else { return Ok(()) };
        let text = format!("{}\n{}", ir_after_header(&step.to_string()), print_module(module));
        printer.borrow_mut().write_all(text.as_bytes()).map_err(|e| {
            Diags::from(Diag::error(Loc::Unknown, format!("cannot write the IR after pass '{step}': {e}")))
        })
    }
}

/// `diags` preceded by an error saying what they are about.
fn with_header(header: String, diags: Diags) -> Diags {
    let mut all = vec![Diag::error(Loc::Unknown, header)];
    all.extend(diags.0);
    Diags(all)
}

#[cfg(test)]
mod tests {
    use super::*;
    use tessera_ir::parse::parse_module;

    const SOURCE: &str = "func @f(%x: tensor<N x 4 x f32>) -> tensor<N x 4 x f32> {
  %0 = tg.neg %x
  %1 = tg.neg %0
  %2 = tg.exp %x
  tg.return %1
}
";

    fn module() -> Module {
        parse_module(SOURCE, "test.tir").unwrap()
    }

    fn parse_err(text: &str) -> String {
        Pipeline::parse(text).unwrap_err().message
    }

    #[test]
    fn registry_is_sorted_and_complete() {
        let names: Vec<&str> = registered().iter().map(|p| p.name()).collect();
        assert_eq!(names, ["canonicalize", "cse", "dce", "lower-to-kernel", "plan-memory", "shape-infer", "specialize"]);
        assert_eq!(lookup("cse").map(|p| p.name()), Some("cse"));
        assert!(lookup("nope").is_none());
        assert!(registered().iter().all(|p| !p.summary().is_empty()));
    }

    #[test]
    fn pipelines_parse_and_print_canonically() {
        let p = Pipeline::parse(" canonicalize ,cse,\tdce ").unwrap();
        assert_eq!((p.len(), p.to_string()), (3, "canonicalize,cse,dce".to_string()));
        assert!(Pipeline::parse("").unwrap().is_empty());
        assert!(Pipeline::parse("  ").unwrap().is_empty());
        let p: Pipeline = "specialize{ N = 8 , M=2 }, dce, specialize{}".parse().unwrap();
        assert_eq!(p.to_string(), "specialize{N=8,M=2},dce,specialize");
        assert_eq!(Pipeline::parse(&p.to_string()).unwrap().to_string(), p.to_string());
    }

    #[test]
    fn pipeline_errors_say_what_is_wrong() {
        assert_eq!(
            parse_err("cse,fold"),
            "unknown pass 'fold'; known passes: canonicalize, cse, dce, lower-to-kernel, plan-memory, shape-infer, specialize"
        );
        assert_eq!(parse_err("cse,,dce"), "empty item in pipeline 'cse,,dce'");
        assert_eq!(parse_err("cse{x=1}"), "pass 'cse' takes no options, got x");
        assert_eq!(parse_err("specialize{N=8"), "unclosed '{' in pipeline 'specialize{N=8'");
        assert_eq!(parse_err("specialize{N}"), "expected key=value in options, got 'N'");
        assert_eq!(parse_err("specialize{N=8}x"), "unexpected text after the options of 'specialize{N=8}x'");
    }

    #[test]
    fn runs_prints_and_stops_after() {
        let mut out = Vec::new();
        let pm = PassManager::new(Pipeline::parse("canonicalize,dce").unwrap()).print_ir_after_each(&mut out);
        let result = pm.run(module()).unwrap();
        drop(pm);
        let func = &result.module().funcs[0];
        assert_eq!(func.walk().len(), 1, "only tg.return is left");
        let text = String::from_utf8(out).unwrap();
        let after_canon = text.find("// -----// IR after canonicalize //----- //\n").unwrap();
        let after_dce = text.find("// -----// IR after dce //----- //\n").unwrap();
        assert!(after_canon < after_dce);
        assert!(text[after_canon..after_dce].contains("tg.exp"));
        assert!(!text[after_dce..].contains("tg.exp"));

        let stopped =
            PassManager::new(Pipeline::parse("canonicalize,dce").unwrap()).stop_after(Some(1)).run(module()).unwrap();
        assert_eq!(stopped.module().funcs[0].walk().len(), 3, "dce did not run");
        let none =
            PassManager::new(Pipeline::parse("canonicalize").unwrap()).stop_after(Some(0)).run(module()).unwrap();
        assert_eq!(none.module().funcs[0].walk().len(), 4);
    }

    /// Erases the first op of every function, used or not (test only).
    struct Breaker;

    impl Pass for Breaker {
        fn name(&self) -> &'static str {
            "breaker"
        }
        fn summary(&self) -> &'static str {
            "breaks the IR"
        }
        fn run(&self, module: &mut Module) -> Result<bool, Diags> {
            for func in &mut module.funcs {
                let first = func.block(func.entry()).ops[0];
                func.erase_op(first);
            }
            Ok(true)
        }
    }

    static BREAKER: Breaker = Breaker;

    #[test]
    fn names_the_pass_that_broke_the_ir() {
        let mut pipeline = Pipeline::new();
        pipeline.push(&BREAKER);
        pipeline.push(&DCE);
        let err = PassManager::new(pipeline).verify_each(true).run(module()).unwrap_err();
        assert_eq!(err.0[0].message, "pass 'breaker' produced invalid IR:");
        assert!(err.0[1].message.contains("used before it is defined"), "{err}");

        let mut pipeline = Pipeline::new();
        pipeline.push(&BREAKER);
        pipeline.push(&DCE);
        let err = PassManager::new(pipeline).verify_each(false).run(module()).unwrap_err();
        assert!(err.0[0].message.starts_with("the pipeline produced invalid IR"), "{err}");
    }

    /// Fails on every module (test only).
    struct Failer;

    impl Pass for Failer {
        fn name(&self) -> &'static str {
            "failer"
        }
        fn summary(&self) -> &'static str {
            "always fails"
        }
        fn run(&self, _: &mut Module) -> Result<bool, Diags> {
            Err(Diag::error(Loc::Unknown, "cannot do it").into())
        }
    }

    static FAILER: Failer = Failer;

    #[test]
    fn names_the_pass_that_failed() {
        let mut pipeline = Pipeline::parse("dce").unwrap();
        pipeline.push(&FAILER);
        let err = PassManager::new(pipeline).run(module()).unwrap_err();
        let messages: Vec<&str> = err.0.iter().map(|d| d.message.as_str()).collect();
        assert_eq!(messages, ["pass 'failer' failed:", "cannot do it"]);
    }

    #[test]
    fn rejects_invalid_input() {
        let mut m = module();
        m.funcs[0].results.clear();
        let err = PassManager::new(Pipeline::parse("dce").unwrap()).run(m).unwrap_err();
        assert!(err.0[0].message.contains("returns 0 value(s), got 1"), "{err}");
    }
}
