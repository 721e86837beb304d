//! ONNX converters: the math family. MatMul (numpy semantics: 1-D operands
//! promoted and the added axis dropped, batch dims broadcast), Gemm
//! (`alpha * A' B' + beta * C`) and Einsum all become `tg.dot`, with
//! `tg.broadcast_to`, `tg.transpose` and `tg.reduce_sum` around it.

use super::cx::NodeCx;
use super::elementwise::{binary, scalar_like, scale, select};
use super::reduce::reduce;
use super::registry::Convert;
use std::collections::HashSet;
use tessera_ir::dialect::graph::elementwise::{ADD, EQ};
use tessera_ir::dialect::graph::linalg::DOT;
use tessera_ir::dialect::graph::reduce::REDUCE_SUM;
use tessera_ir::dialect::graph::shape::{BROADCAST_TO, IOTA, TRANSPOSE};
use tessera_ir::infer::broadcast_dims;
use tessera_ir::{Attr, Attrs, DType, Dim, ValueId};

/// `tg.dot` with the given batch and contracting axes.
fn dot(
    cx: &mut NodeCx,
    a: ValueId,
    b: ValueId,
    batch: (&[i64], &[i64]),
    contract: (&[i64], &[i64]),
) -> Result<ValueId, String> {
    let mut attrs = Attrs::from([("lhs_contract", Attr::ints(contract.0)), ("rhs_contract", Attr::ints(contract.1))]);
    if !batch.0.is_empty() {
        attrs.set("lhs_batch", Attr::ints(batch.0));
        attrs.set("rhs_batch", Attr::ints(batch.1));
    }
    cx.op(&DOT, &[a, b], attrs)
}

/// `x` with its axes permuted (itself for the identity permutation).
fn transpose(cx: &mut NodeCx, x: ValueId, perm: &[i64]) -> Result<ValueId, String> {
    if perm.iter().enumerate().all(|(i, &p)| p == i as i64) {
        return Ok(x);
    }
    cx.op(&TRANSPOSE, &[x], Attrs::from([("perm", Attr::ints(perm))]))
}

/// `x` broadcast to `dims` (itself when it already has them).
fn broadcast(cx: &mut NodeCx, x: ValueId, dims: &[Dim]) -> Result<ValueId, String> {
    if cx.dims(x)? == dims {
        return Ok(x);
    }
    cx.op(&BROADCAST_TO, &[x], Attrs::from([("shape", Attr::shape(dims))]))
}

/// MatMul with numpy semantics. A rank-2 operand against a batched one is
/// contracted directly (no broadcast copy); two batched operands have
/// their batch dims broadcast to a common shape first.
fn matmul(cx: &mut NodeCx) -> Result<Vec<ValueId>, String> {
    let (a, b) = (cx.input(0)?, cx.input(1)?);
    let (ra, rb) = (cx.rank(a)?, cx.rank(b)?);
    if ra == 0 || rb == 0 {
        return Err(format!("inputs must have rank 1 or more, got ranks {ra} and {rb}"));
    }
    let (ka, kb) = ((ra - 1) as i64, if rb == 1 { 0 } else { (rb - 2) as i64 });
    // A right side without batch dims contracts directly; a 1-D side has no free axis.
    if rb <= 2 {
        return Ok(vec![dot(cx, a, b, (&[], &[]), (&[ka], &[kb]))?]);
    }
    if ra <= 2 {
        // (M, K) x (batch..., K, N) -> (M, batch..., N) -> (batch..., M, N).
        let y = dot(cx, a, b, (&[], &[]), (&[ka], &[kb]))?;
        if ra == 1 {
            return Ok(vec![y]);
        }
        let nb = rb - 2;
        let mut perm: Vec<i64> = (1..=nb as i64).collect();
        perm.extend([0, nb as i64 + 1]);
        return Ok(vec![transpose(cx, y, &perm)?]);
    }
    let (da, db) = (cx.dims(a)?, cx.dims(b)?);
    let batch = broadcast_dims(&[&da[..ra - 2], &db[..rb - 2]])?;
    let nb = batch.len();
    let a = broadcast(cx, a, &[batch.clone(), da[ra - 2..].to_vec()].concat())?;
    let b = broadcast(cx, b, &[batch, db[rb - 2..].to_vec()].concat())?;
    let batch_axes: Vec<i64> = (0..nb as i64).collect();
    Ok(vec![dot(cx, a, b, (&batch_axes, &batch_axes), (&[nb as i64 + 1], &[nb as i64]))?])
}

