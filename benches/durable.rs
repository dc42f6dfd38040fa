//! Durable transfer throughput: SpacetimeDB's published workload (100,000 accounts, each operation a
//! transfer between two accounts with a funds check, both accounts drawn from a Zipf distribution
//! with α = 1.5, 50 concurrent clients) on necpsim and, in the same run, on SQLite used the
//! conventional way.
//!
//! - **necpsim**: a real [`Sim`] with 100,000 joined players (their accounts open with the starting
//!   eurodollars), and a [`StoreWriter`] over a fresh [`SqliteStore`] (WAL, `synchronous = FULL`)
//!   fed exactly as the server's tick loop feeds it: `Batch::of_tick` after every step, then
//!   `submit`, with the same back-pressure (economy paused while the writer is more than
//!   `[store] max_backlog_batches` behind). Ticks run back to back. Each of the 50 clients keeps
//!   `W` transfers outstanding. A client stands for a gateway acting for many players: it submits
//!   each transfer as its Zipf-chosen sender (`ReplyTo { client: sender, request }`, since the sim
//!   knows who pays only by the submitting client id) with a fresh idempotency key from one counter
//!   (so each player's keys increase, as counter or time-ordered keys such as UUIDv7 do), and gets
//!   the reply back by its request number. A transfer is done when its reply has been seen *and* the
//!   writer has committed the tick that produced it; its latency runs from submission to that
//!   commit (timed in the writer's commit callback, where the server releases acknowledgements).
//!   The report splits the time between the tick thread (a step with transfers against one without,
//!   `Batch::of_tick`, the simulated clients) and the writer (commits, transfers per commit).
//! - **baseline**: the same workload on one SQLite connection, one transaction per transfer
//!   (`BEGIN IMMEDIATE; SELECT balance; UPDATE; UPDATE; INSERT INTO ledger; COMMIT`), WAL and
//!   `synchronous = FULL`. SQLite has one writer at a time, so 50 clients on one connection are a
//!   loop over their requests: the transactions would run one after another anyway.
//!
//! Refusals for insufficient funds are durable outcomes on both sides (necpsim journals them with
//! their idempotency key) and are counted apart. Both sides draw the same seeded sequence of
//! transfers. The baseline runs first; each path has its own temporary directory under
//! `NECPSIM_DURABLE_DIR` (default: the system's temporary directory; a tmpfs there would make
//! `fsync` free and the numbers meaningless), deleted before the other path starts so that neither
//! pays for the other's writeback.
//!
//! Run: `cargo bench --bench durable`. Environment: `NECPSIM_DURABLE_SECS` (necpsim run, default 10,
//! after 1 s of warm-up), `NECPSIM_DURABLE_BASELINE_SECS` (default 5), `NECPSIM_DURABLE_WINDOW`
//! (outstanding transfers per client, default 64), `NECPSIM_DURABLE_JSON` (also write the numbers
//! as JSON to this path).

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::mpsc::channel;
use std::time::{Duration, Instant};

use necpsim::config::{Config, Synchronous};
use necpsim::sim::{ClientId, Command, EconomyOp, EconomyRequest, Outbox, Refusal, ReplyBody, ReplyTo, Sim};
use necpsim::store::sqlite::SqliteStore;
use necpsim::store::writer::StoreWriter;
use necpsim::store::{Batch, DATABASE_FILE};
use rand_chacha::ChaCha8Rng;
use rand_core::{Rng, SeedableRng};
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Accounts, one per joined player (client ids 1..=ACCOUNTS, Zipf rank = id).
const ACCOUNTS: u32 = 100_000;
const ZIPF_ALPHA: f64 = 1.5;
const CLIENTS: usize = 50;
const DEFAULT_WINDOW: usize = 64;
/// Currency index 1 (name order): eurodollars, the currency with a starting balance.
const CURRENCY: u16 = 1;
/// Amounts are drawn uniformly from 1..=MAX_AMOUNT_MINOR (at most 10.00 of 1,000.00 to start).
const MAX_AMOUNT_MINOR: u64 = 1_000;
const SEED: u64 = 0xd0_7ab1e;
const JOINS_PER_TICK: u32 = 25_000;
const WARMUP: Duration = Duration::from_secs(1);
/// Ledger entry kind of a player-to-player transfer as the store codes it (`EntryKind::Trading`).
const TRADING_KIND: i64 = 0;

