//! The load generator (issue 12): many MQTT clients over plain TCP, spread over rooms, each
//! with a retained presence status and a will as the app has, publishing chat messages at a
//! total rate for a while and counting what each receives. Test tooling, not the app: it
//! runs on loopback only, its counts and times are bounded, and every client disconnects
//! (and clears its presence) at the end. `scripts/bench load` drives it beside two real tabs.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use bytes::BytesMut;
use mqttbytes::v4::{self, Packet};
use mqttbytes::QoS;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// What to run.
#[derive(Clone, Debug)]
pub struct Plan {
    pub clients: usize,
    pub rooms: usize,
    /// Messages per second, all clients together.
    pub rate: f64,
    pub duration: Duration,
    /// The brokers' TCP ports; each room's clients are spread over all of them (client `i`
    /// of room `i % rooms` connects to `ports[(i / rooms) % ports.len()]`), so messages
    /// cross between nodes.
    pub ports: Vec<u16>,
    /// Tells this run's client ids and messages from any other's.
    pub run: String,
}

/// What a run saw.
#[derive(Clone, Debug, Default)]
pub struct Outcome {
    /// From the first CONNECT to the last client subscribed with its presence stored.
    pub all_connected: Duration,
    pub clients_up: usize,
    pub sent: u64,
    /// Deliveries the brokers owed: each message to every load client in its room.
    pub expected: u64,
    /// Distinct deliveries received.
    pub delivered: u64,
    /// Deliveries received more than once (QoS 1 may resend).
    pub duplicates: u64,
    /// Why clients failed, if any did (first few).
    pub errors: Vec<String>,
}

impl Outcome {
    pub fn lost(&self) -> u64 {
        self.expected.saturating_sub(self.delivered)
    }
}

/// The room topic of room `r` (the app's `messages/<room>`, room `load-NN`).
pub fn room_topic(r: usize) -> String {
    format!("messages/{}", room_name(r))
}

pub fn room_name(r: usize) -> String {
    format!("load-{r:02}")
}

struct ClientReport {
    connected_at: Option<Instant>,
    sent: u64,
    room: usize,
    seen: HashSet<u64>,
    duplicates: u64,
    error: Option<String>,
}

/// Run `plan`: connect every client at once, then (once all are up) publish for
/// `plan.duration`, then wait up to 10 s for the last deliveries. `sending` is told when the
/// publishing starts.
pub async fn run(plan: Plan, sending: tokio::sync::oneshot::Sender<()>) -> Outcome {
    let start = Instant::now();
    let (up_tx, mut up_rx) = tokio::sync::mpsc::unbounded_channel::<()>();
    let (go_tx, go_rx) = tokio::sync::watch::channel(false);
    let mut tasks = Vec::new();
    for i in 0..plan.clients {
        let plan = plan.clone();
        let up = up_tx.clone();
        let go = go_rx.clone();
        tasks.push(tokio::spawn(async move {
            let mut report = ClientReport {
                connected_at: None,
                sent: 0,
                room: i % plan.rooms,
                seen: HashSet::new(),
                duplicates: 0,
                error: None,
            };
            if let Err(e) = client(i, &plan, &mut report, up, go).await {
                report.error = Some(format!("client {i}: {e}"));
            }
            report
        }));
    }
    drop(up_tx);
    // Everyone up (or gone), then go.
    let mut up = 0;
    let wait_up = async {
        while up_rx.recv().await.is_some() {
            up += 1;
            if up == plan.clients {
                break;
            }
        }
    };
    let _ = tokio::time::timeout(Duration::from_secs(60), wait_up).await;
    let _ = go_tx.send(true);
    let _ = sending.send(());
    let mut outcome = Outcome::default();
    let mut sent_per_room = vec![0u64; plan.rooms];
    let mut members = vec![0u64; plan.rooms];
    let mut last_up = start;
    for task in tasks {
        let Ok(report) = task.await else { continue };
        if let Some(at) = report.connected_at {
            outcome.clients_up += 1;
            last_up = last_up.max(at);
            members[report.room] += 1;
        }
        sent_per_room[report.room] += report.sent;
        outcome.sent += report.sent;
        outcome.delivered += report.seen.len() as u64;
        outcome.duplicates += report.duplicates;
        if let Some(e) = report.error {
            if outcome.errors.len() < 5 {
                outcome.errors.push(e);
            }
        }
    }
    outcome.all_connected = last_up - start;
    outcome.expected = (0..plan.rooms).map(|r| sent_per_room[r] * members[r]).sum();
    outcome
}

