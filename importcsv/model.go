package importcsv

import (
	"encoding/json"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/stepcqrs/stepcqrs/core"
)

// Status is where a job or one of its files is.
type Status string

// Statuses. COMPLETED, COMPLETED_WITH_FAILURES and FAILED are final.
const (
	// StatusCreated: the job is written; its execution has not taken it.
	StatusCreated Status = "CREATED"
	// StatusPending: a file of a job waits for its turn.
	StatusPending Status = "PENDING"
	// StatusProcessing: rows are being imported.
	StatusProcessing Status = "PROCESSING"
	// StatusCompleted: every row was created, updated or unchanged.
	StatusCompleted Status = "COMPLETED"
	// StatusCompletedWithFailures: the import ran to the end and every
	// row is accounted for, but some rows failed (see Service.Failures).
	StatusCompletedWithFailures Status = "COMPLETED_WITH_FAILURES"
	// StatusFailed: the import could not run to the end (a job-level
	// error: an empty file, a bad header, an unreadable object, a failed
	// Distributed Map). Reason says why; the rows it did not import are
	// failed rows, so the counters still add up.
	StatusFailed Status = "FAILED"
)

// Final reports whether s is a final status.
func (s Status) Final() bool {
	return s == StatusCompleted || s == StatusCompletedWithFailures || s == StatusFailed
}

// Mode is how a job runs.
type Mode string

// Modes.
const (
	// ModeDirect imports in the calling process: the file is streamed,
	// batches of rows run with bounded concurrency. For small files.
	ModeDirect Mode = "direct"
	// ModeStepFunction imports on the import state machine: a Distributed
	// Map reads the CSV from the object store and hands batches of rows to
	// the service's Lambda.
	ModeStepFunction Mode = "step-function"
)

// Outcome is what became of one row.
type Outcome string

// Outcomes: every row ends in exactly one.
const (
	OutcomeCreated   Outcome = "created"
	OutcomeUpdated   Outcome = "updated"
	OutcomeUnchanged Outcome = "unchanged"
	OutcomeFailed    Outcome = "failed"
)

// Counts are the row counters of a job or a file. When it is final,
// Total = Created + Updated + Unchanged + Failed.
type Counts struct {
	// Total is the number of rows (of the files read so far, while a job
	// runs in direct mode).
	Total     int64 `json:"total"`
	Created   int64 `json:"created"`
	Updated   int64 `json:"updated"`
	Unchanged int64 `json:"unchanged"`
	Failed    int64 `json:"failed"`
}

// Accounted returns the rows with an outcome.
func (c Counts) Accounted() int64 { return c.Created + c.Updated + c.Unchanged + c.Failed }

func (c Counts) add(o Counts) Counts {
	return Counts{Total: c.Total + o.Total, Created: c.Created + o.Created, Updated: c.Updated + o.Updated,
		Unchanged: c.Unchanged + o.Unchanged, Failed: c.Failed + o.Failed}
}

func (c *Counts) count(o Outcome) {
	switch o {
	case OutcomeCreated:
		c.Created++
	case OutcomeUpdated:
		c.Updated++
	case OutcomeUnchanged:
		c.Unchanged++
	default:
		c.Failed++
	}
}

// Source says where a job's file comes from: an object of the object store.
type Source struct {
	Bucket string `json:"bucket"`
	Key    string `json:"key"`
}

// Job is an import job as stored in the import table.
type Job struct {
	// PK is IMPORT#tenantCode; SK is IMPORT#{id}.
	PK, SK string
	// ID is the job's id (the code part of SK).
	ID         string
	TenantCode string
	// Module is the target CQRS module.
	Module string
	Mode   Mode
	// Name is a display name (the file's name).
	Name string
	// Source is the object imported (empty for a job fed from a reader).
	Source Source
	// Zip reports a ZIP of CSV files.
	Zip    bool
	Status Status
	// Reason says why the job ended as it did.
	Reason string
	// Counts are the rows of every file.
	Counts Counts
	// Files counts the job's files (1 for a CSV; the CSV entries of a
	// ZIP).
	Files int
	// ExecutionARN is the import state machine execution (step-function
	// mode).
	ExecutionARN string
	// Version counts the writes of the row; notifications carry it.
	Version    int64
	CreatedAt  time.Time
	CreatedBy  string
	StartedAt  time.Time
	FinishedAt time.Time
}

