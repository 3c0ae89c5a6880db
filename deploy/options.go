package deploy

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/stepcqrs/stepcqrs/command"
	"github.com/stepcqrs/stepcqrs/core"
	"github.com/stepcqrs/stepcqrs/importcsv"
	"github.com/stepcqrs/stepcqrs/task"
)

// Options describe the service whose template New builds. Only
// Config.AppName and Modules are required (or Tasks alone); everything else
// has a default.
type Options struct {
	// Config carries the service's configuration:
	//
	//   - AppName (required, lower case: it is part of the bucket's name)
	//     and Env (the default of the template's Environment parameter;
	//     default "dev"): the default prefix is "{Environment}-{AppName}-",
	//     as core.Config.Prefix;
	//   - TablePrefix: the default of the Prefix parameter (empty: derived);
	//   - the name overrides (BucketName, TaskQueueName, …): a resource
	//     whose name is overridden gets that literal name;
	//   - the settings the function reads from STEPCQRS_* variables:
	//     AttributeOffloadBytes, TTL, TenantTTL, TenantClaim, TenantHeader,
	//     TenantHeaderMode, RequireInvoke.
	//
	// Region, Endpoint and the state machine ARNs are not used: the
	// deployed function takes the region from Lambda and the ARNs from the
	// template.
	Config core.Config
	// Modules are the CQRS modules: each gets its command, data and
	// history tables, and a stream mapping of its command table.
	Modules []string
	// Description is the template's description (a default names the
	// application).
	Description string

	Function      Function
	Tables        Tables
	Tasks         Tasks
	Imports       Imports
	Notifications Notifications
	Streams       StreamMapping
	StateMachines StateMachines
	Sweep         Sweep

	// Extensions add the resources of capabilities the template does not
	// know by itself (see Extension).
	Extensions []Extension
}

// Architectures of the function.
const (
	ArchARM64 = "arm64"
	ArchX8664 = "x86_64"
)

// Function configures the service's Lambda function: one binary for
// every event source (see package eventfactory), on the provided.al2023
// runtime.
type Function struct {
	// Name of the function; default "{prefix}function".
	Name string
	// Code is where the deployment package comes from.
	Code Code
	// Architecture is ArchARM64 (default) or ArchX8664; build the package
	// for the same one (Package's Arch).
	Architecture string
	// MemoryMB, default 512.
	MemoryMB int
	// Timeout of one invocation, default 60 s (at most 15 minutes).
	Timeout time.Duration
	// ReservedConcurrency reserves (and caps) the function's concurrency;
	// 0 leaves it unreserved.
	ReservedConcurrency int
	// Tracing turns on active X-Ray tracing (and grants the role
	// xray:PutTraceSegments and xray:PutTelemetryRecords).
	Tracing bool
	// LogRetentionDays of the function's log group, default 30.
	LogRetentionDays int
	// Environment holds extra variables of the function (DATABASE_URL, …).
	// STEPCQRS_* names are set by the template and cannot be given here.
	Environment map[string]string
}

// Code is the function's deployment package (a zip holding the
// executable "bootstrap", see Package): a local path or an S3 object. With
// neither, the template has parameters CodeS3Bucket and CodeS3Key.
type Code struct {
	// Path of the zip. The template then names the file as the function's
	// Code, which `aws cloudformation package` and `sam deploy` upload to
	// S3 and replace by its location; deploy that output.
	Path string
	// S3Bucket, S3Key and S3ObjectVersion (optional) of an uploaded zip.
	S3Bucket, S3Key, S3ObjectVersion string
}

// Tables configures every DynamoDB table of the template.
type Tables struct {
	// CommandStreamView is the stream view of the command tables:
	// "NEW_AND_OLD_IMAGES" (default) or "NEW_IMAGE". The command flow
	// reads the new image of INSERT records only; the old image costs
	// nothing extra to a mapping filtered to INSERT and serves other
	// consumers of the stream.
	CommandStreamView string
	// PointInTimeRecovery turns on continuous backups of every table.
	PointInTimeRecovery bool
	// DeleteWithStack deletes the tables and the bucket with the stack.
	// By default they are retained (DeletionPolicy and
	// UpdateReplacePolicy Retain): a deleted stack leaves its data.
	DeleteWithStack bool
}

