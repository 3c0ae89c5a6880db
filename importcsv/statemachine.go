package importcsv

import (
	"errors"
	"fmt"
	"strings"

	"github.com/stepcqrs/stepcqrs/asl"
	"github.com/stepcqrs/stepcqrs/eventfactory"
)

// The import state machine imports the files of one job, one at a time
// (docs/importcsv.md):
//
//	Next ──▶ HasFile (Choice) ─file─▶ ImportRows (distributed Map over the CSV) ──▶ Next …
//	                 └─done──▶ Outcome (Choice) ─FAILED─▶ Failed (Fail ImportFailed)
//	                                           └─else──▶ Succeeded
//	Next failing after its retries ──▶ Abort ──▶ Failed
//
// The execution input is the job's keys, {"pk", "sk"}. Next ends the file
// the Map imported (if any), scans the next one (its rows, its header, the
// rows it fails at once) and returns it, or finalizes the job. The Map's
// ItemReader reads the CSV from the object store (FIRST_ROW header), its
// ItemBatcher hands MaxItemsPerBatch rows (and at most
// MaxInputBytesPerBatch) to each child execution, whose one step,
// ApplyBatch, imports them and records their outcomes; a batch that fails
// beyond its retries goes to BatchFailed, which records its rows. The
// ResultWriter writes the children's results to the object store, where
// Next finds the batches that failed even so.

// State names of the import state machine; Routes registers the steps by
// them.
const (
	StateNext        = "Next"
	StateHasFile     = "HasFile"
	StateImportRows  = "ImportRows"
	StateApplyBatch  = "ApplyBatch"
	StateBatchFailed = "BatchFailed"
	StateOutcome     = "Outcome"
	StateSucceeded   = "Succeeded"
	StateFailed      = "Failed"
	StateAbort       = "Abort"
)

// RetryableErrors are the errors a step may fail with for a passing
// reason; every step is idempotent, so retrying it is safe. TransientError
// has a Retry rule of its own, first; asl.LambdaServiceErrors are retried
// with these.
var RetryableErrors = []string{
	eventfactory.ErrorNameConditionFailed,
	"TransactionCanceledError",
	ErrorNameBusy,
	"Sandbox.Timedout",
}

// StateMachineOptions configure the import state machine definition.
type StateMachineOptions struct {
	// FunctionARN is the Lambda function (name or ARN) every task invokes:
	// the service's own Lambda. Required.
	FunctionARN string
	// DistributedExecutionType is the type of the Map's child executions:
	// asl.ExecutionStandard (default) or asl.ExecutionExpress (cheaper; a
	// batch run twice is absorbed by its idempotency).
	DistributedExecutionType string
	// ToleratedFailurePercentage is the Map's: the share of batches that
	// may fail beyond retries (their rows are recorded failed either way)
	// before the Map stops. Default DefaultToleratedFailurePercentage;
	// ToleratedFailureZero makes it 0.
	ToleratedFailurePercentage float64
	ToleratedFailureZero       bool
	// RetryMaxAttempts, RetryIntervalSeconds and RetryMaxDelaySeconds
	// shape the retries of a failed step (Lambda service errors and
	// RetryableErrors). Defaults 6, 1 and 30.
	RetryMaxAttempts     int
	RetryIntervalSeconds int
	RetryMaxDelaySeconds int
	// TransientMaxAttempts, TransientIntervalSeconds and
	// TransientMaxDelaySeconds shape the retries of a TransientError.
	// Defaults 10, 2 and 60.
	TransientMaxAttempts     int
	TransientIntervalSeconds int
	TransientMaxDelaySeconds int
	// TimeoutSeconds bounds a whole execution (0: no bound).
	TimeoutSeconds int
}

func (o StateMachineOptions) withDefaults() (StateMachineOptions, error) {
	if strings.TrimSpace(o.FunctionARN) == "" {
		return o, errors.New("importcsv: state machine: FunctionARN is required")
	}
	switch o.DistributedExecutionType {
	case "":
		o.DistributedExecutionType = asl.ExecutionStandard
	case asl.ExecutionStandard, asl.ExecutionExpress:
	default:
		return o, fmt.Errorf("importcsv: state machine: DistributedExecutionType %q is neither %s nor %s",
			o.DistributedExecutionType, asl.ExecutionStandard, asl.ExecutionExpress)
	}
	if o.ToleratedFailurePercentage < 0 || o.ToleratedFailurePercentage > 100 {
		return o, fmt.Errorf("importcsv: state machine: ToleratedFailurePercentage %v is outside 0..100", o.ToleratedFailurePercentage)
	}
	if o.ToleratedFailurePercentage == 0 && !o.ToleratedFailureZero {
		o.ToleratedFailurePercentage = DefaultToleratedFailurePercentage
	}
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&o.RetryMaxAttempts, 6)
	def(&o.RetryIntervalSeconds, 1)
	def(&o.RetryMaxDelaySeconds, 30)
	def(&o.TransientMaxAttempts, 10)
	def(&o.TransientIntervalSeconds, 2)
	def(&o.TransientMaxDelaySeconds, 60)
	return o, nil
}

// stepPayload is the Lambda payload of every step.
func stepPayload() asl.JSON { return asl.JSON{"input.$": "$", "context.$": "$$"} }