/// Goals the run is compared against.
const GOAL_PER_S: f64 = 50_000.0;
const GOAL_RATIO: f64 = 20.0;

/// Zipf over ranks 1..=n: a precomputed CDF searched by bisection.
#[derive(Debug)]
struct Zipf {
    cdf: Vec<f64>,
}

impl Zipf {
    fn new(n: u32, alpha: f64) -> Zipf {
        let mut total = 0.0;
        let mut cdf: Vec<f64> = (1..=n)
            .map(|rank| {
                total += f64::from(rank).powf(-alpha);
                total
            })
            .collect();
        for c in &mut cdf {
            *c /= total;
        }
        Zipf { cdf }
    }

    fn sample(&self, rng: &mut ChaCha8Rng) -> u32 {
        let u = (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
        let index = self.cdf.partition_point(|&c| c <= u).min(self.cdf.len() - 1);
        index as u32 + 1
    }
}

#[derive(Debug, Clone, Copy, Default)]
struct Transfer {
    from: u32,
    to: u32,
    amount: i64,
}

/// The seeded stream of transfers both paths draw from.
#[derive(Debug)]
struct Workload {
    zipf: Zipf,
    rng: ChaCha8Rng,
}

impl Workload {
    fn new() -> Workload {
        Workload {
            zipf: Zipf::new(ACCOUNTS, ZIPF_ALPHA),
            rng: ChaCha8Rng::seed_from_u64(SEED),
        }
    }

    /// Sender and receiver drawn independently, the receiver again while it equals the sender.
    fn next(&mut self) -> Transfer {
        let from = self.zipf.sample(&mut self.rng);
        let mut to = self.zipf.sample(&mut self.rng);
        while to == from {
            to = self.zipf.sample(&mut self.rng);
        }
        let amount = 1 + (self.rng.next_u64() % MAX_AMOUNT_MINOR) as i64;
        Transfer { from, to, amount }
    }
}

/// Durable outcomes of one path and their latencies.
#[derive(Debug, Default)]
struct Outcomes {
    secs: f64,
    transferred: u64,
    refused: u64,
    /// Microseconds from submission to durable completion, sorted once the run ends.
    latencies_us: Vec<u32>,
}

impl Outcomes {
    fn record(&mut self, transferred: bool, latency: Duration) {
        if transferred {
            self.transferred += 1;
        } else {
            self.refused += 1;
        }
        self.latencies_us
            .push(u32::try_from(latency.as_micros()).unwrap_or(u32::MAX));
    }

    fn durable(&self) -> u64 {
        self.transferred + self.refused
    }

    fn per_s(&self) -> f64 {
        self.durable() as f64 / self.secs
    }