// Tasks configures the task capability (package task): the tasks table,
// the task queue and its dead-letter queue, and the task state machine.
type Tasks struct {
	// Disabled leaves the task capability out.
	Disabled bool
	// Settings are the task.Settings the service runs with: the queue's
	// redrive policy takes MaxReceiveCount and its visibility timeout is
	// Lease (both after task's defaults); Lease must be at least the
	// function's timeout.
	Settings task.Settings
	// StateMachine shapes the task state machine; FunctionARN is set by the
	// template.
	StateMachine task.StateMachineOptions
	// QueueBatchSize of the task queue's mapping, default 10.
	QueueBatchSize int
	// MaxConcurrency caps the concurrent invocations of the task queue's
	// mapping (2..1000; 0: no cap).
	MaxConcurrency int
}

// Imports configures the CSV import capability (package importcsv): the
// import table, the import state machine and the import sweep. It is off
// unless Enabled, and needs at least one CQRS module (imports publish
// into modules).
type Imports struct {
	// Enabled adds the capability.
	Enabled bool
	// StateMachine shapes the import state machine; FunctionARN is set by
	// the template.
	StateMachine importcsv.StateMachineOptions
}

// The notification actions of the framework (the "action" message
// attribute of the notification topic's messages).
const (
	// ActionCommandStatus is command.ActionCommandStatus.
	ActionCommandStatus = command.ActionCommandStatus
	// ActionTaskStatus is task.ActionTaskStatus.
	ActionTaskStatus = task.ActionTaskStatus
	// ActionSubTaskStatus is task.ActionSubTaskStatus.
	ActionSubTaskStatus = task.ActionSubTaskStatus
)

// Notifications configures the notification topic's subscription: the
// notification queue receives the topic's messages whose "action"
// attribute is one of Actions, without the SNS envelope.
type Notifications struct {
	// Actions filter the subscription; default ActionCommandStatus and
	// ActionTaskStatus (sub-task notifications, one per sub-task, are left
	// out unless named).
	Actions []string
	// Consume maps the notification queue to the function: set it when
	// the service routes that queue (eventfactory.OnSQS with
	// core.Config.NotificationQueue).
	Consume bool
	// MaxReceiveCount of the notification queue's redrive policy to its
	// dead-letter queue, default 5.
	MaxReceiveCount int
}

// StreamMapping configures the event source mappings of the command and
// tasks tables' streams. Both report batch item failures and are filtered
// (the command tables to INSERT, the tasks table to
// task.StreamFilterCriteria); records that still fail after
// MaximumRetryAttempts or MaximumRecordAgeSeconds go to the stream
// failure queue ({prefix}stream-failures) and are recovered by the sweeps.
type StreamMapping struct {
	// BatchSize, default 100.
	BatchSize int
	// MaximumRetryAttempts, default 10 (-1: until the record expires).
	MaximumRetryAttempts int
	// MaximumRecordAgeSeconds, default 86400 (-1: until it expires from
	// the stream).
	MaximumRecordAgeSeconds int
	// ParallelizationFactor, default 1: records of one item keep their
	// order whatever the factor, since Lambda hashes by partition key.
	ParallelizationFactor int
	// NoBisect turns off splitting a failing batch in two before retrying.
	NoBisect bool
}

// StateMachines configures the state machines of the framework.
type StateMachines struct {
	// Command shapes the command state machine; FunctionARN is set by the
	// template.
	Command command.StateMachineOptions
	// LogLevel of the executions' logs: "ALL", "ERROR" (default), "FATAL"
	// or "OFF" (no log group).
	LogLevel string
	// IncludeExecutionData logs states' input and output.
	IncludeExecutionData bool
	// Tracing turns on X-Ray tracing of the executions.
	Tracing bool
	// LogRetentionDays of the state machines' log groups, default 30.
	LogRetentionDays int
}

// Sweep configures the schedules (EventBridge rules) that run the command
// and task sweeps (command.Sweep, task.Service.Sweep).
type Sweep struct {
	// Disabled leaves the schedules out.
	Disabled bool
	// Schedule is the rules' schedule expression, default
	// "rate(5 minutes)".
	Schedule string
	// CommandOlderThanSeconds is the command sweep's olderThanSeconds
	// (command.SweepEvent); 0 uses command.DefaultSweepAge.
	CommandOlderThanSeconds int
}

// Errors of New.
var (
	// ErrOptions matches every problem of Options (with errors.Is).
	ErrOptions = errors.New("deploy: invalid options")
)

// OptionsError lists every problem New found in its Options.
type OptionsError struct {
	Problems []string
}

// Error implements error.
func (e *OptionsError) Error() string {
	return "deploy: invalid options: " + strings.Join(e.Problems, "; ")
}

