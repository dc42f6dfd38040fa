//! Crash recovery of the real server: 50 clients drive economy load (transfers, market orders,
//! trade proposals, auctions and bids) over QUIC through the client SDK while the `necpsim serve`
//! process is killed with SIGKILL at random moments, round after round. After every kill the
//! store must pass `necpsim verify` (the journal replays to the stored ledger and balances, money
//! is conserved, nothing is negative, every unique item has one owner) and hold every operation
//! a client saw acknowledged (by its idempotency key); then the server restarts on the same data.
//! And a disk that fills up stops acknowledgements without losing what was acknowledged, refuses
//! economy commands and reads as busy rather than leave them unanswered, and carries on once
//! space is freed; a commit that stalls on a database another process has locked does the same
//! until the lock is released, and a server whose store stays locked stops itself once more
//! batches wait than `store.max_queued_batches`. A refusal that reveals a change not yet durable
//! waits for it too.

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::NetServer;
use necpsim::client::{Client, ClientError};
use necpsim::protocol::{
    AuctionTermsC2s, EconomyC2s, EconomyOpC2s, EconomyReadC2s, GoodsC2s, ReplyBodyS2c, RequestC2s,
};
use necpsim::sim::economy::ledger::PlayerId;
use necpsim::store::sqlite::SqliteStore;
use necpsim::store::{DATABASE_FILE, Store};
use rand_chacha::ChaCha8Rng;
use rand_core::{Rng, SeedableRng};

const CLIENTS: u64 = 50;
const ROUNDS: u64 = 20;
const EURODOLLARS: u16 = 1;
/// Stackable items every player starts with some of: food and wood (name order).
const ITEMS: [u16; 2] = [1, 4];

/// An operation a client saw acknowledged.
type Acknowledged = Arc<Mutex<Vec<(u64, u128)>>>;

fn random_op(rng: &mut ChaCha8Rng, player: u64, auctions: &[u64]) -> EconomyOpC2s {
    let other = (player + 1 + u64::from(rng.next_u32()) % (CLIENTS - 1)) % CLIENTS + 1;
    let item = ITEMS[rng.next_u32() as usize % ITEMS.len()];
    match rng.next_u32() % 6 {
        0 | 1 => EconomyOpC2s::Transfer {
            to: other,
            currency: EURODOLLARS,
            amount_minor: 1 + i64::from(rng.next_u32() % 100),
        },
        2 => EconomyOpC2s::PlaceOrder {
            item,
            side: (rng.next_u32() % 2) as u8,
            price_minor: 400 + i64::from(rng.next_u32() % 1000),
            quantity: 1 + rng.next_u32() % 3,
            lifetime_s: None,
        },
        3 => EconomyOpC2s::OfferTrade {
            to: other,
            gives: GoodsC2s {
                money: [(EURODOLLARS, 5), (0, 0)],
                ..GoodsC2s::default()
            },
            wants: GoodsC2s {
                items: [(item, 1), (0, 0)],
                ..GoodsC2s::default()
            },
            lifetime_s: 30,
        },
        4 => EconomyOpC2s::CreateAuction(AuctionTermsC2s {
            item,
            quantity: 1,
            starting_price: 10,
            bid_increment: 1,
            reserve: 0,
            buyout: 0,
            duration_h: 1,
            unique: 0,
        }),
        _ => EconomyOpC2s::Bid {
            auction: auctions
                .get(rng.next_u32() as usize % auctions.len().max(1))
                .copied()
                .unwrap_or(1),
            amount_minor: 10 + i64::from(rng.next_u32() % 200),
        },
    }
}

/// Sends economy commands as player `player` until the connection dies, recording what was
/// acknowledged.
async fn trade_until_killed(client: Client, player: u64, seed: u64, acknowledged: Acknowledged) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut auctions = Vec::new();
    loop {
        let key = u128::from(rng.next_u64()) << 64 | u128::from(player);
        let op = random_op(&mut rng, player, &auctions);
        let request = RequestC2s::Economy(EconomyC2s {
            idempotency_key: key,
            op,
        });
        match client.request(request).await {
            Ok(reply) => {
                if let ReplyBodyS2c::AuctionCreated { auction } = reply {
                    auctions.push(auction);
                }
                acknowledged.lock().expect("not poisoned").push((player, key));
            }
            Err(ClientError::Refused { .. }) => {}
            Err(_) => return,
        }
    }
}

