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
// A failed version never blocks its successors: they apply on top of the
// last applied version (see Fail).
package command
