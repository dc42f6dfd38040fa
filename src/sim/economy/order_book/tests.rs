//! Tests of the parent module.

use super::*;

fn new_order(id: u64, owner: u64, side: Side, price: i64, quantity: u32) -> NewOrder {
    NewOrder {
        id: OrderId(id),
        owner: Owner(owner),
        side,
        price,
        quantity,
        expires_at_tick: None,
    }
}

fn place(book: &mut OrderBook, order: NewOrder, tick: u64) -> (Placed, Vec<Fill>) {
    let mut fills = Vec::new();
    let placed = book.place(order, tick, &mut fills).unwrap();
    (placed, fills)
}

/// `(maker, taker, price, quantity)` of each fill.
fn summary(fills: &[Fill]) -> Vec<(u64, u64, i64, u32)> {
    fills
        .iter()
        .map(|f| (f.maker.0, f.taker.0, f.price, f.quantity))
        .collect()
}

fn depth(book: &OrderBook, side: Side) -> Vec<(i64, u64)> {
    let mut out = Vec::new();
    book.depth(side, usize::MAX, &mut out);
    out
}

#[test]
fn price_time_priority_across_levels_and_within_level() {
    let mut book = OrderBook::new();
    place(&mut book, new_order(1, 10, Side::Sell, 102, 5), 0);
    place(&mut book, new_order(2, 11, Side::Sell, 101, 5), 1);
    place(&mut book, new_order(3, 12, Side::Sell, 101, 5), 2);
    place(&mut book, new_order(4, 13, Side::Sell, 100, 5), 3);
    // Buy 12 @ 102: 100 first (id 4), then 101 in time order (2 then 3).
    let (placed, fills) = place(&mut book, new_order(5, 20, Side::Buy, 102, 12), 4);
    assert_eq!(
        placed,
        Placed {
            filled: 12,
            resting: 0,
            cancelled: 0
        }
    );
    assert_eq!(
        summary(&fills),
        vec![(4, 5, 100, 5), (2, 5, 101, 5), (3, 5, 101, 2)]
    );
    assert_eq!(book.order(OrderId(3)).unwrap().remaining, 3);
    assert_eq!(book.order(OrderId(2)), None);
    assert_eq!(depth(&book, Side::Sell), vec![(101, 3), (102, 5)]);

    // Same on the bid side: highest first, then earliest.
    let mut book = OrderBook::new();
    place(&mut book, new_order(1, 10, Side::Buy, 98, 4), 0);
    place(&mut book, new_order(2, 11, Side::Buy, 99, 4), 0);
    place(&mut book, new_order(3, 12, Side::Buy, 99, 4), 0);
    let (_, fills) = place(&mut book, new_order(4, 20, Side::Sell, 90, 10), 1);
    assert_eq!(summary(&fills), vec![(2, 4, 99, 4), (3, 4, 99, 4), (1, 4, 98, 2)]);
    assert!(fills.iter().all(|f| f.taker_side == Side::Sell && f.tick == 1));
    assert_eq!(book.order(OrderId(1)).unwrap().remaining, 2);
}

#[test]
fn partial_fill_leaves_remainder_resting() {
    let mut book = OrderBook::new();
    place(&mut book, new_order(1, 1, Side::Sell, 100, 3), 0);
    let (placed, fills) = place(&mut book, new_order(2, 2, Side::Buy, 101, 10), 5);
    assert_eq!(
        placed,
        Placed {
            filled: 3,
            resting: 7,
            cancelled: 0
        }
    );
    assert_eq!(summary(&fills), vec![(1, 2, 100, 3)]);
    let resting = book.order(OrderId(2)).unwrap();
    assert_eq!(
        resting,
        RestingOrder {
            id: OrderId(2),
            owner: Owner(2),
            side: Side::Buy,
            price: 101,
            quantity: 10,
            remaining: 7,
            placed_tick: 5,
            expires_at_tick: None,
        }
    );
    assert_eq!(book.best_bid(), Some(101));
    assert_eq!(book.best_ask(), None);
    assert_eq!(book.len(), 1);
}

