//! A client: acquire, increment the counter a few times, release; again and again.

use std::collections::{BTreeMap, BTreeSet};
use std::rc::Rc;

use super::{Ctx, LockBug, LockMessage, LockObservation, Shared, Variant};
use linearizability::{Event, Kind, Value};
use sim_core::NodeId;
use sim_core::TimerId;

/// Timer tags: a client has one timer at a time.
const THINK: u64 = 1;
const RETRY: u64 = 2;
const TIMEOUT: u64 = 3;
const WORK: u64 = 4;

enum State {
    Idle,
    Asking {
        lock: u32,
        req: u64,
        grants: BTreeMap<NodeId, u64>,
        busy: BTreeSet<NodeId>,
        started_ns: u64,
    },
    Holding {
        lock: u32,
        token: u64,
        /// The request that won the lock, to know late duplicates of its grants.
        won_by: u64,
        /// Each granting server's own token: each server numbers its grants with its own
        /// counter, so a release must name, at each server, the grant that server made.
        grants: BTreeMap<NodeId, u64>,
        deadline_ns: Option<u64>,
        done: u32,
        step: Step,
    },
}

enum Step {
    Reading { req: u64 },
    Working { value: u64, version: u64 },
    Writing { req: u64, value: u64, version: u64 },
}

pub struct Client {
    shared: Rc<Shared>,
    state: State,
    /// This client's holdings, counted; the checkers name a holding by (client, hold).
    hold: u64,
    next_req: u64,
    /// This life's history process (a restart starts a new one, as Jepsen does after a
    /// crash: the operation the crash cut short never completes).
    process: u64,
    timer: Option<TimerId>,
    /// Releases not yet acknowledged: (lock, token) → servers that have not answered.
    releases: BTreeMap<(u32, u64), BTreeSet<NodeId>>,
}

impl Client {
    pub fn new(shared: Rc<Shared>) -> Self {
        Client {
            shared,
            state: State::Idle,
            hold: 0,
            next_req: 0,
            process: 0,
            timer: None,
            releases: BTreeMap::new(),
        }
    }

    pub fn on_start(&mut self, ctx: Ctx) {
        // Fresh request ids and holding numbers after a restart, so neither the store nor
        // the checkers mistake this life's requests or holdings for the previous life's.
        self.next_req = ctx.random().next_u64() >> 16;
        self.process = (u64::from(ctx.id()) << 40) | (self.next_req & 0xFF_FFFF_FFFF);
        self.hold = ctx.random().next_u64() >> 16;
        let jitter = ctx.random().below(self.shared.options.think_time.0.max(1));
        self.wait(ctx, self.shared.options.think_time.0 + jitter, THINK);
    }

    /// A restarted client holds nothing and starts afresh.
    pub fn on_restart(&mut self, ctx: Ctx) {
        self.on_start(ctx);
    }

    fn wait(&mut self, ctx: Ctx, after_ns: u64, tag: u64) {
        if let Some(t) = self.timer.take() {
            ctx.cancel_timer(t);
        }
        self.timer = Some(ctx.set_timer(after_ns, tag));
    }

    fn req(&mut self) -> u64 {
        self.next_req += 1;
        self.next_req
    }

    fn majority(&self) -> usize {
        if self.shared.options.bug(LockBug::WrongMajority) {
            return (self.shared.options.servers as usize / 2).max(1);
        }
        self.shared.options.servers as usize / 2 + 1
    }

    fn ask(&mut self, ctx: Ctx, lock: u32) {
        let req = self.req();
        for s in self.shared.servers() {
            ctx.send(s, LockMessage::Acquire { lock, req });
        }
        let started_ns = ctx.now();
        self.state = State::Asking {
            lock,
            req,
            grants: BTreeMap::new(),
            busy: BTreeSet::new(),
            started_ns,
        };
        self.wait(ctx, self.shared.options.request_timeout.0, TIMEOUT);
    }

