//! A client: submits one transaction at a time and waits for its outcome.

use std::rc::Rc;

use super::{CommitMessage, CommitObservation, Ctx, Shared, TxId};
use sim_core::NodeId;
use sim_core::TimerId;

/// A transaction's writes: (participant, key, value).
type Writes = Vec<(NodeId, u32, u64)>;

const THINK: u64 = 1;
const TIMEOUT: u64 = 2;

pub struct Client {
    me: NodeId,
    shared: Rc<Shared>,
    seq: u64,
    current: Option<(TxId, Writes)>,
    timer: Option<TimerId>,
}

impl Client {
    pub fn new(me: NodeId, shared: Rc<Shared>) -> Self {
        Client {
            me,
            shared,
            seq: 0,
            current: None,
            timer: None,
        }
    }

    pub fn on_start(&mut self, ctx: Ctx) {
        // Transaction ids are (client, sequence); the sequence starts at a random point so
        // that a restarted client never reuses one.
        self.seq = ctx.random().next_u64() >> 28;
        self.wait(ctx, self.shared.options.think_time.0, THINK);
    }

    pub fn on_restart(&mut self, ctx: Ctx) {
        self.on_start(ctx);
    }

    fn wait(&mut self, ctx: Ctx, after_ns: u64, tag: u64) {
        if let Some(t) = self.timer.take() {
            ctx.cancel_timer(t);
        }
        self.timer = Some(ctx.set_timer(after_ns, tag));
    }

    fn submit(&mut self, ctx: Ctx) {
        let o = &self.shared.options;
        self.seq += 1;
        let tx = ((self.me as u64) << 40) | (self.seq & 0xFF_FFFF_FFFF);
        // tx_size distinct participants, a random key on each.
        let mut chosen: Vec<NodeId> = self.shared.participants().collect();
        for i in 0..o.tx_size as usize {
            let j = i + ctx.random().below((chosen.len() - i) as u64) as usize;
            chosen.swap(i, j);
        }
        chosen.truncate(o.tx_size as usize);
        chosen.sort_unstable();
        let keys = o.keys as u64;
        let writes: Writes = chosen
            .into_iter()
            .map(|p| (p, ctx.random().below(keys) as u32, tx))
            .collect();
        ctx.observe(CommitObservation::Submitted { req: tx });
        ctx.send(
            Shared::COORDINATOR,
            CommitMessage::Submit {
                req: tx,
                writes: writes.clone(),
            },
        );
        self.current = Some((tx, writes));
        self.wait(ctx, self.shared.options.request_timeout.0, TIMEOUT);
    }

    pub fn on_timer(&mut self, ctx: Ctx, tag: u64) {
        self.timer = None;
        match tag {
            THINK => self.submit(ctx),
            TIMEOUT => {
                if let Some((tx, writes)) = self.current.clone() {
                    ctx.send(
                        Shared::COORDINATOR,
                        CommitMessage::Submit { req: tx, writes },
                    );
                    self.wait(ctx, self.shared.options.request_timeout.0, TIMEOUT);
                }
            }
            _ => {}
        }
    }

    pub fn on_message(&mut self, ctx: Ctx, _from: NodeId, msg: CommitMessage) {
        if let CommitMessage::Outcome { req: tx, committed } = msg {
            if self.current.as_ref().is_some_and(|(t, _)| *t == tx) {
                self.current = None;
                ctx.observe(CommitObservation::Finished { req: tx, committed });
                self.wait(ctx, self.shared.options.think_time.0, THINK);
            }
        }
    }
}