#[test]
fn sweep_gets_each_makers_price() {
    let mut book = OrderBook::new();
    place(&mut book, new_order(1, 1, Side::Sell, 100, 2), 0);
    place(&mut book, new_order(2, 2, Side::Sell, 103, 2), 0);
    place(&mut book, new_order(3, 3, Side::Sell, 107, 2), 0);
    place(&mut book, new_order(4, 4, Side::Sell, 110, 2), 0);
    let (placed, fills) = place(&mut book, new_order(9, 9, Side::Buy, 108, 10), 1);
    assert_eq!(
        summary(&fills),
        vec![(1, 9, 100, 2), (2, 9, 103, 2), (3, 9, 107, 2)]
    );
    assert_eq!(
        placed,
        Placed {
            filled: 6,
            resting: 4,
            cancelled: 0
        }
    );
    assert_eq!(book.best_bid(), Some(108));
    assert_eq!(book.best_ask(), Some(110));
    assert_eq!(book.last_price(), Some(107));
}

#[test]
fn cancel_by_owner_non_owner_unknown() {
    let mut book = OrderBook::new();
    place(&mut book, new_order(1, 7, Side::Buy, 50, 9), 0);
    place(&mut book, new_order(2, 8, Side::Buy, 50, 1), 0);
    assert_eq!(
        book.cancel(OrderId(1), Owner(8)),
        Err(BookError::NotOwner(OrderId(1)))
    );
    assert_eq!(book.len(), 2);
    assert_eq!(
        book.cancel(OrderId(1), Owner(7)),
        Ok(Cancelled {
            side: Side::Buy,
            price: 50,
            remaining: 9
        })
    );
    assert_eq!(
        book.cancel(OrderId(1), Owner(7)),
        Err(BookError::UnknownOrder(OrderId(1)))
    );
    assert_eq!(
        book.cancel(OrderId(99), Owner(7)),
        Err(BookError::UnknownOrder(OrderId(99)))
    );
    assert_eq!(depth(&book, Side::Buy), vec![(50, 1)]);
    book.cancel(OrderId(2), Owner(8)).unwrap();
    assert!(book.is_empty());
    assert!(book.bids.is_empty(), "empty level must be removed");
    assert!(book.index.expiries.is_empty());
    // Cancelled id may be reused.
    place(&mut book, new_order(1, 7, Side::Sell, 60, 1), 1);
    assert_eq!(book.best_ask(), Some(60));
}

#[test]
fn expiry_removes_due_orders_only() {
    let mut book = OrderBook::new();
    let mut o1 = new_order(1, 1, Side::Buy, 90, 5);
    o1.expires_at_tick = Some(10);
    let mut o2 = new_order(2, 2, Side::Sell, 110, 6);
    o2.expires_at_tick = Some(12);
    let o3 = new_order(3, 3, Side::Sell, 111, 7);
    place(&mut book, o1, 0);
    place(&mut book, o2, 0);
    place(&mut book, o3, 0);
    // Partially fill order 2 so the reported remainder is the unfilled part.
    place(&mut book, new_order(4, 4, Side::Buy, 110, 2), 1);

    let mut out = Vec::new();
    book.expire(9, &mut out);
    assert!(out.is_empty());
    book.expire(10, &mut out);
    assert_eq!(
        out,
        vec![Expired {
            id: OrderId(1),
            owner: Owner(1),
            side: Side::Buy,
            price: 90,
            remaining: 5
        }]
    );
    out.clear();
    book.expire(1_000, &mut out);
    assert_eq!(
        out,
        vec![Expired {
            id: OrderId(2),
            owner: Owner(2),
            side: Side::Sell,
            price: 110,
            remaining: 4
        }]
    );
    assert_eq!(book.len(), 1);
    assert_eq!(book.best_ask(), Some(111));
    assert_eq!(book.best_bid(), None);
    assert!(book.index.expiries.is_empty());

    // A fully filled order leaves the expiry index too.
    let mut o5 = new_order(5, 5, Side::Buy, 120, 7);
    o5.expires_at_tick = Some(2_000);
    place(&mut book, o5, 1_001);
    assert!(book.index.expiries.is_empty());
    assert!(book.is_empty());

    // Expiry not after the placement tick is rejected.
    let mut o6 = new_order(6, 6, Side::Buy, 1, 1);
    o6.expires_at_tick = Some(1_001);
    assert_eq!(
        book.place(o6, 1_001, &mut Vec::new()),
        Err(BookError::AlreadyExpired {
            expires_at_tick: 1_001,
            tick: 1_001
        })
    );
}

