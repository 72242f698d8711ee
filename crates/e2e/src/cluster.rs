//! The clustered broker of the tests (issue 12): a Redis of the test's own and Aedes nodes
//! that share messages, sessions, retained messages and offline queues through it
//! (`crates/e2e/cluster/node.mjs`, installed by scripts/setup), all on free loopback ports.
//! A node can be killed (SIGKILL) and started again on the same ports; dropping the cluster
//! stops every process.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::{free_port, manifest_dir};

/// One Aedes node: its ports, and its process while it runs.
pub struct Node {
    pub ws_port: u16,
    pub tcp_port: u16,
    child: Option<Child>,
}

pub struct Cluster {
    pub dir: PathBuf,
    pub redis_port: u16,
    redis: Child,
    pub nodes: Vec<Node>,
}

impl Cluster {
    /// Redis and `nodes` Aedes nodes, each accepting before this returns.
    pub fn start(nodes: usize) -> Cluster {
        let dir = std::env::temp_dir().join(format!(
            "mqtt-chat-cluster-{}-{}",
            std::process::id(),
            free_port()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let (redis_port, redis) = start_redis(&dir);
        let mut cluster = Cluster {
            dir,
            redis_port,
            redis,
            nodes: (0..nodes)
                .map(|_| Node {
                    ws_port: free_port(),
                    tcp_port: free_port(),
                    child: None,
                })
                .collect(),
        };
        for i in 0..nodes {
            cluster.restart(i);
        }
        cluster
    }

    /// Start node `i` (again) on its ports; returns when both listeners accept.
    pub fn restart(&mut self, i: usize) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.log_path(i))
            .unwrap();
        let node = &mut self.nodes[i];
        let child = Command::new("node")
            .arg(manifest_dir().join("cluster/node.mjs"))
            .args(["--id", &format!("node-{}", i + 1)])
            .args(["--ws", &node.ws_port.to_string()])
            .args(["--tcp", &node.tcp_port.to_string()])
            .args(["--redis", &self.redis_port.to_string()])
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("node runs");
        node.child = Some(child);
        let (ws, tcp) = (node.ws_port, node.tcp_port);
        wait_accepting(ws, "an Aedes node's WebSocket listener");
        wait_accepting(tcp, "an Aedes node's TCP listener");
    }

    /// SIGKILL node `i`: a crash.
    pub fn kill(&mut self, i: usize) {
        if let Some(mut child) = self.nodes[i].child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// The processes of the cluster that run: the nodes, then Redis.
    pub fn pids(&self) -> Vec<u32> {
        self.nodes
            .iter()
            .filter_map(|n| n.child.as_ref().map(Child::id))
            .chain(std::iter::once(self.redis.id()))
            .collect()
    }

    /// Node `i`'s WebSocket address.
    pub fn ws_url(&self, i: usize) -> String {
        format!("ws://127.0.0.1:{}", self.nodes[i].ws_port)
    }

    /// The WebSocket addresses of `order`'s nodes, as one `?broker=` list.
    pub fn urls(&self, order: &[usize]) -> String {
        order
            .iter()
            .map(|i| self.ws_url(*i))
            .collect::<Vec<_>>()
            .join(",")
    }

    fn log_path(&self, i: usize) -> PathBuf {
        self.dir.join(format!("node-{}.log", i + 1))
    }

    /// What node `i` printed.
    pub fn log(&self, i: usize) -> String {
        std::fs::read_to_string(self.log_path(i)).unwrap_or_default()
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for i in 0..self.nodes.len() {
            self.kill(i);
        }
        let _ = self.redis.kill();
        let _ = self.redis.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A Redis on a free loopback port that keeps nothing on disk (its log in `dir`), accepting
/// before this returns.
pub(crate) fn start_redis(dir: &std::path::Path) -> (u16, Child) {
    let port = free_port();
    let redis = Command::new("redis-server")
        .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
        .args(["--save", "", "--appendonly", "no"])
        .arg("--logfile")
        .arg(dir.join("redis.log"))
        .stdout(Stdio::null())
        .spawn()
        .expect("redis-server runs (scripts/setup installs it)");
    wait_accepting(port, "redis-server");
    (port, redis)
}

fn wait_accepting(port: u16, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(15);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "{what} did not start on {port}");
        std::thread::sleep(Duration::from_millis(10));
    }
}