// StateMachine returns the import state machine definition, validated.
func StateMachine(opts StateMachineOptions) (*asl.StateMachine, error) {
	o, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	transient := func() *asl.RetryBuilder {
		return asl.Retry(eventfactory.ErrorNameTransient).
			IntervalSeconds(o.TransientIntervalSeconds).MaxAttempts(o.TransientMaxAttempts).
			BackoffRate(2).MaxDelaySeconds(o.TransientMaxDelaySeconds).FullJitter()
	}
	retry := func() []*asl.RetryBuilder {
		return []*asl.RetryBuilder{
			transient(),
			asl.Retry(append(append([]string{}, asl.LambdaServiceErrors...), RetryableErrors...)...).
				IntervalSeconds(o.RetryIntervalSeconds).MaxAttempts(o.RetryMaxAttempts).
				BackoffRate(2).MaxDelaySeconds(o.RetryMaxDelaySeconds).FullJitter(),
		}
	}
	lastResort := func() []*asl.RetryBuilder {
		return []*asl.RetryBuilder{transient(), asl.Retry(asl.ErrorAll).IntervalSeconds(o.RetryIntervalSeconds).
			MaxAttempts(o.RetryMaxAttempts * 2).BackoffRate(2).MaxDelaySeconds(o.RetryMaxDelaySeconds).FullJitter()}
	}
	batch := asl.Branch(StateApplyBatch).
		Add(StateApplyBatch, asl.LambdaInvoke(o.FunctionARN).
			Comment("Import one batch of rows and record each row's outcome with the file's counters.").
			Payload(stepPayload()).
			OutputPath("$.Payload").
			Retry(retry()...).
			Catch(asl.Catch(StateBatchFailed, asl.ErrorAll).ResultPath("$.error")).
			End()).
		Add(StateBatchFailed, asl.LambdaInvoke(o.FunctionARN).
			Comment("Record the batch's rows: applied by an attempt, or failed with the error that ended the step.").
			Payload(stepPayload()).
			OutputPath("$.Payload").
			Retry(lastResort()...).
			End())
	rows := asl.Map(batch).
		Comment("The rows of the file, MaxItemsPerBatch to a child execution, at most maxConcurrency at once.").
		Distributed(o.DistributedExecutionType).
		MaxConcurrencyPath("$.maxConcurrency").
		ToleratedFailurePercentage(o.ToleratedFailurePercentage).
		ItemReader(&asl.ItemReader{
			Resource:     "arn:aws:states:::s3:getObject",
			ReaderConfig: &asl.ReaderConfig{InputType: asl.InputTypeCSV, CSVHeaderLocation: asl.CSVHeaderFirstRow},
			Parameters:   []byte(`{"Bucket.$":"$.file.bucket","Key.$":"$.file.key"}`),
		}).
		ItemSelector(asl.JSON{"n.$": "$$.Map.Item.Index", "r.$": "$$.Map.Item.Value"}).
		ItemBatcher(&asl.ItemBatcher{
			MaxItemsPerBatchPath:      "$.maxItemsPerBatch",
			MaxInputBytesPerBatchPath: "$.maxInputBytesPerBatch",
			BatchInput:                []byte(`{"pk.$":"$.pk","sk.$":"$.sk","file.$":"$.file.index"}`),
		}).
		ResultWriter(&asl.ResultWriter{
			Resource:   "arn:aws:states:::s3:putObject",
			Parameters: []byte(`{"Bucket.$":"$.results.bucket","Prefix.$":"$.results.key"}`),
		}).
		ResultPath("$.map").
		Catch(asl.Catch(StateNext, asl.ErrorAll).ResultPath("$.mapError")).
		Next(StateNext)
	b := asl.NewMachine(StateNext).
		Comment("stepcqrs CSV import: the rows of each file of a job through a Distributed Map, batch by batch, every row accounted for").
		Add(StateNext, asl.LambdaInvoke(o.FunctionARN).
			Comment("End the file just imported, scan the next one (or finalize the job); the result is the next state.").
			Payload(stepPayload()).
			OutputPath("$.Payload").
			Retry(retry()...).
			Catch(asl.Catch(StateAbort, asl.ErrorAll).ResultPath("$.error")).
			Next(StateHasFile)).
		Add(StateHasFile, asl.Choice().
			When(asl.BooleanEquals("$.done", true), StateOutcome).
			Otherwise(StateImportRows)).
		Add(StateImportRows, rows).
		Add(StateOutcome, asl.Choice().
			When(asl.StringEquals("$.status", string(StatusFailed)), StateFailed).
			Otherwise(StateSucceeded)).
		Add(StateSucceeded, asl.Succeed()).
		Add(StateFailed, asl.Fail(ErrorNameImportFailed, "").CausePath("$.reason")).
		Add(StateAbort, asl.LambdaInvoke(o.FunctionARN).
			Comment("The run failed: record the job FAILED with the error, every row not imported failed with it.").
			Payload(stepPayload()).
			OutputPath("$.Payload").
			Retry(lastResort()...).
			Next(StateFailed))
	if o.TimeoutSeconds > 0 {
		b = b.TimeoutSeconds(o.TimeoutSeconds)
	}
	sm, err := b.Build()
	if err != nil {
		return nil, fmt.Errorf("importcsv: state machine: %w", err)
	}
	return sm, nil
}

// StateMachineJSON returns the import state machine definition as the
// JSON Step Functions runs (indented).
func StateMachineJSON(opts StateMachineOptions) ([]byte, error) {
	sm, err := StateMachine(opts)
	if err != nil {
		return nil, err
	}
	b, err := sm.JSON("  ")
	if err != nil {
		return nil, fmt.Errorf("importcsv: state machine: %w", err)
	}
	return b, nil
}