    fn start_holding(&mut self, ctx: Ctx) {
        let o = &self.shared.options;
        let lock = ctx.random().below(o.locks as u64) as u32;
        self.hold += 1;
        if o.variant == Variant::Optimistic {
            self.state = State::Holding {
                lock,
                token: 0,
                won_by: 0,
                grants: BTreeMap::new(),
                deadline_ns: None,
                done: 0,
                step: Step::Reading { req: 0 },
            };
            self.increment(ctx);
            return;
        }
        ctx.observe(LockObservation::Asking {
            lock,
            hold: self.hold,
        });
        self.ask(ctx, lock);
    }

    /// Gives back every grant of a failed quorum attempt, then tries again later.
    fn abandon(&mut self, ctx: Ctx) {
        if let State::Asking { lock, grants, .. } = &self.state {
            for (&server, &token) in grants {
                self.releases
                    .entry((*lock, token))
                    .or_default()
                    .insert(server);
            }
        }
        self.send_releases(ctx);
        self.wait(ctx, self.shared.options.retry_backoff.0, RETRY);
    }

    fn acquired(
        &mut self,
        ctx: Ctx,
        lock: u32,
        req: u64,
        grants: BTreeMap<NodeId, u64>,
        started_ns: u64,
    ) {
        // The token of a quorum holding is the highest granted (for the record).
        let token = grants.values().copied().max().unwrap_or(0);
        let o = &self.shared.options;
        let now = ctx.now();
        let ttl = o.ttl.0 as f64;
        // The client's idea of how long it holds the lock, on its own clock.
        let deadline_ns = match o.variant {
            Variant::Naive | Variant::Optimistic => None,
            // Counted from when the request was sent: the server's lease began at some
            // moment after that, never before.
            Variant::Lease | Variant::Fencing => {
                Some(started_ns + (ttl * (1.0 - o.drift_allowance)) as u64)
            }
            Variant::Quorum => {
                let spent = if o.bug(LockBug::ValidityIgnoresAcquisition) {
                    0
                } else {
                    now - started_ns
                };
                let validity = ttl - spent as f64 - o.drift_allowance * ttl;
                if validity <= 0.0 {
                    self.abandon(ctx);
                    return;
                }
                Some(now + validity as u64)
            }
        };
        ctx.observe(LockObservation::Acquired {
            lock,
            hold: self.hold,
            token,
        });
        self.state = State::Holding {
            lock,
            token,
            won_by: req,
            grants,
            deadline_ns,
            done: 0,
            step: Step::Reading { req: 0 },
        };
        self.increment(ctx);
    }

    /// One read-modify-write. The lease is checked here, before the read, as client code
    /// checks it; between the read and the write the client only works, so a pause there
    /// ends in a write made on a belief that may have expired.
    fn increment(&mut self, ctx: Ctx) {
        let now = ctx.now();
        let req = self.req();
        let State::Holding {
            lock,
            token,
            deadline_ns,
            step,
            ..
        } = &mut self.state
        else {
            return;
        };
        if deadline_ns.is_some_and(|d| now >= d) {
            ctx.observe(LockObservation::Let {
                lock: *lock,
                hold: self.hold,
                expired: true,
            });
            self.idle(ctx);
            return;
        }
        *step = Step::Reading { req };
        let (lock, token) = (*lock, *token);
        record(ctx, self.process, lock, Kind::Invoke, "read", Value::Nil);
        ctx.send(self.shared.resource, LockMessage::Read { lock, req, token });
        self.wait(ctx, self.shared.options.request_timeout.0, TIMEOUT);
    }

    fn write(&mut self, ctx: Ctx) {
        let req = self.req();
        let optimistic = self.shared.options.variant == Variant::Optimistic;
        let State::Holding {
            lock, token, step, ..
        } = &mut self.state
        else {
            return;
        };
        let Step::Working { value, version } = *step else {
            return;
        };
        *step = Step::Writing {
            req,
            value,
            version,
        };
        let msg = LockMessage::Write {
            lock: *lock,
            req,
            token: *token,
            hold: self.hold,
            value: value + 1,
            expected_version: optimistic.then_some(version),
        };
        // The optimistic variant's write is a compare-and-set (on the version, which moves
        // with the value: every write it accepts adds one).
        let (f, v) = if optimistic {
            (
                "cas",
                Value::Vector(vec![counter(version, value), counter(1, value + 1)]),
            )
        } else {
            ("write", counter(1, value + 1))
        };
        record(ctx, self.process, *lock, Kind::Invoke, f, v);
        ctx.send(self.shared.resource, msg);
        self.wait(ctx, self.shared.options.request_timeout.0, TIMEOUT);
    }

