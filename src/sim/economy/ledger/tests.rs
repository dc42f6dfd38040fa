//! Tests of the parent module.

use super::*;
use proptest::prelude::*;

const GOLD: CurrencyId = CurrencyId(0);
const GEMS: CurrencyId = CurrencyId(1);
const ALICE: PlayerId = PlayerId(1);
const BOB: PlayerId = PlayerId(2);

type Snapshot = (Vec<(Account, CurrencyId, i64)>, Vec<Entry>, u64);

fn snapshot(l: &Ledger) -> Snapshot {
    (l.balances().collect(), l.journal().to_vec(), l.next_seq())
}

fn funded() -> Ledger {
    let mut l = Ledger::new();
    let mut tx = l.begin(1);
    assert_eq!(tx.mint(GOLD, ALICE, 1_000, EntryKind::Reward, 7), Ok(()));
    assert_eq!(tx.mint(GOLD, BOB, 50, EntryKind::Reward, 8), Ok(()));
    assert!(tx.commit().is_ok());
    l
}

#[test]
fn mint_to_wallet() {
    let mut l = Ledger::new();
    let mut tx = l.begin(5);
    assert_eq!(tx.mint(GOLD, ALICE, 250, EntryKind::Reward, 42), Ok(()));
    assert_eq!(
        tx.commit(),
        Ok(Committed {
            first_seq: 0,
            entries: 1
        })
    );
    assert_eq!(l.wallet(ALICE, GOLD), 250);
    assert_eq!(l.balance(Account::Mint, GOLD), -250);
    assert_eq!(l.minted(GOLD), 250);
    assert_eq!(l.burned(GOLD), 0);
    assert_eq!(l.circulating(GOLD), 250);
    assert_eq!(l.wallet(ALICE, GEMS), 0);
    assert_eq!(
        l.journal(),
        &[Entry {
            seq: 0,
            tick: 5,
            kind: EntryKind::Reward,
            currency: GOLD,
            debit: Account::Mint,
            credit: Account::Wallet(ALICE),
            amount: 250,
            reference: 42,
        }]
    );
    assert_eq!(l.check_invariants(), Ok(()));
}

#[test]
fn reserve_then_pay_with_fee() {
    let mut l = funded();
    let mut tx = l.begin(2);
    // Alice bids 300; in the same tx the bid fills at 280 + 20 fee.
    assert_eq!(tx.reserve(ALICE, GOLD, 300, 9), Ok(()));
    assert_eq!(tx.balance(Account::Reserved(ALICE), GOLD), 300);
    assert_eq!(
        tx.pay_from_reserved(ALICE, BOB, GOLD, 280, EntryKind::Auction, 9),
        Ok(())
    );
    assert_eq!(tx.fee_from_reserved(ALICE, GOLD, 20, 9), Ok(()));
    assert_eq!(tx.len(), 3);
    // Not visible before commit.
    assert_eq!(tx.ledger.wallet(ALICE, GOLD), 1_000);
    assert!(tx.commit().is_ok());
    assert_eq!(l.wallet(ALICE, GOLD), 700);
    assert_eq!(l.reserved(ALICE, GOLD), 0);
    assert_eq!(l.wallet(BOB, GOLD), 330);
    assert_eq!(l.balance(Account::Fees, GOLD), 20);
    assert_eq!(l.circulating(GOLD), 1_050);
    assert_eq!(l.check_invariants(), Ok(()));
    let seqs: Vec<u64> = l.journal().iter().map(|e| e.seq).collect();
    assert_eq!(seqs, vec![0, 1, 2, 3, 4]);
    assert!(l.journal()[2..].iter().all(|e| e.tick == 2));
    assert_eq!(l.journal()[2].kind, EntryKind::Escrow);
    assert_eq!(l.journal()[4].kind, EntryKind::Fee);
}