#[test]
fn acknowledged_economy_operations_survive_sigkill_round_after_round() {
    let runtime = common::runtime();
    let first = NetServer::start(|_| {});
    let tokens: Vec<String> = (1..=CLIENTS).map(|player| first.token(player, "1h")).collect();
    let mut server = Some(first);
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let mut checked = 0;
    for round in 0..ROUNDS {
        let acknowledged: Acknowledged = Arc::default();
        let running = server.take().expect("a server runs between rounds");
        let (assets, data) = runtime.block_on(async {
            let mut tasks = Vec::new();
            let mut clients = Vec::new();
            for (index, token) in tokens.iter().enumerate() {
                let player = index as u64 + 1;
                let options = necpsim::client::ConnectOptions::new(
                    running.addr,
                    necpsim::net::tls::ServerTrust::Fingerprint(running.fingerprint),
                    token.clone(),
                );
                let client = Client::connect(options).await.expect("connects after a restart");
                clients.push(client.clone());
                tasks.push(tokio::spawn(trade_until_killed(
                    client,
                    player,
                    round * 1000 + player,
                    Arc::clone(&acknowledged),
                )));
            }
            // Kill at a random moment while the load runs.
            let run_ms = 200 + u64::from(rng.next_u32() % 800);
            tokio::time::sleep(Duration::from_millis(run_ms)).await;
            let directories = running.kill();
            // A dead server is silent: close the connections instead of waiting out the idle
            // timeout. Anything acknowledged before the kill is already recorded.
            for client in &clients {
                client.close();
            }
            for task in tasks {
                let _ = tokio::time::timeout(Duration::from_secs(15), task).await;
            }
            directories
        });
        server = Some(Restart { assets, data }.into_server_after_checks(&acknowledged, round));
        checked += acknowledged.lock().expect("not poisoned").len();
    }
    assert!(
        checked > 1000,
        "only {checked} acknowledged operations were checked"
    );
}

/// A killed server's directories, checked before it restarts.
struct Restart {
    assets: tempfile::TempDir,
    data: tempfile::TempDir,
}

impl Restart {
    fn into_server_after_checks(self, acknowledged: &Acknowledged, round: u64) -> NetServer {
        let data = self.data.path().to_str().expect("utf-8").to_owned();
        let verify = common::necpsim(&["verify", "--data", &data]);
        assert!(
            verify.status.success(),
            "round {round}: verify failed: {}",
            String::from_utf8_lossy(&verify.stderr)
        );
        {
            let store =
                SqliteStore::open_read_only(&self.data.path().join(DATABASE_FILE)).expect("store opens");
            for &(player, key) in acknowledged.lock().expect("not poisoned").iter() {
                assert!(
                    store.has_key(PlayerId(player), key).expect("readable"),
                    "round {round}: player {player} was told key {key:#x} happened, but the store lost it"
                );
            }
        }
        NetServer::start_in(self.assets, self.data)
    }
}

/// A tmpfs of `size` mounted on a fresh directory, unmounted on drop.
struct TinyDisk {
    dir: tempfile::TempDir,
}

impl TinyDisk {
    /// Mounts one, or `None` where the platform does not allow it (mounting needs privileges).
    fn mount(size: &str) -> Option<TinyDisk> {
        let dir = tempfile::tempdir().expect("temp dir");
        let mounted = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir.path())
            .stderr(std::process::Stdio::null())
            .status()
            .is_ok_and(|status| status.success());
        mounted.then_some(TinyDisk { dir })
    }
}

impl Drop for TinyDisk {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount").arg(self.dir.path()).status();
    }
}

