//! Every number in every bundled asset file, set in turn to an extreme a designer might type (0,
//! -1, 2^32 - 1, 1e30, 1e-6), through the designer's door: the edited copy is either refused with
//! a reason, or accepted and then run without a panic, by the real schedule with players moving
//! and fighting (the headless bench's bots) and with players trading (random economy commands).
//! A config the server accepts must never be one that brings it down.

mod common;

use std::ops::Range;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use necpsim::bench::{BenchOptions, run};
use necpsim::config::Config;
use necpsim::sim::{ClientId, Command, EconomyRequest, Outbox, ReplyBody, Sim};
use rand_chacha::ChaCha8Rng;
use rand_core::{Rng, SeedableRng};

use common::economy_ops::{PLAYERS, random_op};

/// What each number is set to.
const EXTREMES: [&str; 5] = ["0", "-1", "4294967295", "1e30", "0.000001"];

/// Every `.toml` file below `dir`, as paths relative to it, in a fixed order.
fn asset_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(at) = pending.pop() {
        for entry in std::fs::read_dir(&at).expect("assets readable") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                pending.push(path);
            } else if path.extension().is_some_and(|ext| ext == "toml") {
                files.push(path.strip_prefix(dir).expect("below dir").to_path_buf());
            }
        }
    }
    files.sort();
    files
}

/// Where the numbers assigned in `text` are: each run of number characters right after an `=`
/// (outside comments), inline tables included.
fn number_spans(text: &str) -> Vec<Range<usize>> {
    let bytes = text.as_bytes();
    let mut spans = Vec::new();
    let mut in_comment = false;
    let mut at = 0;
    while at < bytes.len() {
        match bytes[at] {
            b'\n' => in_comment = false,
            b'#' => in_comment = true,
            b'=' if !in_comment => {
                let start = at + 1 + bytes[at + 1..].iter().take_while(|&&b| b == b' ').count();
                let end = start
                    + bytes[start..]
                        .iter()
                        .take_while(|&&b| b.is_ascii_digit() || b"._-+eE".contains(&b))
                        .count();
                if bytes[start..end].iter().any(u8::is_ascii_digit) {
                    spans.push(start..end);
                }
                at = end;
                continue;
            }
            _ => {}
        }
        at += 1;
    }
    spans
}

/// Players moving, fighting in 5-vs-5 arenas and watched by snapshots, for two seconds.
fn move_and_fight(config: Config) {
    let options = BenchOptions {
        players: 20,
        npcs: 10,
        fighters: 10,
        ticks: 60,
        seed: 7,
        area_per_entity_m2: 400.0,
        snapshot_threads: Some(1),
        progress: false,
    };
    run(config, &options).expect("one snapshot thread starts");
}

/// Players sending random economy commands for half a second.
fn trade(config: Config) {
    let mut sim = Sim::new(Arc::new(config));
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    let mut outbox = Outbox::default();
    for player in 0..PLAYERS {
        sim.submit(ClientId(player), Command::Join).expect("room");
    }
    let (mut orders, mut trades) = (Vec::new(), Vec::new());
    for _ in 0..30 {
        for _ in 0..20 {
            let player = ClientId(u64::from(rng.next_u32()) % PLAYERS);
            let op = random_op(&mut rng, &orders, &trades);
            let key = u128::from(rng.next_u64());
            sim.submit(player, Command::Economy(EconomyRequest { key, op }))
                .expect("room");
        }
        sim.step();
        sim.drain_outputs(&mut outbox);
        for reply in &outbox.replies {
            match reply.body {
                ReplyBody::OrderPlaced { order, .. } => orders.push(order),
                ReplyBody::TradeProposed { trade, .. } => trades.push(trade),
                _ => {}
            }
        }
    }
}

fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| payload.downcast_ref::<&str>().map(|text| (*text).to_owned()))
        .unwrap_or_default()
}

#[test]
fn every_number_at_an_extreme_is_refused_or_runs() {
    let bundled = common::bundled_assets();
    let (mut accepted, mut refused) = (0, 0);
    let mut panics = Vec::new();
    for relative in asset_files(&bundled) {
        let text = std::fs::read_to_string(bundled.join(&relative)).expect("asset readable");
        for span in number_spans(&text) {
            let line = text[..span.start].lines().count();
            for extreme in EXTREMES {
                let assets = common::assets_copy();
                let edited = format!("{}{extreme}{}", &text[..span.start], &text[span.end..]);
                std::fs::write(assets.path().join(&relative), edited).expect("copy writable");
                let config = match Config::load(assets.path()) {
                    Ok(config) => config,
                    Err(errors) => {
                        assert!(errors.iter().all(|error| !error.reason.is_empty()), "{errors}");
                        refused += 1;
                        continue;
                    }
                };
                accepted += 1;
                let trading = config.clone();
                let ran = catch_unwind(AssertUnwindSafe(|| {
                    move_and_fight(config);
                    trade(trading);
                }));
                if let Err(payload) = ran {
                    let number = &text[span.clone()];
                    panics.push(format!(
                        "{}:{line}: {number} -> {extreme}: {}",
                        relative.display(),
                        panic_message(payload.as_ref())
                    ));
                }
            }
        }
    }
    assert!(
        accepted > 100 && refused > 100,
        "{accepted} accepted, {refused} refused"
    );
    assert!(
        panics.is_empty(),
        "accepted configs that panicked:\n{}",
        panics.join("\n")
    );
}
