#!/usr/bin/env bash
# Starts one Samsa node from environment variables, as Kafka's container images do:
# every SAMSA_<NAME> variable becomes a server.properties key (lower case, `_` -> `.`,
# `__` -> `_`, `___` -> `-`), e.g. SAMSA_NODE_ID=2 -> node.id=2,
# SAMSA_CONTROLLER_QUORUM_VOTERS -> controller.quorum.voters. CLUSTER_ID (required) is the
# cluster id every node is formatted with; an already formatted log dir is kept as it is.
# SAMSA_BIN (default `samsa` on PATH) and SAMSA_CONFIG_FILE (default /etc/samsa/server.properties)
# say where the binary is and where the generated config goes.
set -euo pipefail

bin=${SAMSA_BIN:-samsa}
config=${SAMSA_CONFIG_FILE:-/etc/samsa/server.properties}
: "${CLUSTER_ID:?set CLUSTER_ID to the cluster id (samsa storage random-uuid) shared by every node}"

mkdir -p "$(dirname "$config")"
: > "$config"
for name in $(compgen -e | sort); do
  case "$name" in
    SAMSA_BIN|SAMSA_CONFIG_FILE) continue ;;
    SAMSA_*) ;;
    *) continue ;;
  esac
  key=${name#SAMSA_}
  key=${key,,}
  key=${key//___/-}
  key=${key//__/@}
  key=${key//_/.}
  key=${key//@/_}
  value=${!name}
  [[ "$value" != *$'\n'* ]] || { echo "entrypoint: $name holds a newline" >&2; exit 1; }
  printf '%s=%s\n' "$key" "$value" >> "$config"
done

"$bin" storage format -t "$CLUSTER_ID" -c "$config" --ignore-formatted
exec "$bin" start --config "$config"