#[test]
fn self_trade_is_skipped_and_keeps_priority() {
    let mut book = OrderBook::new();
    place(&mut book, new_order(1, 1, Side::Sell, 100, 5), 0);
    place(&mut book, new_order(2, 2, Side::Sell, 100, 5), 0);
    // Owner 1 buys: skips its own order 1, trades with order 2.
    let (placed, fills) = place(&mut book, new_order(3, 1, Side::Buy, 100, 3), 1);
    assert_eq!(summary(&fills), vec![(2, 3, 100, 3)]);
    assert_eq!(
        placed,
        Placed {
            filled: 3,
            resting: 0,
            cancelled: 0
        }
    );
    // Order 1 kept time priority over order 2.
    let (_, fills) = place(&mut book, new_order(4, 3, Side::Buy, 100, 7), 2);
    assert_eq!(summary(&fills), vec![(1, 4, 100, 5), (2, 4, 100, 2)]);
    assert!(book.is_empty());
}

#[test]
fn self_trade_remainder_that_would_cross_is_cancelled() {
    let mut book = OrderBook::new();
    place(&mut book, new_order(1, 1, Side::Sell, 100, 5), 0);
    place(&mut book, new_order(2, 2, Side::Sell, 101, 4), 0);
    // Owner 1 buys 10 @ 101: own 100 skipped, 4 @ 101 from owner 2, the
    // remaining 6 would cross its own ask at 100, so they are cancelled.
    let (placed, fills) = place(&mut book, new_order(3, 1, Side::Buy, 101, 10), 1);
    assert_eq!(summary(&fills), vec![(2, 3, 101, 4)]);
    assert_eq!(
        placed,
        Placed {
            filled: 4,
            resting: 0,
            cancelled: 6
        }
    );
    assert_eq!(book.order(OrderId(3)), None);
    assert_eq!(book.best_bid(), None);
    assert_eq!(book.best_ask(), Some(100));
    // A non-crossing remainder of the same owner does rest.
    let (placed, _) = place(&mut book, new_order(4, 1, Side::Buy, 99, 2), 2);
    assert_eq!(placed.resting, 2);
    assert_eq!(book.best_bid(), Some(99));
}

#[test]
fn duplicate_id_is_rejected_without_side_effects() {
    let mut book = OrderBook::new();
    place(&mut book, new_order(1, 1, Side::Sell, 100, 5), 0);
    let mut fills = Vec::new();
    assert_eq!(
        book.place(new_order(1, 2, Side::Buy, 100, 5), 1, &mut fills),
        Err(BookError::DuplicateId(OrderId(1)))
    );
    assert!(fills.is_empty());
    assert_eq!(book.order(OrderId(1)).unwrap().remaining, 5);
    assert_eq!(book.last_price(), None);
}

#[test]
fn bad_price_and_quantity_are_rejected() {
    let mut book = OrderBook::new();
    let mut fills = Vec::new();
    for price in [0, -1, i64::MIN] {
        assert_eq!(
            book.place(new_order(1, 1, Side::Buy, price, 1), 0, &mut fills),
            Err(BookError::InvalidPrice(price))
        );
    }
    assert_eq!(
        book.place(new_order(1, 1, Side::Sell, 10, 0), 0, &mut fills),
        Err(BookError::InvalidQuantity)
    );
    assert!(book.is_empty());
    // Extreme but valid values are fine.
    place(&mut book, new_order(2, 1, Side::Sell, i64::MAX, u32::MAX), 0);
    place(&mut book, new_order(3, 2, Side::Sell, i64::MAX, u32::MAX), 0);
    assert_eq!(
        depth(&book, Side::Sell),
        vec![(i64::MAX, 2 * u64::from(u32::MAX))]
    );
    let (placed, _) = place(&mut book, new_order(4, 3, Side::Buy, i64::MAX, u32::MAX), 0);
    assert_eq!(placed.filled, u32::MAX);
}

