// Package task runs background work: single tasks through the task
// queue, and fan-outs — a parent with N sub-tasks — through the task state
// machine, with a per-type bound on how many sub-tasks run at once
// (docs/tasks.md).
//
// A Service (New, one per application, on the ports of core) offers:
//
//   - the write side: Create (a single task), CreateFanOut (a parent and
//     its sub-tasks, from a slice or a generator), Cancel;
//   - the read side: Get (with a page of sub-tasks), SubTasks, Failures
//     (the failed sub-tasks with their causes), List (by tenant and type);
//   - Routes: the event routes that run it all — the tasks table's
//     stream, the task queue, the steps of the task state machine
//     (StateMachine, StateMachineJSON), the sweep event — and Sweep.
//
// Handlers are registered by task type with typed input and result
// (Register); Module wires the Service for fx.
//
// Every read and write applies the tenant rule (core.AuthorizeTenant).
//
// # Exactly once where it counts
//
// Deliveries are at least once everywhere (stream records, queue
// messages, Step Functions steps), so every write is conditioned on what
// it expects: a task is taken (PROCESSING) only from the status it was
// read in, or from an attempt it may take over; its outcome is recorded
// only by the attempt that holds it; a sub-task's status change and the
// parent's counters (ADD, never a recount) are one transaction. A
// redelivery after success runs nothing; a duplicate running alongside
// finds the row held and is retried (*BusyError); a crashed attempt is
// taken over by the next delivery of the same message or state, or, when
// there is none, failed by Sweep once its lease ran out.
//
// # Cost
//
// Per sub-task on the default path: 3 store calls (a read, two
// transactions of two items) and 1/25 of a batch write at creation, one
// state transition and one Lambda invocation; per fan-out a few more —
// see BenchmarkTaskFanOut. A single task: 4 store calls and two batched
// Lambda invocations (stream and queue).
package task