#[test]
fn insufficient_funds_changes_nothing() {
    let mut l = funded();
    let before = snapshot(&l);
    let mut tx = l.begin(3);
    assert_eq!(
        tx.fee_from_wallet(BOB, GOLD, 51, 1),
        Err(LedgerError::InsufficientFunds {
            account: Account::Wallet(BOB),
            currency: GOLD,
            available: 50,
            amount: 51,
        })
    );
    assert!(tx.commit().is_err());
    assert_eq!(snapshot(&l), before);
    // Reserved funds are not spendable from the wallet and vice versa.
    let mut tx = l.begin(3);
    assert!(
        tx.pay_from_reserved(BOB, ALICE, GOLD, 1, EntryKind::Trading, 1)
            .is_err()
    );
    tx.abort();
    assert_eq!(snapshot(&l), before);
}

#[test]
fn one_bad_transfer_poisons_transaction() {
    let mut l = funded();
    let before = snapshot(&l);
    let mut tx = l.begin(4);
    assert_eq!(tx.reserve(ALICE, GOLD, 100, 1), Ok(()));
    assert_eq!(
        tx.transfer(
            EntryKind::Trading,
            GOLD,
            Account::Wallet(BOB),
            Account::Wallet(ALICE),
            0,
            1
        ),
        Err(LedgerError::NonPositiveAmount { amount: 0 })
    );
    assert_eq!(
        tx.release(ALICE, GOLD, 100, 1),
        Err(LedgerError::TransactionPoisoned)
    );
    assert_eq!(tx.failure(), Some(&LedgerError::NonPositiveAmount { amount: 0 }));
    assert_eq!(tx.commit(), Err(LedgerError::NonPositiveAmount { amount: 0 }));
    assert_eq!(snapshot(&l), before);
    // Dropping a good transaction applies nothing either.
    {
        let mut tx = l.begin(4);
        assert_eq!(tx.reserve(ALICE, GOLD, 100, 1), Ok(()));
    }
    assert_eq!(snapshot(&l), before);
    assert_eq!(l.check_invariants(), Ok(()));
}

/// Runs a single transfer in its own transaction and returns its error.
fn refused(l: &mut Ledger, from: Account, to: Account, amount: i64) -> Option<LedgerError> {
    let mut tx = l.begin(1);
    tx.transfer(EntryKind::Trading, GOLD, from, to, amount, 0).err()
}

#[test]
fn structural_rules() {
    let mut l = funded();
    let before = snapshot(&l);
    let w = Account::Wallet(ALICE);
    assert_eq!(
        refused(&mut l, w, w, 1),
        Some(LedgerError::SameAccount { account: w })
    );
    assert_eq!(
        refused(&mut l, w, Account::Mint, 1),
        Some(LedgerError::CreditToMint)
    );
    assert_eq!(
        refused(&mut l, Account::Burn, w, 1),
        Some(LedgerError::DebitFromBurn)
    );
    assert_eq!(
        refused(&mut l, Account::Mint, w, -5),
        Some(LedgerError::NonPositiveAmount { amount: -5 })
    );
    assert_eq!(
        refused(&mut l, Account::Fees, w, 1),
        Some(LedgerError::InsufficientFunds {
            account: Account::Fees,
            currency: GOLD,
            available: 0,
            amount: 1
        })
    );
    assert_eq!(snapshot(&l), before);

    // Minted total must stay representable.
    let mut tx = l.begin(1);
    assert_eq!(tx.mint(GEMS, ALICE, i64::MAX, EntryKind::Reward, 0), Ok(()));
    assert_eq!(
        tx.mint(GEMS, BOB, 1, EntryKind::Reward, 0),
        Err(LedgerError::Overflow {
            account: Account::Mint,
            currency: GEMS
        })
    );
    tx.abort();
    assert_eq!(snapshot(&l), before);
    let mut tx = l.begin(1);
    assert_eq!(tx.mint(GEMS, ALICE, i64::MAX, EntryKind::Reward, 0), Ok(()));
    assert!(tx.commit().is_ok());
    assert_eq!(l.minted(GEMS), i64::MAX);
    assert_eq!(l.balance(Account::Mint, GEMS), -i64::MAX);
    assert_eq!(l.check_invariants(), Ok(()));
}