#[test]
fn best_bid_ask_and_last_price() {
    let mut book = OrderBook::new();
    assert_eq!(
        (book.best_bid(), book.best_ask(), book.last_price()),
        (None, None, None)
    );
    place(&mut book, new_order(1, 1, Side::Buy, 95, 1), 0);
    place(&mut book, new_order(2, 1, Side::Buy, 97, 1), 0);
    place(&mut book, new_order(3, 2, Side::Sell, 103, 1), 0);
    place(&mut book, new_order(4, 2, Side::Sell, 101, 1), 0);
    assert_eq!((book.best_bid(), book.best_ask()), (Some(97), Some(101)));
    place(&mut book, new_order(5, 3, Side::Sell, 96, 1), 1);
    assert_eq!(book.last_price(), Some(97));
    assert_eq!(book.best_bid(), Some(95));
    place(&mut book, new_order(6, 3, Side::Buy, 105, 1), 2);
    assert_eq!(book.last_price(), Some(101));
    assert_eq!(book.best_ask(), Some(103));
}

#[test]
fn depth_aggregates_levels_best_first() {
    let mut book = OrderBook::new();
    place(&mut book, new_order(1, 1, Side::Buy, 10, 3), 0);
    place(&mut book, new_order(2, 2, Side::Buy, 12, 4), 0);
    place(&mut book, new_order(3, 3, Side::Buy, 12, 5), 0);
    place(&mut book, new_order(4, 4, Side::Buy, 11, 6), 0);
    place(&mut book, new_order(5, 5, Side::Sell, 20, 7), 0);
    place(&mut book, new_order(6, 6, Side::Sell, 15, 8), 0);
    let mut out = vec![(0, 0)];
    book.depth(Side::Buy, 2, &mut out);
    assert_eq!(out, vec![(12, 9), (11, 6)]);
    book.depth(Side::Buy, 10, &mut out);
    assert_eq!(out, vec![(12, 9), (11, 6), (10, 3)]);
    book.depth(Side::Sell, 10, &mut out);
    assert_eq!(out, vec![(15, 8), (20, 7)]);
    book.depth(Side::Sell, 0, &mut out);
    assert!(out.is_empty());
}

#[test]
fn candles_ohlcv_across_intervals_and_ring() {
    let mut c = Candles::new(10, 2);
    c.record(100, 1, 0);
    c.record(105, 2, 3);
    c.record(98, 3, 9);
    c.record(101, 4, 9);
    c.record(110, 5, 10);
    c.record(107, 6, 19);
    let got: Vec<Candle> = c.candles().copied().collect();
    assert_eq!(
        got,
        vec![
            Candle {
                open_tick: 0,
                open: 100,
                high: 105,
                low: 98,
                close: 101,
                volume: 10
            },
            Candle {
                open_tick: 10,
                open: 110,
                high: 110,
                low: 107,
                close: 107,
                volume: 11
            },
        ]
    );
    // A third interval (with a gap) evicts the oldest.
    c.record(90, 1, 45);
    let opens: Vec<u64> = c.candles().map(|k| k.open_tick).collect();
    assert_eq!(opens, vec![10, 40]);
    assert_eq!(c.len(), 2);
    // Late fills: merged into a retained interval, dropped if too old.
    c.record(120, 1, 12);
    assert_eq!(c.candles().next().unwrap().high, 120);
    c.record(1, 1, 5);
    assert_eq!(c.candles().map(|k| k.open_tick).collect::<Vec<_>>(), vec![10, 40]);
    // Late fill for a missing interval between retained ones.
    let mut c = Candles::new(10, 3);
    c.record(1, 1, 0);
    c.record(3, 1, 20);
    c.record(2, 1, 10);
    assert_eq!(c.candles().map(|k| k.open).collect::<Vec<_>>(), vec![1, 2, 3]);
    c.record(4, 1, 30);
    c.record(0, 1, 5);
    assert_eq!(c.candles().map(|k| k.open).collect::<Vec<_>>(), vec![2, 3, 4]);
    // Degenerate configuration never panics.
    let mut c = Candles::new(0, 0);
    c.record(1, 1, u64::MAX);
    assert!(c.is_empty());
    assert_eq!(c.interval_ticks(), 1);
}