// Key returns the job's key.
func (j *Job) Key() core.Key { return core.Key{PK: j.PK, SK: j.SK} }

// File is one CSV file of a job: the job's file, or one CSV entry of its
// ZIP, with its own counters and status.
type File struct {
	// Index is the file's position in the job, from 0 (ZIP entries in name
	// order).
	Index int
	// Name is the file's name (a ZIP entry's path).
	Name string
	// Object is where the CSV is stored (step-function mode).
	Object Source
	Status Status
	Reason string
	Counts Counts
	// Header is the file's header.
	Header []string
	// Batches counts the batches of rows recorded.
	Batches int64
}

// RowOutcome is the outcome of one row.
type RowOutcome struct {
	// File is the file's index in the job; Row the row number (Row).
	File int `json:"file"`
	Row  int `json:"row"`
	// Outcome is created, updated, unchanged or failed.
	Outcome Outcome `json:"outcome"`
	// PK and SK are the entity's key (empty when the row failed before its
	// key was known); Version the version the row wrote or found.
	PK      string `json:"pk,omitempty"`
	SK      string `json:"sk,omitempty"`
	Version int64  `json:"version,omitempty"`
	// Reason says why the row failed.
	Reason string `json:"reason,omitempty"`
	// Fields are the row's values (failures only, when they were read and
	// fit in the record; see Service.Failures).
	Fields []string `json:"fields,omitempty"`
}

// Key types of the import table {prefix}import: every row's pk is
// TYPE#tenantCode.
const (
	// KeyTypeJob is the pk type of jobs; their sk is IMPORT#{id}.
	KeyTypeJob = "IMPORT"
	// KeyTypeFile is the pk type of a job's files; sk {id}#{file}.
	KeyTypeFile = "IMPORTFILE"
	// KeyTypeBatch is the pk type of batch records: the outcomes of the
	// rows of one batch, written once (sk {id}#{file}#{first row}).
	KeyTypeBatch = "IMPORTBATCH"
	// KeyTypeFailure is the pk type of the failed rows, one item each
	// (sk {id}#{file}#{row}), so that failures page without reading the
	// other outcomes.
	KeyTypeFailure = "IMPORTFAIL"
)

// Digits of the zero-padded numbers in sort keys.
const (
	fileDigits = 5
	rowDigits  = 10
)

func pad(n int, digits int) string {
	s := strconv.Itoa(n)
	if len(s) < digits {
		s = strings.Repeat("0", digits-len(s)) + s
	}
	return s
}

// jobKey builds the key of job id of tenant.
func jobKey(tenant, id string) (core.Key, error) { return core.NewKey(KeyTypeJob, tenant, id) }

// keyOf returns the key of type typ with sk parts for the job at job.
func keyOf(job core.Key, typ string, parts ...string) core.Key {
	tenant, _ := core.TenantCodeOf(job.PK)
	return core.Key{PK: typ + core.KeySeparator + tenant, SK: strings.Join(append([]string{core.CodeOf(job.SK)}, parts...), core.KeySeparator)}
}

func fileKey(job core.Key, file int) core.Key { return keyOf(job, KeyTypeFile, pad(file, fileDigits)) }

func batchKey(job core.Key, file, first int) core.Key {
	return keyOf(job, KeyTypeBatch, pad(file, fileDigits), pad(first, rowDigits))
}

func failureKey(job core.Key, file, row int) core.Key {
	return keyOf(job, KeyTypeFailure, pad(file, fileDigits), pad(row, rowDigits))
}

// filePrefix is the sk prefix of the batch and failure records of a file.
func filePrefix(job core.Key, file int) string {
	return core.CodeOf(job.SK) + core.KeySeparator + pad(file, fileDigits) + core.KeySeparator
}

// checkJobKey validates a job key given by a caller and returns its tenant.
func checkJobKey(k core.Key) (string, error) {
	if err := core.ValidateEntityKey(k); err != nil {
		return "", err
	}
	if core.TypeOf(k.PK) != KeyTypeJob || core.TypeOf(k.SK) != KeyTypeJob || strings.Count(k.SK, core.KeySeparator) != 1 {
		return "", &core.KeyError{Part: "key", Value: k.PK + " " + k.SK, Reason: "not an import job key (want IMPORT#tenant, IMPORT#id)"}
	}
	tenant, _ := core.TenantCodeOf(k.PK)
	return tenant, nil
}