    fn release(&mut self, ctx: Ctx) {
        if let State::Holding { lock, grants, .. } = &self.state {
            let lock = *lock;
            if self.shared.options.variant != Variant::Optimistic {
                ctx.observe(LockObservation::Let {
                    lock,
                    hold: self.hold,
                    expired: false,
                });
                // Each server its own grant. (Releasing the highest token everywhere freed,
                // at a server whose counter had reached that number later, a newer grant of
                // this same client: a resent release of an old holding ended the next one.)
                for (&server, &token) in grants {
                    self.releases
                        .entry((lock, token))
                        .or_default()
                        .insert(server);
                }
                self.send_releases(ctx);
            }
        }
        self.idle(ctx);
    }

    fn idle(&mut self, ctx: Ctx) {
        self.state = State::Idle;
        self.wait(ctx, self.shared.options.think_time.0, THINK);
    }

    /// Releases go out until each server acknowledges them (a lost release would leave a
    /// naive lock held for ever by a client that is alive and done).
    fn send_releases(&self, ctx: Ctx) {
        for (&(lock, token), servers) in &self.releases {
            for &s in servers {
                ctx.send(s, LockMessage::Release { lock, token });
            }
        }
    }

    pub fn on_timer(&mut self, ctx: Ctx, tag: u64) {
        self.timer = None;
        self.send_releases(ctx);
        match (tag, &self.state) {
            (THINK, State::Idle) => self.start_holding(ctx),
            (RETRY, State::Asking { lock, .. }) => {
                let lock = *lock;
                self.ask(ctx, lock);
            }
            (
                TIMEOUT,
                State::Asking {
                    lock, req, grants, ..
                },
            ) => {
                if self.shared.options.variant == Variant::Quorum {
                    self.abandon(ctx);
                } else {
                    // Resend the same request: the server answers it the same way.
                    let (lock, req) = (*lock, *req);
                    debug_assert!(grants.is_empty());
                    for s in self.shared.servers() {
                        ctx.send(s, LockMessage::Acquire { lock, req });
                    }
                    self.wait(ctx, self.shared.options.request_timeout.0, TIMEOUT);
                }
            }
            (
                TIMEOUT,
                State::Holding {
                    lock, token, step, ..
                },
            ) => {
                let (lock, token) = (*lock, *token);
                let msg = match *step {
                    Step::Reading { req } => LockMessage::Read { lock, req, token },
                    Step::Writing {
                        req,
                        value,
                        version,
                    } => LockMessage::Write {
                        lock,
                        req,
                        token,
                        hold: self.hold,
                        value: value + 1,
                        expected_version: (self.shared.options.variant == Variant::Optimistic)
                            .then_some(version),
                    },
                    Step::Working { .. } => return,
                };
                ctx.send(self.shared.resource, msg);
                self.wait(ctx, self.shared.options.request_timeout.0, TIMEOUT);
            }
            (WORK, State::Holding { .. }) => self.write(ctx),
            _ => {}
        }
    }