#[test]
fn book_records_every_fill_into_candles() {
    let mut book = OrderBook::with_candles(60, 4);
    place(&mut book, new_order(1, 1, Side::Sell, 100, 5), 0);
    place(&mut book, new_order(2, 1, Side::Sell, 102, 5), 0);
    place(&mut book, new_order(3, 2, Side::Buy, 102, 7), 30);
    place(&mut book, new_order(4, 2, Side::Buy, 102, 1), 61);
    let got: Vec<Candle> = book.candles().candles().copied().collect();
    assert_eq!(
        got,
        vec![
            Candle {
                open_tick: 0,
                open: 100,
                high: 102,
                low: 100,
                close: 102,
                volume: 7
            },
            Candle {
                open_tick: 60,
                open: 102,
                high: 102,
                low: 102,
                close: 102,
                volume: 1
            },
        ]
    );
}

#[test]
fn steady_state_does_not_grow() {
    let mut book = OrderBook::new();
    let mut fills = Vec::new();
    for i in 0..10_000u64 {
        let side = if i % 2 == 0 { Side::Buy } else { Side::Sell };
        let price = 100 + (i % 7) as i64;
        let mut order = new_order(i, i % 3, side, price, 1 + (i % 5) as u32);
        order.expires_at_tick = Some(i + 3);
        fills.clear();
        book.place(order, i, &mut fills).unwrap();
        let _ = book.cancel(OrderId(i.saturating_sub(1)), Owner((i + 2) % 3));
        book.expire(i, &mut Vec::new());
        assert!(book.len() <= 8, "len {}", book.len());
    }
    let ids: Vec<OrderId> = book.index.locs.keys().copied().collect();
    for id in ids {
        let owner = book.order(id).unwrap().owner;
        book.cancel(id, owner).unwrap();
    }
    assert!(book.is_empty());
    assert!(book.bids.is_empty() && book.asks.is_empty());
    assert!(book.index.expiries.is_empty());
}

mod prop {
    use super::*;
    use proptest::prelude::*;
    use proptest::sample::Index;