// jobRow is a job as stored.
type jobRow struct {
	PK           string `dynamodbav:"pk"`
	SK           string `dynamodbav:"sk"`
	Kind         string `dynamodbav:"kind"`
	TenantCode   string `dynamodbav:"tenantCode"`
	Module       string `dynamodbav:"module"`
	Mode         Mode   `dynamodbav:"mode"`
	Name         string `dynamodbav:"name,omitempty"`
	Bucket       string `dynamodbav:"bucket,omitempty"`
	ObjectKey    string `dynamodbav:"objectKey,omitempty"`
	Zip          bool   `dynamodbav:"zip,omitempty"`
	Status       Status `dynamodbav:"status"`
	Reason       string `dynamodbav:"reason,omitempty"`
	Files        int    `dynamodbav:"files"`
	NextFile     int    `dynamodbav:"nextFile"`
	Total        int64  `dynamodbav:"total"`
	Created      int64  `dynamodbav:"created"`
	Updated      int64  `dynamodbav:"updated"`
	Unchanged    int64  `dynamodbav:"unchanged"`
	Failed       int64  `dynamodbav:"failed"`
	Settings     string `dynamodbav:"settings,omitempty"` // JSON of jobSettings
	ExecutionARN string `dynamodbav:"executionArn,omitempty"`
	Version      int64  `dynamodbav:"version"`
	// Unsettled and UnsettledAt list a job that is not final in
	// UnsettledIndex.
	Unsettled   string    `dynamodbav:"unsettled,omitempty"`
	UnsettledAt string    `dynamodbav:"unsettledAt,omitempty"`
	CreatedAt   time.Time `dynamodbav:"createdAt,omitempty"`
	CreatedBy   string    `dynamodbav:"createdBy,omitempty"`
	CreatedIP   string    `dynamodbav:"createdIp,omitempty"`
	RequestID   string    `dynamodbav:"requestId,omitempty"`
	UpdatedAt   time.Time `dynamodbav:"updatedAt,omitempty"`
	StartedAt   time.Time `dynamodbav:"startedAt,omitempty"`
	FinishedAt  time.Time `dynamodbav:"finishedAt,omitempty"`
}

func (r *jobRow) key() core.Key { return core.Key{PK: r.PK, SK: r.SK} }

func (r *jobRow) counts() Counts {
	return Counts{Total: r.Total, Created: r.Created, Updated: r.Updated, Unchanged: r.Unchanged, Failed: r.Failed}
}

func (r *jobRow) settings() jobSettings {
	var s jobSettings
	_ = json.Unmarshal([]byte(r.Settings), &s)
	return s
}

func (r *jobRow) job() *Job {
	return &Job{PK: r.PK, SK: r.SK, ID: core.CodeOf(r.SK), TenantCode: r.TenantCode, Module: r.Module, Mode: r.Mode,
		Name: r.Name, Source: Source{Bucket: r.Bucket, Key: r.ObjectKey}, Zip: r.Zip, Status: r.Status, Reason: r.Reason,
		Counts: r.counts(), Files: r.Files, ExecutionARN: r.ExecutionARN, Version: r.Version,
		CreatedAt: r.CreatedAt, CreatedBy: r.CreatedBy, StartedAt: r.StartedAt, FinishedAt: r.FinishedAt}
}

// jobSettings are the settings a job runs with, fixed at its creation.
type jobSettings struct {
	BatchSize             int     `json:"batchSize"`
	MaxInputBytesPerBatch int     `json:"maxInputBytesPerBatch"`
	MaxConcurrency        int     `json:"maxConcurrency"`
	ToleratedFailurePct   float64 `json:"toleratedFailurePercentage"`
}

