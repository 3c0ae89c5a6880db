// Package memory holds in-memory adapters of every core port, for unit
// tests and for the embedded runtime (local/). They pass the same
// conformance suites (core/coretest) as the AWS adapters:
//
//   - Store (core.ItemStore): DynamoDB semantics — conditions, atomic
//     counters, byte-ordered sort keys, 1 MB query pages, transactions,
//     item sizes counted as DynamoDB counts them (core.ItemSize), numbers
//     normalized as DynamoDB stores them — plus DynamoDB Streams: a table
//     with a stream emits events.DynamoDBEventRecord values to subscribers
//     (Subscribe), synchronously and in commit order; ExpireItems plays
//     DynamoDB's TTL process. core.ToStreamImage and core.FromStreamImage
//     convert between items and stream images.
//   - Workflows (core.Workflows): state machines, executions idempotent by
//     name, task tokens; a Runner (the asl interpreter, in the embedded
//     runtime) decides what executions do.
//   - Objects (core.ObjectStore), Queues (core.Queue: visibility timeouts,
//     delays, long polling, dead-letter redrive) and Topics (core.Topic:
//     function and queue subscribers, a record of published messages).
//
// Module provides them all to an fx application.
package memory
