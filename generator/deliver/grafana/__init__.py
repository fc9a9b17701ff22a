"""Delivery to Grafana through its HTTP API: plan, diff, push and prune, safely and idempotently.

Modules, one job each: target (which Grafana and which credential, from flags and the
environment), retry (what is retried and how long to wait), connection (the only module that
imports grafana-client: requests with retries, errors as GrafanaApiError), messages (what a
failed request means for a person), state (obsgen's managed tag and the hash it writes into
each dashboard), folders (the configured folder path, created when missing), remote (reads
what Grafana holds), plan (new / unchanged / changed / drifted / orphaned, pure), diffing
(readable per-panel differences, pure), backup (remote copies before any overwrite), push
(writes and deletes with bounded concurrency), commit_message (what Grafana's version history
records), report (text for the CLI).
"""
