//! Which selectors of an alert expression are pooled across members: read inside an aggregation
//! (`sum`, `count`, `max`, …) whose grouping drops the `member` label. For such a rule a faulted
//! member's series going stale does not blind it: the aggregate keeps being computed from the
//! other members' series (`sum(patroni_primary{citus_group="0"}) == 0` still sums the replicas
//! after the primary's series ends). It is blind only when every series it pools went stale.
//!
//! Bracket tracking on `promql`'s tokens, like the rest of that module: an aggregation's body is
//! the parenthesis after its name (`sum(…)`) or after its grouping list (`sum by (x) (…)`); a
//! grouping may also follow the body (`sum(…) by (x)`).
use super::blind_spots::MEMBER_LABEL;
use super::promql::{code_tokens, selector_positions, Token, TokenKind, POOLING_AGGREGATIONS};

/// The selectors of `expr` whose every use is pooled across members, as [`super::promql::selectors`]
/// writes them.
pub fn pooled_selectors(expr: &str) -> Vec<String> {
    let tokens = code_tokens(expr);
    let pooling_bodies = pooling_bodies(expr, &tokens);
    let uses: Vec<(String, bool)> = selector_positions(expr)
        .into_iter()
        .map(|(selector, at)| (selector, enclosed_by_any(&tokens, at, &pooling_bodies)))
        .collect();
    let mut out: Vec<String> = Vec::new();
    for (selector, _) in &uses {
        let every_use_pooled = uses.iter().filter(|(s, _)| s == selector).all(|(_, pooled)| *pooled);
        if every_use_pooled && !out.contains(selector) {
            out.push(selector.clone());
        }
    }
    out
}

/// The token indices of the `(` opening each aggregation body that drops the member label.
fn pooling_bodies(expr: &str, tokens: &[Token]) -> Vec<usize> {
    let is = |i: usize, kind: TokenKind| tokens.get(i).is_some_and(|t| t.kind == kind);
    let word =
        |i: usize| tokens.get(i).filter(|t| t.kind == TokenKind::Ident).map(|t| t.text(expr).to_ascii_lowercase());
    let grouping_at = |i: usize| match word(i).as_deref() {
        Some(g @ ("by" | "without")) if is(i + 1, TokenKind::LParen) => {
            let close = matching_paren(tokens, i + 1)?;
            let labels: Vec<&str> =
                tokens[i + 2..close].iter().filter(|t| t.kind == TokenKind::Ident).map(|t| t.text(expr)).collect();
            let keeps_member = labels.contains(&MEMBER_LABEL);
            Some((close, if g == "by" { !keeps_member } else { keeps_member }))
        }
        _ => None,
    };
    let mut bodies = Vec::new();
    for i in 0..tokens.len() {
        if !word(i).is_some_and(|w| POOLING_AGGREGATIONS.contains(&w.as_str())) {
            continue;
        }
        let (body, drops_member) = if is(i + 1, TokenKind::LParen) {
            // `sum(…)`, maybe followed by `by (…)` / `without (…)`.
            let after = matching_paren(tokens, i + 1).and_then(|close| grouping_at(close + 1));
            (i + 1, after.is_none_or(|(_, drops)| drops))
        } else if let Some((close, drops)) = grouping_at(i + 1) {
            if !is(close + 1, TokenKind::LParen) {
                continue;
            }
            (close + 1, drops)
        } else {
            continue;
        };
        if drops_member {
            bodies.push(body);
        }
    }
    bodies
}

/// The index of the `)` closing the `(` at `open`.
fn matching_paren(tokens: &[Token], open: usize) -> Option<usize> {
    let mut depth = 0usize;
    for (j, token) in tokens.iter().enumerate().skip(open) {
        match token.kind {
            TokenKind::LParen => depth += 1,
            TokenKind::RParen => {
                depth -= 1;
                if depth == 0 {
                    return Some(j);
                }
            }
            _ => {}
        }
    }
    None
}

/// Whether the token at `at` lies inside one of the parentheses opened at `opens`.
fn enclosed_by_any(tokens: &[Token], at: usize, opens: &[usize]) -> bool {
    opens.iter().any(|&open| open < at && matching_paren(tokens, open).is_none_or(|close| at < close))
}

#[cfg(test)]
mod tests {
    use test_case::test_case;

    use super::pooled_selectors;

    #[test_case("patroni_postgres_running == 0", &[]; "per member")]
    #[test_case("sum(patroni_primary{citus_group=\"0\"}) == 0", &["patroni_primary{citus_group=\"0\"}"]; "sum over members")]
    #[test_case("sum by (member) (x) == 0", &[]; "grouped by member before")]
    #[test_case("sum(x) by (member) == 0", &[]; "grouped by member after")]
    #[test_case("sum by (scope) (x) == 0", &["x"]; "grouped by something else")]
    #[test_case("sum(x) by (scope) == 0", &["x"]; "grouped after by something else")]
    #[test_case("sum without (member) (x)", &["x"]; "without member")]
    #[test_case("max without (instance) (x)", &[]; "without keeps member")]
    #[test_case("max by (member) (sum(x))", &["x"]; "an inner aggregation pools")]
    #[test_case("count(up{job=\"patroni\"} == 1) < 3", &["up{job=\"patroni\"}"]; "count of a comparison")]
    #[test_case("rate(x[5m]) > 0 and sum(rate(y[5m])) > 1", &["y"]; "functions do not pool")]
    #[test_case("x / on(cluster) group_left sum(y)", &["y"]; "vector matching does not pool")]
    #[test_case("topk(1, x) > 0", &[]; "topk keeps labels")]
    #[test_case("sum(x) > 0 or x == 0", &[]; "a selector used both ways is per member")]
    fn pooled(expr: &str, expected: &[&str]) {
        assert_eq!(pooled_selectors(expr), expected);
    }
}