    #[derive(Debug, Clone)]
    enum Op {
        Place {
            buy: bool,
            price: i64,
            quantity: u32,
            owner: u64,
            ttl: Option<u64>,
        },
        Cancel {
            pick: Index,
            owner: u64,
            as_owner: bool,
        },
        Advance {
            ticks: u64,
        },
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            6 => (any::<bool>(), 95i64..=105, 1u32..=20, 0u64..4, proptest::option::of(1u64..40))
                .prop_map(|(buy, price, quantity, owner, ttl)| Op::Place {
                    buy,
                    price,
                    quantity,
                    owner,
                    ttl
                }),
            2 => (any::<Index>(), 0u64..4, any::<bool>())
                .prop_map(|(pick, owner, as_owner)| Op::Cancel { pick, owner, as_owner }),
            1 => (0u64..5).prop_map(|ticks| Op::Advance { ticks }),
        ]
    }

    /// Independent accounting of one accepted order.
    struct Tracked {
        owner: Owner,
        side: Side,
        price: i64,
        quantity: u64,
        expires_at_tick: Option<u64>,
        filled: u64,
        cancelled: u64,
        expired: u64,
    }

    struct Model {
        orders: BTreeMap<OrderId, Tracked>,
        issued: Vec<OrderId>,
        traded: u64,
        last_price: Option<i64>,
    }

    impl Model {
        fn apply_fills(&mut self, fills: &[Fill], tick: u64) {
            for f in fills {
                assert_eq!(f.tick, tick);
                // (4) never between two orders of the same owner.
                assert_ne!(f.maker_owner, f.taker_owner, "self trade {f:?}");
                let maker = &self.orders[&f.maker];
                let taker = &self.orders[&f.taker];
                assert_eq!(maker.owner, f.maker_owner);
                assert_eq!(taker.owner, f.taker_owner);
                assert_eq!(taker.side, f.taker_side);
                assert_eq!(maker.side, f.taker_side.opposite());
                assert!(f.quantity > 0);
                // (3) within both limits; executes at the maker's price.
                assert_eq!(f.price, maker.price);
                match f.taker_side {
                    Side::Buy => assert!(taker.price >= f.price && maker.price <= f.price),
                    Side::Sell => assert!(taker.price <= f.price && maker.price >= f.price),
                }
                let q = u64::from(f.quantity);
                self.orders.get_mut(&f.maker).unwrap().filled += q;
                self.orders.get_mut(&f.taker).unwrap().filled += q;
                self.traded += q;
                self.last_price = Some(f.price);
            }
        }

        fn check(&self, book: &OrderBook, tick: u64) {
            // (1) never crossed.
            if let (Some(bid), Some(ask)) = (book.best_bid(), book.best_ask()) {
                assert!(bid < ask, "crossed: bid {bid} ask {ask}");
            }
            let mut levels: [BTreeMap<i64, u64>; 2] = [BTreeMap::new(), BTreeMap::new()];
            let mut resting_count = 0;
            for (&id, t) in &self.orders {
                let resting = match book.order(id) {
                    Some(r) => {
                        assert_eq!((r.owner, r.side, r.price), (t.owner, t.side, t.price));
                        assert!(r.remaining > 0);
                        assert!(r.expires_at_tick.is_none_or(|e| e > tick));
                        resting_count += 1;
                        let side = usize::from(r.side == Side::Sell);
                        *levels[side].entry(r.price).or_default() += u64::from(r.remaining);
                        u64::from(r.remaining)
                    }
                    None => 0,
                };
                // (2) conservation.
                assert_eq!(
                    t.quantity,
                    t.filled + resting + t.cancelled + t.expired,
                    "conservation for {id:?}"
                );
            }
            assert_eq!(book.len(), resting_count);
            // (5) depth equals the sum of resting quantities, level by level.
            let mut out = Vec::new();
            book.depth(Side::Buy, usize::MAX, &mut out);
            assert_eq!(
                out,
                levels[0].iter().rev().map(|(&p, &q)| (p, q)).collect::<Vec<_>>()
            );
            book.depth(Side::Sell, usize::MAX, &mut out);
            assert_eq!(out, levels[1].iter().map(|(&p, &q)| (p, q)).collect::<Vec<_>>());
            assert_eq!(book.last_price(), self.last_price);
            let volume: u64 = book.candles().candles().map(|c| c.volume).sum();
            assert_eq!(volume, self.traded);
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(24))]

        #[test]
        fn random_operations_keep_invariants(ops in proptest::collection::vec(op(), 2_000)) {
            let mut book = OrderBook::with_candles(16, 100_000);
            let mut model = Model {
                orders: BTreeMap::new(),
                issued: Vec::new(),
                traded: 0,
                last_price: None,
            };
            let mut tick = 0u64;
            let mut next_id = 0u64;
            let mut fills = Vec::new();
            let mut expired = Vec::new();
            for op in ops {
                match op {
                    Op::Place { buy, price, quantity, owner, ttl } => {
                        let id = OrderId(next_id);
                        next_id += 1;
                        let side = if buy { Side::Buy } else { Side::Sell };
                        let expires_at_tick = ttl.map(|t| tick + t);
                        let order = NewOrder { id, owner: Owner(owner), side, price, quantity, expires_at_tick };
                        fills.clear();
                        let placed = book.place(order, tick, &mut fills).unwrap();
                        model.orders.insert(id, Tracked {
                            owner: Owner(owner),
                            side,
                            price,
                            quantity: u64::from(quantity),
                            expires_at_tick,
                            filled: 0,
                            cancelled: u64::from(placed.cancelled),
                            expired: 0,
                        });
                        model.issued.push(id);
                        model.apply_fills(&fills, tick);
                        let taken: u32 = fills.iter().map(|f| f.quantity).sum();
                        prop_assert_eq!(placed.filled, taken);
                        prop_assert_eq!(placed.filled + placed.resting + placed.cancelled, quantity);
                        prop_assert_eq!(book.order(id).map_or(0, |r| r.remaining), placed.resting);
                    }
                    Op::Cancel { pick, owner, as_owner } => {
                        if model.issued.is_empty() {
                            continue;
                        }
                        let id = *pick.get(&model.issued);
                        let t = &model.orders[&id];
                        let who = if as_owner { t.owner } else { Owner(owner) };
                        let before = book.order(id);
                        let result = book.cancel(id, who);
                        match before {
                            None => prop_assert_eq!(result, Err(BookError::UnknownOrder(id))),
                            Some(_) if who != t.owner => {
                                prop_assert_eq!(result, Err(BookError::NotOwner(id)));
                                prop_assert_eq!(book.order(id), before);
                            }
                            Some(r) => {
                                prop_assert_eq!(result, Ok(Cancelled { side: t.side, price: t.price, remaining: r.remaining }));
                                model.orders.get_mut(&id).unwrap().cancelled += u64::from(r.remaining);
                            }
                        }
                    }
                    Op::Advance { ticks } => {
                        tick += ticks;
                        expired.clear();
                        book.expire(tick, &mut expired);
                        for e in &expired {
                            let t = model.orders.get_mut(&e.id).unwrap();
                            prop_assert_eq!((e.owner, e.side, e.price), (t.owner, t.side, t.price));
                            prop_assert!(t.expires_at_tick.is_some_and(|x| x <= tick));
                            prop_assert!(e.remaining > 0);
                            t.expired += u64::from(e.remaining);
                        }
                    }
                }
                model.check(&book, tick);
            }
        }
    }
}