/// Gemm: `alpha * A' B' + beta * C`, where `A'`/`B'` are transposed when
/// `transA`/`transB`, and `C` (optional from opset 11) broadcasts to (M, N).
fn gemm(cx: &mut NodeCx) -> Result<Vec<ValueId>, String> {
    let (a, b, c) = (cx.input(0)?, cx.input(1)?, cx.opt_input(2)?);
    for (i, v) in [(0, a), (1, b)] {
        let r = cx.rank(v)?;
        if r != 2 {
            return Err(format!("input #{i} must have rank 2, got rank {r}"));
        }
    }
    let ka = if cx.attr_int("transA", 0) != 0 { 0 } else { 1 };
    let kb = if cx.attr_int("transB", 0) != 0 { 1 } else { 0 };
    let (alpha, beta) = (f64::from(cx.attr_float("alpha", 1.0)), f64::from(cx.attr_float("beta", 1.0)));
    let y = dot(cx, a, b, (&[], &[]), (&[ka], &[kb]))?;
    let y = scale(cx, y, alpha)?;
    let Some(c) = c else { return Ok(vec![y]) };
    if beta == 0.0 {
        return Ok(vec![y]);
    }
    let c = scale(cx, c, beta)?;
    Ok(vec![binary(cx, &ADD, y, c)?])
}

/// The label of the `k`-th broadcast (ellipsis) dim, outside the letters.
fn ellipsis_label(k: usize) -> char {
    char::from_u32(0xE000 + k as u32).unwrap_or(char::REPLACEMENT_CHARACTER)
}

/// One einsum term's labels: letters, with `...` standing for the last
/// `rank - letters` of the `width` broadcast dims.
fn parse_term(term: &str, rank: usize, width: usize, what: &str) -> Result<Vec<char>, String> {
    let (head, tail, has_ellipsis) = match term.split_once("...") {
        Some((h, t)) => (h, t, true),
        None => (term, "", false),
    };
    if let Some(bad) = head.chars().chain(tail.chars()).find(|c| !c.is_ascii_alphabetic()) {
        return Err(format!("attribute 'equation': {what} '{term}' has the character '{bad}'"));
    }
    let letters = head.len() + tail.len();
    let n_ell = if has_ellipsis { rank.checked_sub(letters) } else { (letters == rank).then_some(0) };
    let n_ell = n_ell
        .filter(|&n| n <= width)
        .ok_or_else(|| format!("attribute 'equation': {what} '{term}' does not match an operand of rank {rank}"))?;
    let mut labels: Vec<char> = head.chars().collect();
    labels.extend((width - n_ell..width).map(ellipsis_label));
    labels.extend(tail.chars());
    Ok(labels)
}