async fn client(
    i: usize,
    plan: &Plan,
    report: &mut ClientReport,
    up: tokio::sync::mpsc::UnboundedSender<()>,
    mut go: tokio::sync::watch::Receiver<bool>,
) -> std::io::Result<()> {
    let port = plan.ports[(i / plan.rooms) % plan.ports.len()];
    let mut stream = TcpStream::connect(("127.0.0.1", port)).await?;
    stream.set_nodelay(true)?;
    let id = format!("load-{}-{i}", plan.run);
    let presence = format!("chat/presence/{id}");
    let room = room_topic(report.room);
    let status = |online: bool| {
        format!(
            r#"{{"person":"{id}","name":"load {i}","rooms":["{}"],"online":{online},"ts":{}}}"#,
            room_name(report.room),
            crate::now_ms()
        )
    };
    let mut out = BytesMut::new();
    let mut connect = v4::Connect::new(id.clone());
    connect.keep_alive = 60;
    connect.last_will = Some(v4::LastWill::new(
        presence.clone(),
        status(false),
        QoS::AtLeastOnce,
        true,
    ));
    write(&mut connect, &mut out);
    let mut subscribe = v4::Subscribe::new(room.clone(), QoS::AtLeastOnce);
    subscribe.pkid = 1; // mqttbytes leaves it 0, which Mosquitto rightly refuses
    subscribe.write(&mut out).map_err(io)?;
    let mut hello = v4::Publish::new(presence.clone(), QoS::AtLeastOnce, status(true));
    hello.retain = true;
    hello.pkid = 2;
    hello.write(&mut out).map_err(io)?;
    stream.write_all(&out).await?;
    out.clear();

    let mut inbox = BytesMut::with_capacity(4096);
    let (mut acked_sub, mut acked_hello) = (false, false);
    // Receives one packet, answering PUBACKs and counting this run's chat messages.
    macro_rules! next_packet {
        () => {{
            loop {
                match v4::read(&mut inbox, 1 << 20) {
                    Ok(packet) => break packet,
                    Err(mqttbytes::Error::InsufficientBytes(_)) => {
                        if stream.read_buf(&mut inbox).await? == 0 {
                            return Err(io("the broker closed the connection"));
                        }
                    }
                    Err(e) => return Err(io(format!("{e:?}"))),
                }
            }
        }};
    }
    while !(acked_sub && acked_hello) {
        match next_packet!() {
            Packet::SubAck(_) => acked_sub = true,
            Packet::PubAck(ack) if ack.pkid == 2 => acked_hello = true,
            Packet::ConnAck(_) => {}
            Packet::Publish(p) => count(&p, plan, report, &mut stream, &mut out).await?,
            _ => {}
        }
    }
    report.connected_at = Some(Instant::now());
    let _ = up.send(());
    while !*go.borrow() {
        tokio::select! {
            changed = go.changed() => if changed.is_err() { break },
            packet = async { Ok::<_, std::io::Error>(next_packet!()) } => {
                if let Packet::Publish(p) = packet? {
                    count(&p, plan, report, &mut stream, &mut out).await?;
                }
            }
        }
    }

    // Each client every `period`, the clients' phases spread evenly over it.
    let period = Duration::from_secs_f64(plan.clients as f64 / plan.rate);
    let phase = period.mul_f64(i as f64 / plan.clients as f64);
    let begin = tokio::time::Instant::now();
    let end_sending = begin + plan.duration;
    let end = end_sending + Duration::from_secs(10);
    let mut tick = tokio::time::interval_at(begin + phase, period);
    let mut pkid: u16 = 10;
    loop {
        tokio::select! {
            at = tick.tick(), if tokio::time::Instant::now() < end_sending => {
                if at >= end_sending { continue; }
                let seq = report.sent;
                let payload = format!(
                    r#"{{"name":"load {i}","message":"load {} {i} {seq}","id":"{}-{i}-{seq}","ts":{}}}"#,
                    plan.run, plan.run, crate::now_ms()
                );
                pkid = if pkid == u16::MAX { 10 } else { pkid + 1 };
                let mut publish = v4::Publish::new(room.clone(), QoS::AtLeastOnce, payload);
                publish.pkid = pkid;
                publish.write(&mut out).map_err(io)?;
                stream.write_all(&out).await?;
                out.clear();
                report.sent += 1;
            }
            _ = tokio::time::sleep_until(end) => break,
            packet = async { Ok::<_, std::io::Error>(next_packet!()) } => {
                if let Packet::Publish(p) = packet? {
                    count(&p, plan, report, &mut stream, &mut out).await?;
                }
            }
        }
    }
    // Leave as the app does: presence cleared, then DISCONNECT (no will).
    let mut clear = v4::Publish::new(presence, QoS::AtMostOnce, Vec::new());
    clear.retain = true;
    clear.write(&mut out).map_err(io)?;
    v4::Disconnect.write(&mut out).map_err(io)?;
    stream.write_all(&out).await?;
    // Close our side and read until the broker closes its own: dropping a socket with
    // unread data resets it, and the broker would take that for a crash (and the will).
    stream.shutdown().await?;
    let mut sink = [0u8; 4096];
    let drain = async { while stream.read(&mut sink).await.unwrap_or(0) > 0 {} };
    let _ = tokio::time::timeout(Duration::from_secs(2), drain).await;
    Ok(())
}

