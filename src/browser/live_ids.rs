//! Which client ids live tabs use, asked over a BroadcastChannel: how a tab claims an id
//! where Web Locks are missing (FIELD.md #2).
//!
//! A tab answers for its own id for as long as it lives. A tab choosing an id first asks
//! "does any live tab use one of these?"; an id nobody answers for within `WINDOW_MS` is
//! free. A reload keeps its id, because the old page is gone before the new one asks; a
//! duplicated tab, whose copied id the original still answers for, takes another. Two tabs
//! asking at the same moment hear each other's question: the one with the smaller nonce goes
//! on, the other asks again once the first answers for what it took.
//!
//! A tab that cannot answer (frozen by the browser, or slower than the window) can lose its
//! id to a new tab; Web Locks have no such gap, so they stay the first choice.

use std::cell::RefCell;
use std::rc::Rc;

use gloo_events::EventListener;
use gloo_timers::future::TimeoutFuture;
use serde::{Deserialize, Serialize};
use wasm_bindgen::{JsCast, JsValue};
use web_sys::{BroadcastChannel, MessageEvent};

const CHANNEL: &str = "mqtt-chat.client-ids";
/// How long an asking tab waits for answers. A live tab answers from its event loop within
/// a few ms; the wait is the start-up delay of every load without Web Locks.
const WINDOW_MS: u32 = 200;
/// Rounds lost to tabs asking at the same moment before giving up on reuse.
const MAX_ROUNDS: usize = 5;

#[derive(Serialize, Deserialize)]
enum Note {
    /// "Does a live tab use one of `ids`?", from the asker `by`.
    Ask { ids: Vec<String>, by: String },
    /// "I use `id`", to the asker `to`.
    Held { id: String, to: String },
    /// "I am asking too and go first: ask again", to the asker `to`.
    Wait { to: String },
}

type Boxed<T> = std::pin::Pin<Box<dyn std::future::Future<Output = T>>>;
/// The first free id, answered for; or none.
type Claimed = Option<(String, Live)>;
/// The ids a live tab answers for; none if that cannot be told.
type Held = Option<Vec<String>>;

/// This module's entry points, reached only through this value, which `crate::split` makes
/// in a chunk of its own: the handshake is fetched only where Web Locks are missing or fail.
#[derive(Clone, Copy)]
pub struct LiveIds {
    /// [`claim_first_free`].
    pub claim_first_free: fn(Vec<String>, String) -> Boxed<Claimed>,
    /// [`held`].
    pub held: fn(Vec<String>, String) -> Boxed<Held>,
    /// [`Live::answer_for`].
    pub answer_for: fn(String) -> Option<Live>,
}

impl LiveIds {
    #[allow(clippy::new_without_default)]
    pub fn new() -> LiveIds {
        LiveIds {
            claim_first_free: |candidates, nonce| {
                Box::pin(async move { claim_first_free(&candidates, &nonce).await })
            },
            held: |ids, nonce| Box::pin(async move { held(&ids, &nonce).await }),
            answer_for: Live::answer_for,
        }
    }
}

/// Answers for one id until dropped.
pub struct Live {
    channel: BroadcastChannel,
    _listener: EventListener,
}

impl Live {
    /// Start answering for `id`; `None` if this browser has no BroadcastChannel.
    pub fn answer_for(id: String) -> Option<Live> {
        let channel = BroadcastChannel::new(CHANNEL).ok()?;
        Some(Live::on(channel, id))
    }

    fn on(channel: BroadcastChannel, id: String) -> Live {
        let reply = channel.clone();
        let listener = EventListener::new(&channel, "message", move |event| {
            if let Some(Note::Ask { ids, by }) = read(event) {
                if ids.contains(&id) {
                    post(
                        &reply,
                        &Note::Held {
                            id: id.clone(),
                            to: by,
                        },
                    );
                }
            }
        });
        Live {
            channel,
            _listener: listener,
        }
    }
}

