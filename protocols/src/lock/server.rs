//! A lock server: grants, releases, and (for leased variants) expiry on its own clock.

use std::collections::BTreeMap;
use std::rc::Rc;

use super::{Ctx, LockBug, LockMessage, LockObservation, LockRecord, Shared};
use sim_core::NodeId;

const TOKEN_RECORD: &str = "next-token";

fn holder_key(lock: u32) -> String {
    format!("holder/{lock}")
}

#[derive(Clone, Copy)]
struct Holder {
    client: NodeId,
    /// The request that was granted: only a resend of it gets the same grant again.
    req: u64,
    token: u64,
    /// Lease end on this server's clock (none for the naive lock).
    until_ns: Option<u64>,
}

pub struct LockServer {
    shared: Rc<Shared>,
    holders: BTreeMap<u32, Holder>,
    next_token: u64,
}

impl LockServer {
    pub fn new(shared: Rc<Shared>) -> Self {
        LockServer {
            shared,
            holders: BTreeMap::new(),
            next_token: 1,
        }
    }

    pub fn on_start(&mut self, ctx: Ctx) {
        if self.shared.options.persist {
            ctx.storage()
                .put(TOKEN_RECORD, LockRecord::NextToken(self.next_token));
            ctx.storage().sync();
        }
    }

    /// With `persist`, carries on from disk; without, starts empty, as a cache-like lock
    /// server (Redis without fsync) does, forgetting every lease it granted.
    pub fn on_restart(&mut self, ctx: Ctx) {
        if !self.shared.options.persist {
            return;
        }
        if let Some(LockRecord::NextToken(t)) = ctx.storage().get(TOKEN_RECORD) {
            if !self.shared.options.bug(LockBug::TokenNotPersisted) {
                self.next_token = *t;
            }
        }
        for lock in 0..self.shared.options.locks {
            if let Some(LockRecord::Holder {
                client,
                token,
                until_ns,
            }) = ctx.storage().get(&holder_key(lock))
            {
                let holder = Holder {
                    client: *client,
                    req: 0,
                    token: *token,
                    until_ns: *until_ns,
                };
                self.holders.insert(lock, holder);
            }
        }
    }

    fn persist_holder(&self, ctx: Ctx, lock: u32) {
        if !self.shared.options.persist {
            return;
        }
        match self.holders.get(&lock) {
            Some(h) => ctx.storage().put(
                holder_key(lock),
                LockRecord::Holder {
                    client: h.client,
                    token: h.token,
                    until_ns: h.until_ns,
                },
            ),
            None => {
                ctx.storage().remove(&holder_key(lock));
            }
        }
        ctx.storage()
            .put(TOKEN_RECORD, LockRecord::NextToken(self.next_token));
        // Synced before the grant is sent: a token must never be handed out twice.
        ctx.storage().sync();
    }

    fn grant(
        &mut self,
        ctx: Ctx,
        lock: u32,
        client: NodeId,
        req: u64,
        until_ns: Option<u64>,
    ) -> LockMessage {
        let token = self.next_token;
        self.next_token += 1;
        self.holders.insert(
            lock,
            Holder {
                client,
                req,
                token,
                until_ns,
            },
        );
        self.persist_holder(ctx, lock);
        ctx.observe(LockObservation::Granted {
            lock,
            client,
            token,
        });
        LockMessage::Granted { lock, req, token }
    }

    pub fn on_timer(&mut self, _ctx: Ctx, _tag: u64) {}

    pub fn on_message(&mut self, ctx: Ctx, from: NodeId, msg: LockMessage) {
        match msg {
            LockMessage::Acquire { lock, req } => {
                let now = ctx.now();
                if let Some(h) = self.holders.get(&lock).copied() {
                    if h.until_ns.is_some_and(|until| now >= until) {
                        self.holders.remove(&lock);
                        ctx.observe(LockObservation::Freed {
                            lock,
                            client: h.client,
                            expired: true,
                        });
                    }
                }
                let o = &self.shared.options;
                let lease = if o.bug(LockBug::EarlyLeaseExpiry) {
                    o.ttl.0 / 2
                } else {
                    o.ttl.0
                };
                let until_ns = o.variant.leased().then(|| now + lease);
                let reply = match self.holders.get(&lock).copied() {
                    // A resent request: the same answer.
                    Some(h) if h.client == from && h.req == req => LockMessage::Granted {
                        lock,
                        req,
                        token: h.token,
                    },
                    // Free, or the holder asking anew (its release may still be on the way):
                    // a new grant with a new token, so that a late release of the old one
                    // cannot end the new one.
                    None => self.grant(ctx, lock, from, req, until_ns),
                    Some(h) if h.client == from && req > h.req => {
                        self.grant(ctx, lock, from, req, until_ns)
                    }
                    // Busy, and so is an older request of the holder's arriving late
                    // (messages overtake each other): granting it anew replaced the grant
                    // the holder had counted on with one it gives back at once, which
                    // freed the lock under it (lock-quorum-slow, seed 1601 of 3000).
                    Some(_) => LockMessage::Busy { lock, req },
                };
                ctx.send(from, reply);
            }
            LockMessage::Release { lock, token } => {
                if let Some(h) = self.holders.get(&lock).copied() {
                    if h.client == from && h.token == token {
                        self.holders.remove(&lock);
                        self.persist_holder(ctx, lock);
                        ctx.observe(LockObservation::Freed {
                            lock,
                            client: from,
                            expired: false,
                        });
                    }
                }
                ctx.send(from, LockMessage::ReleaseAck { lock, token });
            }
            _ => {}
        }
    }
}