    pub fn on_message(&mut self, ctx: Ctx, from: NodeId, msg: LockMessage) {
        match msg {
            LockMessage::ReleaseAck { lock, token } => {
                if let Some(waiting) = self.releases.get_mut(&(lock, token)) {
                    waiting.remove(&from);
                    if waiting.is_empty() {
                        self.releases.remove(&(lock, token));
                    }
                }
            }
            LockMessage::Granted { lock, req, token } => {
                // A late duplicate of a grant of the holding under way (the request was
                // resent, and both answers arrived): nothing to do. Giving it back would
                // end the holding at the server while this client goes on working in it.
                if let State::Holding {
                    lock: l,
                    won_by,
                    grants,
                    ..
                } = &mut self.state
                {
                    if *l == lock && *won_by == req {
                        // Or a grant from a server beyond the majority, arriving late: kept,
                        // so that the release frees it too.
                        grants.entry(from).or_insert(token);
                        return;
                    }
                }
                let majority = self.majority();
                let State::Asking {
                    lock: l,
                    req: r,
                    grants,
                    started_ns,
                    ..
                } = &mut self.state
                else {
                    // A grant for an attempt already given up: give it back.
                    self.releases.entry((lock, token)).or_default().insert(from);
                    self.send_releases(ctx);
                    return;
                };
                if *l != lock || *r != req {
                    self.releases.entry((lock, token)).or_default().insert(from);
                    self.send_releases(ctx);
                    return;
                }
                grants.insert(from, token);
                let started = *started_ns;
                if grants.len() >= majority {
                    let grants = std::mem::take(grants);
                    self.acquired(ctx, lock, req, grants, started);
                }
            }
            LockMessage::Busy { lock, req } => {
                let n = self.shared.options.servers as usize;
                let majority = self.majority();
                if let State::Asking {
                    lock: l,
                    req: r,
                    busy,
                    ..
                } = &mut self.state
                {
                    if *l == lock && *r == req {
                        busy.insert(from);
                        if busy.len() > n - majority {
                            self.abandon(ctx);
                        }
                    }
                }
            }
            LockMessage::ReadOk {
                req,
                value,
                version,
            } => {
                if let State::Holding { step, lock, .. } = &mut self.state {
                    if matches!(step, Step::Reading { req: r } if *r == req) {
                        record(
                            ctx,
                            self.process,
                            *lock,
                            Kind::Ok,
                            "read",
                            counter(version, value),
                        );
                        *step = Step::Working { value, version };
                        self.wait(ctx, self.shared.options.work_time.0, WORK);
                    }
                }
            }
            LockMessage::WriteOk { req } => {
                let writes = self.shared.options.writes_per_hold;
                let optimistic = self.shared.options.variant == Variant::Optimistic;
                let State::Holding {
                    lock,
                    step:
                        Step::Writing {
                            req: r,
                            value,
                            version,
                        },
                    done,
                    ..
                } = &mut self.state
                else {
                    return;
                };
                if *r != req {
                    return;
                }
                let (value, version) = (*value, *version);
                if optimistic {
                    let cas = vec![counter(version, value), counter(1, value + 1)];
                    record(
                        ctx,
                        self.process,
                        *lock,
                        Kind::Ok,
                        "cas",
                        Value::Vector(cas),
                    );
                } else {
                    record(
                        ctx,
                        self.process,
                        *lock,
                        Kind::Ok,
                        "write",
                        counter(1, value + 1),
                    );
                }
                ctx.observe(LockObservation::Incremented { lock: *lock });
                *done += 1;
                if *done >= writes {
                    self.release(ctx);
                } else {
                    self.increment(ctx);
                }
            }
            LockMessage::WriteRejected { req, stale_token } => {
                let State::Holding { lock, step, .. } = &self.state else {
                    return;
                };
                let Step::Writing { req: r, .. } = step else {
                    return;
                };
                if *r != req {
                    return;
                }
                let f = if self.shared.options.variant == Variant::Optimistic {
                    "cas"
                } else {
                    "write"
                };
                record(ctx, self.process, *lock, Kind::Fail, f, Value::Nil);
                if stale_token {
                    // Fenced off: someone newer holds the lock. Stop, without a release.
                    ctx.observe(LockObservation::Let {
                        lock: *lock,
                        hold: self.hold,
                        expired: true,
                    });
                    self.idle(ctx);
                } else {
                    // Optimistic conflict: read again and retry.
                    self.increment(ctx);
                }
            }
            _ => {}
        }
    }
}

/// Records an invocation or a completion of an operation on the store's counter of `lock`.
fn record(ctx: Ctx, process: u64, lock: u32, kind: Kind, f: &'static str, value: Value) {
    ctx.append_history(Event {
        process,
        kind,
        f: f.into(),
        key: Some(Value::Int(lock.into())),
        value,
    });
}

/// A counter value in the history: `nil` before the first write (version 0).
fn counter(version: u64, value: u64) -> Value {
    if version == 0 {
        Value::Nil
    } else {
        Value::Int(value as i64)
    }
}
