//! The subscription table shared by the app's views: one broker subscription per filter,
//! kept while any view wants it, and each message routed once per view.

mod common;

use mqtt_core::{Change, QoS, Router};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum View {
    Chat,
    Watch,
}
use View::{Chat, Watch};

fn sub(filter: &str, qos: QoS) -> Change {
    Change::Subscribe {
        filter: filter.to_owned(),
        qos,
    }
}

fn unsub(filter: &str) -> Change {
    Change::Unsubscribe {
        filter: filter.to_owned(),
    }
}

#[test]
fn the_first_view_subscribes_and_the_last_unsubscribes() {
    let mut r = Router::default();
    assert_eq!(
        r.want(Chat, "messages", QoS::AtLeastOnce),
        Ok(sub("messages", QoS::AtLeastOnce))
    );
    assert_eq!(
        r.want(Watch, "messages", QoS::AtLeastOnce),
        Ok(Change::None)
    );
    assert_eq!(r.drop_filter(Watch, "messages"), Change::None);
    assert!(r.wants(Chat, "messages"));
    assert_eq!(r.drop_filter(Chat, "messages"), unsub("messages"));
    assert_eq!(r.subscriptions().count(), 0);
    // Dropping what is not wanted changes nothing.
    assert_eq!(r.drop_filter(Chat, "messages"), Change::None);
}

#[test]
fn unwatching_never_drops_a_room_filter_in_either_order() {
    let mut r = Router::default();
    r.want(Watch, "messages", QoS::AtMostOnce).unwrap();
    r.want(Chat, "messages", QoS::AtLeastOnce).unwrap();
    assert_eq!(r.drop_filter(Watch, "messages"), Change::None);
    assert_eq!(r.route("messages", None), vec![Chat]);
    assert_eq!(
        r.subscriptions().collect::<Vec<_>>(),
        vec![("messages", QoS::AtLeastOnce)]
    );
}

#[test]
fn the_subscription_has_the_highest_qos_any_view_wants() {
    let mut r = Router::default();
    r.want(Chat, "a/#", QoS::AtMostOnce).unwrap();
    assert_eq!(
        r.want(Watch, "a/#", QoS::AtLeastOnce),
        Ok(sub("a/#", QoS::AtLeastOnce))
    );
    // The view that wanted more leaves: down to what is left.
    assert_eq!(r.drop_filter(Watch, "a/#"), sub("a/#", QoS::AtMostOnce));
    // The same view asking again at a new QoS replaces its own.
    assert_eq!(
        r.want(Chat, "a/#", QoS::AtLeastOnce),
        Ok(sub("a/#", QoS::AtLeastOnce))
    );
    assert_eq!(r.want(Chat, "a/#", QoS::AtLeastOnce), Ok(Change::None));
}

#[test]
fn invalid_filters_are_refused_before_anything_changes() {
    let mut r: Router<View> = Router::default();
    for bad in ["a/#/b", "a+", "#a", "", "a\0b"] {
        assert!(r.want(Watch, bad, QoS::AtMostOnce).is_err(), "{bad:?}");
    }
    assert_eq!(r.subscriptions().count(), 0);
}

#[test]
fn a_message_goes_once_to_each_view_that_matches() {
    let mut r = Router::default();
    r.want(Chat, "messages", QoS::AtLeastOnce).unwrap();
    r.want(Chat, "chat/presence/+", QoS::AtLeastOnce).unwrap();
    r.want(Watch, "#", QoS::AtMostOnce).unwrap();
    r.want(Watch, "messages/#", QoS::AtMostOnce).unwrap();
    r.want(Watch, "+", QoS::AtMostOnce).unwrap();
    assert_eq!(r.route("messages", None), vec![Chat, Watch]);
    assert_eq!(r.route("chat/presence/x", None), vec![Chat, Watch]);
    assert_eq!(r.route("matches/1/score", None), vec![Watch]);
    // `#` does not reach `$` topics.
    assert!(r.route("$SYS/broker/uptime", None).is_empty());
    r.want(Watch, "$SYS/#", QoS::AtMostOnce).unwrap();
    assert_eq!(r.route("$SYS/broker/uptime", None), vec![Watch]);
}

#[test]
fn with_subscription_ids_each_view_takes_the_copy_of_its_first_filter() {
    let mut r = Router::default();
    r.want(Chat, "messages", QoS::AtLeastOnce).unwrap();
    r.want(Watch, "messages/#", QoS::AtMostOnce).unwrap();
    r.want(Watch, "#", QoS::AtMostOnce).unwrap();
    // Mosquitto sends a v5 client one copy per matching subscription.
    let via = |f: &[&str]| f.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let copies = [via(&["messages"]), via(&["messages/#"]), via(&["#"])];
    let mut chat = 0;
    let mut watch = 0;
    for copy in &copies {
        for view in r.route("messages", Some(copy)) {
            match view {
                Chat => chat += 1,
                Watch => watch += 1,
            }
        }
    }
    assert_eq!((chat, watch), (1, 1));
    // One copy naming every subscription reaches both.
    assert_eq!(
        r.route("messages", Some(&via(&["#", "messages", "messages/#"]))),
        vec![Chat, Watch]
    );
    // A copy through a filter no view holds any more goes nowhere.
    assert!(r.route("messages", Some(&[])).is_empty());
}

