use bytes::BytesMut;
use futures::channel::mpsc::{unbounded, UnboundedReceiver, UnboundedSender};
use futures::{SinkExt, StreamExt};
use gloo_net::websocket::{futures::WebSocket, Message};
use leptos::{html, prelude::*, task::spawn_local};
use mqttbytes::v4::{read, Connect, Packet, PubAck, Publish, Subscribe};
use mqttbytes::{Error, QoS};

type Rows = RwSignal<Vec<(u64, String, String)>>;
const TOPIC: &str = "messages";

#[cfg(feature = "json")]
#[derive(serde::Deserialize, serde::Serialize)]
struct Msg {
    name: String,
    message: String,
}

fn push(rows: Rows, name: String, message: String) {
    rows.update(|v| {
        let id = v.len() as u64;
        v.push((id, name, message));
    });
}

/// A payload (or stored record) as a row: JSON `Msg` with serde_json, else raw text.
#[cfg(feature = "json")]
fn push_payload(rows: Rows, payload: &[u8]) {
    if let Ok(m) = serde_json::from_slice::<Msg>(payload) {
        push(rows, m.name, m.message);
    }
}
#[cfg(not(feature = "json"))]
fn push_payload(rows: Rows, payload: &[u8]) {
    push(rows, String::new(), String::from_utf8_lossy(payload).into_owned());
}

#[cfg(feature = "json")]
fn encode_payload(name: String, message: String) -> Vec<u8> {
    serde_json::to_vec(&Msg { name, message }).unwrap_or_default()
}
#[cfg(not(feature = "json"))]
fn encode_payload(_name: String, message: String) -> Vec<u8> {
    message.into_bytes()
}

fn frame(write: impl FnOnce(&mut BytesMut) -> Result<usize, Error>) -> Vec<u8> {
    let mut buf = BytesMut::new();
    let _ = write(&mut buf);
    buf.to_vec()
}

/// The history kept in IndexedDB: every record of store "messages", a JSON string.
#[cfg(feature = "idb")]
async fn load_history(rows: Rows) -> Result<(), idb::Error> {
    use idb::{DatabaseEvent, Factory, ObjectStoreParams, TransactionMode};
    let mut open = Factory::new()?.open("floor", Some(1))?;
    open.on_upgrade_needed(|event| {
        if let Ok(db) = event.database() {
            let _ = db.create_object_store(TOPIC, ObjectStoreParams::new());
        }
    });
    let db = open.await?;
    let tx = db.transaction(&[TOPIC], TransactionMode::ReadOnly)?;
    for value in tx.object_store(TOPIC)?.get_all(None, None)?.await? {
        if let Some(s) = value.as_string() {
            push_payload(rows, s.as_bytes());
        }
    }
    Ok(())
}

/// MQTT 3.1.1 over the WebSocket: every frame to send comes through `out`.
async fn run(rows: Rows, status: RwSignal<&'static str>, out: UnboundedSender<Vec<u8>>, rx: UnboundedReceiver<Vec<u8>>) {
    let Ok(ws) = WebSocket::open_with_protocol("ws://127.0.0.1:9001", "mqtt") else {
        return;
    };
    let (mut sink, mut stream) = ws.split();
    spawn_local(async move {
        let mut rx = rx;
        while let Some(f) = rx.next().await {
            if sink.send(Message::Bytes(f)).await.is_err() {
                break;
            }
        }
    });
    let mut connect = Connect::new("floor");
    connect.keep_alive = 0;
    let _ = out.unbounded_send(frame(|b| connect.write(b)));
    let mut buf = BytesMut::new();
    while let Some(Ok(msg)) = stream.next().await {
        match msg {
            Message::Bytes(b) => buf.extend_from_slice(&b),
            Message::Text(t) => buf.extend_from_slice(t.as_bytes()),
        }
        loop {
            match read(&mut buf, 1 << 20) {
                Ok(Packet::ConnAck(_)) => {
                    status.set("connected");
                    let mut sub = Subscribe::new(TOPIC, QoS::AtLeastOnce);
                    sub.pkid = 1;
                    let _ = out.unbounded_send(frame(|b| sub.write(b)));
                }
                Ok(Packet::Publish(p)) => {
                    if p.qos != QoS::AtMostOnce {
                        let _ = out.unbounded_send(frame(|b| PubAck::new(p.pkid).write(b)));
                    }
                    push_payload(rows, &p.payload);
                }
                Ok(_) => {}
                Err(Error::InsufficientBytes(_)) => break,
                Err(_) => return,
            }
        }
    }
    status.set("connecting");
}

fn main() {
    let rows: Rows = RwSignal::new(Vec::new());
    let status = RwSignal::new("connecting");
    let (out, rx) = unbounded::<Vec<u8>>();
    let name = NodeRef::<html::Input>::new();
    let message = NodeRef::<html::Textarea>::new();
    let click_out = out.clone();
    let mut pkid = 1u16;
    let publish = move |_| {
        let (Some(n), Some(m)) = (name.get(), message.get()) else {
            return;
        };
        pkid = pkid.wrapping_add(1).max(2);
        let mut p = Publish::new(TOPIC, QoS::AtLeastOnce, encode_payload(n.value(), m.value()));
        p.pkid = pkid;
        let _ = click_out.unbounded_send(frame(|b| p.write(b)));
        m.set_value("");
    };
    leptos::mount::mount_to_body(move || {
        view! {
            <span id="connect-badge">{move || status.get()}</span>
            <input id="name" node_ref=name />
            <textarea id="message" node_ref=message></textarea>
            <button id="publish" on:click=publish>"Publish"</button>
            <table>
                <tbody id="messages">
                    <For
                        each=move || rows.get()
                        key=|r| r.0
                        children=|r| view! { <tr><td class="name">{r.1}</td><td class="message">{r.2}</td></tr> }
                    />
                </tbody>
            </table>
        }
    });
    #[cfg(feature = "idb")]
    spawn_local(async move {
        let _ = load_history(rows).await;
    });
    spawn_local(run(rows, status, out, rx));
}