#[test]
fn burn_reduces_supply() {
    let mut l = funded();
    let mut tx = l.begin(9);
    assert_eq!(tx.burn(GOLD, ALICE, 400, EntryKind::Purchase, 3), Ok(()));
    assert!(tx.commit().is_ok());
    assert_eq!(l.wallet(ALICE, GOLD), 600);
    assert_eq!(l.burned(GOLD), 400);
    assert_eq!(l.balance(Account::Burn, GOLD), 400);
    assert_eq!(l.circulating(GOLD), 650);
    assert_eq!(l.check_invariants(), Ok(()));
    let mut tx = l.begin(9);
    assert!(tx.burn(GOLD, ALICE, 601, EntryKind::Purchase, 3).is_err());
}

#[test]
fn rebuild_from_entries() {
    let mut l = funded();
    let mut all = Vec::new();
    l.drain_journal(&mut all);
    assert!(l.journal().is_empty());
    let mut tx = l.begin(2);
    assert!(tx.reserve(ALICE, GOLD, 500, 1).is_ok());
    assert!(
        tx.transfer(
            EntryKind::Auction,
            GOLD,
            Account::Reserved(ALICE),
            Account::Escrow,
            500,
            1
        )
        .is_ok()
    );
    assert!(tx.commit().is_ok());
    let mut tx = l.begin(3);
    assert!(
        tx.transfer(
            EntryKind::Auction,
            GOLD,
            Account::Escrow,
            Account::Wallet(BOB),
            450,
            1
        )
        .is_ok()
    );
    assert!(
        tx.transfer(EntryKind::Fee, GOLD, Account::Escrow, Account::Fees, 50, 1)
            .is_ok()
    );
    assert!(tx.burn(GOLD, BOB, 100, EntryKind::Purchase, 2).is_ok());
    assert!(tx.commit().is_ok());
    l.drain_journal(&mut all);
    let rebuilt = Ledger::from_entries(&all);
    assert!(rebuilt.as_ref().is_ok_and(|r| r.state_eq(&l)));
    assert!(rebuilt.is_ok_and(|r| r.journal().is_empty() && r.next_seq() == 7));

    // Tampered journals are rejected.
    let mut gap = all.clone();
    gap.remove(3);
    assert_eq!(
        Ledger::from_entries(&gap).err(),
        Some(ReplayError::OutOfSequence {
            expected: 3,
            found: 4
        })
    );
    let mut forged = all.clone();
    forged[6].amount = 1_000;
    assert!(matches!(
        Ledger::from_entries(forged).err(),
        Some(ReplayError::InvalidEntry { seq: 6, .. })
    ));
}

// ---------------------------------------------------------------
// Model-based property test.

const PLAYERS: u64 = 20;
const CURRENCIES: u16 = 2;
const OPS: usize = 10_000;

#[derive(Debug, Clone, Copy)]
enum Op {
    Mint(u64, u16, i64),
    Transfer(u64, u64, u16, i64),
    Reserve(u64, u16, i64),
    Release(u64, u16, i64),
    /// from, to, currency, amount, fee (fee 0 = no fee transfer)
    Pay(u64, u64, u16, i64, i64),
    FeeWallet(u64, u16, i64),
    Burn(u64, u16, i64),
}

/// One ledger transfer of an op, with the helper that performs it.
#[derive(Debug, Clone, Copy)]
enum Call {
    Mint(PlayerId, CurrencyId, i64),
    Transfer(PlayerId, PlayerId, CurrencyId, i64),
    Reserve(PlayerId, CurrencyId, i64),
    Release(PlayerId, CurrencyId, i64),
    Pay(PlayerId, PlayerId, CurrencyId, i64),
    FeeReserved(PlayerId, CurrencyId, i64),
    FeeWallet(PlayerId, CurrencyId, i64),
    Burn(PlayerId, CurrencyId, i64),
}