#[test]
fn a_full_disk_pauses_the_economy_keeps_what_was_acknowledged_and_resumes_once_space_is_freed() {
    let Some(disk) = TinyDisk::mount("1m") else {
        eprintln!("skipped: this platform does not allow mounting a small tmpfs");
        return;
    };
    // Room that the test frees once the disk is full, as an operator would.
    let ballast = disk.dir.path().join("ballast");
    std::fs::write(&ballast, vec![0u8; 256 * 1024]).expect("ballast written");
    let data = tempfile::TempDir::new_in(disk.dir.path()).expect("data dir on the small disk");
    let server = NetServer::start_in(common::assets_copy(), data);
    let runtime = common::runtime();
    let acknowledged: Acknowledged = Arc::default();
    runtime.block_on(async {
        let mut clients = Vec::new();
        for player in 1..=4 {
            clients.push(server.connect(player).await);
        }
        let mut busy = 0;
        for round in 0u128..4000 {
            let pending: Vec<_> = clients
                .iter()
                .enumerate()
                .map(|(index, client)| {
                    let player = index as u64 + 1;
                    let key = round << 64 | u128::from(player);
                    let transfer = RequestC2s::Economy(EconomyC2s {
                        idempotency_key: key,
                        op: EconomyOpC2s::Transfer {
                            to: player % 4 + 1,
                            currency: EURODOLLARS,
                            amount_minor: 1,
                        },
                    });
                    (player, key, client.send(transfer).expect("queued"))
                })
                .collect();
            for (player, key, reply) in pending {
                match tokio::time::timeout(Duration::from_secs(2), reply).await {
                    Ok(Ok(reply)) => match reply.body {
                        ReplyBodyS2c::Transferred { .. } => {
                            acknowledged.lock().expect("not poisoned").push((player, key));
                        }
                        // The commit cannot go through: the economy refuses busy meanwhile.
                        ReplyBodyS2c::Refused { code: 1 } => busy += 1,
                        other => panic!("unexpected reply {other:?}"),
                    },
                    // Applied before the pause, not yet durable: its reply waits for the commit.
                    Err(_) => {}
                    Ok(Err(error)) => panic!("{error}"),
                }
            }
            if busy > 0 {
                break;
            }
        }
        // A read's reply would wait for a durable state that is not coming yet: it is refused.
        let wallet = || RequestC2s::EconomyRead(EconomyReadC2s::Wallet);
        let read = tokio::time::timeout(Duration::from_secs(2), clients[0].request(wallet()))
            .await
            .expect("the read is answered, not left waiting");
        assert!(busy > 0, "the disk never filled");
        assert!(
            matches!(read, Err(ClientError::Refused { code: 1, .. })),
            "{read:?}"
        );
        let full = async {
            while !server.get("/readyz").1.contains("full") {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        };
        tokio::time::timeout(Duration::from_secs(5), full)
            .await
            .expect("/readyz says the store waits for the full disk");
        assert_eq!(server.get("/readyz").0, 503);

        std::fs::remove_file(&ballast).expect("ballast removed");
        let answered = async {
            while clients[0].request(wallet()).await.is_err() {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        };
        tokio::time::timeout(Duration::from_secs(5), answered)
            .await
            .expect("the economy answers again once the disk has room");
        let transfer = RequestC2s::Economy(EconomyC2s {
            idempotency_key: u128::MAX,
            op: EconomyOpC2s::Transfer {
                to: 2,
                currency: EURODOLLARS,
                amount_minor: 1,
            },
        });
        let reply = clients[0]
            .request(transfer)
            .await
            .expect("a transfer goes through");
        assert!(matches!(reply, ReplyBodyS2c::Transferred { .. }), "{reply:?}");
        acknowledged.lock().expect("not poisoned").push((1, u128::MAX));
    });
    assert_eq!(server.get("/readyz").0, 200);
    let (_assets, data) = server.kill();
    let store = SqliteStore::open_read_only(&data.path().join(DATABASE_FILE)).expect("store opens");
    for &(player, key) in acknowledged.lock().expect("not poisoned").iter() {
        assert!(
            store.has_key(PlayerId(player), key).expect("readable"),
            "acknowledged key lost"
        );
    }
    necpsim::store::recovery::verify(&store).expect("the last durable state verifies");
    drop(store);
    drop(data);
}

/// Returns once `/readyz` says the store's writer is trying a commit again.
async fn retrying(server: &NetServer) {
    while !server.get("/readyz").1.contains("trying again because") {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[test]
fn a_commit_stalled_on_a_locked_database_pauses_the_economy_and_goes_through_once_the_lock_is_released() {
    let mut server = NetServer::start(|assets| {
        common::edit(
            assets,
            "server.toml",
            "max_commit_stall_ms = 2000",
            "max_commit_stall_ms = 300",
        );
    });
    let runtime = common::runtime();
    let wallet = || RequestC2s::EconomyRead(EconomyReadC2s::Wallet);
    let lock = rusqlite::Connection::open(server.data.path().join(DATABASE_FILE)).expect("opens");
    let (_first, _third) = runtime.block_on(async {
        let first = server.connect(1).await;
        first.request(wallet()).await.expect("the economy answers");

        // Another process holds the database's write lock, so the next commit (the account a
        // joining player opens) waits on it: a stall, not a failure.
        lock.execute_batch("BEGIN IMMEDIATE").expect("write lock taken");
        let _second = server.connect(2).await;
        let stalled = async {
            while server.get("/readyz").0 != 503 {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        };
        tokio::time::timeout(Duration::from_secs(3), stalled)
            .await
            .expect("the stall is seen");
        let (_, body) = server.get("/readyz");
        assert!(body.contains("the store is stalled"), "{body}");
        // From the tick that sees the stall on, reads are refused; one that came before it
        // waits for the commit like any other.
        let refused = async {
            loop {
                let pending = first.send(wallet()).expect("queued");
                if let Ok(Ok(reply)) = tokio::time::timeout(Duration::from_millis(200), pending).await {
                    assert!(
                        matches!(reply.body, ReplyBodyS2c::Refused { code: 1 }),
                        "{:?}",
                        reply.body
                    );
                    return;
                }
            }
        };
        tokio::time::timeout(Duration::from_secs(2), refused)
            .await
            .expect("reads are refused busy while the commit stalls");

        // Held past the second a commit waits for a lock: the writer tries again instead of
        // giving up on the store, and says so.
        tokio::time::timeout(Duration::from_secs(3), retrying(&server))
            .await
            .expect("the writer tries the commit again");
        let (_, body) = server.get("/readyz");
        assert!(body.contains("database is locked"), "{body}");
        lock.execute_batch("ROLLBACK").expect("lock released");
        let answered = async {
            while first.request(wallet()).await.is_err() {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        };
        tokio::time::timeout(Duration::from_secs(3), answered)
            .await
            .expect("the economy answers again once the commit returns");
        assert_eq!(server.get("/readyz").0, 200);

        // Locked again, with a commit waiting on it when the server is told to stop.
        lock.execute_batch("BEGIN IMMEDIATE").expect("write lock taken");
        let third = server.connect(3).await;
        tokio::time::timeout(Duration::from_secs(5), retrying(&server))
            .await
            .expect("the writer tries the commit again");
        (first, third)
    });
    // The commit is given up rather than tried until the shutdown deadline (10 s) ends the
    // process, and the exit says the store failed; what it held was never acknowledged.
    server.process.terminate();
    server.process.wait_for(
        "store commit given up at shutdown; what it held was never acknowledged",
        Duration::from_secs(5),
    );
    let exit = server
        .process
        .wait_exit(Duration::from_secs(5))
        .expect("exits well before the shutdown deadline");
    assert_eq!(exit.code(), Some(1), "{exit:?}");
    lock.execute_batch("ROLLBACK").expect("lock released");
    let store = SqliteStore::open_read_only(&server.data.path().join(DATABASE_FILE)).expect("store opens");
    necpsim::store::recovery::verify(&store).expect("the last durable state verifies");
}

#[test]
fn a_server_whose_store_stays_locked_stops_itself_once_too_many_batches_wait() {
    let mut server = NetServer::start(|assets| {
        common::edit(
            assets,
            "server.toml",
            "max_queued_batches = 100000",
            "max_queued_batches = 40",
        );
    });
    let lock = rusqlite::Connection::open(server.data.path().join(DATABASE_FILE)).expect("opens");
    lock.execute_batch("BEGIN IMMEDIATE").expect("write lock taken");
    let runtime = common::runtime();
    // Each player who joins opens an account and each who leaves hands over its state: batches
    // that wait for the locked store, until there are too many.
    let stopping = "more tick batches wait for the store than store.max_queued_batches; stopping the server";
    let mut seen = Vec::new();
    let mut stopped = false;
    for player in 1..=400 {
        stopped = server
            .process
            .look_for(stopping, Duration::from_millis(20), &mut seen)
            .is_some();
        if stopped {
            break;
        }
        let options = server.options(player);
        let connect = Client::connect(options);
        drop(runtime.block_on(async { tokio::time::timeout(Duration::from_secs(1), connect).await }));
    }
    assert!(stopped, "the server never stopped itself; it logged {seen:#?}");
    // Released at once, so the waiting batches go through: the exit still says the server
    // stopped on its own, for a supervisor to restart it.
    lock.execute_batch("ROLLBACK").expect("lock released");
    let exit = server.process.wait_exit(Duration::from_secs(10));
    assert_eq!(exit.and_then(|status| status.code()), Some(1), "{exit:?}");
    let store = SqliteStore::open_read_only(&server.data.path().join(DATABASE_FILE)).expect("store opens");
    necpsim::store::recovery::verify(&store).expect("the last durable state verifies");
}

#[test]
fn a_refusal_that_reveals_an_unacknowledged_change_waits_for_it_as_the_change_does() {
    let server = NetServer::start(|_| {});
    let runtime = common::runtime();
    let lock = rusqlite::Connection::open(server.data.path().join(DATABASE_FILE)).expect("opens");
    runtime.block_on(async {
        let alice = server.connect(1).await;
        let _bob = server.connect(2).await;
        let wallet = alice
            .request(RequestC2s::EconomyRead(EconomyReadC2s::Wallet))
            .await
            .expect("the economy answers");
        let ReplyBodyS2c::Wallet { balances } = wallet else {
            panic!("not a wallet: {wallet:?}");
        };
        let all = balances
            .iter()
            .find(|balance| balance.currency == EURODOLLARS)
            .expect("a eurodollar balance")
            .available;
        let transfer = |idempotency_key, amount_minor| {
            RequestC2s::Economy(EconomyC2s {
                idempotency_key,
                op: EconomyOpC2s::Transfer {
                    to: 2,
                    currency: EURODOLLARS,
                    amount_minor,
                },
            })
        };

        // With the store locked, Alice gives Bob all she has, and then tries to give him one more
        // minor unit: that refusal tells her the first transfer happened, which is not durable.
        lock.execute_batch("BEGIN IMMEDIATE").expect("write lock taken");
        let everything = alice.send(transfer(1, all)).expect("queued");
        let one_more = alice.send(transfer(2, 1)).expect("queued");
        let mut one_more = std::pin::pin!(one_more);
        assert!(
            tokio::time::timeout(Duration::from_millis(800), &mut one_more)
                .await
                .is_err(),
            "the refusal left before the change it reveals was durable"
        );
        lock.execute_batch("ROLLBACK").expect("lock released");
        let everything = tokio::time::timeout(Duration::from_secs(5), everything)
            .await
            .expect("answered once durable")
            .expect("a reply");
        assert!(
            matches!(everything.body, ReplyBodyS2c::Transferred { .. }),
            "{:?}",
            everything.body
        );
        let one_more = tokio::time::timeout(Duration::from_secs(5), one_more)
            .await
            .expect("answered once durable")
            .expect("a reply");
        assert!(
            matches!(one_more.body, ReplyBodyS2c::Refused { code: 300 }),
            "{:?}",
            one_more.body
        );
    });
}