/// Checks the structural invariants of the internal containers.
fn check_layout(book: &OrderBook) {
    assert!(
        book.bids.windows(2).all(|w| w[0].price < w[1].price),
        "bids ascending"
    );
    assert!(
        book.asks.windows(2).all(|w| w[0].price > w[1].price),
        "asks descending"
    );
    let mut linked = 0;
    for level in book.bids.iter().chain(&book.asks) {
        assert!(!level.is_empty());
        let (mut total, mut prev, mut cur) = (0u64, NIL, level.head);
        while cur != NIL {
            let order = &book.index.slots[cur];
            assert_eq!((order.price, order.prev), (level.price, prev));
            assert!(order.remaining > 0);
            assert_eq!(book.index.locs.get(order.id), Some(cur));
            total += u64::from(order.remaining);
            linked += 1;
            (prev, cur) = (cur, order.next);
        }
        assert_eq!((level.tail, level.total), (prev, total));
    }
    assert_eq!(linked, book.len());
    let table = &book.index.locs;
    assert!(table.capacity() == 0 || table.capacity().is_power_of_two());
    assert!(table.len() * 2 <= table.capacity());
    let live = book
        .index
        .expiries
        .iter()
        .filter(|k| is_live(&book.index.slots, &k.0))
        .count();
    assert_eq!(live, book.index.expiring);
    assert!(book.index.expiries.len() <= 2 * book.index.expiring.max(1));
}

#[test]
fn storage_is_reused_once_warm() {
    let mut book = OrderBook::new();
    let mut fills = Vec::new();
    let mut high_water = None;
    for round in 0..4u64 {
        // 600 orders over 20 levels per side, a third with an expiry.
        for i in 0..600u64 {
            let id = round * 1_000 + i;
            let side = if i % 2 == 0 { Side::Buy } else { Side::Sell };
            let price = if side == Side::Buy {
                100 - (i % 20) as i64
            } else {
                101 + (i % 20) as i64
            };
            let mut order = new_order(id, i % 5, side, price, 1 + (i % 4) as u32);
            order.expires_at_tick = (i % 3 == 0).then_some(10 + round * 100 + i % 7);
            book.place(order, round * 100, &mut fills).unwrap();
        }
        check_layout(&book);
        // Take some, cancel some, expire the rest of the expiring ones.
        place(
            &mut book,
            new_order(round * 1_000 + 900, 9, Side::Buy, 105, 200),
            round * 100 + 1,
        );
        place(
            &mut book,
            new_order(round * 1_000 + 901, 9, Side::Sell, 96, 200),
            round * 100 + 1,
        );
        check_layout(&book);
        for i in (0..600u64).step_by(4) {
            let _ = book.cancel(OrderId(round * 1_000 + i), Owner(i % 5));
            check_layout(&book);
        }
        book.expire(round * 100 + 50, &mut Vec::new());
        check_layout(&book);
        let ids: Vec<OrderId> = book.index.locs.keys().copied().collect();
        for id in ids {
            let owner = book.order(id).unwrap().owner;
            book.cancel(id, owner).unwrap();
        }
        assert!(book.is_empty() && book.bids.is_empty() && book.asks.is_empty());
        assert!(book.index.expiries.is_empty());
        let marks = (
            book.index.slots.len(),
            book.index.slots.capacity(),
            book.index.locs.capacity(),
            book.index.expiries.capacity(),
            book.bids.capacity(),
            book.asks.capacity(),
        );
        // The same workload again reuses exactly the same storage.
        assert!(
            high_water.is_none_or(|m| m == marks),
            "{high_water:?} -> {marks:?}"
        );
        high_water = Some(marks);
    }
}

