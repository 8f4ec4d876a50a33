#!/usr/bin/env bash
# Makes sure the services the tests talk to are up on loopback, starting any that is down:
#   PostgreSQL 127.0.0.1:5432, Redis 127.0.0.1:6379, RabbitMQ 127.0.0.1:5672.
# Fails loudly (exit 1, naming the service) when one cannot be reached after starting it.
set -euo pipefail

port_open() { # host port
    timeout 1 bash -c "exec 3<>/dev/tcp/$1/$2" 2>/dev/null
}

wait_port() { # name port seconds
    local name="$1" port="$2" seconds="$3" i
    for ((i = 0; i < seconds * 4; i++)); do
        port_open 127.0.0.1 "$port" && return 0
        sleep 0.25
    done
    return 1
}

start_service() { # name
    case "$1" in
        postgresql)
            # shellcheck disable=SC2046 # the one cluster version under /etc/postgresql, e.g. 15
            pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start ;;
        redis)
            redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no ;;
        rabbitmq)
            rabbitmq-server -detached ;;
    esac
}

failed=()
for spec in postgresql:5432:30 redis:6379:30 rabbitmq:5672:60; do
    IFS=: read -r name port seconds <<<"$spec"
    if port_open 127.0.0.1 "$port"; then
        echo "ensure-services: $name is up on 127.0.0.1:$port"
        continue
    fi
    echo "ensure-services: $name is down on 127.0.0.1:$port, starting it"
    if ! start_service "$name"; then
        echo "ensure-services: ERROR: the command starting $name failed" >&2
    fi
    if wait_port "$name" "$port" "$seconds"; then
        echo "ensure-services: $name is up on 127.0.0.1:$port"
    else
        echo "ensure-services: ERROR: $name is still down on 127.0.0.1:$port after ${seconds}s" >&2
        failed+=("$name")
    fi
done

if ((${#failed[@]})); then
    echo "ensure-services: FAILED: ${failed[*]} not reachable; the tests need them" >&2
    exit 1
fi
