//! Lookup cost of each placement scheme, in nanoseconds per lookup, at 10 and 1,000 nodes.
//!
//! Keys are pre-hashed (the cost of hashing a key is the same for every scheme and is
//! reported once on its own). Lookups walk 1 M random key hashes, ten times; the table
//! shows the best of three such runs. `bounded` has no per-key lookup (where a key lands
//! depends on the keys before it): its row is the cost per key of placing all of them.
//!
//! Run: `cargo bench -p sim-core --bench placement`.
//! Targets: ring ≤ 100 ns at 1,000 nodes × 100 vnodes; jump ≤ 30 ns.

use std::hint::black_box;
use std::time::Instant;

use placement::balance::key_hashes;
use placement::{assign, HashFunction, Member, Scheme};

const KEYS: usize = 1_000_000;
const ROUNDS: usize = 10;

fn best_of_three(mut f: impl FnMut() -> f64) -> f64 {
    (0..3).map(|_| f()).fold(f64::INFINITY, f64::min)
}

fn main() {
    let hash = HashFunction::Mixed;
    let keys = key_hashes(KEYS, hash);
    let names: Vec<String> = (0..KEYS).map(|i| format!("key-{i}")).collect();
    let hashing_ns = best_of_three(|| {
        let t = Instant::now();
        let mut acc = 0u64;
        for n in &names {
            acc ^= hash.hash_str(black_box(n));
        }
        black_box(acc);
        t.elapsed().as_nanos() as f64 / KEYS as f64
    });
    println!("hashing a key name (\"key-123456\", crc32 + splitmix64): {hashing_ns:.1} ns");
    println!(
        "{:<12} {:>14} {:>14} {:>16}",
        "scheme", "10 nodes ns", "1000 nodes ns", "memory @1000"
    );
    for scheme in Scheme::all(100, 65_537, 0.25) {
        let mut row = Vec::new();
        let mut memory = 0;
        for nodes in [10usize, 1000] {
            let members: Vec<Member> = (0..nodes)
                .map(|i| Member::new(format!("node-{i}")))
                .collect();
            // Maglev wants a table of at least 100 slots per member (its paper's advice).
            let scheme = match scheme {
                Scheme::Maglev { .. } if nodes > 600 => Scheme::Maglev {
                    table_size: 100_003,
                },
                ref s => s.clone(),
            };
            memory = scheme.memory_bytes(&members, hash);
            let ns = match scheme.build(&members, hash) {
                Some(p) => best_of_three(|| {
                    let t = Instant::now();
                    let mut acc = 0usize;
                    for _ in 0..ROUNDS {
                        for &k in &keys {
                            acc = acc.wrapping_add(p.locate(black_box(k)));
                        }
                    }
                    black_box(acc);
                    t.elapsed().as_nanos() as f64 / (KEYS * ROUNDS) as f64
                }),
                None => best_of_three(|| {
                    let t = Instant::now();
                    black_box(assign(&scheme, &members, hash, &keys, None));
                    t.elapsed().as_nanos() as f64 / KEYS as f64
                }),
            };
            row.push(ns);
        }
        println!(
            "{:<12} {:>14.1} {:>14.1} {:>13} KiB",
            scheme.name(),
            row[0],
            row[1],
            memory / 1024
        );
    }
}