impl Op {
    fn calls(self, out: &mut Vec<Call>) {
        let p = PlayerId;
        let c = CurrencyId;
        match self {
            Op::Mint(a, cur, n) => out.push(Call::Mint(p(a), c(cur), n)),
            Op::Transfer(a, b, cur, n) => out.push(Call::Transfer(p(a), p(b), c(cur), n)),
            Op::Reserve(a, cur, n) => out.push(Call::Reserve(p(a), c(cur), n)),
            Op::Release(a, cur, n) => out.push(Call::Release(p(a), c(cur), n)),
            Op::Pay(a, b, cur, n, fee) => {
                out.push(Call::Pay(p(a), p(b), c(cur), n));
                if fee != 0 {
                    out.push(Call::FeeReserved(p(a), c(cur), fee));
                }
            }
            Op::FeeWallet(a, cur, n) => out.push(Call::FeeWallet(p(a), c(cur), n)),
            Op::Burn(a, cur, n) => out.push(Call::Burn(p(a), c(cur), n)),
        }
    }
}

impl Call {
    fn parts(self) -> (CurrencyId, Account, Account, i64) {
        use Account::{Burn, Fees, Mint, Reserved, Wallet};
        match self {
            Call::Mint(p, c, n) => (c, Mint, Wallet(p), n),
            Call::Transfer(a, b, c, n) => (c, Wallet(a), Wallet(b), n),
            Call::Reserve(p, c, n) => (c, Wallet(p), Reserved(p), n),
            Call::Release(p, c, n) => (c, Reserved(p), Wallet(p), n),
            Call::Pay(a, b, c, n) => (c, Reserved(a), Wallet(b), n),
            Call::FeeReserved(p, c, n) => (c, Reserved(p), Fees, n),
            Call::FeeWallet(p, c, n) => (c, Wallet(p), Fees, n),
            Call::Burn(p, c, n) => (c, Wallet(p), Burn, n),
        }
    }

    fn run(self, tx: &mut Transaction<'_>, r: u64) -> Result<(), LedgerError> {
        match self {
            Call::Mint(p, c, n) => tx.mint(c, p, n, EntryKind::Reward, r),
            Call::Transfer(a, b, c, n) => tx.transfer(
                EntryKind::Trading,
                c,
                Account::Wallet(a),
                Account::Wallet(b),
                n,
                r,
            ),
            Call::Reserve(p, c, n) => tx.reserve(p, c, n, r),
            Call::Release(p, c, n) => tx.release(p, c, n, r),
            Call::Pay(a, b, c, n) => tx.pay_from_reserved(a, b, c, n, EntryKind::Auction, r),
            Call::FeeReserved(p, c, n) => tx.fee_from_reserved(p, c, n, r),
            Call::FeeWallet(p, c, n) => tx.fee_from_wallet(p, c, n, r),
            Call::Burn(p, c, n) => tx.burn(c, p, n, EntryKind::Purchase, r),
        }
    }
}

/// Independent model: balances only, validity rules restated.
type Model = BTreeMap<(Account, CurrencyId), i64>;

fn model_apply(m: &mut Model, call: Call) -> bool {
    let (c, from, to, n) = call.parts();
    if n <= 0 || from == to || to == Account::Mint || from == Account::Burn {
        return false;
    }
    let fb = i128::from(m.get(&(from, c)).copied().unwrap_or(0)) - i128::from(n);
    let tb = i128::from(m.get(&(to, c)).copied().unwrap_or(0)) + i128::from(n);
    let floor = if from == Account::Mint {
        -i128::from(i64::MAX)
    } else {
        0
    };
    let (Ok(fb), Ok(tb)) = (i64::try_from(fb), i64::try_from(tb)) else {
        return false;
    };
    if i128::from(fb) < floor {
        return false;
    }
    m.insert((from, c), fb);
    m.insert((to, c), tb);
    true
}

fn amount() -> impl Strategy<Value = i64> {
    prop_oneof![
        60 => 1i64..=300,
        15 => 301i64..=20_000,
        8 => -3i64..=0,
        1 => Just(i64::MAX),
        1 => Just(i64::MIN),
    ]
}

