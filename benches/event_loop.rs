//! Engine throughput: ping-pong under the full simulation, next to a bare loop.
//!
//! The bare loop does only what any heap-based simulator must do for the same workload:
//! pop the earliest event, make the same ChaCha draws (the receiver's choice of peer from
//! its own stream, the network's loss and latency draws), and push the next event. The
//! ratio of the two rates is what the engine's bookkeeping costs: node dispatch, effects,
//! fingerprint, checkers and metrics.
//!
//! Run: `cargo bench --bench event_loop` (add `-- quick` for 1 M events).
//!
//! `cargo bench --bench event_loop -- peer [16,1000,10000,100000]` runs the peers'
//! forwarding workload instead (N nodes, one message each always in flight, links of 1 to
//! 1.1 ms, no loss, 10 million deliveries: `../shared/bench/peer-N.ron`) through the whole
//! simulation, alternately with a floor loop that does only what any heap-based simulator
//! must (a `std` binary heap of (time, sequence, 16-byte message), one ChaCha8 stream, two
//! draws per delivery), five pairs per size, and prints the median ratio. Whole
//! processes, as `../shared/bench/paired.py` runs them, include start-up and parsing; this
//! measures the loops alone.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::time::Instant;

use sim_core::EventQueue;
use sim_core::{Random, Stream};

const LATENCY_MIN_NS: u64 = 1_000_000;
const LATENCY_MAX_NS: u64 = 5_000_000;

/// The two queues the bare loop can run on.
trait Queue {
    fn push(&mut self, time_ns: u64, to: u32, hop: u32);
    fn pop(&mut self) -> Option<(u64, u32, u32)>;
}

/// `std::collections::BinaryHeap`, with a sequence number for ties as any simulator needs.
#[derive(Default)]
struct StdHeap {
    heap: BinaryHeap<Reverse<(u64, u64, u32, u32)>>,
    seq: u64,
}

impl Queue for StdHeap {
    fn push(&mut self, time_ns: u64, to: u32, hop: u32) {
        self.seq += 1;
        self.heap.push(Reverse((time_ns, self.seq, to, hop)));
    }
    fn pop(&mut self) -> Option<(u64, u32, u32)> {
        self.heap.pop().map(|Reverse((t, _, to, hop))| (t, to, hop))
    }
}

/// dsim's own 4-ary queue.
#[derive(Default)]
struct DsimQueue(EventQueue<(u32, u32)>);

impl Queue for DsimQueue {
    fn push(&mut self, time_ns: u64, to: u32, hop: u32) {
        self.0.push(time_ns, (to, hop));
    }
    fn pop(&mut self) -> Option<(u64, u32, u32)> {
        self.0.pop().map(|(t, (to, hop))| (t, to, hop))
    }
}

/// Same population dynamics and draws as ping-pong on the bench scenarios.
fn bare_loop<Q: Queue + Default>(
    nodes: u32,
    tokens_per_node: u32,
    events: u64,
    loss: f64,
    seed: u64,
) -> (u64, f64) {
    let mut net = Random::new(seed, Stream::Network);
    let mut rngs: Vec<Random> = (0..nodes)
        .map(|i| Random::new(seed, Stream::Node(i)))
        .collect();
    let mut heap = Q::default();
    let peer = |rng: &mut Random, me: u32| {
        let r = rng.below(nodes as u64 - 1) as u32;
        if r >= me {
            r + 1
        } else {
            r
        }
    };
    for me in 0..nodes {
        for _ in 0..tokens_per_node {
            let to = peer(&mut rngs[me as usize], me);
            if !net.chance(loss) {
                heap.push(net.between(LATENCY_MIN_NS, LATENCY_MAX_NS), to, 0);
            }
        }
    }
    let started = Instant::now();
    let mut done = 0;
    while done < events {
        let Some((now, me, hop)) = heap.pop() else {
            break;
        };
        done += 1;
        let to = peer(&mut rngs[me as usize], me);
        if !net.chance(loss) {
            let at = now + net.between(LATENCY_MIN_NS, LATENCY_MAX_NS);
            heap.push(at, to, hop + 1);
        }
    }
    (done, started.elapsed().as_secs_f64())
}

fn simulated(file: &str, events: u64) -> (u64, f64, u64) {
    let path = format!("{}/scenarios/{file}", env!("CARGO_MANIFEST_DIR"));
    let mut loaded = protocols::builtin()
        .load(&path)
        .unwrap_or_else(|e| panic!("{e}"));
    loaded.scenario.limits.events = Some(events);
    let seed = loaded.scenario.seed;
    let started = Instant::now();
    let outcome = loaded.run(seed, None);
    let wall = started.elapsed().as_secs_f64();
    assert!(outcome.violation.is_none(), "{:?}", outcome.violation);
    (outcome.events, wall, outcome.fingerprint)
}

fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// A message of the floor loop: 16 bytes, as the peers' floor program sends.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct FloorMsg {
    src: u32,
    dst: u32,
    hops: u32,
    kind: u32,
}

