#!/bin/sh
# Tandem headless: the LSP server on TCP, for an editor attached from outside the
# container. Model directories come from the environment (mounted from the host); empty
# means the embedded pair. The server keeps its models loaded across editor connections.
set -eu
set -- --host "${TANDEM_HOST:-0.0.0.0}" --port "${TANDEM_PORT:-2087}" "$@"
[ -n "${TANDEM_TARGET_MODEL:-}" ] && set -- "$@" --target-model "$TANDEM_TARGET_MODEL"
[ -n "${TANDEM_DRAFT_MODEL:-}" ] && set -- "$@" --draft-model "$TANDEM_DRAFT_MODEL"
[ -n "${TANDEM_DEVICE:-}" ] && set -- "$@" --device "$TANDEM_DEVICE"
[ -n "${TANDEM_DTYPE:-}" ] && set -- "$@" --dtype "$TANDEM_DTYPE"
[ -n "${TANDEM_LOG_FILE:-}" ] && set -- "$@" --log-file "$TANDEM_LOG_FILE"
exec tandem serve --tcp "$@"