    fn percentile_us(&self, p: f64) -> u32 {
        let n = self.latencies_us.len();
        if n == 0 {
            return 0;
        }
        self.latencies_us[((n - 1) as f64 * p).round() as usize]
    }
}

/// Where the necpsim path's time went during the measured window.
#[derive(Debug, Default)]
struct NecpsimRun {
    outcomes: Outcomes,
    window: usize,
    synchronous: &'static str,
    setup_secs: f64,
    ticks: u64,
    /// Ticks that carried transfers, the transfers they carried and their steps' time.
    busy_ticks: u64,
    busy_requests: u64,
    busy_step: Duration,
    /// Ticks with nothing submitted (every outstanding transfer waits for a commit).
    idle_ticks: u64,
    idle_step: Duration,
    longest_step: Duration,
    /// The longest commit seen (a mean when two finished between two looks at the writer).
    longest_commit_micros: u64,
    batch: Duration,
    clients: Duration,
    batches: u64,
    commits: u64,
    commit_micros: u64,
    busy_refusals: u64,
    outstanding_at_end: usize,
    stored_transfers: i64,
    stored_keys: i64,
}

/// The bundled configuration, tuned so that 100,000 idle players cost the tick little: each sees a
/// 1 m radius and gets a snapshot every 10 s (the lowest rate validation allows), spread over a
/// world 4 km across. Ticks run back to back, about a thousand a second on a 2-core machine, so the
/// nominal rate is 1,000 Hz (the most validation allows): game time, by which snapshots are due,
/// then keeps pace with the wall clock instead of running 15 times faster than at 60 Hz.
fn config() -> Config {
    let assets = Path::new(env!("CARGO_MANIFEST_DIR")).join("assets");
    let mut config = Config::load(&assets).expect("bundled assets are valid");
    config.server.tick.rate_hz = 1_000.0;
    config.gameplay.world.spawn.radius_m = 2_000.0;
    config.gameplay.interest.view_radius_m = 1.0;
    config.gameplay.interest.snapshot_rate_hz = 0.1;
    config.server.sim.inbox_capacity = 1 << 17;
    config
}

fn starting_balance(config: &Config) -> i64 {
    config
        .economy
        .currencies
        .currencies
        .values()
        .nth(usize::from(CURRENCY))
        .map(|currency| currency.starting_balance_minor)
        .expect("currency 1 exists")
}

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .map(|value| {
            value
                .parse()
                .unwrap_or_else(|_| panic!("{name} must be a number, got {value}"))
        })
        .unwrap_or(default)
}

/// The outcome of a reply to a transfer: `Some(true)` transferred, `Some(false)` refused for lack
/// of funds, `None` refused busy (to be sent again).
fn outcome(body: ReplyBody) -> Option<bool> {
    match body {
        ReplyBody::Transferred { .. } => Some(true),
        ReplyBody::Refused(Refusal::InsufficientFunds) => Some(false),
        ReplyBody::Refused(Refusal::Busy) => None,
        other => panic!("unexpected reply to a transfer: {other:?}"),
    }
}

/// One outstanding transfer of one client (slot `i` belongs to client `i / W`).
#[derive(Debug, Clone, Copy)]
struct Slot {
    transfer: Transfer,
    key: u128,
    submitted: Instant,
}