fn op() -> impl Strategy<Value = Op> {
    let p = 0..PLAYERS;
    let c = 0..CURRENCIES;
    prop_oneof![
        3 => (p.clone(), c.clone(), amount()).prop_map(|(a, c, n)| Op::Mint(a, c, n)),
        3 => (p.clone(), p.clone(), c.clone(), amount())
            .prop_map(|(a, b, c, n)| Op::Transfer(a, b, c, n)),
        3 => (p.clone(), c.clone(), amount()).prop_map(|(a, c, n)| Op::Reserve(a, c, n)),
        2 => (p.clone(), c.clone(), amount()).prop_map(|(a, c, n)| Op::Release(a, c, n)),
        3 => (p.clone(), p.clone(), c.clone(), amount(), prop_oneof![Just(0i64), amount()])
            .prop_map(|(a, b, c, n, f)| Op::Pay(a, b, c, n, f)),
        1 => (p.clone(), c.clone(), amount()).prop_map(|(a, c, n)| Op::FeeWallet(a, c, n)),
        1 => (p, c, amount()).prop_map(|(a, c, n)| Op::Burn(a, c, n)),
    ]
}

/// (transfers in the tx 1..=4, abort?, drain journal afterwards?)
fn group() -> impl Strategy<Value = (usize, bool, bool)> {
    (1usize..=4, prop::bool::weighted(0.15), prop::bool::ANY)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 8, ..ProptestConfig::default() })]

    #[test]
    fn random_transactions_keep_invariants(
        ops in prop::collection::vec(op(), OPS),
        groups in prop::collection::vec(group(), OPS),
    ) {
        let mut ledger = Ledger::new();
        let mut model = Model::new();
        let mut drained = Vec::new();
        let mut calls = Vec::new();
        let mut rest = ops.as_slice();
        let (mut commits, mut refusals, mut aborts) = (0u32, 0u32, 0u32);
        for (tick, &(size, abort, drain)) in (0u64..).zip(&groups) {
            if rest.is_empty() {
                break;
            }
            let (chunk, tail) = rest.split_at(size.min(rest.len()));
            rest = tail;
            calls.clear();
            for o in chunk {
                o.calls(&mut calls);
            }
            calls.truncate(4);

            let before = snapshot(&ledger);
            let mut work = model.clone();
            let mut expect_ok = true;
            let mut tx = ledger.begin(tick);
            for (i, call) in (0u64..).zip(&calls) {
                let res = call.run(&mut tx, tick * 8 + i);
                if expect_ok {
                    let predicted = model_apply(&mut work, *call);
                    prop_assert_eq!(res.is_ok(), predicted, "{:?} -> {:?}", call, res);
                    expect_ok = predicted;
                } else {
                    prop_assert_eq!(res, Err(LedgerError::TransactionPoisoned));
                }
            }
            let committed = if abort {
                if tick % 2 == 0 { tx.abort() } else { drop(tx) }
                aborts += 1;
                false
            } else {
                let res = tx.commit();
                prop_assert_eq!(res.is_ok(), expect_ok);
                if let Ok(c) = res {
                    prop_assert_eq!(c.entries, calls.len());
                    prop_assert_eq!(c.first_seq, before.2);
                    commits += 1;
                } else {
                    refusals += 1;
                }
                expect_ok
            };

            if committed {
                model = work;
                prop_assert_eq!(ledger.journal().len(), before.1.len() + calls.len());
                prop_assert_eq!(&ledger.journal()[..before.1.len()], &before.1[..]);
            } else {
                prop_assert_eq!(&snapshot(&ledger), &before);
            }
            prop_assert_eq!(ledger.check_invariants(), Ok(()));
            for (a, _, b) in ledger.balances() {
                prop_assert!(b >= 0 || a == Account::Mint);
            }
            let live: Vec<_> = ledger.balances().collect();
            let modeled: Vec<_> = model
                .iter()
                .filter(|(_, b)| **b != 0)
                .map(|(&(a, c), &b)| (a, c, b))
                .collect();
            prop_assert_eq!(live, modeled);
            if drain {
                ledger.drain_journal(&mut drained);
            }
        }
        prop_assert!(rest.is_empty());
        prop_assert!(commits > 100 && refusals > 100 && aborts > 100);
        ledger.drain_journal(&mut drained);
        prop_assert!(drained.iter().zip(0u64..).all(|(e, s)| e.seq == s));
        let rebuilt = Ledger::from_entries(&drained);
        prop_assert!(rebuilt.as_ref().is_ok_and(|r| r.state_eq(&ledger)), "{:?}", rebuilt.err());
    }
}