#[test]
fn a_refused_filter_does_not_hide_copies_through_the_others() {
    let mut r = Router::default();
    r.want(Watch, "#", QoS::AtMostOnce).unwrap();
    r.want(Watch, "a/#", QoS::AtMostOnce).unwrap();
    r.refused("#");
    let via = vec!["a/#".to_owned()];
    assert_eq!(r.route("a/b", Some(&via)), vec![Watch]);
    // Refused means no copies come through it; without ids the view still matches.
    assert!(r.route("b", None).is_empty());
    // Asked for again: subscribed again.
    assert_eq!(
        r.want(Watch, "#", QoS::AtMostOnce),
        Ok(sub("#", QoS::AtMostOnce))
    );
    assert_eq!(r.views_of("#"), vec![Watch]);
}

mod model {
    //! The table against a plain model, over random sequences of wants and drops by two
    //! views over overlapping filters: the broker's subscriptions (the changes applied in
    //! order) are always exactly the filters some view wants, each at the highest QoS
    //! wanted, and a message goes to exactly the views with a matching filter.

    use std::collections::BTreeMap;

    use mqtt_core::topic::matches;
    use mqtt_core::{Change, QoS, Router};
    use proptest::prelude::*;

    use super::View;

    const FILTERS: [&str; 7] = ["a", "a/#", "a/+", "#", "+/b", "a/b", "$SYS/#"];
    const TOPICS: [&str; 5] = ["a", "a/b", "b/b", "$SYS/x", "a/b/c"];

    #[derive(Clone, Debug)]
    enum Op {
        Want(bool, usize, bool),
        Drop(bool, usize),
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            (any::<bool>(), 0..FILTERS.len(), any::<bool>())
                .prop_map(|(v, f, q)| Op::Want(v, f, q)),
            (any::<bool>(), 0..FILTERS.len()).prop_map(|(v, f)| Op::Drop(v, f)),
        ]
    }

    fn view(chat: bool) -> View {
        if chat {
            View::Chat
        } else {
            View::Watch
        }
    }

    fn cases() -> u32 {
        crate::common::fuzz_cases(1_000)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(cases()))]

        #[test]
        fn the_broker_holds_exactly_what_the_views_want(ops in proptest::collection::vec(op(), 0..40)) {
            let mut router = Router::default();
            // What the views want: (view, filter) -> qos.
            let mut wanted: BTreeMap<(bool, &str), u8> = BTreeMap::new();
            // The broker's side, from the changes alone.
            let mut broker: BTreeMap<String, u8> = BTreeMap::new();
            for op in ops {
                let change = match op {
                    Op::Want(chat, f, q1) => {
                        let qos = if q1 { QoS::AtLeastOnce } else { QoS::AtMostOnce };
                        wanted.insert((chat, FILTERS[f]), qos as u8);
                        router.want(view(chat), FILTERS[f], qos).unwrap()
                    }
                    Op::Drop(chat, f) => {
                        wanted.remove(&(chat, FILTERS[f]));
                        router.drop_filter(view(chat), FILTERS[f])
                    }
                };
                match change {
                    Change::None => {}
                    Change::Subscribe { filter, qos } => {
                        broker.insert(filter, qos as u8);
                    }
                    Change::Unsubscribe { filter } => {
                        prop_assert!(broker.remove(&filter).is_some(), "unsubscribed {} never subscribed", filter);
                    }
                }
                let mut want: BTreeMap<String, u8> = BTreeMap::new();
                for ((_, f), q) in &wanted {
                    let e = want.entry(f.to_string()).or_insert(0);
                    *e = (*e).max(*q);
                }
                prop_assert_eq!(&broker, &want);
                let table: BTreeMap<String, u8> = router
                    .subscriptions()
                    .map(|(f, q)| (f.to_owned(), q as u8))
                    .collect();
                prop_assert_eq!(&table, &want);
                for topic in TOPICS {
                    let mut expect = Vec::new();
                    for chat in [true, false] {
                        if wanted.keys().any(|(c, f)| *c == chat && matches(f, topic)) {
                            expect.push(view(chat));
                        }
                    }
                    let mut got = router.route(topic, None);
                    got.sort_by_key(|v| *v == View::Watch);
                    prop_assert_eq!(got, expect, "topic {}", topic);
                }
            }
        }
    }
}

/// Adding a wider filter that sorts first: until its SUBACK, copies come only through the
/// filter already granted, and the view takes those; once granted, the wider one's.
#[test]
fn a_filter_waiting_for_its_suback_does_not_hide_the_granted_ones() {
    let mut r = Router::default();
    r.want(Watch, "a/b", QoS::AtMostOnce).unwrap();
    r.granted("a/b");
    r.want(Watch, "a/#", QoS::AtMostOnce).unwrap();
    let via = |f: &str| vec![f.to_owned()];
    assert_eq!(r.route("a/b", Some(&via("a/b"))), vec![Watch]);
    assert!(r.route("a/b", Some(&via("a/#"))).is_empty());
    r.granted("a/#");
    assert!(r.route("a/b", Some(&via("a/b"))).is_empty());
    assert_eq!(r.route("a/b", Some(&via("a/#"))), vec![Watch]);
    // Nothing granted yet (a new page's queued messages, before any SUBACK): the least.
    let mut fresh = Router::default();
    fresh.want(Watch, "a/b", QoS::AtMostOnce).unwrap();
    fresh.want(Watch, "a/#", QoS::AtMostOnce).unwrap();
    assert_eq!(fresh.route("a/b", Some(&via("a/#"))), vec![Watch]);
}
