//! `maglev`: the Maglev lookup table — Daniel E. Eisenbud et al., "Maglev: A Fast and
//! Reliable Software Network Load Balancer" (NSDI 2016), section 3.4.
//!
//! Each member derives a permutation of the table's M slots from its name (an offset and a
//! skip, M prime so every skip visits every slot); members take turns claiming their next
//! free preferred slot until the table is full. A key's owner is `table[hash mod M]`.
//! Lookup O(1) (one memory read), memory O(M), near-perfect balance (each member holds
//! ⌊M/n⌋ or ⌈M/n⌉ slots). A membership change disturbs a few slots beyond the changed
//! member's share — the price of that balance. Weighted members take `weight` turns per
//! round. Members take turns in name order, so the table does not depend on list order.

use super::{HashFunction, Member, Placement};

pub struct Maglev {
    table: Vec<u32>,
}

pub fn is_prime(n: u64) -> bool {
    if n < 2 {
        return false;
    }
    let mut d = 2;
    while d * d <= n {
        if n % d == 0 {
            return false;
        }
        d += 1;
    }
    true
}

impl Maglev {
    pub fn new(members: &[Member], table_size: usize, hash: HashFunction) -> Self {
        let m = table_size as u64;
        assert!(is_prime(m), "maglev table size {m} is not prime");
        assert!(members.len() <= table_size, "more members than table slots");
        let mut order: Vec<usize> = (0..members.len()).collect();
        order.sort_by(|&a, &b| members[a].name.cmp(&members[b].name));
        let offset: Vec<u64> = members
            .iter()
            .map(|x| hash.hash_str(&format!("{}#offset", x.name)) % m)
            .collect();
        let skip: Vec<u64> = members
            .iter()
            .map(|x| hash.hash_str(&format!("{}#skip", x.name)) % (m - 1) + 1)
            .collect();
        let mut next = vec![0u64; members.len()];
        let mut table = vec![u32::MAX; table_size];
        let mut filled = 0;
        'fill: loop {
            for &i in &order {
                for _ in 0..members[i].weight.max(1) {
                    let mut c = ((offset[i] + next[i] * skip[i]) % m) as usize;
                    while table[c] != u32::MAX {
                        next[i] += 1;
                        c = ((offset[i] + next[i] * skip[i]) % m) as usize;
                    }
                    table[c] = i as u32;
                    next[i] += 1;
                    filled += 1;
                    if filled == table_size {
                        break 'fill;
                    }
                }
            }
        }
        Maglev { table }
    }
}

impl Placement for Maglev {
    #[inline]
    fn locate(&self, key_hash: u64) -> usize {
        self.table[(key_hash % self.table.len() as u64) as usize] as usize
    }

    fn memory_bytes(&self) -> usize {
        self.table.len() * 4
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_are_shared_almost_exactly() {
        let members: Vec<Member> = (0..7).map(|i| Member::new(format!("node-{i}"))).collect();
        let t = Maglev::new(&members, 5003, HashFunction::Mixed);
        let mut count = [0usize; 7];
        t.table.iter().for_each(|&o| count[o as usize] += 1);
        assert!(
            count.iter().all(|&c| c == 5003 / 7 || c == 5003 / 7 + 1),
            "{count:?}"
        );
        assert!(is_prime(65_537) && !is_prime(65_536) && is_prime(5003));
    }

    #[test]
    fn member_order_does_not_matter() {
        let a: Vec<Member> = (0..5).map(|i| Member::new(format!("node-{i}"))).collect();
        let mut b = a.clone();
        b.reverse();
        let (ta, tb) = (
            Maglev::new(&a, 251, HashFunction::Mixed),
            Maglev::new(&b, 251, HashFunction::Mixed),
        );
        for slot in 0..251 {
            assert_eq!(
                a[ta.table[slot] as usize].name,
                b[tb.table[slot] as usize].name
            );
        }
    }
}
