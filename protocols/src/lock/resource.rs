//! The protected resource: a counter per lock, and the only judge that matters.

use std::collections::BTreeMap;
use std::rc::Rc;

use super::{Ctx, LockBug, LockMessage, LockObservation, LockRecord, Shared, Variant};
use sim_core::NodeId;

fn counter_key(lock: u32) -> String {
    format!("counter/{lock}")
}

#[derive(Clone, Default)]
struct Counter {
    value: u64,
    version: u64,
    /// The highest fencing token seen on a read or a write.
    max_token: u64,
    /// Each client's last write applied (its request): an idempotency key kept on disk
    /// with the value, so a write resent after its answer was lost (even across a restart
    /// of the store) is answered as it was, not applied twice. Per client: remembering only
    /// the last write of all (as this store once did) answered a resend that another
    /// client's write had overtaken `WriteRejected`, for a write that had taken effect;
    /// the client then did its increment again.
    last_write: BTreeMap<NodeId, u64>,
}

pub struct Resource {
    shared: Rc<Shared>,
    counters: BTreeMap<u32, Counter>,
}

impl Resource {
    pub fn new(shared: Rc<Shared>) -> Self {
        Resource {
            shared,
            counters: BTreeMap::new(),
        }
    }

    pub fn on_start(&mut self, _ctx: Ctx) {}

    pub fn on_timer(&mut self, _ctx: Ctx, _tag: u64) {}

    pub fn on_restart(&mut self, ctx: Ctx) {
        for lock in 0..self.shared.options.locks {
            if let Some(LockRecord::Counter {
                value,
                version,
                max_token,
                last_write,
            }) = ctx.storage().get(&counter_key(lock))
            {
                let c = Counter {
                    value: *value,
                    version: *version,
                    max_token: *max_token,
                    last_write: last_write.clone(),
                };
                self.counters.insert(lock, c);
            }
        }
    }

    fn persist(&self, ctx: Ctx, lock: u32) {
        let c = self.counters.get(&lock).cloned().unwrap_or_default();
        let record = LockRecord::Counter {
            value: c.value,
            version: c.version,
            max_token: c.max_token,
            last_write: c.last_write,
        };
        ctx.storage().put(counter_key(lock), record);
        ctx.storage().sync();
    }

    pub fn on_message(&mut self, ctx: Ctx, from: NodeId, msg: LockMessage) {
        let fencing = self.shared.options.variant == Variant::Fencing;
        match msg {
            LockMessage::Read { lock, req, token } => {
                let c = self.counters.entry(lock).or_default();
                // A read with a newer token fences off every older holder's writes too,
                // or a read-modify-write could straddle the new holder's read.
                if fencing && token > c.max_token {
                    c.max_token = token;
                    self.persist(ctx, lock);
                }
                let c = &self.counters[&lock];
                ctx.observe(LockObservation::ReadServed {
                    lock,
                    client: from,
                    token,
                });
                ctx.send(
                    from,
                    LockMessage::ReadOk {
                        req,
                        value: c.value,
                        version: c.version,
                    },
                );
            }
            LockMessage::Write {
                lock,
                req,
                token,
                hold,
                value,
                expected_version,
            } => {
                let c = self.counters.entry(lock).or_default();
                if c.last_write.get(&from) == Some(&req) {
                    ctx.send(from, LockMessage::WriteOk { req });
                    return;
                }
                let stale = if self.shared.options.bug(LockBug::FencingOffByOne) {
                    fencing && token + 1 < c.max_token
                } else {
                    fencing && token < c.max_token
                };
                let conflict = expected_version.is_some_and(|v| v != c.version);
                let reply = if stale || conflict {
                    ctx.observe(LockObservation::WriteRejected {
                        lock,
                        client: from,
                        stale_token: stale,
                    });
                    LockMessage::WriteRejected {
                        req,
                        stale_token: stale,
                    }
                } else {
                    let prev = c.value;
                    c.value = value;
                    c.version += 1;
                    c.max_token = c.max_token.max(token);
                    if self.shared.options.bug(LockBug::SharedIdempotencyKey) {
                        c.last_write.clear();
                    }
                    c.last_write.insert(from, req);
                    self.persist(ctx, lock);
                    ctx.observe(LockObservation::WriteAccepted {
                        lock,
                        client: from,
                        hold,
                        token,
                        prev,
                        value,
                    });
                    LockMessage::WriteOk { req }
                };
                ctx.send(from, reply);
            }
            _ => {}
        }
    }
}