// Is makes errors.Is(err, ErrOptions) true.
func (e *OptionsError) Is(target error) bool { return target == ErrOptions }

// Lowercase names: the bucket's name is derived from the prefix, and S3
// bucket names are lower case.
var (
	envPattern    = `^[a-z0-9][a-z0-9-]*$`
	prefixPattern = `^([a-z0-9][a-z0-9.-]*)?$`
	envRE         = regexp.MustCompile(envPattern)
	prefixRE      = regexp.MustCompile(prefixPattern)
	logLevels     = []string{"ALL", "ERROR", "FATAL", "OFF"}
)

// withDefaults checks o and fills in its defaults.
func (o Options) withDefaults() (Options, error) {
	var p []string
	add := func(format string, args ...any) { p = append(p, fmt.Sprintf(format, args...)) }
	c := &o.Config
	if c.Env == "" {
		c.Env = "dev"
	}
	switch {
	case c.AppName == "":
		add("Config.AppName is required")
	case !envRE.MatchString(c.AppName):
		add("Config.AppName %q: lower-case letters, digits and '-' only (it names the bucket)", c.AppName)
	}
	if !envRE.MatchString(c.Env) {
		add("Config.Env %q: lower-case letters, digits and '-' only", c.Env)
	}
	if !prefixRE.MatchString(c.TablePrefix) {
		add("Config.TablePrefix %q: lower-case letters, digits, '.' and '-' only", c.TablePrefix)
	}
	if len(p) == 0 {
		if err := c.Validate(); err != nil {
			add("Config: %v", err)
		}
	}
	if len(o.Modules) == 0 && o.Tasks.Disabled {
		add("no module and tasks disabled: nothing to deploy")
	}
	seen := map[string]bool{}
	for _, m := range o.Modules {
		if seen[m] {
			add("module %q given twice", m)
		}
		seen[m] = true
		if err := c.ValidateModule(m); err != nil {
			add("%v", err)
		}
	}

	f := &o.Function
	switch f.Architecture {
	case "":
		f.Architecture = ArchARM64
	case ArchARM64, ArchX8664:
	default:
		add("Function.Architecture %q: want %s or %s", f.Architecture, ArchARM64, ArchX8664)
	}
	if f.MemoryMB == 0 {
		f.MemoryMB = 512
	}
	if f.MemoryMB < 128 || f.MemoryMB > 10240 {
		add("Function.MemoryMB %d: outside 128..10240", f.MemoryMB)
	}
	if f.Timeout == 0 {
		f.Timeout = time.Minute
	}
	if f.Timeout < time.Second || f.Timeout > 15*time.Minute || f.Timeout%time.Second != 0 {
		add("Function.Timeout %s: whole seconds in 1s..15m", f.Timeout)
	}
	if f.ReservedConcurrency < 0 {
		add("Function.ReservedConcurrency %d is negative", f.ReservedConcurrency)
	}
	if f.LogRetentionDays == 0 {
		f.LogRetentionDays = 30
	}
	for k := range f.Environment {
		if strings.HasPrefix(k, "STEPCQRS_") {
			add("Function.Environment %s: STEPCQRS_* variables are set by the template", k)
		}
	}
	code := f.Code
	if code.Path != "" && (code.S3Bucket != "" || code.S3Key != "") {
		add("Function.Code: Path and S3Bucket/S3Key exclude each other")
	}
	if (code.S3Bucket == "") != (code.S3Key == "") {
		add("Function.Code: S3Bucket and S3Key go together")
	}

	switch o.Tables.CommandStreamView {
	case "":
		o.Tables.CommandStreamView = "NEW_AND_OLD_IMAGES"
	case "NEW_AND_OLD_IMAGES", "NEW_IMAGE":
	default:
		add("Tables.CommandStreamView %q: want NEW_AND_OLD_IMAGES or NEW_IMAGE (the command flow reads the new image)", o.Tables.CommandStreamView)
	}

	t := &o.Tasks
	if !t.Disabled {
		s := &t.Settings
		if s.MaxReceiveCount == 0 {
			s.MaxReceiveCount = task.DefaultMaxReceiveCount
		}
		if s.Lease == 0 {
			s.Lease = task.DefaultLease
		}
		if s.MaxReceiveCount < 1 || s.MaxReceiveCount > 1000 {
			add("Tasks.Settings.MaxReceiveCount %d: outside 1..1000", s.MaxReceiveCount)
		}
		if s.Lease%time.Second != 0 || s.Lease > 12*time.Hour || s.Lease < 0 {
			add("Tasks.Settings.Lease %s: whole seconds up to 12h (it is the task queue's visibility timeout)", s.Lease)
		}
		if s.Lease < f.Timeout {
			add("Tasks.Settings.Lease %s is shorter than Function.Timeout %s: a running task could be taken over", s.Lease, f.Timeout)
		}
		if t.QueueBatchSize == 0 {
			t.QueueBatchSize = 10
		}
		if t.QueueBatchSize < 1 || t.QueueBatchSize > 10000 {
			add("Tasks.QueueBatchSize %d: outside 1..10000", t.QueueBatchSize)
		}
		if t.MaxConcurrency != 0 && (t.MaxConcurrency < 2 || t.MaxConcurrency > 1000) {
			add("Tasks.MaxConcurrency %d: outside 2..1000 (0: no cap)", t.MaxConcurrency)
		}
	}

	n := &o.Notifications
	if n.Actions == nil {
		n.Actions = []string{ActionCommandStatus}
		if !o.Tasks.Disabled {
			n.Actions = append(n.Actions, ActionTaskStatus)
		}
	}
	if len(n.Actions) == 0 {
		add("Notifications.Actions is empty: the subscription would receive nothing")
	}
	if n.MaxReceiveCount == 0 {
		n.MaxReceiveCount = 5
	}
	if n.MaxReceiveCount < 1 || n.MaxReceiveCount > 1000 {
		add("Notifications.MaxReceiveCount %d: outside 1..1000", n.MaxReceiveCount)
	}

	s := &o.Streams
	if s.BatchSize == 0 {
		s.BatchSize = 100
	}
	if s.BatchSize < 1 || s.BatchSize > 10000 {
		add("Streams.BatchSize %d: outside 1..10000", s.BatchSize)
	}
	if s.MaximumRetryAttempts == 0 {
		s.MaximumRetryAttempts = 10
	}
	if s.MaximumRetryAttempts < -1 || s.MaximumRetryAttempts > 10000 {
		add("Streams.MaximumRetryAttempts %d: outside -1..10000", s.MaximumRetryAttempts)
	}
	if s.MaximumRecordAgeSeconds == 0 {
		s.MaximumRecordAgeSeconds = 86400
	}
	if s.MaximumRecordAgeSeconds != -1 && (s.MaximumRecordAgeSeconds < 60 || s.MaximumRecordAgeSeconds > 604800) {
		add("Streams.MaximumRecordAgeSeconds %d: -1 or 60..604800", s.MaximumRecordAgeSeconds)
	}
	if s.ParallelizationFactor == 0 {
		s.ParallelizationFactor = 1
	}
	if s.ParallelizationFactor < 1 || s.ParallelizationFactor > 10 {
		add("Streams.ParallelizationFactor %d: outside 1..10", s.ParallelizationFactor)
	}

	sm := &o.StateMachines
	if sm.LogLevel == "" {
		sm.LogLevel = "ERROR"
	}
	if !slices.Contains(logLevels, sm.LogLevel) {
		add("StateMachines.LogLevel %q: want one of %v", sm.LogLevel, logLevels)
	}
	if sm.LogRetentionDays == 0 {
		sm.LogRetentionDays = 30
	}
	if !validRetention(f.LogRetentionDays) {
		add("Function.LogRetentionDays %d is not a CloudWatch Logs retention", f.LogRetentionDays)
	}
	if !validRetention(sm.LogRetentionDays) {
		add("StateMachines.LogRetentionDays %d is not a CloudWatch Logs retention", sm.LogRetentionDays)
	}

	if o.Sweep.Schedule == "" {
		o.Sweep.Schedule = "rate(5 minutes)"
	}
	if !strings.HasPrefix(o.Sweep.Schedule, "rate(") && !strings.HasPrefix(o.Sweep.Schedule, "cron(") {
		add("Sweep.Schedule %q: want rate(...) or cron(...)", o.Sweep.Schedule)
	}
	if o.Sweep.CommandOlderThanSeconds < 0 {
		add("Sweep.CommandOlderThanSeconds %d is negative", o.Sweep.CommandOlderThanSeconds)
	}
	if o.Description == "" {
		o.Description = "stepcqrs service " + c.AppName + ": tables, queues, topics, bucket, state machines and the Lambda function"
	}
	if len(p) > 0 {
		return o, &OptionsError{Problems: p}
	}
	return o, nil
}

// validRetention reports whether days is a retention CloudWatch Logs
// accepts.
func validRetention(days int) bool {
	return slices.Contains([]int{1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653}, days)
}