impl Drop for Live {
    fn drop(&mut self) {
        self.channel.close();
    }
}

#[derive(Default)]
struct Heard {
    held: Vec<String>,
    wait: bool,
}

/// The first of `candidates` that no live tab answers for, already answered for by the
/// returned `Live`. `None` when all are in use, when tabs asking at the same time kept this
/// one waiting for `MAX_ROUNDS`, or when there is no BroadcastChannel. `nonce` orders tabs
/// that ask at the same moment; it must be random.
pub async fn claim_first_free(candidates: &[String], nonce: &str) -> Option<(String, Live)> {
    if candidates.is_empty() {
        return None;
    }
    let channel = BroadcastChannel::new(CHANNEL).ok()?;
    let heard = Rc::new(RefCell::new(Heard::default()));
    let listener = {
        let (heard, reply) = (heard.clone(), channel.clone());
        let (nonce, asking) = (nonce.to_owned(), candidates.to_vec());
        EventListener::new(&channel, "message", move |event| {
            let (Some(note), Ok(mut heard)) = (read(event), heard.try_borrow_mut()) else {
                return;
            };
            match note {
                Note::Held { id, to } if to == nonce => heard.held.push(id),
                Note::Wait { to } if to == nonce => heard.wait = true,
                Note::Ask { ids, by } if by != nonce && ids.iter().any(|i| asking.contains(i)) => {
                    if by < nonce {
                        heard.wait = true;
                    } else {
                        post(&reply, &Note::Wait { to: by });
                    }
                }
                _ => {}
            }
        })
    };
    for _ in 0..MAX_ROUNDS {
        let _ = heard.try_borrow_mut().map(|mut h| *h = Heard::default());
        let ask = Note::Ask {
            ids: candidates.to_vec(),
            by: nonce.to_owned(),
        };
        if !post(&channel, &ask) {
            break;
        }
        TimeoutFuture::new(WINDOW_MS).await;
        let Ok(answers) = heard.try_borrow() else {
            break;
        };
        if answers.wait {
            continue;
        }
        let free = candidates
            .iter()
            .find(|c| !answers.held.contains(c))
            .cloned();
        drop(listener);
        return match free {
            // The same channel answers from now on, with no await between: a question
            // arriving meanwhile is queued and reaches the answering listener.
            Some(free) => Some((free.clone(), Live::on(channel, free))),
            None => {
                channel.close();
                None
            }
        };
    }
    channel.close();
    None
}

/// Which of `ids` a live tab answers for. `None` if this context has no BroadcastChannel
/// (then nothing can be told apart, and the caller must assume every id is live).
pub async fn held(ids: &[String], nonce: &str) -> Option<Vec<String>> {
    if ids.is_empty() {
        return Some(Vec::new());
    }
    let channel = BroadcastChannel::new(CHANNEL).ok()?;
    let heard = Rc::new(RefCell::new(Vec::new()));
    let listener = {
        let (heard, nonce) = (heard.clone(), nonce.to_owned());
        EventListener::new(&channel, "message", move |event| {
            if let (Some(Note::Held { id, to }), Ok(mut heard)) =
                (read(event), heard.try_borrow_mut())
            {
                if to == nonce {
                    heard.push(id);
                }
            }
        })
    };
    let ask = Note::Ask {
        ids: ids.to_vec(),
        by: nonce.to_owned(),
    };
    if !post(&channel, &ask) {
        return None;
    }
    TimeoutFuture::new(WINDOW_MS).await;
    drop(listener);
    channel.close();
    let held = heard.try_borrow().ok()?.clone();
    Some(held)
}

fn read(event: &web_sys::Event) -> Option<Note> {
    let data = event.dyn_ref::<MessageEvent>()?.data().as_string()?;
    serde_json::from_str(&data).ok()
}

fn post(channel: &BroadcastChannel, note: &Note) -> bool {
    serde_json::to_string(note)
        .ok()
        .is_some_and(|json| channel.post_message(&JsValue::from_str(&json)).is_ok())
}