// fileRow is a file of a job as stored.
type fileRow struct {
	PK         string   `dynamodbav:"pk"`
	SK         string   `dynamodbav:"sk"`
	Kind       string   `dynamodbav:"kind"`
	Index      int      `dynamodbav:"index"`
	Name       string   `dynamodbav:"name,omitempty"`
	Bucket     string   `dynamodbav:"bucket,omitempty"`
	ObjectKey  string   `dynamodbav:"objectKey,omitempty"`
	Status     Status   `dynamodbav:"status"`
	Reason     string   `dynamodbav:"reason,omitempty"`
	Header     []string `dynamodbav:"header,omitempty"`
	RawHeader  []string `dynamodbav:"rawHeader,omitempty"`
	Total      int64    `dynamodbav:"total"`
	Created    int64    `dynamodbav:"created"`
	Updated    int64    `dynamodbav:"updated"`
	Unchanged  int64    `dynamodbav:"unchanged"`
	Failed     int64    `dynamodbav:"failed"`
	Batches    int64    `dynamodbav:"batches"`
	ScanFailed int64    `dynamodbav:"scanFailed,omitempty"`
	Version    int64    `dynamodbav:"version"`
}

func (r *fileRow) key() core.Key { return core.Key{PK: r.PK, SK: r.SK} }

func (r *fileRow) counts() Counts {
	return Counts{Total: r.Total, Created: r.Created, Updated: r.Updated, Unchanged: r.Unchanged, Failed: r.Failed}
}

func (r *fileRow) file() File {
	return File{Index: r.Index, Name: r.Name, Object: Source{Bucket: r.Bucket, Key: r.ObjectKey}, Status: r.Status,
		Reason: r.Reason, Counts: r.counts(), Header: r.Header, Batches: r.Batches}
}

// batchRecord is the record of one batch: the outcomes of its rows,
// written once, in the transaction that adds them to the file's counters.
type batchRecord struct {
	PK    string `dynamodbav:"pk"`
	SK    string `dynamodbav:"sk"`
	Kind  string `dynamodbav:"kind"`
	First int    `dynamodbav:"first"`
	Last  int    `dynamodbav:"last"`
	// Rows is the JSON of []rowEntry; Ranges the JSON of []rangeEntry.
	Rows      string `dynamodbav:"rows,omitempty"`
	Ranges    string `dynamodbav:"ranges,omitempty"`
	Created   int64  `dynamodbav:"created"`
	Updated   int64  `dynamodbav:"updated"`
	Unchanged int64  `dynamodbav:"unchanged"`
	Failed    int64  `dynamodbav:"failed"`
}

func (b *batchRecord) counts() Counts {
	return Counts{Created: b.Created, Updated: b.Updated, Unchanged: b.Unchanged, Failed: b.Failed}
}

// rowEntry is one row's outcome in a batch record.
type rowEntry struct {
	N  int     `json:"n"`
	O  Outcome `json:"o"`
	PK string  `json:"pk,omitempty"`
	SK string  `json:"sk,omitempty"`
	V  int64   `json:"v,omitempty"`
	E  string  `json:"e,omitempty"`
	// S marks a row the scan failed: its failure item is the scan's.
	S bool `json:"s,omitempty"`
}

// rangeEntry fails the rows From..To at once (rows no batch processed).
type rangeEntry struct {
	From int    `json:"from"`
	To   int    `json:"to"`
	E    string `json:"e"`
}

// failureRow is a failed row as stored (or a range of them: LastRow).
type failureRow struct {
	PK      string `dynamodbav:"pk"`
	SK      string `dynamodbav:"sk"`
	Kind    string `dynamodbav:"kind"`
	File    int    `dynamodbav:"file"`
	Row     int    `dynamodbav:"row"`
	LastRow int    `dynamodbav:"lastRow,omitempty"`
	Reason  string `dynamodbav:"reason"`
	// Fields is the JSON of the row's values, when they fit.
	Fields string `dynamodbav:"fields,omitempty"`
	// Scan marks a row failed by the scan of step-function mode (written
	// before any batch counted it).
	Scan bool `dynamodbav:"scan,omitempty"`
}

// Attribute value helpers.
func avS(s string) types.AttributeValue       { return &types.AttributeValueMemberS{Value: s} }
func avTime(t time.Time) types.AttributeValue { return avS(core.FormatTime(t)) }
func avN(n int64) types.AttributeValue {
	return &types.AttributeValueMemberN{Value: strconv.FormatInt(n, 10)}
}

var boolTrue = types.AttributeValueMemberBOOL{Value: true}

func statusIs(s Status) core.Condition { return core.IfAttrEquals("status", avS(string(s))) }

func decodeItem[T any](it core.Item) (*T, error) {
	var v T
	if err := core.UnmarshalItem(it, &v); err != nil {
		return nil, err
	}
	return &v, nil
}
