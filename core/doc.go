// Package core holds what every stepcqrs capability shares: keys and versions,
// the command and data models, errors, the invoke context, configuration, and
// the ports (interfaces) through which domain code reaches storage, workflows,
// objects, queues and topics.
//
// Ports speak the framework's language (put-if-absent, put-if-version, query by
// key prefix, atomic multi-item write), never raw DynamoDB expression strings,
// so that the in-memory adapters in core/memory stay small. Every port has an
// AWS adapter (core/awsadapter) and an in-memory adapter (core/memory) that pass
// the same conformance suite (core/coretest).
package core
