// Package command publishes versioned commands of a CQRS module and turns
// them into its data (read model) and history tables.
//
// A Service per module (New, or NewServices for several modules with a
// Registry of data-sync handlers) offers:
//
//   - the write side: PublishAsync, PublishSync and their partial-update
//     variants, with optimistic versioning (core.VersionNew,
//     core.VersionLatest, or the latest version), a dirty check that writes
//     nothing for unchanged input, audit fields from the invoke context, and
//     offloading of large attributes to the object store;
//   - the steps of the command state machine as plain methods: Apply,
//     RegisterWaitToken, RunSync / RunHandler, Finish and Fail;
//   - the read side: GetData, ListData, GetCommand, ListVersions, History,
//     with offloaded attributes resolved, and Resync to replay a partition
//     into the data-sync handlers.
//
// Command sort keys carry zero-padded versions (see core.VersionedSK), so the
// latest version of an entity is one descending Query with Limit 1.
//
// Cost of one update on the default path (PublishAsync with the known
// version, then Advance; no wait, built-in projection only): 4 reads and 3
// writes, one of them a transaction of 2 to 4 items (data row, history
// copy, command status, TTL of the superseded command), plus one
// notification — see BenchmarkDefaultPath.
//
// # Steps
//
// The command flow has one method per state machine step. Every step takes
// the command row's key (pk, sk@version), re-reads what it needs with
// ConsistentRead, and is idempotent, so Step Functions may retry it.
//
// # Ordering
//
// Version v is applied on top of the data row when every version between
// the data row's version d and v is settled: applied (or later) or failed.
// Normally d = v-1 and nothing is read beyond the data row.
//
// # Failure policy
//
// A failed version is skipped. Fail marks the command failed; a failed
// command is never applied afterwards (Apply returns OutcomeFailed and its
// own transaction is conditioned on its status not having changed), and its
// successor applies on top of the last applied version, keeping its own
// version number in the data row (so data versions can jump, e.g. 1 → 3
// when 2 failed, and history holds only applied versions). Fail resumes the
// waiting successor at once. The alternative — applying the failed command
// as a no-op marker — would either lose an earlier pending version (a
// marker at v makes v-1 look applied) or block the chain again until that
// earlier version settles; skipping needs no extra write and can never
// leave a successor waiting on a dead predecessor.
//
// # No chain waits forever
//
// A command whose predecessor is unsettled waits on a task token with a
// timeout. Whoever settles the predecessor resumes it, and RegisterWaitToken
// re-checks after storing the token, so a resume cannot be lost between the
// two. When the wait times out anyway (the predecessor's stream record was
// lost, say), Apply restarts every unsettled earlier version under its
// deterministic execution name; a predecessor whose execution ended without
// settling it is marked failed. When the waits for the same predecessor
// time out more than StepsOptions.MaxWaitTimeouts times in a row, the
// command fails loudly
// (status failed, a WaitTimeoutError cause, a notification) rather than
// loop. Recover does the same restart for an entity on an operator's
// request: it is needed only for an entity's last version, which no
// successor waits for.
//
// Notifications are published at least once: a step retried after it
// finished publishes again, so subscribers should be idempotent.
package command