#[test]
fn expiry_heap_is_compacted_when_stale_entries_dominate() {
    let mut book = OrderBook::new();
    for i in 0..1_000u64 {
        let mut order = new_order(i, 1, Side::Buy, 100, 5);
        order.expires_at_tick = Some(1_000 + i);
        place(&mut book, order, 0);
    }
    assert_eq!(book.index.expiries.len(), 1_000);
    // Cancel from the back of the queue and fill from the front: stale
    // entries never exceed the live ones.
    for i in 0..400u64 {
        book.cancel(OrderId(999 - i), Owner(1)).unwrap();
        place(&mut book, new_order(10_000 + i, 2, Side::Sell, 1, 5), 1);
        assert!(book.index.expiries.len() <= 2 * book.index.expiring);
    }
    assert_eq!(book.index.expiring, 200);
    let mut out = Vec::new();
    book.expire(u64::MAX, &mut out);
    assert_eq!(out.len(), 200);
    assert!(out.windows(2).all(|w| w[0].id < w[1].id));
    assert!(book.is_empty() && book.index.expiries.is_empty());
}

#[test]
fn expiry_of_reused_ids_and_slots() {
    let mut book = OrderBook::new();
    let mut o = new_order(1, 1, Side::Buy, 50, 3);
    o.expires_at_tick = Some(10);
    place(&mut book, o, 0);
    book.cancel(OrderId(1), Owner(1)).unwrap();
    // Same id, same slot, later expiry: the stale (10, #1) entry must not
    // expire it.
    o.expires_at_tick = Some(20);
    place(&mut book, o, 1);
    let mut out = Vec::new();
    book.expire(15, &mut out);
    assert!(out.is_empty());
    assert_eq!(book.order(OrderId(1)).unwrap().expires_at_tick, Some(20));
    // Same id and same expiry as a stale entry: expires exactly once.
    book.cancel(OrderId(1), Owner(1)).unwrap();
    place(&mut book, o, 2);
    book.expire(20, &mut out);
    assert_eq!(out.len(), 1);
    assert!(book.is_empty() && book.index.expiries.is_empty());
}

#[test]
fn full_candle_ring_never_outgrows_its_capacity() {
    let mut c = Candles::new(10, 4);
    let capacity = c.ring.capacity();
    for tick in [0, 20, 40, 60] {
        c.record(1, 1, tick);
    }
    // Late fill for a missing interval while full: inserted, oldest evicted.
    c.record(7, 1, 35);
    assert_eq!(
        c.candles().map(|k| k.open_tick).collect::<Vec<_>>(),
        vec![20, 30, 40, 60]
    );
    c.record(8, 1, 70);
    assert_eq!(
        c.candles().map(|k| k.open_tick).collect::<Vec<_>>(),
        vec![30, 40, 60, 70]
    );
    assert_eq!(c.ring.capacity(), capacity);
}

mod id_table {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        #[test]
        fn behaves_like_a_map(
            ops in proptest::collection::vec(
                (any::<bool>(), prop_oneof![0u64..300, (0u64..300).prop_map(|k| k << 40), any::<u64>()]),
                1..3_000,
            )
        ) {
            let mut table = IdTable::default();
            let mut model = BTreeMap::new();
            for (n, (insert, key)) in ops.into_iter().enumerate() {
                let id = OrderId(key);
                if insert && !model.contains_key(&id) {
                    table.insert(id, n);
                    model.insert(id, n);
                } else {
                    prop_assert_eq!(table.remove(id), model.remove(&id));
                }
                prop_assert_eq!(table.len(), model.len());
                prop_assert!(table.len() * 2 <= table.capacity());
                for (&id, &slot) in &model {
                    prop_assert_eq!(table.get(id), Some(slot));
                }
                prop_assert_eq!(table.get(OrderId(key ^ 1)), model.get(&OrderId(key ^ 1)).copied());
            }
            let mut keys: Vec<OrderId> = table.keys().copied().collect();
            keys.sort();
            prop_assert_eq!(keys, model.keys().copied().collect::<Vec<_>>());
        }
    }
}