/// The labels of every operand and of the output of an einsum equation.
fn parse_equation(equation: &str, ranks: &[usize]) -> Result<(Vec<Vec<char>>, Vec<char>), String> {
    let eq: String = equation.chars().filter(|c| !c.is_whitespace()).collect();
    let (lhs, rhs) = match eq.split_once("->") {
        Some((l, r)) => (l, Some(r)),
        None => (eq.as_str(), None),
    };
    let terms: Vec<&str> = lhs.split(',').collect();
    if terms.len() != ranks.len() {
        return Err(format!(
            "attribute 'equation' = '{equation}' names {} operand(s), but {} are given",
            terms.len(),
            ranks.len()
        ));
    }
    // The broadcast width: the most dims any ellipsis stands for.
    let width = terms
        .iter()
        .zip(ranks)
        .filter(|(t, _)| t.contains("..."))
        .map(|(t, &r)| r.saturating_sub(t.len() - 3))
        .max()
        .unwrap_or(0);
    let inputs = terms
        .iter()
        .zip(ranks)
        .enumerate()
        .map(|(i, (t, &r))| parse_term(t, r, width, &format!("operand #{i}")))
        .collect::<Result<Vec<_>, _>>()?;
    let output = match rhs {
        Some(r) => {
            let r_width = if r.contains("...") { width + r.len() - 3 } else { r.len() };
            parse_term(r, r_width, width, "the output")?
        }
        None => {
            let mut once: Vec<char> = inputs
                .iter()
                .flatten()
                .copied()
                .filter(|c| c.is_ascii_alphabetic())
                .filter(|c| inputs.iter().flatten().filter(|d| *d == c).count() == 1)
                .collect();
            once.sort_unstable();
            (0..width).map(ellipsis_label).chain(once).collect()
        }
    };
    let all: HashSet<char> = inputs.iter().flatten().copied().collect();
    let mut seen = HashSet::new();
    for c in &output {
        if !all.contains(c) || !seen.insert(*c) {
            return Err(format!(
                "attribute 'equation' = '{equation}': output label '{c}' is repeated or in no operand"
            ));
        }
    }
    Ok((inputs, output))
}

/// A value with one einsum label per axis.
#[derive(Clone)]
struct Term {
    value: ValueId,
    labels: Vec<char>,
}

/// Takes the diagonal wherever a label repeats within one term.
fn diagonals(cx: &mut NodeCx, mut t: Term) -> Result<Term, String> {
    while let Some((p, q)) =
        (0..t.labels.len()).flat_map(|q| (0..q).map(move |p| (p, q))).find(|&(p, q)| t.labels[p] == t.labels[q])
    {
        let dims = cx.dims(t.value)?;
        let iota = |cx: &mut NodeCx, axis: usize| {
            let attrs = Attrs::from([
                ("shape", Attr::shape(&dims)),
                ("dtype", Attr::DType(DType::I64)),
                ("axis", Attr::Int(axis as i64)),
            ]);
            cx.op(&IOTA, &[], attrs)
        };
        let (ip, iq) = (iota(cx, p)?, iota(cx, q)?);
        let on_diagonal = binary(cx, &EQ, ip, iq)?;
        let zero = scalar_like(cx, t.value, 0.0)?;
        let masked = select(cx, on_diagonal, t.value, zero)?;
        t.value = reduce(cx, &REDUCE_SUM, masked, &[q as i64], false)?;
        t.labels.remove(q);
    }
    Ok(t)
}

/// Sums out the axes whose labels are not in `keep`.
fn sum_out(cx: &mut NodeCx, t: Term, keep: &HashSet<char>) -> Result<Term, String> {
    let axes: Vec<i64> = (0..t.labels.len()).filter(|&i| !keep.contains(&t.labels[i])).map(|i| i as i64).collect();
    if axes.is_empty() {
        return Ok(t);
    }
    let value = reduce(cx, &REDUCE_SUM, t.value, &axes, false)?;
    Ok(Term { value, labels: t.labels.into_iter().filter(|c| keep.contains(c)).collect() })
}

/// Where `label` sits in `t`.
fn position(t: &Term, label: char) -> usize {
    t.labels.iter().position(|&c| c == label).unwrap_or(0)
}