#[expect(
    clippy::disallowed_methods,
    reason = "the bench measures wall-clock throughput and latency"
)]
fn run_necpsim(dir: &Path, secs: Duration, window: usize) -> NecpsimRun {
    let setup_started = Instant::now();
    let config = Arc::new(config());
    let backlog_limit = u64::from(config.server.store.max_backlog_batches);
    let synchronous = match config.server.store.synchronous {
        Synchronous::Full => "FULL",
        Synchronous::Normal => "NORMAL",
    };
    let path = dir.join(DATABASE_FILE);
    let store = SqliteStore::open(&path, config.server.store.synchronous).expect("a fresh store opens");
    let (commit_sender, commits) = channel::<(u64, Instant)>();
    let writer = StoreWriter::spawn(
        Box::new(store),
        Box::new(move |tick, _took| {
            let _ = commit_sender.send((tick, Instant::now()));
        }),
        || {},
    )
    .expect("the writer thread starts");
    let mut sim = Sim::new(Arc::clone(&config));
    let mut outbox = Outbox::default();

    // Every player joins; the account-opening ticks are on disk before the clock starts.
    let mut first = 1;
    while first <= ACCOUNTS {
        let last = (first + JOINS_PER_TICK - 1).min(ACCOUNTS);
        for id in first..=last {
            sim.submit(ClientId(u64::from(id)), Command::Join)
                .expect("the inbox has room");
        }
        sim.step();
        sim.drain_outputs(&mut outbox);
        let joined = outbox
            .replies
            .iter()
            .filter(|reply| matches!(reply.body, ReplyBody::Joined { .. }))
            .count();
        assert_eq!(joined, (last - first + 1) as usize, "every join succeeds");
        if let Some(batch) = Batch::of_tick(sim.tick(), &outbox, sim.economy()) {
            writer.submit(batch);
        }
        first = last + 1;
    }
    assert_eq!(sim.economy().accounts.len(), ACCOUNTS as usize);
    let opened_at = sim.tick();
    while commits.recv().expect("the writer runs").0 < opened_at {}
    let setup_secs = Instant::now().duration_since(setup_started).as_secs_f64();

    let mut run = NecpsimRun {
        window,
        synchronous,
        setup_secs,
        ..NecpsimRun::default()
    };
    let mut workload = Workload::new();
    let now = Instant::now();
    let mut slots = vec![
        Slot {
            transfer: Transfer::default(),
            key: 0,
            submitted: now,
        };
        CLIENTS * window
    ];
    let mut free: Vec<u32> = (0..slots.len() as u32).collect();
    let mut retry: Vec<u32> = Vec::new();
    // Replies seen, waiting for their tick's commit: (tick, slot, transferred), in tick order.
    let mut awaiting: VecDeque<(u64, u32, bool)> = VecDeque::new();
    let mut next_key = 1u128 << 64;
    let mut paused = false;
    let mut transferred_replies = 0u64;
    let mut refused_replies = 0u64;
    let measure_from = now + WARMUP;
    let end = measure_from + secs;
    let mut measured_commits = None;
    let mut last_commits = (0, 0);

    loop {
        let started = Instant::now();
        if started >= end {
            break;
        }
        let measuring = started >= measure_from;
        if measuring && measured_commits.is_none() {
            measured_commits = Some(writer.status().commits());
        }

        // Transfers whose tick is on disk are done; their clients reuse the slots.
        while let Ok((tick, at)) = commits.try_recv() {
            while let Some(&(reply_tick, slot, transferred)) = awaiting.front() {
                if reply_tick > tick {
                    break;
                }
                awaiting.pop_front();
                if at >= measure_from {
                    run.outcomes
                        .record(transferred, at.duration_since(slots[slot as usize].submitted));
                }
                free.push(slot);
            }
        }
        // Each client fills its window; transfers refused busy go again with the same key.
        let submitted = free.len() + retry.len();
        for slot in free.drain(..) {
            let transfer = workload.next();
            next_key += 1;
            slots[slot as usize] = Slot {
                transfer,
                key: next_key,
                submitted: started,
            };
            retry.push(slot);
        }
        for slot in retry.drain(..) {
            let Slot { transfer, key, .. } = slots[slot as usize];
            let op = EconomyOp::Transfer {
                to: ClientId(u64::from(transfer.to)),
                currency: CURRENCY,
                amount_minor: transfer.amount,
            };
            let to = ReplyTo {
                client: ClientId(u64::from(transfer.from)),
                request: slot + 1,
            };
            sim.submit_request(to, Command::Economy(EconomyRequest { key, op }))
                .expect("the inbox has room for every outstanding transfer");
        }
        let clients_done = Instant::now();

        // One tick, as the server's tick loop runs it.
        sim.step();
        let stepped = Instant::now();
        sim.drain_outputs(&mut outbox);
        let batch = Batch::of_tick(sim.tick(), &outbox, sim.economy());
        let has_batch = batch.is_some();
        if let Some(batch) = batch {
            writer.submit(batch);
        }
        let status = writer.status();
        let pause = status.failure().is_some() || status.backlog() > backlog_limit;
        if pause != paused {
            paused = pause;
            sim.pause_economy(pause);
        }
        let batched = Instant::now();

        for reply in &outbox.replies {
            if reply.request == 0 {
                continue;
            }
            let slot = reply.request - 1;
            match outcome(reply.body) {
                Some(transferred) => {
                    if transferred {
                        transferred_replies += 1;
                    } else {
                        refused_replies += 1;
                    }
                    awaiting.push_back((reply.tick, slot, transferred));
                }
                None => {
                    run.busy_refusals += 1;
                    retry.push(slot);
                }
            }
        }
        if measuring {
            let finished = Instant::now();
            let step = stepped.duration_since(clients_done);
            run.ticks += 1;
            if submitted == 0 {
                run.idle_ticks += 1;
                run.idle_step += step;
            } else {
                run.busy_ticks += 1;
                run.busy_requests += submitted as u64;
                run.busy_step += step;
            }
            run.longest_step = run.longest_step.max(step);
            let (commits_now, micros_now) = status.commits();
            if commits_now > last_commits.0 && last_commits.0 > 0 {
                let longest = (micros_now - last_commits.1) / (commits_now - last_commits.0);
                run.longest_commit_micros = run.longest_commit_micros.max(longest);
            }
            last_commits = (commits_now, micros_now);
            run.batches += u64::from(has_batch);
            run.batch += batched.duration_since(stepped);
            run.clients += clients_done.duration_since(started) + finished.duration_since(batched);
        }
    }
    let stopped = Instant::now();
    run.outcomes.secs = stopped.duration_since(measure_from).as_secs_f64();
    let (commits_before, micros_before) = measured_commits.unwrap_or_default();
    let (commits_after, micros_after) = writer.status().commits();
    run.commits = commits_after - commits_before;
    run.commit_micros = micros_after - micros_before;
    run.outstanding_at_end = CLIENTS * window - free.len();

    // Everything replied is committed once the writer finishes: the store holds one ledger row
    // per transfer and one idempotency key per transfer or refusal.
    writer.finish();
    sim.economy()
        .check_invariants()
        .expect("the economy's invariants hold");
    let db = Connection::open(&path).expect("the store reopens");
    run.stored_transfers = db
        .query_row(
            "SELECT COUNT(*) FROM ledger WHERE kind = ?1 AND tick > ?2",
            params![TRADING_KIND, opened_at as i64],
            |row| row.get(0),
        )
        .expect("the ledger is readable");
    run.stored_keys = db
        .query_row("SELECT COUNT(*) FROM idempotency_keys", [], |row| row.get(0))
        .expect("the keys are readable");
    assert_eq!(
        run.stored_transfers, transferred_replies as i64,
        "every transfer is stored"
    );
    assert_eq!(
        run.stored_keys,
        (transferred_replies + refused_replies) as i64,
        "every outcome's key is stored"
    );
    run
}

