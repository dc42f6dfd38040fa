//! Replays the committed fuzz corpus on stable Rust: every file of every `fuzz/corpus/<target>/`
//! goes through the function its fuzz target calls (`necpsim::protocol::fuzzing`), which must not
//! panic; seeds named `valid-*` must be accepted whole, and each target's corpus must hold at
//! least one input the decoders refuse. Regenerate the seeds with
//! `cargo run --example make_fuzz_corpus`.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;

use necpsim::protocol::fuzzing::{self, Outcome};

/// What a fuzz target runs on one input.
type Target = fn(&[u8]) -> Outcome;

/// Every fuzz target and the function it runs.
const TARGETS: [(&str, Target); 5] = [
    ("control_frame", fuzzing::control_frame),
    ("datagram", fuzzing::datagram),
    ("reply", fuzzing::reply),
    ("push", fuzzing::push),
    ("snapshot", fuzzing::snapshot),
];

#[test]
fn every_target_has_a_fuzz_target_file_and_a_corpus() {
    let fuzz = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz");
    for (target, _) in TARGETS {
        let source = fuzz.join("fuzz_targets").join(format!("{target}.rs"));
        let text = std::fs::read_to_string(&source).unwrap_or_else(|e| panic!("{}: {e}", source.display()));
        assert!(
            text.contains(&format!("fuzzing::{target}(")),
            "{} must call fuzzing::{target}",
            source.display()
        );
    }
}

#[test]
fn the_committed_corpus_replays_without_panics_and_valid_seeds_decode() {
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus");
    for (target, run) in TARGETS {
        let dir = corpus.join(target);
        let mut files: Vec<_> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .map(|entry| entry.expect("readable entry").path())
            .filter(|path| path.is_file())
            .collect();
        files.sort();
        assert!(!files.is_empty(), "{} is empty", dir.display());
        let (mut valid, mut refused) = (0, 0);
        for path in &files {
            let bytes = std::fs::read(path).expect("readable seed");
            let outcome = catch_unwind(AssertUnwindSafe(|| run(&bytes)))
                .unwrap_or_else(|_| panic!("{target} panicked on {}", path.display()));
            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default();
            if name.starts_with("valid-") {
                assert!(
                    outcome.all_accepted(),
                    "{target}: valid seed {name} was not accepted: {outcome:?} (protocol changed? \
                     regenerate with `cargo run --example make_fuzz_corpus`)"
                );
                valid += 1;
            }
            if outcome.refused > 0 {
                refused += 1;
            }
        }
        assert!(valid >= 3, "{target}: only {valid} valid-* seeds");
        assert!(
            refused >= 1,
            "{target}: no seed is refused, the corpus tests only the happy path"
        );
    }
}