/// Contracts two terms: shared labels in `keep` run in lockstep (batch),
/// the other shared ones are summed. A shared axis of size 1 on one side
/// broadcasts against the other (ellipsis broadcasting).
fn contract(cx: &mut NodeCx, mut a: Term, mut b: Term, keep: &HashSet<char>) -> Result<Term, String> {
    let shared: Vec<char> = a.labels.iter().copied().filter(|c| b.labels.contains(c)).collect();
    for &l in &shared {
        let (pa, pb) = (position(&a, l), position(&b, l));
        let (da, db) = (cx.dims(a.value)?, cx.dims(b.value)?);
        let (one_a, one_b) = (da[pa] == Dim::Known(1), db[pb] == Dim::Known(1));
        if one_a == one_b {
            continue;
        }
        let (small, big, ps, pg, dsmall, dbig) =
            if one_a { (&mut a, &mut b, pa, pb, da, db) } else { (&mut b, &mut a, pb, pa, db, da) };
        if keep.contains(&l) {
            let mut dims = dsmall;
            dims[ps] = dbig[pg].clone();
            small.value = broadcast(cx, small.value, &dims)?;
        } else {
            big.value = reduce(cx, &REDUCE_SUM, big.value, &[pg as i64], true)?;
        }
    }
    let (batch, summed): (Vec<char>, Vec<char>) = shared.iter().partition(|c| keep.contains(c));
    let axes = |t: &Term, ls: &[char]| -> Vec<i64> { ls.iter().map(|&l| position(t, l) as i64).collect() };
    let (ba, bb, ca, cb) = (axes(&a, &batch), axes(&b, &batch), axes(&a, &summed), axes(&b, &summed));
    let value = dot(cx, a.value, b.value, (&ba, &bb), (&ca, &cb))?;
    let mut labels = batch;
    labels.extend(a.labels.iter().filter(|c| !shared.contains(c)));
    labels.extend(b.labels.iter().filter(|c| !shared.contains(c)));
    Ok(Term { value, labels })
}

/// Einsum, explicit (`->`) or implicit, with `...` broadcasting: repeated
/// labels within an operand take a diagonal, labels needed by no later
/// operand or the output are summed early, and the operands are contracted
/// left to right through `tg.dot`; a final transpose orders the output.
fn einsum(cx: &mut NodeCx) -> Result<Vec<ValueId>, String> {
    let inputs = cx.inputs()?;
    if inputs.is_empty() {
        return Err("expected at least one input".into());
    }
    let equation = cx.attr_str("equation", "");
    let ranks = inputs.iter().map(|&v| cx.rank(v)).collect::<Result<Vec<_>, _>>()?;
    let (labels, output) = parse_equation(&equation, &ranks)?;
    let mut terms = Vec::with_capacity(inputs.len());
    for (value, labels) in inputs.into_iter().zip(labels) {
        terms.push(diagonals(cx, Term { value, labels })?);
    }
    // Labels needed after operand i: the output's and those of operands > i.
    let needed_after = |i: usize| -> HashSet<char> {
        terms[i + 1..].iter().flat_map(|t| t.labels.iter().copied()).chain(output.iter().copied()).collect()
    };
    let mut acc = sum_out(cx, terms[0].clone(), &needed_after(0))?;
    for (i, term) in terms.iter().enumerate().skip(1) {
        let keep = needed_after(i);
        let with_acc: HashSet<char> = keep.iter().chain(&acc.labels).copied().collect();
        let b = sum_out(cx, term.clone(), &with_acc)?;
        let with_b: HashSet<char> = keep.iter().chain(&b.labels).copied().collect();
        let a = sum_out(cx, acc, &with_b)?;
        acc = contract(cx, a, b, &keep)?;
    }
    let acc = sum_out(cx, acc, &output.iter().copied().collect())?;
    let perm: Vec<i64> = output.iter().map(|&l| position(&acc, l) as i64).collect();
    Ok(vec![transpose(cx, acc.value, &perm)?])
}

/// The converters of this family, by ONNX operator name.
pub(super) const CONVERTERS: &[(&str, Convert)] = &[("MatMul", matmul), ("Gemm", gemm), ("Einsum", einsum)];

#[cfg(test)]
mod tests {
    use super::super::elementwise::testing::*;

    fn matmul(a: &[i64], b: &[i64]) -> crate::onnx::proto::ModelProto {
        model(13, "MatMul", vec![value("a", FLOAT, a), value("b", FLOAT, b)], vec![], &["a", "b"], vec![])
    }