#[expect(
    clippy::disallowed_methods,
    reason = "the bench measures wall-clock throughput and latency"
)]
fn run_baseline(dir: &Path, secs: Duration, starting: i64) -> Outcomes {
    let mut db = Connection::open(dir.join("baseline.db")).expect("the baseline database opens");
    db.execute_batch(
        "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;
         CREATE TABLE accounts (id INTEGER PRIMARY KEY, balance INTEGER NOT NULL);
         CREATE TABLE ledger (
             seq INTEGER PRIMARY KEY,
             debit INTEGER NOT NULL,
             credit INTEGER NOT NULL,
             amount INTEGER NOT NULL
         );",
    )
    .expect("the baseline schema is created");
    {
        let tx = db.transaction().expect("a transaction begins");
        {
            let mut insert = tx
                .prepare("INSERT INTO accounts (id, balance) VALUES (?1, ?2)")
                .expect("the insert prepares");
            for id in 1..=ACCOUNTS {
                insert
                    .execute(params![id, starting])
                    .expect("an account is inserted");
            }
        }
        tx.commit().expect("the accounts are committed");
    }

    let mut outcomes = Outcomes::default();
    let mut workload = Workload::new();
    let start = Instant::now();
    let end = start + secs;
    loop {
        let began = Instant::now();
        if began >= end {
            break;
        }
        let transfer = workload.next();
        let tx = db
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .expect("BEGIN IMMEDIATE");
        let balance: Option<i64> = tx
            .prepare_cached("SELECT balance FROM accounts WHERE id = ?1")
            .and_then(|mut select| {
                select
                    .query_row(params![transfer.from], |row| row.get(0))
                    .optional()
            })
            .expect("the balance is read");
        let funded = balance.is_some_and(|balance| balance >= transfer.amount);
        if funded {
            tx.prepare_cached("UPDATE accounts SET balance = balance - ?2 WHERE id = ?1")
                .and_then(|mut debit| debit.execute(params![transfer.from, transfer.amount]))
                .expect("the sender is debited");
            tx.prepare_cached("UPDATE accounts SET balance = balance + ?2 WHERE id = ?1")
                .and_then(|mut credit| credit.execute(params![transfer.to, transfer.amount]))
                .expect("the receiver is credited");
            tx.prepare_cached("INSERT INTO ledger (debit, credit, amount) VALUES (?1, ?2, ?3)")
                .and_then(|mut entry| entry.execute(params![transfer.from, transfer.to, transfer.amount]))
                .expect("the ledger entry is written");
        }
        tx.commit().expect("COMMIT");
        outcomes.record(funded, Instant::now().duration_since(began));
    }
    outcomes.secs = Instant::now().duration_since(start).as_secs_f64();
    outcomes
}

