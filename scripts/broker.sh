# Sourced by scripts/test and scripts/bench: runs the project's mosquitto.conf on free ports.
# Sets BROKER_DIR, BROKER_TCP_PORT, BROKER_WS_PORT, BROKER_PID; BROKER_CONF is the config.

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
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