    #[test]
    fn matmul_follows_numpy() {
        assert_eq!(result_type(&matmul(&[4], &[4])), "tensor<f32>");
        assert_eq!(result_type(&matmul(&[4], &[2, 4, 5])), "tensor<2x5xf32>");
        assert_eq!(result_type(&matmul(&[2, 3, 4], &[4])), "tensor<2x3xf32>");
        assert_eq!(result_type(&matmul(&[-1, 3, 4], &[4, 5])), "tensor<N x 3 x 5 x f32>");
        let m = matmul(&[3, 4], &[2, 4, 5]);
        assert!(ir(&m).contains("tg.transpose"));
        assert_eq!(result_type(&m), "tensor<2x3x5xf32>");
        let m = matmul(&[2, 1, 3, 4], &[5, 4, 6]);
        let text = ir(&m);
        assert!(text.contains("tg.broadcast_to %a {shape = [2, 5, 3, 4]}"), "{text}");
        assert!(text.contains("tg.broadcast_to %b {shape = [2, 5, 4, 6]}"), "{text}");
        assert_eq!(result_type(&m), "tensor<2x5x3x6xf32>");
    }

    #[test]
    fn gemm_transposes_scales_and_adds() {
        let inputs = vec![value("a", FLOAT, &[4, 3]), value("b", FLOAT, &[5, 4]), value("c", FLOAT, &[5])];
        let attrs = vec![int("transA", 1), int("transB", 1), float("alpha", 0.5), float("beta", 2.0)];
        let m = model(13, "Gemm", inputs, vec![], &["a", "b", "c"], attrs);
        let text = ir(&m);
        assert!(text.contains("tg.dot %a, %b {lhs_contract = [0], rhs_contract = [1]}"), "{text}");
        assert!(text.contains("dense<0.5>") && text.contains("dense<2.0>") && text.contains("tg.add"), "{text}");
        assert_eq!(result_type(&m), "tensor<3x5xf32>");
    }

    fn einsum(equation: &str, shapes: &[&[i64]]) -> crate::onnx::proto::ModelProto {
        let names = ["a", "b", "c"];
        let inputs = shapes.iter().zip(names).map(|(s, n)| value(n, FLOAT, s)).collect();
        model(13, "Einsum", inputs, vec![], &names[..shapes.len()], vec![string("equation", equation)])
    }

    #[test]
    fn einsum_forms() {
        assert_eq!(result_type(&einsum("bij, bjk -> bik", &[&[2, 3, 4], &[2, 4, 5]])), "tensor<2x3x5xf32>");
        assert_eq!(result_type(&einsum("i,i", &[&[4], &[4]])), "tensor<f32>");
        assert_eq!(result_type(&einsum("ij,jk", &[&[3, 4], &[4, 5]])), "tensor<3x5xf32>");
        assert_eq!(result_type(&einsum("ij->ji", &[&[3, 4]])), "tensor<4x3xf32>");
        assert_eq!(result_type(&einsum("ij->i", &[&[3, 4]])), "tensor<3xf32>");
        assert_eq!(result_type(&einsum("...ii ->...i", &[&[2, 3, 5, 5]])), "tensor<2x3x5xf32>");
        assert_eq!(result_type(&einsum("->", &[&[]])), "tensor<f32>");
        // Ellipsis broadcasting, an outer product, and three operands.
        assert_eq!(result_type(&einsum("...ij,...jk->...ik", &[&[2, 1, 3, 4], &[5, 4, 6]])), "tensor<2x5x3x6xf32>");
        assert_eq!(result_type(&einsum("i,j->ij", &[&[3], &[4]])), "tensor<3x4xf32>");
        assert_eq!(result_type(&einsum("ij,jk,kl->il", &[&[2, 3], &[3, 4], &[4, 5]])), "tensor<2x5xf32>");
        // "bhqd,bhkd->bhqk" (attention scores), as PyTorch exports it.
        assert_eq!(
            result_type(&einsum("bhqd,bhkd->bhqk", &[&[-1, 2, 3, 8], &[-1, 2, 5, 8]])),
            "tensor<N x 2 x 3 x 5 x f32>"
        );
    }

    #[test]
    fn einsum_errors_name_the_equation() {
        let err = error(&einsum("ij,jk->ik", &[&[3, 4]]));
        assert!(err.contains("names 2 operand(s), but 1 are given"), "{err}");
        let err = error(&einsum("ijk->i", &[&[3, 4]]));
        assert!(err.contains("does not match an operand of rank 2"), "{err}");
        let err = error(&einsum("ij->z", &[&[3, 4]]));
        assert!(err.contains("output label 'z'"), "{err}");
    }
}
