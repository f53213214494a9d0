//! A client: one operation at a time, routed with the epoch it knows.

use std::rc::Rc;

use super::{Ctx, KvMessage, KvObservation, Shared};
use linearizability::{Event, Kind, Value};
use sim_core::NodeId;
use sim_core::TimerId;

/// Timer tags: a client has at most one timer at a time.
const THINK: u64 = 1;
const TIMEOUT: u64 = 2;
const RETRY: u64 = 3;

struct Op {
    req: u64,
    key: u32,
    /// The value to put, or `None` for a get.
    put: Option<u64>,
    attempts: u32,
}

pub struct Client {
    me: NodeId,
    shared: Rc<Shared>,
    epoch: u64,
    owners: Rc<Vec<NodeId>>,
    next_req: u64,
    /// This life's history process (a restart starts a new one, as Jepsen does after a
    /// crash: the operation the crash cut short never completes).
    process: u64,
    current: Option<Op>,
    timer: Option<TimerId>,
}

impl Client {
    pub fn new(me: NodeId, shared: Rc<Shared>) -> Self {
        let owners = shared.owners(&shared.initial_members());
        Client {
            me,
            shared,
            epoch: 1,
            owners,
            next_req: 0,
            process: 0,
            current: None,
            timer: None,
        }
    }

    pub fn on_start(&mut self, ctx: Ctx) {
        // Request ids start at a random point, so a restarted client never reuses one that
        // a storage node remembers from its previous life.
        self.next_req = ctx.random().next_u64() >> 16;
        self.process = (u64::from(self.me) << 40) | (self.next_req & 0xFF_FFFF_FFFF);
        self.wait(ctx, self.shared.options.think_time.0, THINK);
    }

    /// A restarted client has forgotten the epoch: ask the directory, then carry on.
    pub fn on_restart(&mut self, ctx: Ctx) {
        ctx.send(self.shared.directory, KvMessage::GetEpoch);
        self.on_start(ctx);
    }

    fn wait(&mut self, ctx: Ctx, after_ns: u64, tag: u64) {
        if let Some(t) = self.timer.take() {
            ctx.cancel_timer(t);
        }
        self.timer = Some(ctx.set_timer(after_ns, tag));
    }

    fn issue(&mut self, ctx: Ctx) {
        self.next_req += 1;
        let req = self.next_req;
        let key = self.shared.sampler.sample(ctx.random()) as u32;
        let write = ctx.random().chance(self.shared.options.write_ratio);
        // Values are unique per client and request, so a read shows whose write it saw.
        let put = write.then_some(((self.me as u64) << 48) | (req & 0xFFFF_FFFF_FFFF));
        ctx.observe(KvObservation::Issued { req, key, write });
        ctx.append_history(Event {
            process: self.process,
            kind: Kind::Invoke,
            f: if write { "write" } else { "read" }.into(),
            key: Some(Value::Int(key.into())),
            value: put.map_or(Value::Nil, value),
        });
        self.current = Some(Op {
            req,
            key,
            put,
            attempts: 0,
        });
        self.send_current(ctx);
    }

    fn send_current(&mut self, ctx: Ctx) {
        let Some(op) = &self.current else { return };
        let owner = self.owners[op.key as usize];
        let msg = match op.put {
            Some(value) => KvMessage::Put {
                req: op.req,
                epoch: self.epoch,
                key: op.key,
                value,
            },
            None => KvMessage::Get {
                req: op.req,
                epoch: self.epoch,
                key: op.key,
            },
        };
        ctx.send(owner, msg);
        self.wait(ctx, self.shared.options.request_timeout.0, TIMEOUT);
    }

    fn finish(&mut self, ctx: Ctx, observation: KvObservation) {
        ctx.observe(observation);
        self.current = None;
        self.wait(ctx, self.shared.options.think_time.0, THINK);
    }

    /// Records that the current operation on `key` completed `Ok` with `result`.
    fn record_ok(&self, ctx: Ctx, key: u32, write: bool, result: Value) {
        ctx.append_history(Event {
            process: self.process,
            kind: Kind::Ok,
            f: if write { "write" } else { "read" }.into(),
            key: Some(Value::Int(key.into())),
            value: result,
        });
    }

    fn is_current(&self, req: u64) -> bool {
        self.current.as_ref().is_some_and(|op| op.req == req)
    }

    pub fn on_timer(&mut self, ctx: Ctx, tag: u64) {
        self.timer = None;
        match tag {
            THINK => self.issue(ctx),
            TIMEOUT => {
                let Some(op) = self.current.as_mut() else {
                    return;
                };
                op.attempts += 1;
                // The owner may be down or cut off, or the membership may have moved on.
                if op.attempts % 3 == 0 {
                    ctx.send(self.shared.directory, KvMessage::GetEpoch);
                }
                ctx.observe(KvObservation::Retried {
                    redirected: false,
                    not_ready: false,
                });
                self.send_current(ctx);
            }
            RETRY => self.send_current(ctx),
            _ => {}
        }
    }

    pub fn on_message(&mut self, ctx: Ctx, from: NodeId, msg: KvMessage) {
        match msg {
            KvMessage::NewEpoch { epoch, members, .. } => {
                ctx.send(from, KvMessage::EpochAck { epoch });
                if epoch > self.epoch {
                    self.epoch = epoch;
                    self.owners = self.shared.owners(&members);
                }
            }
            KvMessage::PutOk { req, version } if self.is_current(req) => {
                let op = self.current.as_ref().expect("current");
                let (key, value) = (op.key, op.put.unwrap_or_default());
                self.record_ok(ctx, key, true, self::value(value));
                self.finish(
                    ctx,
                    KvObservation::WriteAcked {
                        req,
                        key,
                        version,
                        value,
                    },
                );
            }
            KvMessage::GetOk {
                req,
                version,
                value,
            } if self.is_current(req) => {
                let key = self.current.as_ref().expect("current").key;
                self.record_ok(ctx, key, false, value.map_or(Value::Nil, self::value));
                self.finish(
                    ctx,
                    KvObservation::ReadReturned {
                        req,
                        key,
                        version,
                        value,
                    },
                );
            }
            KvMessage::WrongOwner { req, epoch } if self.is_current(req) => {
                if epoch > self.epoch {
                    ctx.send(self.shared.directory, KvMessage::GetEpoch);
                }
                ctx.observe(KvObservation::Retried {
                    redirected: true,
                    not_ready: false,
                });
                self.wait(ctx, self.shared.options.retry_backoff.0, RETRY);
            }
            KvMessage::NotReady { req } if self.is_current(req) => {
                ctx.observe(KvObservation::Retried {
                    redirected: false,
                    not_ready: true,
                });
                self.wait(ctx, self.shared.options.retry_backoff.0, RETRY);
            }
            _ => {}
        }
    }
}

/// A value written or read, in the history (values are below 2^63).
fn value(v: u64) -> Value {
    Value::Int(v as i64)
}
