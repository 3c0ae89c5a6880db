// Package coretest holds the conformance suites of the core ports, in the
// style of testing/slogtest: an adapter's test calls TestItemStore,
// TestWorkflows, TestObjectStore, TestQueue and TestTopic with a harness that
// makes fresh instances and provisions the resources (tables, state machines,
// buckets, queues, topics) the suites ask for. The in-memory adapters
// (core/memory) and the AWS adapters (core/awsadapter) pass the same suites.
//
// Every suite names its resources uniquely (a per-process random part and a
// counter), so it can run against a shared endpoint without a reset, and
// keeps its wall time small: it never sleeps longer than a timeout the
// harness chose.
package coretest