/// The floor: N messages always in flight on a `std` binary heap; per delivery one draw
/// for the destination and one for the latency, from a single ChaCha8 stream
/// (`rand_chacha`'s, which buffers four blocks, as the peers' floor program uses).
fn floor_loop(nodes: u32, deliveries: u64, seed: u64) -> f64 {
    use rand_chacha::ChaCha8Rng;
    use rand_core::{Rng, SeedableRng};
    let mut key = [0u8; 32];
    key[..8].copy_from_slice(&seed.to_le_bytes());
    let mut rng = ChaCha8Rng::from_seed(key);
    let below =
        |rng: &mut ChaCha8Rng, n: u64| ((u128::from(rng.next_u64()) * u128::from(n)) >> 64) as u64;
    let mut heap: BinaryHeap<Reverse<(u64, u64, FloorMsg)>> = BinaryHeap::new();
    let mut seq = 0;
    let started = Instant::now();
    let mut send =
        |heap: &mut BinaryHeap<_>, rng: &mut ChaCha8Rng, now: u64, from: u32, hops: u32| {
            let mut dst = below(rng, u64::from(nodes) - 1) as u32;
            if dst >= from {
                dst += 1;
            }
            let at = now + 1_000_000 + below(rng, 100_000);
            seq += 1;
            let msg = FloorMsg {
                src: from,
                dst,
                hops,
                kind: 0,
            };
            heap.push(Reverse((at, seq, msg)));
        };
    for from in 0..nodes {
        send(&mut heap, &mut rng, 0, from, 0);
    }
    let mut done = 0;
    while done < deliveries {
        let Some(Reverse((now, _, msg))) = heap.pop() else {
            break;
        };
        done += 1;
        send(&mut heap, &mut rng, now, msg.dst, msg.hops + 1);
    }
    done as f64 / started.elapsed().as_secs_f64()
}

/// The same workload through dsim: deliveries per second of the run.
fn peer_run(nodes: u32, deliveries: u64) -> f64 {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"));
    std::fs::create_dir_all(dir).expect("the target tmp dir");
    let path = dir.join(format!("peer-{nodes}.ron"));
    let text = format!(
        "(name: \"peer-{nodes}\", seed: 42, limits: (time: \"10h\", events: {deliveries}), \
         network: (latency: Uniform(min: \"1ms\", max: \"1100us\")), \
         protocol: PingPong(nodes: {nodes}, tokens_per_node: 1, idle_timeout: \"10s\", \
         max_silence: \"20s\"))"
    );
    std::fs::write(&path, text).expect("write the scenario");
    let loaded = protocols::builtin()
        .load(&path.to_string_lossy())
        .unwrap_or_else(|e| panic!("{e}"));
    let started = Instant::now();
    let outcome = loaded.run(42, None);
    outcome.messages.delivered as f64 / started.elapsed().as_secs_f64()
}

fn peer(sizes: &[u32]) {
    const PAIRS: usize = 5;
    const DELIVERIES: u64 = 10_000_000;
    println!("the peers' workload: one message per node in flight, 1-1.1 ms links, no loss,");
    println!("{DELIVERIES} deliveries; {PAIRS} pairs per size, M deliveries/s (medians)");
    println!("| nodes | floor | dsim | dsim / floor (median, min, max) |");
    println!("|---:|---:|---:|---|");
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    for &nodes in sizes {
        let (mut floors, mut sims, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
        for _ in 0..PAIRS {
            let sim = peer_run(nodes, DELIVERIES);
            let floor = floor_loop(nodes, DELIVERIES, 42);
            ratios.push(sim / floor);
            floors.push(floor);
            sims.push(sim);
        }
        let (lo, hi) = (
            ratios.iter().copied().fold(f64::MAX, f64::min),
            ratios.iter().copied().fold(0.0, f64::max),
        );
        println!(
            "| {nodes} | {:.2} | {:.2} | {:.2} ({lo:.2}, {hi:.2}) |",
            median(&mut floors) / 1e6,
            median(&mut sims) / 1e6,
            median(&mut ratios)
        );
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "peer") {
        // cargo bench passes `--bench` too: sizes are the next argument only if it is not a flag.
        let sizes: Vec<u32> = args
            .get(i + 1)
            .filter(|s| !s.starts_with("--"))
            .map_or("16,1000,10000,100000", |s| s.as_str())
            .split(',')
            .map(|n| n.parse().expect("node counts, comma-separated"))
            .collect();
        peer(&sizes);
        return;
    }
    let quick = std::env::args().any(|a| a == "quick");
    let events: u64 = if quick { 1_000_000 } else { 10_000_000 };
    println!("engine throughput, {events} events, ping-pong, 1% loss, no trace");
    println!("bare: heap push/pop and the same ChaCha draws, nothing else; M events/s");
    println!(
        "{:<7} {:>16} {:>16} {:>12} {:>10} {:>11}  fingerprint",
        "nodes", "bare std heap", "bare dsim queue", "dsim run", "vs std", "vs dsim q"
    );
    for (nodes, tokens, file) in [
        (16u32, 10_000u32, "bench-pingpong-16.ron"),
        (10_000, 16, "bench-pingpong-10k.ron"),
    ] {
        // Best of three for each, to damp the noise of a shared machine.
        let best = |f: &dyn Fn() -> (u64, f64)| {
            (0..3)
                .map(|_| {
                    let (n, s) = f();
                    n as f64 / s
                })
                .fold(0.0, f64::max)
        };
        let bare_std = best(&|| bare_loop::<StdHeap>(nodes, tokens, events, 0.01, 42));
        let bare_dsim = best(&|| bare_loop::<DsimQueue>(nodes, tokens, events, 0.01, 42));
        let mut fp = 0;
        let sim = (0..3)
            .map(|_| {
                let (n, s, f) = simulated(file, events);
                fp = f;
                n as f64 / s
            })
            .fold(0.0, f64::max);
        println!(
            "{:<7} {:>16.2} {:>16.2} {:>12.2} {:>10.2} {:>11.2}  {fp:016x}",
            nodes,
            bare_std / 1e6,
            bare_dsim / 1e6,
            sim / 1e6,
            sim / bare_std,
            sim / bare_dsim
        );
    }
    if let Some(kib) = peak_rss_kib() {
        println!(
            "peak resident memory of this process: {:.1} MiB",
            kib as f64 / 1024.0
        );
    }
}
