# Sourced by the bench harnesses (memory-sequence.sh, mirror-catchup.sh):
# a local anvil with 1 s blocks, the contract deployed, a fresh SQLite log
# at $work/m.db with an ingest key, and `proofdesk serve` on a free port with
# 3 confirmations and the rate limits raised far above what wrk can ask
# (every request comes from one address). The caller sets root, bin and
# work, and an array pids whose processes its cleanup kills.
# `start_local_log [SERVE FLAGS…]` sets rpc, contract, db, key, url and
# server (the server's pid); the server's stderr goes to $work/server.log.
operator_key="0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
start_local_log() {
  local ap port
  ap="$(free_port)"; "$root/.tools/bin/anvil" --port "$ap" --block-time 1 --silent & pids+=($!)
  rpc="http://127.0.0.1:$ap"
  for _ in $(seq 50); do curl -sf -X POST -H 'content-type: application/json' \
      --data '{"jsonrpc":"2.0","id":1,"method":"eth_chainId","params":[]}' "$rpc" >/dev/null && break; sleep 0.2; done
  db="sqlite://$work/m.db"
  contract="$(PROOFDESK_OPERATOR_KEY="$operator_key" "$bin" deploy --rpc "$rpc" 2>/dev/null)"
  key="$("$bin" keys create --database "$db" --new-database --scopes ingest --label m 2>/dev/null)"
  port="$(free_port)"; url="http://127.0.0.1:$port"
  PROOFDESK_OPERATOR_KEY="$operator_key" RUST_LOG=warn "$bin" serve --database "$db" --listen "127.0.0.1:$port" --rpc "$rpc" --contract "$contract" --confirmations 3 --ip-rate 1000000 --ip-burst 2000000 --key-rate 1000000 --key-burst 2000000 "$@" 2>"$work/server.log" &
  server=$!; pids+=($server)
  for _ in $(seq 100); do curl -sf "$url/readyz" >/dev/null && break; sleep 0.2; done
}
