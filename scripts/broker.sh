# Sourced by scripts/test and scripts/bench: runs the project's mosquitto.conf on free ports.
# Sets BROKER_DIR, BROKER_TCP_PORT, BROKER_WS_PORT, BROKER_PID; BROKER_CONF is the config.

# A free port below the kernel's ephemeral range, where outgoing connections take their
# source ports (the same rule as e2e::free_port).
free_port() {
  python3 -c '
import fcntl, os, random, socket, tempfile
low = int(open("/proc/sys/net/ipv4/ip_local_port_range").read().split()[0])
lo, hi = (10000, low - 1) if low > 12000 else (low, 65000)
locks = os.path.join(tempfile.gettempdir(), "mqtt-chat-ports")
def claimed(p):
    # A port a test process holds (e2e::free_port keeps an flock on it for its life).
    try:
        with open(os.path.join(locks, "%d.lock" % p), "a") as f:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return False
    except BlockingIOError:
        return True
    except OSError:
        return False
for _ in range(1000):
    p = random.randint(lo, hi)
    if claimed(p):
        continue
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", p)); print(p); break
    except OSError:
        pass
    finally:
        s.close()
else:
    s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()
'
}

# start_broker [extra config lines...]
start_broker() {
  BROKER_DIR="$(mktemp -d /tmp/mqtt-chat-broker.XXXXXX)"
  # Started as root, Mosquitto runs as the `mosquitto` user, which must write its database.
  chmod 0777 "$BROKER_DIR"
  BROKER_TCP_PORT="$(free_port)"
  BROKER_WS_PORT="$(free_port)"
  BROKER_CONF="$BROKER_DIR/mosquitto.conf"
  sed -e "s/^listener 1883 /listener $BROKER_TCP_PORT /" \
      -e "s/^listener 9001 /listener $BROKER_WS_PORT /" \
      -e "s#^persistence_location .*#persistence_location $BROKER_DIR/#" \
      "$ROOT/mosquitto.conf" > "$BROKER_CONF"
  for line in "$@"; do echo "$line" >> "$BROKER_CONF"; done
  mosquitto -c "$BROKER_CONF" > "$BROKER_DIR/mosquitto.log" 2>&1 &
  BROKER_PID=$!
  for _ in $(seq 1 50); do
    if mosquitto_pub -h 127.0.0.1 -p "$BROKER_TCP_PORT" -t probe -m up -q 0 2>/dev/null; then
      echo "[broker] Mosquitto on tcp $BROKER_TCP_PORT, ws $BROKER_WS_PORT (log: $BROKER_DIR/mosquitto.log)" >&2
      return 0
    fi
    sleep 0.1
  done
  echo "[broker] Mosquitto did not start:" >&2
  cat "$BROKER_DIR/mosquitto.log" >&2
  return 1
}

stop_broker() {
  [ -n "${BROKER_PID:-}" ] && kill "$BROKER_PID" 2>/dev/null && wait "$BROKER_PID" 2>/dev/null
  BROKER_PID=""
}

# start_aedes: an Aedes node (crates/e2e/cluster/node.mjs) with a Redis of its own, on free
# ports: the second broker implementation the chat suite runs against (issue 12). Sets
# AEDES_DIR, AEDES_TCP_PORT, AEDES_WS_PORT, AEDES_PIDS.
start_aedes() {
  AEDES_DIR="$(mktemp -d /tmp/mqtt-chat-aedes.XXXXXX)"
  AEDES_TCP_PORT="$(free_port)"
  AEDES_WS_PORT="$(free_port)"
  local redis_port; redis_port="$(free_port)"
  redis-server --port "$redis_port" --bind 127.0.0.1 --save '' --appendonly no \
    --logfile "$AEDES_DIR/redis.log" &
  AEDES_PIDS="$!"
  for _ in $(seq 1 50); do
    redis-cli -p "$redis_port" ping >/dev/null 2>&1 && break
    sleep 0.1
  done
  node "$ROOT/crates/e2e/cluster/node.mjs" --ws "$AEDES_WS_PORT" --tcp "$AEDES_TCP_PORT" \
    --redis "$redis_port" > "$AEDES_DIR/aedes.log" 2>&1 &
  AEDES_PIDS="$AEDES_PIDS $!"
  for _ in $(seq 1 50); do
    if grep -q '^ready' "$AEDES_DIR/aedes.log"; then
      echo "[broker] Aedes on tcp $AEDES_TCP_PORT, ws $AEDES_WS_PORT (Redis $redis_port)" >&2
      return 0
    fi
    sleep 0.1
  done
  echo "[broker] Aedes did not start:" >&2
  cat "$AEDES_DIR/aedes.log" >&2
  return 1
}

stop_aedes() {
  # shellcheck disable=SC2086
  [ -n "${AEDES_PIDS:-}" ] && kill $AEDES_PIDS 2>/dev/null
  AEDES_PIDS=""
}
