//! Row ids as the audit records them: sorted ids compressed into ranges, and the ids seen twice.

/// Sorted ids → inclusive ranges (a repeated id falls into its range once).
pub fn compress_ids(sorted: &[u64]) -> Vec<(u64, u64)> {
    let mut ranges: Vec<(u64, u64)> = Vec::new();
    for &id in sorted {
        match ranges.last_mut() {
            Some((_, end)) if *end == id => {}
            Some((_, end)) if *end + 1 == id => *end = id,
            _ => ranges.push((id, id)),
        }
    }
    ranges
}

/// The ids of `sorted` that occur more than once, each named once.
pub(super) fn duplicates(sorted: &[u64]) -> Vec<u64> {
    let mut repeated: Vec<u64> = sorted.windows(2).filter(|w| w[0] == w[1]).map(|w| w[0]).collect();
    repeated.dedup();
    repeated
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compresses_runs_into_ranges() {
        assert_eq!(compress_ids(&[1, 2, 3, 5, 7, 8]), vec![(1, 3), (5, 5), (7, 8)]);
        assert_eq!(compress_ids(&[1, 2, 2, 3, 5, 5]), vec![(1, 3), (5, 5)]);
        assert!(compress_ids(&[]).is_empty());
    }

    #[test]
    fn names_each_repeated_id_once() {
        assert_eq!(duplicates(&[1, 2, 2, 2, 3, 5, 5]), vec![2, 5]);
        assert!(duplicates(&[1, 2, 3]).is_empty());
    }
}
