//! The two searches the shrinker is built from, apart from any simulation so that they can
//! be tested on plain predicates.
//!
//! - [`ddmin`]: Zeller and Hildebrandt's delta debugging ("Simplifying and Isolating
//!   Failure-Inducing Input", IEEE TSE 2002). It returns a subset of the items that still
//!   fails and is 1-minimal: removing any single item of it makes the failure go away.
//! - [`smallest_failing`]: a binary search for the least value that still fails, for
//!   quantities where failing is (roughly) monotone: a longer pause breaks a lease lock
//!   at least as surely as a shorter one.
//!
//! Both call `fails` on candidates only; what "fails" means is the caller's business.

/// The smallest subset of `items` (keeping their order) that `fails`, given that `items`
/// itself fails. Tries the empty set first: a failure that needs no faults at all is the
/// most useful thing a shrinker can report.
pub fn ddmin<T: Clone>(items: &[T], fails: &mut dyn FnMut(&[T]) -> bool) -> Vec<T> {
    let mut current: Vec<T> = items.to_vec();
    if current.is_empty() || fails(&[]) {
        return Vec::new();
    }
    let mut granularity = 2usize;
    while current.len() >= 2 {
        let chunks = split(&current, granularity);
        let mut reduced = false;
        // A chunk alone fails: keep only it.
        for chunk in &chunks {
            if fails(chunk) {
                current = chunk.clone();
                granularity = 2;
                reduced = true;
                break;
            }
        }
        // A complement fails: drop that chunk.
        if !reduced && granularity > 2 {
            for i in 0..chunks.len() {
                let complement: Vec<T> = chunks
                    .iter()
                    .enumerate()
                    .filter(|&(j, _)| j != i)
                    .flat_map(|(_, c)| c.iter().cloned())
                    .collect();
                if fails(&complement) {
                    current = complement;
                    granularity = (granularity - 1).max(2);
                    reduced = true;
                    break;
                }
            }
        }
        if !reduced {
            if granularity >= current.len() {
                break;
            }
            granularity = (granularity * 2).min(current.len());
        }
    }
    current
}

/// `items` in `n` contiguous chunks of nearly equal size (none empty when n <= len).
fn split<T: Clone>(items: &[T], n: usize) -> Vec<Vec<T>> {
    let mut chunks = Vec::with_capacity(n);
    let mut start = 0;
    for i in 0..n {
        let end = start + (items.len() - start) / (n - i);
        chunks.push(items[start..end].to_vec());
        start = end;
    }
    chunks
}

/// The least value in `lo..=hi` for which `fails` holds, given that it holds at `hi`;
/// `fails` is assumed monotone (false below some threshold, true from it on). Takes about
/// log2(hi - lo) calls.
pub fn smallest_failing(mut lo: u64, mut hi: u64, fails: &mut dyn FnMut(u64) -> bool) -> u64 {
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        if fails(mid) {
            hi = mid;
        } else {
            lo = mid + 1;
        }
    }
    hi
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ddmin_finds_the_failure_inducing_pair() {
        let items: Vec<u32> = (0..16).collect();
        let mut calls = 0;
        let mut fails = |s: &[u32]| {
            calls += 1;
            s.contains(&3) && s.contains(&11)
        };
        assert_eq!(ddmin(&items, &mut fails), vec![3, 11]);
        assert!(calls < 60, "{calls} tests");
    }

    #[test]
    fn ddmin_results_are_one_minimal() {
        // Fails when at least three odd items remain.
        let items: Vec<u32> = (0..20).collect();
        let mut fails = |s: &[u32]| s.iter().filter(|&&x| x % 2 == 1).count() >= 3;
        let result = ddmin(&items, &mut fails);
        assert_eq!(result.len(), 3);
        for i in 0..result.len() {
            let mut less = result.clone();
            less.remove(i);
            assert!(!fails(&less));
        }
    }

    #[test]
    fn ddmin_returns_nothing_when_nothing_is_needed() {
        let mut fails = |_: &[u32]| true;
        assert!(ddmin(&[1, 2, 3], &mut fails).is_empty());
    }

    #[test]
    fn split_covers_every_item_once() {
        let items: Vec<u32> = (0..7).collect();
        let chunks = split(&items, 3);
        assert_eq!(chunks, vec![vec![0, 1], vec![2, 3], vec![4, 5, 6]]);
    }

    #[test]
    fn smallest_failing_finds_the_threshold() {
        let mut calls = 0;
        let mut fails = |v: u64| {
            calls += 1;
            v >= 412
        };
        assert_eq!(smallest_failing(1, 1500, &mut fails), 412);
        assert!(calls <= 11, "{calls}");
        assert_eq!(smallest_failing(7, 7, &mut |_| unreachable!()), 7);
    }
}
