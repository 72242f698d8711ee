//! Hostile peers, in bulk: one client floods 10,000 retained presence statuses (each a
//! different tab, HTML in long names) and 10,000 typing signals (each a different person).
//! Its lists stay bounded, nothing is rendered as HTML, and the chat goes on. How busy the
//! page is meanwhile (its longest task) is a figure of `scripts/bench` (`flood`), not a
//! bound here: a timed test flakes on a loaded machine.

use e2e::*;

#[tokio::test]
async fn a_flood_of_presence_and_typing_keeps_the_lists_bounded_and_the_chat_going() {
    let broker = Broker::start(&[]);
    let base = serve_dist(dist());
    let (ann, _) = person(&base, &broker.ws_url(), "Ann").await;
    let c = &ann.client;
    hostile_flood(broker.tcp_port, 10_000);

    // The typing line, read while the signals hold (5 s from when the page takes them, which
    // on a loaded machine may be seconds after they were sent).
    // (The first few may show by name before the rest arrive: the summary is waited for.)
    let typing_seen = eventually("the typing line as one summary", 30, || async {
        typing_text(c)
            .await
            .filter(|t| t.ends_with(" people are typing…"))
    })
    .await;

    // Bounded: at most 200 people listed, the rest counted; the typing line is one line.
    let shown = eventually("the presence list to fill up to its bound", 20, || async {
        let people = presence(c).await;
        (people.len() >= 200).then_some(people)
    })
    .await;
    assert_eq!(shown.len(), 200, "at most 200 people listed");
    let more = c
        .execute(
            "return document.querySelector('.people .more')?.textContent ?? ''",
            vec![],
        )
        .await
        .unwrap();
    assert!(
        more.as_str().unwrap_or_default().contains("more"),
        "the rest are counted: {more}"
    );
    assert!(
        shown.iter().all(|p| p.name.chars().count() <= 64),
        "names are cut to 64 characters"
    );
    // One summary line, of at most the 100 typers the app keeps.
    let typers: usize = typing_seen
        .strip_suffix(" people are typing…")
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("the typing line is one summary: {typing_seen:?}"));
    assert!((3..=100).contains(&typers), "{typers} typers shown");
    let elements: i64 = c
        .execute(
            "return document.querySelectorAll('#presence b, #typing i, #presence img').length",
            vec![],
        )
        .await
        .unwrap()
        .as_i64()
        .unwrap();
    assert_eq!(elements, 0, "names are text, never HTML");

    // The chat goes on.
    send(c, "Ann", "still chatting after the flood").await;
    eventually("the message to be delivered", 20, || async {
        rows(c).await.into_iter().find(|r| {
            r.message == "still chatting after the flood"
                && r.delivery.as_deref() == Some("delivered")
        })
    })
    .await;
    ann.close().await;
}