/// A chat message of this run: count it once per sender and number; PUBACK it.
async fn count(
    p: &v4::Publish,
    plan: &Plan,
    report: &mut ClientReport,
    stream: &mut TcpStream,
    out: &mut BytesMut,
) -> std::io::Result<()> {
    if p.qos == QoS::AtLeastOnce {
        v4::PubAck::new(p.pkid).write(out).map_err(io)?;
        stream.write_all(out).await?;
        out.clear();
    }
    let Ok(v) = serde_json::from_slice::<serde_json::Value>(&p.payload) else {
        return Ok(());
    };
    let Some(id) = v["id"].as_str() else {
        return Ok(());
    };
    let mut parts = id.rsplitn(3, '-');
    let (Some(seq), Some(sender), Some(run)) = (parts.next(), parts.next(), parts.next()) else {
        return Ok(());
    };
    if run != plan.run {
        return Ok(());
    }
    let (Ok(seq), Ok(sender)) = (seq.parse::<u64>(), sender.parse::<u64>()) else {
        return Ok(());
    };
    if !report.seen.insert(sender << 32 | seq) {
        report.duplicates += 1;
    }
    Ok(())
}

fn write(connect: &mut v4::Connect, out: &mut BytesMut) {
    connect.write(out).expect("a CONNECT fits");
}

fn io(e: impl std::fmt::Debug) -> std::io::Error {
    std::io::Error::other(format!("{e:?}"))
}

/// CPU time (s) and resident memory (bytes) of process `pid`, from /proc.
pub fn proc_usage(pid: u32) -> Option<(f64, u64)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name (which may hold spaces), from field 3 on.
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split(' ').collect();
    let ticks: f64 = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let rss_kb: u64 = status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()?;
    // USER_HZ is 100 on Linux.
    Some((ticks / 100.0, rss_kb * 1024))
}

/// Publish `messages` (topic, payload) as retained QoS 1 messages from one client over TCP,
/// pipelined, and return once the broker acknowledged every one: the broker then holds
/// them all. For a broker with thousands of retained topics (the viewer's tests).
pub async fn publish_retained(port: u16, messages: &[(String, String)]) -> std::io::Result<()> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).await?;
    let mut out = BytesMut::new();
    let mut connect = v4::Connect::new(format!("retain-bulk-{}", crate::now_ms()));
    connect.keep_alive = 60;
    write(&mut connect, &mut out);
    stream.write_all(&out).await?;
    out.clear();
    let mut inbox = BytesMut::with_capacity(4096);
    let mut acked = 0usize;
    let mut sent = 0usize;
    // At most this many unacknowledged at once (Mosquitto's default inflight is 20, and it
    // queues the rest).
    const WINDOW: usize = 200;
    while acked < messages.len() {
        while sent < messages.len() && sent - acked < WINDOW {
            let (topic, payload) = &messages[sent];
            let mut p = v4::Publish::new(topic.clone(), QoS::AtLeastOnce, payload.clone());
            p.retain = true;
            p.pkid = (sent % 60_000 + 1) as u16;
            p.write(&mut out).map_err(io)?;
            sent += 1;
        }
        if !out.is_empty() {
            stream.write_all(&out).await?;
            out.clear();
        }
        match v4::read(&mut inbox, 1 << 20) {
            Ok(Packet::PubAck(_)) => acked += 1,
            Ok(_) => {}
            Err(mqttbytes::Error::InsufficientBytes(_)) => {
                if stream.read_buf(&mut inbox).await? == 0 {
                    return Err(io("the broker closed the connection"));
                }
            }
            Err(e) => return Err(io(format!("{e:?}"))),
        }
    }
    let mut bye = BytesMut::new();
    v4::Disconnect.write(&mut bye).map_err(io)?;
    stream.write_all(&bye).await?;
    Ok(())
}