fn machine() -> String {
    let cores = std::thread::available_parallelism().map_or(0, usize::from);
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find(|line| line.starts_with("model name"))
                .and_then(|line| line.split(':').nth(1))
                .map(|name| name.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".to_owned());
    format!("{cores}-core {cpu}, noisy shared machine")
}

/// Where the necpsim path's time went, derived from [`NecpsimRun`].
#[derive(Debug)]
struct Breakdown {
    /// Mean step of a tick that carried transfers, and of one that carried none, in µs.
    busy_step_us: f64,
    idle_step_us: f64,
    /// Transfers (including resent ones) per tick that carried any.
    requests_per_busy_tick: f64,
    /// What a transfer adds to a step: the difference of the two means over the transfers.
    step_ns_per_transfer: f64,
    /// `Batch::of_tick`, submit and back-pressure check, and the simulated clients, per transfer.
    batch_ns_per_transfer: f64,
    clients_ns_per_transfer: f64,
    /// Mean commit in ms, and transfers and batches per commit.
    commit_ms: f64,
    transfers_per_commit: f64,
    batches_per_commit: f64,
    /// Writer time per durable transfer.
    commit_ns_per_transfer: f64,
}

impl Breakdown {
    fn of(run: &NecpsimRun) -> Breakdown {
        let mean_us = |total: Duration, count: u64| total.as_secs_f64() * 1e6 / count.max(1) as f64;
        let durable = run.outcomes.durable().max(1) as f64;
        let commits = run.commits.max(1) as f64;
        let busy_step_us = mean_us(run.busy_step, run.busy_ticks);
        let idle_step_us = mean_us(run.idle_step, run.idle_ticks);
        let requests_per_busy_tick = run.busy_requests as f64 / run.busy_ticks.max(1) as f64;
        Breakdown {
            busy_step_us,
            idle_step_us,
            requests_per_busy_tick,
            step_ns_per_transfer: (busy_step_us - idle_step_us) * 1e3 / requests_per_busy_tick.max(1.0),
            batch_ns_per_transfer: run.batch.as_secs_f64() * 1e9 / durable,
            clients_ns_per_transfer: run.clients.as_secs_f64() * 1e9 / durable,
            commit_ms: run.commit_micros as f64 / commits / 1e3,
            transfers_per_commit: durable / commits,
            batches_per_commit: run.batches as f64 / commits,
            commit_ns_per_transfer: run.commit_micros as f64 * 1e3 / durable,
        }
    }
}

fn json(necpsim: &NecpsimRun, baseline: &Outcomes, machine: &str) -> serde_json::Value {
    let path = |o: &Outcomes| {
        serde_json::json!({
            "secs": o.secs,
            "durable": o.durable(),
            "transferred": o.transferred,
            "refused_insufficient_funds": o.refused,
            "durable_per_s": o.per_s(),
            "p50_us": o.percentile_us(0.50),
            "p99_us": o.percentile_us(0.99),
            "max_us": o.latencies_us.last().copied().unwrap_or(0),
        })
    };
    let b = Breakdown::of(necpsim);
    let mut n = path(&necpsim.outcomes);
    if let Some(fields) = n.as_object_mut() {
        fields.extend([
            ("window_per_client".to_owned(), necpsim.window.into()),
            ("synchronous".to_owned(), necpsim.synchronous.into()),
            ("ticks".to_owned(), necpsim.ticks.into()),
            ("busy_ticks".to_owned(), necpsim.busy_ticks.into()),
            ("idle_ticks".to_owned(), necpsim.idle_ticks.into()),
            ("busy_step_us".to_owned(), b.busy_step_us.into()),
            ("idle_step_us".to_owned(), b.idle_step_us.into()),
            (
                "requests_per_busy_tick".to_owned(),
                b.requests_per_busy_tick.into(),
            ),
            ("step_ns_per_transfer".to_owned(), b.step_ns_per_transfer.into()),
            ("batch_ns_per_transfer".to_owned(), b.batch_ns_per_transfer.into()),
            (
                "clients_ns_per_transfer".to_owned(),
                b.clients_ns_per_transfer.into(),
            ),
            ("batches".to_owned(), necpsim.batches.into()),
            ("commits".to_owned(), necpsim.commits.into()),
            ("commit_micros".to_owned(), necpsim.commit_micros.into()),
            ("mean_commit_ms".to_owned(), b.commit_ms.into()),
            ("transfers_per_commit".to_owned(), b.transfers_per_commit.into()),
            ("batches_per_commit".to_owned(), b.batches_per_commit.into()),
            (
                "commit_ns_per_transfer".to_owned(),
                b.commit_ns_per_transfer.into(),
            ),
            (
                "longest_step_us".to_owned(),
                (necpsim.longest_step.as_micros() as u64).into(),
            ),
            (
                "longest_commit_us".to_owned(),
                necpsim.longest_commit_micros.into(),
            ),
            ("busy_refusals".to_owned(), necpsim.busy_refusals.into()),
            ("setup_secs".to_owned(), necpsim.setup_secs.into()),
        ]);
    }
    serde_json::json!({
        "workload": {
            "accounts": ACCOUNTS,
            "zipf_alpha": ZIPF_ALPHA,
            "clients": CLIENTS,
            "max_amount_minor": MAX_AMOUNT_MINOR,
            "seed": SEED,
        },
        "machine": machine,
        "necpsim": n,
        "baseline": path(baseline),
        "ratio": necpsim.outcomes.per_s() / baseline.per_s(),
        "goals": { "durable_per_s": GOAL_PER_S, "ratio": GOAL_RATIO },
    })
}

fn ms(us: u32) -> f64 {
    f64::from(us) / 1e3
}

#[expect(clippy::print_stdout, reason = "a throughput run reports on stdout")]
fn report(necpsim: &NecpsimRun, baseline: &Outcomes, machine: &str, parent: &Path) {
    let o = &necpsim.outcomes;
    let b = Breakdown::of(necpsim);
    let ratio = o.per_s() / baseline.per_s();
    let verdict = |ok: bool| if ok { "met" } else { "NOT met" };
    println!("durable transfers: {ACCOUNTS} accounts, Zipf α = {ZIPF_ALPHA}, {CLIENTS} clients");
    println!("machine: {machine}; databases under {}", parent.display());
    println!();
    println!(
        "necpsim ({:.1} s after {:.0} s of warm-up; window {} per client = {} outstanding; synchronous = {})",
        o.secs,
        WARMUP.as_secs_f64(),
        necpsim.window,
        CLIENTS * necpsim.window,
        necpsim.synchronous
    );
    println!(
        "  durable {:>9.0} /s  ({} transferred, {} refused for funds)",
        o.per_s(),
        o.transferred,
        o.refused
    );
    println!(
        "  latency p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms (submission to the commit of its tick)",
        ms(o.percentile_us(0.50)),
        ms(o.percentile_us(0.99)),
        ms(o.latencies_us.last().copied().unwrap_or(0))
    );
    println!(
        "  ticks: {} ({} carrying {:.0} transfers each, {} waiting on the writer with nothing to send)",
        necpsim.ticks, necpsim.busy_ticks, b.requests_per_busy_tick, necpsim.idle_ticks
    );
    println!(
        "  tick thread: step {:.0} µs with transfers, {:.0} µs without (longest {:.1} ms): {:.0} ns per \
         transfer; Batch::of_tick+submit {:.0} ns, clients {:.0} ns per transfer",
        b.busy_step_us,
        b.idle_step_us,
        necpsim.longest_step.as_secs_f64() * 1e3,
        b.step_ns_per_transfer,
        b.batch_ns_per_transfer,
        b.clients_ns_per_transfer
    );
    println!(
        "  writer: {} commits of {:.1} batches and {:.0} transfers, {:.2} ms each (longest {:.1} ms): \
         {:.0} ns per transfer",
        necpsim.commits,
        b.batches_per_commit,
        b.transfers_per_commit,
        b.commit_ms,
        necpsim.longest_commit_micros as f64 / 1e3,
        b.commit_ns_per_transfer
    );
    println!(
        "  refused busy (writer behind) and resent: {}; outstanding at the end: {}; setup {:.1} s",
        necpsim.busy_refusals, necpsim.outstanding_at_end, necpsim.setup_secs
    );
    println!(
        "  store check: {} transfer rows and {} idempotency keys, one per reply",
        necpsim.stored_transfers, necpsim.stored_keys
    );
    println!();
    println!(
        "SQLite baseline ({:.1} s; one transaction per transfer on one connection)",
        baseline.secs
    );
    println!(
        "  durable {:>9.0} /s  ({} transferred, {} refused for funds)",
        baseline.per_s(),
        baseline.transferred,
        baseline.refused
    );
    println!(
        "  commit latency p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms (per transaction; a client queued \
         behind the other 49 waits about 50 of them)",
        ms(baseline.percentile_us(0.50)),
        ms(baseline.percentile_us(0.99)),
        ms(baseline.latencies_us.last().copied().unwrap_or(0))
    );
    println!();
    println!("necpsim / baseline: {ratio:.1}x");
    println!(
        "goals: >= {GOAL_PER_S:.0} durable transfers/s: {}; >= {GOAL_RATIO:.0}x the baseline: {}",
        verdict(o.per_s() >= GOAL_PER_S),
        verdict(ratio >= GOAL_RATIO)
    );
}

fn main() {
    let secs = Duration::from_secs(env_number("NECPSIM_DURABLE_SECS", 10));
    let baseline_secs = Duration::from_secs(env_number("NECPSIM_DURABLE_BASELINE_SECS", 5));
    let window = env_number("NECPSIM_DURABLE_WINDOW", DEFAULT_WINDOW as u64).max(1) as usize;
    let parent = std::env::var_os("NECPSIM_DURABLE_DIR").map_or_else(std::env::temp_dir, PathBuf::from);
    let machine = machine();

    // The baseline runs first, and each path's directory is deleted before the other starts, so
    // that neither pays for the other's writeback when it syncs.
    eprintln!("baseline: {} s of SQLite transactions", baseline_secs.as_secs());
    let mut baseline = {
        let dir = tempfile::tempdir_in(&parent).expect("a temporary directory");
        run_baseline(dir.path(), baseline_secs, starting_balance(&config()))
    };
    baseline.latencies_us.sort_unstable();
    eprintln!(
        "necpsim: {ACCOUNTS} players join, then {} s of transfers",
        secs.as_secs()
    );
    let mut necpsim = {
        let dir = tempfile::tempdir_in(&parent).expect("a temporary directory");
        run_necpsim(dir.path(), secs, window)
    };
    necpsim.outcomes.latencies_us.sort_unstable();

    report(&necpsim, &baseline, &machine, &parent);
    if let Some(path) = std::env::var_os("NECPSIM_DURABLE_JSON") {
        let text = serde_json::to_string_pretty(&json(&necpsim, &baseline, &machine))
            .expect("the report serializes");
        std::fs::write(&path, text).expect("the JSON report is written");
    }
}
