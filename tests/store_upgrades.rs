//! Stores written by earlier builds (frozen in `tests/fixtures/stores/`, see its README), through
//! the doors an operator uses: `necpsim verify` and `replay-ledger` check each as it is, read-only;
//! `necpsim serve` upgrades its schema, recovers its economy and carries on; and it verifies
//! again afterwards. The ledger, balances, inventories, orders, trades and auctions those builds
//! committed are what their players were told, so a replay that reaches anything else fails
//! `verify` and keeps the server from starting.

mod common;

use std::path::Path;
use std::time::Duration;

use common::{ServerProcess, necpsim, serve_args};
use rusqlite::Connection;

/// A frozen store, the schema version it was written at and what `verify` must find in it.
struct Fixture {
    file: &'static str,
    schema: i64,
    verified: &'static str,
}

const FIXTURES: [Fixture; 5] = [
    // Written before journal records carried a rules version: every record replays under the
    // first rules, which accepted goods that list an item twice.
    Fixture {
        file: "rules-v1.db",
        schema: 1,
        verified: "ok: verify: tick 200, 566 ledger entries, 37 balances",
    },
    Fixture {
        file: "rules-v2.db",
        schema: 2,
        verified: "ok: verify: tick 200, 570 ledger entries, 37 balances",
    },
    // Written with low per-player limits on open orders, trades and auctions, which refused 74
    // commands: a replay that lost the limits stored beside the rules would accept them.
    Fixture {
        file: "rules-v3.db",
        schema: 2,
        verified: "ok: verify: tick 200, 493 ledger entries, 36 balances",
    },
    // Written with two market makers across a reload that prices food in cryptos (closing the
    // makers' four eurodollar quotes), a drop from 60 to 30 Hz and a rise back (moving every
    // deadline and key age): a replay that does not carry over at the same ticks reaches another
    // ledger.
    Fixture {
        file: "rules-v4.db",
        schema: 3,
        verified: "ok: verify: tick 200, 205 ledger entries, 50 balances",
    },
    // Written across a reload to one inventory slot and no starting items, after which four
    // players join holding nothing: trades that would give them two stacks and bids whose units
    // would not fit were refused (22 times), which earlier rules accepted.
    Fixture {
        file: "rules-v5.db",
        schema: 3,
        verified: "ok: verify: tick 200, 120 ledger entries, 31 balances",
    },
];

/// The schema version of the store in `data`.
fn schema(data: &Path) -> i64 {
    let db = Connection::open(data.join(necpsim::store::DATABASE_FILE)).expect("opens");
    db.query_row("PRAGMA user_version", [], |row| row.get(0))
        .expect("a schema version")
}

/// Runs an offline check on `data`; its standard output.
fn check(command: &str, data: &Path) -> String {
    let out = necpsim(&[command, "--data", data.to_str().expect("utf-8 path")]);
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(out.status.success(), "{command}: {stderr}");
    stdout.into_owned()
}

#[test]
fn stores_written_by_earlier_builds_verify_as_they_are_and_recover_in_a_server() {
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/stores");
    for fixture in FIXTURES {
        let data = tempfile::tempdir().expect("temp dir");
        std::fs::copy(
            fixtures.join(fixture.file),
            data.path().join(necpsim::store::DATABASE_FILE),
        )
        .expect("copies the fixture");

        // Checked as it is: the offline checks never write, not even a schema upgrade.
        let verified = check("verify", data.path());
        assert!(
            verified.contains(fixture.verified),
            "{}: {verified}",
            fixture.file
        );
        let replayed = check("replay-ledger", data.path());
        let ledger = fixture.verified.replace("verify", "replay-ledger");
        assert!(replayed.contains(&ledger), "{}: {replayed}", fixture.file);
        assert_eq!(schema(data.path()), fixture.schema, "{}", fixture.file);

        let server = ServerProcess::start(&serve_args(&common::bundled_assets(), data.path(), "127.0.0.1:0"));
        let recovered = server.wait_for("economy recovered from the store", Duration::from_secs(20));
        assert_eq!(recovered["tick"], 200, "{}", fixture.file);
        server.wait_for("serving", Duration::from_secs(20));
        drop(server);

        let current = schema(data.path());
        assert_eq!(current, 3, "{}: upgraded to the current schema", fixture.file);
        let verified = check("verify", data.path());
        assert!(
            verified.contains("ok: verify: tick "),
            "{}: {verified}",
            fixture.file
        );
    }
}

#[test]
fn a_store_whose_ledger_balances_or_tables_disagree_with_its_journal_fails_verify_and_keeps_the_server_from_starting()
 {
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/stores/rules-v3.db");
    let tampered = |sql: &str| {
        let data = tempfile::tempdir().expect("temp dir");
        let database = data.path().join(necpsim::store::DATABASE_FILE);
        std::fs::copy(&fixture, &database).expect("copies the fixture");
        Connection::open(&database)
            .expect("opens")
            .execute_batch(sql)
            .expect("tampered");
        let verify = necpsim(&["verify", "--data", data.path().to_str().expect("utf-8 path")]);
        assert!(!verify.status.success(), "verify passes {sql}");
        let out = common::serve_to_exit(serve_args(&common::bundled_assets(), data.path(), "127.0.0.1:0"));
        assert_eq!(out.status.code(), Some(1), "{sql}");
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    let lost_entry = tampered("DELETE FROM ledger WHERE seq = (SELECT MAX(seq) FROM ledger)");
    assert!(
        lost_entry.contains("the journal replays to 493 ledger entries, the store holds 492"),
        "{lost_entry}"
    );
    let changed_balance = tampered(
        "UPDATE balances SET balance = balance + 1 \
         WHERE player = (SELECT MIN(player) FROM balances WHERE account_kind = 0)",
    );
    assert!(
        changed_balance.contains("the journal's replay gives")
            && changed_balance.contains("the stored balances say"),
        "{changed_balance}"
    );
    let changed_order =
        tampered("UPDATE orders SET remaining = remaining + 1 WHERE id = (SELECT MIN(id) FROM orders)");
    assert!(
        changed_order.contains("the journal's replay and the stored tables disagree: order OrderId("),
        "{changed_order}"
    );
    let lost_items = tampered("DELETE FROM inventories WHERE player = (SELECT MIN(player) FROM inventories)");
    assert!(
        lost_items.contains("the journal's replay and the stored tables disagree: "),
        "{lost_items}"
    );
    assert!(lost_items.contains("inventory of player"), "{lost_items}");
}
