// Package importcsv imports CSV files into CQRS modules: each row becomes
// a command of the target module, through its command service, so that
// versions, history and data-sync handlers work as for any command
// (docs/importcsv.md).
//
// A Service (New, one per application) runs jobs (Import):
//
//   - direct mode imports in the calling process, streaming the file a
//     batch of rows at a time, several batches at once;
//   - step-function mode runs the import state machine (StateMachine): a
//     Distributed Map reads the CSV from the object store and hands batches
//     of rows to the service's Lambda (Routes).
//
// A job's file may be a ZIP of CSV files: they are imported one at a
// time, in name order, each with its own counters, and the job sums them.
//
// Per target module a Strategy (Register, with generics) says how a row
// becomes a command: Transform (row to attributes or a struct of yours,
// by header), Validate, Compare with the existing data (equal, new,
// changed) and Map (to a full or a partial command). Defaults make a
// strategy of core.Attributes work with only its entity Type.
//
// Every row ends in exactly one outcome — created, updated, unchanged or
// failed with its row number and reason — recorded once per batch, in
// the transaction that adds the batch to the file's counters, so the
// counters are exact (Total = Created + Updated + Unchanged + Failed) and a
// retried batch neither applies nor counts anything twice. Outcomes and
// failures page by job (Outcomes, Failures); the job ends COMPLETED,
// COMPLETED_WITH_FAILURES or FAILED with a reason, and its status changes
// are published on the notification topic.
//
// Rows reach the data table through command.Service.PublishSync (one
// atomic write of command, data and history row per changed row) after a
// batched read of the existing data (one BatchGet per 100 rows): an
// unchanged row costs no write at all, and no row starts a command state
// machine execution.
//
// Every read and write applies the tenant rule (core.AuthorizeTenant).
package importcsv
