package deploy

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"unicode"

	"github.com/awslabs/goformation/v7/cloudformation/events"
	"github.com/awslabs/goformation/v7/cloudformation/lambda"
	"github.com/awslabs/goformation/v7/cloudformation/logs"
	"github.com/awslabs/goformation/v7/cloudformation/policies"
	"github.com/awslabs/goformation/v7/cloudformation/s3"
	"github.com/awslabs/goformation/v7/cloudformation/sns"
	"github.com/awslabs/goformation/v7/cloudformation/sqs"
	"github.com/awslabs/goformation/v7/intrinsics"
	"gopkg.in/yaml.v3"

	"github.com/stepcqrs/stepcqrs/command"
	"github.com/stepcqrs/stepcqrs/core"
	"github.com/stepcqrs/stepcqrs/importcsv"
	"github.com/stepcqrs/stepcqrs/task"
)

// Parameters, conditions and logical IDs the template always has.
const (
	paramEnvironment  = "Environment"
	paramPrefix       = "Prefix"
	paramCodeBucket   = "CodeS3Bucket"
	paramCodeKey      = "CodeS3Key"
	condDerivedPrefix = "DerivedPrefix"

	functionID     = "Function"
	functionRoleID = "FunctionRole"
	functionLogsID = "FunctionLogGroup"

	// RoleFunction is the Permission.Role of the function's execution
	// role.
	RoleFunction = "function"
	// RoleCommandStateMachine, RoleTaskStateMachine and
	// RoleImportStateMachine are the Permission.Role of the state
	// machines' roles.
	RoleCommandStateMachine = "command state machine"
	RoleTaskStateMachine    = "task state machine"
	RoleImportStateMachine  = "import state machine"
)

// Extension adds the resources of a capability the template does not
// build by itself (the framework's own — commands, tasks, CSV imports —
// it builds from Options): tables (AddTable), queues, state machines
// (AddStateMachine with an exported definition), variables of the
// function (SetEnv) and permissions (Grant). Extensions run after the framework's resources exist and before the
// function and the roles are rendered, so that what they grant and set
// lands in them.
type Extension interface {
	// Name names the extension in errors.
	Name() string
	// Apply adds the extension's resources.
	Apply(b *Builder) error
}

// Template is a service's CloudFormation template.
type Template struct {
	doc      document
	codePath string
	perms    []Permission
}

type document struct {
	AWSTemplateFormatVersion string               `json:"AWSTemplateFormatVersion"`
	Description              string               `json:"Description,omitempty"`
	Parameters               map[string]parameter `json:"Parameters,omitempty"`
	Conditions               map[string]any       `json:"Conditions,omitempty"`
	Resources                map[string]Resource  `json:"Resources"`
	Outputs                  map[string]output    `json:"Outputs,omitempty"`
}

// New builds the template of the service o describes. The error is an
// *OptionsError (matching ErrOptions) for every problem of o at once, or
// the error of a definition or an extension.
func New(o Options) (*Template, error) {
	o, err := o.withDefaults()
	if err != nil {
		return nil, err
	}
	b := &Builder{
		o:         o,
		resources: map[string]Resource{},
		params:    map[string]parameter{},
		conds:     map[string]any{},
		outputs:   map[string]output{},
		env:       map[string]string{},
		roleOf:    map[string]string{RoleFunction: functionRoleID},
	}
	if err := b.build(); err != nil {
		return nil, err
	}
	return &Template{
		doc: document{
			AWSTemplateFormatVersion: "2010-09-09",
			Description:              o.Description,
			Parameters:               b.params,
			Conditions:               b.conds,
			Resources:                b.resources,
			Outputs:                  b.outputs,
		},
		codePath: b.codePath,
		perms:    b.perms,
	}, nil
}

// logicalName turns a module name into a logical ID part: "order-line"
// → "OrderLine".
func logicalName(module string) string {
	var sb strings.Builder
	up := true
	for _, r := range module {
		if !unicode.IsLetter(r) && !unicode.IsDigit(r) || r > unicode.MaxASCII {
			up = true
			continue
		}
		if up {
			r = unicode.ToUpper(r)
		}
		up = false
		sb.WriteRune(r)
	}
	return sb.String()
}

func (b *Builder) build() error {
	o := b.o
	c := o.Config
	b.params[paramEnvironment] = parameter{Type: "String", Default: ptr(c.Env), AllowedPattern: envPattern,
		Description: "Deployment stage (STEPCQRS_ENV); part of the default name prefix"}
	b.params[paramPrefix] = parameter{Type: "String", Default: ptr(c.TablePrefix), AllowedPattern: prefixPattern,
		Description: "Prefix of every resource name (STEPCQRS_TABLE_PREFIX); empty: {Environment}-" + c.AppName + "-"}
	b.conds[condDerivedPrefix] = encode("Fn::Equals", []any{ref(paramPrefix), ""})

	// Shared resources: bucket, topics, notification queue, stream
	// failure queue.
	bucket := &s3.Bucket{
		BucketName: ptr(b.nameOr(c.BucketName, "")),
		PublicAccessBlockConfiguration: &s3.Bucket_PublicAccessBlockConfiguration{
			BlockPublicAcls: ptr(true), BlockPublicPolicy: ptr(true), IgnorePublicAcls: ptr(true), RestrictPublicBuckets: ptr(true),
		},
		BucketEncryption: &s3.Bucket_BucketEncryption{ServerSideEncryptionConfiguration: []s3.Bucket_ServerSideEncryptionRule{
			{ServerSideEncryptionByDefault: &s3.Bucket_ServerSideEncryptionByDefault{SSEAlgorithm: "AES256"}},
		}},
	}
	if c.BucketName == "" {
		// S3 bucket names are global: the account and region make the
		// default one unique.
		bucket.BucketName = ptr(join(b.Prefix(), sub("objects-${AWS::AccountId}-${AWS::Region}")))
	}
	if !o.Tables.DeleteWithStack {
		bucket.AWSCloudFormationDeletionPolicy = policies.DeletionPolicy("Retain")
		bucket.AWSCloudFormationUpdateReplacePolicy = policies.UpdateReplacePolicy("Retain")
	}
	if err := b.Add("Bucket", bucket); err != nil {
		return err
	}
	bucketARN := getAtt("Bucket", "Arn")
	objects := []PolicyResource{{Value: join(bucketARN, "/*"), Text: "objects of the bucket"}}

	if err := b.Add("NotificationTopic", &sns.Topic{TopicName: ptr(b.nameOr(c.NotificationTopicName, "notification"))}); err != nil {
		return err
	}
	if err := b.Add("AlarmTopic", &sns.Topic{TopicName: ptr(b.nameOr(c.AlarmTopicName, "alarm"))}); err != nil {
		return err
	}
	notifName := b.nameOr(c.NotificationQueueName, "notification-queue")
	notif, err := b.AddQueue("NotificationQueue", QueueSpec{Name: notifName, DLQName: join(notifName, "-dlq"),
		MaxReceiveCount: o.Notifications.MaxReceiveCount})
	if err != nil {
		return err
	}
	if err := b.subscribe(notif); err != nil {
		return err
	}
	failures, err := b.AddQueue("StreamFailureQueue", QueueSpec{Name: b.Name("stream-failures")})
	if err != nil {
		return err
	}

	// The function's environment: every name core.ConfigFromEnv reads.
	b.setEnv(c)

	// CQRS modules.
	if len(o.Modules) > 0 {
		if err := b.commandCapability(failures, objects); err != nil {
			return err
		}
	}
	if !o.Tasks.Disabled {
		if err := b.taskCapability(failures, objects, bucketARN); err != nil {
			return err
		}
	}
	if o.Imports.Enabled {
		if err := b.importCapability(objects); err != nil {
			return err
		}
	}
	for _, e := range o.Extensions {
		if err := e.Apply(b); err != nil {
			return fmt.Errorf("deploy: extension %s: %w", e.Name(), err)
		}
	}
	b.sharedGrants(notif, failures)
	if err := b.function(); err != nil {
		return err
	}
	b.Output("FunctionName", "the service function", ref(functionID))
	b.Output("FunctionArn", "the service function's ARN", b.FunctionARN())
	b.Output("NamePrefix", "the prefix of every name (STEPCQRS_TABLE_PREFIX): tables are {prefix}{module}-command, -data, -history", b.Prefix())
	b.Output("BucketName", "objects: offloaded attributes, task manifests", ref("Bucket"))
	b.Output("NotificationTopicArn", "notifications of settled commands and tasks", ref("NotificationTopic"))
	b.Output("AlarmTopicArn", "the alarm topic", ref("AlarmTopic"))
	b.Output("NotificationQueueUrl", "the filtered subscription of the notification topic", notif.URL)
	b.Output("StreamFailureQueueUrl", "stream records that failed beyond their retries", failures.URL)
	return nil
}

// setEnv sets the STEPCQRS_* variables of the function from c and the
// template's names (see Environment for the same from a core.Config).
func (b *Builder) setEnv(c core.Config) {
	for _, v := range envVars(templateNames{b}, c, !b.o.Tasks.Disabled) {
		b.env[v.name] = v.value
	}
}

// subscribe subscribes the notification queue to the notification topic,
// filtered on the "action" message attribute, and lets the topic send to
// the queue.
func (b *Builder) subscribe(q QueueRef) error {
	n := b.o.Notifications
	if err := b.Add("NotificationSubscription", &sns.Subscription{
		TopicArn:           ref("NotificationTopic"),
		Protocol:           "sqs",
		Endpoint:           ptr(q.ARN),
		RawMessageDelivery: ptr(true),
		FilterPolicyScope:  ptr("MessageAttributes"),
		FilterPolicy:       map[string]any{"action": n.Actions},
	}); err != nil {
		return err
	}
	return b.Add("NotificationQueuePolicy", &sqs.QueuePolicy{
		Queues: []string{q.URL},
		PolicyDocument: map[string]any{
			"Version": "2012-10-17",
			"Statement": []map[string]any{{
				"Sid":       "TopicSends",
				"Effect":    "Allow",
				"Principal": map[string]any{"Service": "sns.amazonaws.com"},
				"Action":    "sqs:SendMessage",
				"Resource":  q.ARN,
				"Condition": map[string]any{"ArnEquals": map[string]any{"aws:SourceArn": ref("NotificationTopic")}},
			}},
		},
	})
}

// streamMapping maps a table's stream to the function.
func (b *Builder) streamMapping(logicalID, streamARN, pattern string, failures QueueRef) error {
	s := b.o.Streams
	return b.Add(logicalID, &lambda.EventSourceMapping{
		FunctionName:               ref(functionID),
		EventSourceArn:             ptr(streamARN),
		StartingPosition:           ptr("TRIM_HORIZON"),
		BatchSize:                  ptr(s.BatchSize),
		FilterCriteria:             &lambda.EventSourceMapping_FilterCriteria{Filters: []lambda.EventSourceMapping_Filter{{Pattern: ptr(pattern)}}},
		FunctionResponseTypes:      []string{"ReportBatchItemFailures"},
		BisectBatchOnFunctionError: ptr(!s.NoBisect),
		MaximumRetryAttempts:       ptr(s.MaximumRetryAttempts),
		MaximumRecordAgeInSeconds:  ptr(s.MaximumRecordAgeSeconds),
		ParallelizationFactor:      ptr(s.ParallelizationFactor),
		DestinationConfig: &lambda.EventSourceMapping_DestinationConfig{
			OnFailure: &lambda.EventSourceMapping_OnFailure{Destination: ptr(failures.ARN)},
		},
	})
}

// queueMapping maps a queue to the function.
func (b *Builder) queueMapping(logicalID string, q QueueRef, batch, maxConcurrency int) error {
	m := &lambda.EventSourceMapping{
		FunctionName:          ref(functionID),
		EventSourceArn:        ptr(q.ARN),
		BatchSize:             ptr(batch),
		FunctionResponseTypes: []string{"ReportBatchItemFailures"},
	}
	if batch > 10 {
		m.MaximumBatchingWindowInSeconds = ptr(1) // required above 10 messages
	}
	if maxConcurrency > 0 {
		m.ScalingConfig = &lambda.EventSourceMapping_ScalingConfig{MaximumConcurrency: ptr(maxConcurrency)}
	}
	return b.Add(logicalID, m)
}

// commandCapability adds the tables of every module, their stream
// mappings, the command state machine and the command sweep.
func (b *Builder) commandCapability(failures QueueRef, objects []PolicyResource) error {
	o := b.o
	var tables, streams, indexes []PolicyResource
	for _, m := range o.Modules {
		id := logicalName(m)
		kinds := []struct {
			suffix, kind string
			spec         TableSpec
		}{
			{"CommandTable", "command", TableSpec{StreamView: o.Tables.CommandStreamView, TTL: true, Indexes: []core.Index{command.UnsettledIndex}}},
			{"DataTable", "data", TableSpec{TTL: true}},
			{"HistoryTable", "history", TableSpec{TTL: true}},
		}
		for _, k := range kinds {
			k.spec.Name = b.Name(m + "-" + k.kind)
			t, err := b.AddTable(id+k.suffix, k.spec)
			if err != nil {
				return err
			}
			text := "table {prefix}" + m + "-" + k.kind
			tables = append(tables, PolicyResource{Value: t.ARN, Text: text})
			if k.kind == "data" {
				b.dataTables = append(b.dataTables, PolicyResource{Value: t.ARN, Text: text})
			}
			if k.kind == "command" {
				streams = append(streams, PolicyResource{Value: join(t.ARN, "/stream/*"), Text: "stream of " + text})
				indexes = append(indexes, PolicyResource{Value: join(t.ARN, "/index/"+command.UnsettledIndex.Name), Text: "index " + command.UnsettledIndex.Name + " of " + text})
				if err := b.streamMapping(id+"CommandStream", t.StreamARN, command.StreamFilterCriteria, failures); err != nil {
					return err
				}
			}
		}
	}
	sm, err := b.AddStateMachine("CommandStateMachine", StateMachineSpec{
		Name: b.Name("command"),
		Role: RoleCommandStateMachine,
		Definition: func(fn string) ([]byte, error) {
			opts := o.StateMachines.Command
			opts.FunctionARN = fn
			return command.StateMachineJSON(opts)
		},
	})
	if err != nil {
		return err
	}
	b.env["STEPCQRS_COMMAND_STATE_MACHINE_ARN"] = sm.ARN
	b.Output("CommandStateMachineArn", "the command state machine", sm.ARN)

	b.Grant(RoleFunction, "ModuleTables", []string{"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query", "dynamodb:UpdateItem"}, tables,
		"command.Service: publish (PutItem, conditioned; in TransactWriteItems, which IAM checks per item action), read back with ConsistentRead (GetItem), the latest version and listings (Query), status and wait token (UpdateItem); the Apply transaction puts data and history rows and updates command rows")
	b.Grant(RoleFunction, "UnsettledIndex", []string{"dynamodb:Query"}, indexes,
		"command.Sweep queries command.UnsettledIndex")
	b.Grant(RoleFunction, "CommandStreams", []string{"dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator"}, streams,
		"the event source mappings read the command tables' streams with the function's role")
	b.Grant(RoleFunction, "CommandExecutions", []string{"states:StartExecution"}, []PolicyResource{{Value: sm.ARN, Text: "state machine {prefix}command"}},
		"the command stream route starts one execution per command; Apply and the sweep restart lost ones")
	b.Grant(RoleFunction, "DescribeCommandExecutions", []string{"states:DescribeExecution"},
		[]PolicyResource{{Value: join(sub("arn:${AWS::Partition}:states:${AWS::Region}:${AWS::AccountId}:execution:"), sm.Name, ":*"), Text: "executions of {prefix}command"}},
		"Apply (after a wait timed out) and the sweep check whether a predecessor's execution still runs")
	b.Grant(RoleFunction, "CommandTaskTokens", []string{"states:SendTaskFailure", "states:SendTaskHeartbeat", "states:SendTaskSuccess"},
		[]PolicyResource{{Value: sm.ARN, Text: "state machine {prefix}command"}},
		"Finish, MarkFailed and Wait resume a waiting successor with SendTaskSuccess; SendTaskFailure and SendTaskHeartbeat complete the task-token set of core.Workflows (granted together, as CDK's grantTaskResponse does)")
	_ = objects
	if !o.Sweep.Disabled {
		detail := map[string]any{}
		if o.Sweep.CommandOlderThanSeconds > 0 {
			detail["olderThanSeconds"] = o.Sweep.CommandOlderThanSeconds
		}
		if err := b.sweepRule("CommandSweep", "command-sweep", command.SweepEventSource, command.SweepEventDetailType, detail); err != nil {
			return err
		}
	}
	return nil
}

// taskCapability adds the tasks table, its stream mapping, the task queue
// and its DLQ and mapping, the task state machine and the task sweep.
// importCapability adds the import table, the import state machine and
// the import sweep, and what the function and the machine need of them.
func (b *Builder) importCapability(objects []PolicyResource) error {
	o := b.o
	if len(o.Modules) == 0 {
		return &OptionsError{Problems: []string{"Imports.Enabled needs at least one module (imports publish into modules)"}}
	}
	t, err := b.AddTable("ImportTable", TableSpec{Name: b.Name(core.ImportTableName), TTL: true, Indexes: []core.Index{importcsv.UnsettledIndex}})
	if err != nil {
		return err
	}
	sm, err := b.AddStateMachine("ImportStateMachine", StateMachineSpec{
		Name: b.Name("import"),
		Role: RoleImportStateMachine,
		Definition: func(fn string) ([]byte, error) {
			opts := o.Imports.StateMachine
			opts.FunctionARN = fn
			return importcsv.StateMachineJSON(opts)
		},
	})
	if err != nil {
		return err
	}
	b.env["STEPCQRS_IMPORT_STATE_MACHINE_ARN"] = sm.ARN
	b.Output("ImportStateMachineArn", "the CSV import state machine", sm.ARN)
	b.Output("ImportTableName", "the import table", t.Name)

	executions := join(sub("arn:${AWS::Partition}:states:${AWS::Region}:${AWS::AccountId}:execution:"), sm.Name)
	b.Grant(RoleImportStateMachine, "DistributedMapChildren", []string{"states:StartExecution"},
		[]PolicyResource{{Value: sm.ARN, Text: "state machine {prefix}import (itself)"}},
		"the distributed Map starts its child executions as executions of the machine itself")
	b.Grant(RoleImportStateMachine, "DistributedMapRuns", []string{"states:DescribeExecution", "states:StopExecution"},
		[]PolicyResource{{Value: join(executions, "/*"), Text: "map-run child executions of {prefix}import"}},
		"the distributed Map follows and, when the run fails, stops its child executions")
	b.Grant(RoleImportStateMachine, "ImportFiles", []string{"s3:AbortMultipartUpload", "s3:GetObject", "s3:ListMultipartUploadParts", "s3:PutObject"}, objects,
		"the distributed Map's ItemReader reads the CSV (GetObject); its ResultWriter writes the results (PutObject, in parts)")

	b.Grant(RoleFunction, "ImportReadsData", []string{"dynamodb:BatchGetItem"}, b.dataTables,
		"importcsv reads the existing data rows of a batch of rows in one BatchGetItem, to compare them")
	b.Grant(RoleFunction, "ImportTable", []string{"dynamodb:BatchWriteItem", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query", "dynamodb:UpdateItem"},
		[]PolicyResource{{Value: t.ARN, Text: "table {prefix}import"}},
		"importcsv.Service: jobs and files (PutItem, GetItem, UpdateItem, also inside TransactWriteItems with the counters), outcomes and failed rows (BatchWriteItem, Query)")
	b.Grant(RoleFunction, "ImportIndex", []string{"dynamodb:Query"},
		[]PolicyResource{{Value: join(t.ARN, "/index/"+importcsv.UnsettledIndex.Name), Text: "index " + importcsv.UnsettledIndex.Name + " of table {prefix}import"}},
		"the import sweep queries importcsv.UnsettledIndex")
	b.Grant(RoleFunction, "ImportExecutions", []string{"states:StartExecution"}, []PolicyResource{{Value: sm.ARN, Text: "state machine {prefix}import"}},
		"importcsv.Service.Import starts a job's execution; the sweep restarts a lost one")
	b.Grant(RoleFunction, "DescribeImportExecutions", []string{"states:DescribeExecution"},
		[]PolicyResource{{Value: join(executions, ":*"), Text: "executions of {prefix}import"}},
		"the import sweep checks whether a job's execution still runs")
	if !o.Sweep.Disabled {
		if err := b.sweepRule("ImportSweep", "import-sweep", importcsv.SweepEventSource, importcsv.SweepEventDetailType, map[string]any{}); err != nil {
			return err
		}
	}
	return nil
}

func (b *Builder) taskCapability(failures QueueRef, objects []PolicyResource, bucketARN string) error {
	o := b.o
	t, err := b.AddTable("TasksTable", TableSpec{Name: b.Name("tasks"), StreamView: "NEW_IMAGE", TTL: true, Indexes: []core.Index{task.UnsettledIndex}})
	if err != nil {
		return err
	}
	if err := b.streamMapping("TasksStream", t.StreamARN, task.StreamFilterCriteria, failures); err != nil {
		return err
	}
	c := o.Config
	q, err := b.AddQueue("TaskQueue", QueueSpec{
		Name:                     b.nameOr(c.TaskQueueName, "task-queue"),
		DLQName:                  b.nameOr(c.TaskDLQName, "task-dlq"),
		MaxReceiveCount:          o.Tasks.Settings.MaxReceiveCount,
		VisibilityTimeoutSeconds: int(o.Tasks.Settings.Lease.Seconds()),
	})
	if err != nil {
		return err
	}
	if err := b.queueMapping("TaskQueueMapping", q, o.Tasks.QueueBatchSize, o.Tasks.MaxConcurrency); err != nil {
		return err
	}
	sm, err := b.AddStateMachine("TaskStateMachine", StateMachineSpec{
		Name: b.Name("task"),
		Role: RoleTaskStateMachine,
		Definition: func(fn string) ([]byte, error) {
			opts := o.Tasks.StateMachine
			opts.FunctionARN = fn
			return task.StateMachineJSON(opts)
		},
	})
	if err != nil {
		return err
	}
	b.env["STEPCQRS_TASK_STATE_MACHINE_ARN"] = sm.ARN
	b.Output("TaskStateMachineArn", "the task state machine", sm.ARN)
	b.Output("TasksTableName", "the tasks table", t.Name)
	b.Output("TaskQueueUrl", "the task queue", q.URL)
	b.Output("TaskDLQUrl", "the task queue's dead-letter queue", q.DLQ.URL)

	executions := join(sub("arn:${AWS::Partition}:states:${AWS::Region}:${AWS::AccountId}:execution:"), sm.Name)
	// The task state machine's own needs: the distributed Map.
	b.Grant(RoleTaskStateMachine, "DistributedMapChildren", []string{"states:StartExecution"},
		[]PolicyResource{{Value: sm.ARN, Text: "state machine {prefix}task (itself)"}},
		"the distributed Map (RunDistributed) starts its child executions as executions of the machine itself")
	b.Grant(RoleTaskStateMachine, "DistributedMapRuns", []string{"states:DescribeExecution", "states:StopExecution"},
		[]PolicyResource{{Value: join(executions, "/*"), Text: "map-run child executions of {prefix}task"}},
		"the distributed Map follows and, when the run fails, stops its child executions")
	b.Grant(RoleTaskStateMachine, "Manifests", []string{"s3:AbortMultipartUpload", "s3:GetObject", "s3:ListMultipartUploadParts", "s3:PutObject"}, objects,
		"the distributed Map's ItemReader reads the JSONL manifest (GetObject); its ResultWriter writes the results (PutObject, in parts)")
	_ = bucketARN

	b.Grant(RoleFunction, "TasksTable", []string{"dynamodb:BatchWriteItem", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query", "dynamodb:UpdateItem"},
		[]PolicyResource{{Value: t.ARN, Text: "table {prefix}tasks"}},
		"task.Service: create (PutItem; BatchWriteItem for a fan-out's sub-tasks), read (GetItem, Query), status, counters and leases (UpdateItem, also inside TransactWriteItems)")
	b.Grant(RoleFunction, "TasksIndex", []string{"dynamodb:Query"},
		[]PolicyResource{{Value: join(t.ARN, "/index/"+task.UnsettledIndex.Name), Text: "index " + task.UnsettledIndex.Name + " of table {prefix}tasks"}},
		"the task sweep queries task.UnsettledIndex")
	b.Grant(RoleFunction, "TasksStream", []string{"dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator"},
		[]PolicyResource{{Value: join(t.ARN, "/stream/*"), Text: "stream of table {prefix}tasks"}},
		"the event source mapping reads the tasks table's stream with the function's role")
	b.Grant(RoleFunction, "TaskQueueSend", []string{"sqs:GetQueueUrl", "sqs:SendMessage"},
		[]PolicyResource{{Value: q.ARN, Text: "queue {prefix}task-queue"}},
		"the tasks stream route and the sweep enqueue single tasks (the adapter resolves the queue's URL by name)")
	b.Grant(RoleFunction, "TaskQueueConsume", []string{"sqs:DeleteMessage", "sqs:GetQueueAttributes", "sqs:ReceiveMessage"},
		[]PolicyResource{{Value: q.ARN, Text: "queue {prefix}task-queue"}},
		"the task queue's event source mapping receives and deletes messages with the function's role")
	b.Grant(RoleFunction, "TaskExecutions", []string{"states:StartExecution"}, []PolicyResource{{Value: sm.ARN, Text: "state machine {prefix}task"}},
		"a fan-out parent's execution is started by the tasks stream route, or by the sweep")
	b.Grant(RoleFunction, "DescribeTaskExecutions", []string{"states:DescribeExecution"},
		[]PolicyResource{{Value: join(executions, ":*"), Text: "executions of {prefix}task"}},
		"the task sweep checks whether a parent's execution still runs")
	b.Grant(RoleFunction, "TaskTaskTokens", []string{"states:SendTaskFailure", "states:SendTaskHeartbeat", "states:SendTaskSuccess"},
		[]PolicyResource{{Value: sm.ARN, Text: "state machine {prefix}task"}},
		"the task-token set of core.Workflows on the framework's task machine (the task steps take no token today; granted with the command machine's for a handler that does)")
	if !o.Sweep.Disabled {
		if err := b.sweepRule("TaskSweep", "task-sweep", task.SweepEventSource, task.SweepEventDetailType, map[string]any{}); err != nil {
			return err
		}
	}
	return nil
}

// sharedGrants grants what every service needs: the bucket, the
// notification topic, the stream failure queue, logs and tracing.
func (b *Builder) sharedGrants(notif, failures QueueRef) {
	o := b.o
	b.Grant(RoleFunction, "Objects", []string{"s3:DeleteObject", "s3:GetObject", "s3:PutObject"},
		[]PolicyResource{{Value: join(getAtt("Bucket", "Arn"), "/*"), Text: "objects of the bucket"}},
		"offloaded attributes: written (PutObject), read back (GetObject) and removed when a write is abandoned (DeleteObject); fan-out manifests (PutObject)")
	b.Grant(RoleFunction, "Notify", []string{"sns:Publish"},
		[]PolicyResource{{Value: ref("NotificationTopic"), Text: "topic {prefix}notification"}},
		"command-status, task-status and sub-task-status notifications")
	b.Grant(RoleFunction, "ResolveTopics", []string{"sns:ListTopics"}, []PolicyResource{{Value: "*", Text: "*"}},
		"the SNS adapter resolves the topic's ARN from its name (STEPCQRS_NOTIFICATION_TOPIC holds a name); ListTopics takes no resource")
	if len(o.Modules) > 0 || !o.Tasks.Disabled {
		b.Grant(RoleFunction, "ListStreams", []string{"dynamodb:ListStreams"}, []PolicyResource{{Value: "*", Text: "*"}},
			"the stream event source mappings list the tables' streams; ListStreams takes no resource")
		b.Grant(RoleFunction, "StreamFailures", []string{"sqs:SendMessage"},
			[]PolicyResource{{Value: failures.ARN, Text: "queue {prefix}stream-failures"}},
			"the stream mappings' on-failure destination: records that failed beyond their retries are sent there with the function's role")
	}
	if o.Notifications.Consume {
		b.Grant(RoleFunction, "NotificationQueueConsume", []string{"sqs:DeleteMessage", "sqs:GetQueueAttributes", "sqs:ReceiveMessage"},
			[]PolicyResource{{Value: notif.ARN, Text: "queue {prefix}notification-queue"}},
			"the notification queue's event source mapping (Notifications.Consume)")
	}
	b.Grant(RoleFunction, "Logs", []string{"logs:CreateLogStream", "logs:PutLogEvents"},
		[]PolicyResource{{Value: join(getAtt(functionLogsID, "Arn")), Text: "log group /aws/lambda/{prefix}function"}},
		"the Lambda runtime writes the function's logs to its log group, which the template creates (so no logs:CreateLogGroup)")
	if o.Function.Tracing {
		b.Grant(RoleFunction, "Tracing", []string{"xray:PutTelemetryRecords", "xray:PutTraceSegments"}, []PolicyResource{{Value: "*", Text: "*"}},
			"active X-Ray tracing of the function; these actions take no resource")
	}
}

// sweepRule adds a scheduled EventBridge rule that invokes the function
// with the sweep event of source and detailType, and the permission that
// lets it.
func (b *Builder) sweepRule(logicalID, suffix, source, detailType string, detail map[string]any) error {
	// The input the sweep routes expect (see command.SweepEvent): an
	// EventBridge-shaped event, the account and region filled in by
	// Fn::Sub. A scheduled rule's constant Input reaches the function as
	// is.
	in, err := json.Marshal(struct {
		Version    string         `json:"version"`
		ID         string         `json:"id"`
		Source     string         `json:"source"`
		DetailType string         `json:"detail-type"`
		Account    string         `json:"account"`
		Region     string         `json:"region"`
		Resources  []string       `json:"resources"`
		Detail     map[string]any `json:"detail"`
	}{"0", "stepcqrs-" + suffix, source, detailType, "${AWS::AccountId}", "${AWS::Region}", []string{}, detail})
	if err != nil {
		return err
	}
	rule := logicalID + "Rule"
	if err := b.Add(rule, &events.Rule{
		Name:               ptr(b.Name(suffix)),
		Description:        ptr("stepcqrs: runs the " + strings.ReplaceAll(suffix, "-", " ") + " (" + detailType + ")"),
		ScheduleExpression: ptr(b.o.Sweep.Schedule),
		State:              ptr("ENABLED"),
		Targets:            []events.Rule_Target{{Id: suffix, Arn: b.FunctionARN(), Input: ptr(sub(string(in)))}},
	}); err != nil {
		return err
	}
	return b.Add(logicalID+"Permission", &lambda.Permission{
		Action:       "lambda:InvokeFunction",
		FunctionName: b.FunctionARN(),
		Principal:    "events.amazonaws.com",
		SourceArn:    ptr(getAtt(rule, "Arn")),
	})
}

// function adds the function, its log group and the roles.
func (b *Builder) function() error {
	f := b.o.Function
	name := b.nameOr(f.Name, "function")
	if err := b.Add(functionLogsID, &logs.LogGroup{
		LogGroupName:    ptr(join("/aws/lambda/", name)),
		RetentionInDays: ptr(f.LogRetentionDays),
	}); err != nil {
		return err
	}
	env := maps.Clone(b.env)
	for k, v := range f.Environment {
		env[k] = v
	}
	fn := &lambda.Function{
		FunctionName:  ptr(name),
		Description:   ptr("stepcqrs service " + b.o.Config.AppName + ": every event source, one binary"),
		Runtime:       ptr("provided.al2023"),
		Handler:       ptr("bootstrap"),
		Architectures: []string{f.Architecture},
		MemorySize:    ptr(f.MemoryMB),
		Timeout:       ptr(int(f.Timeout.Seconds())),
		Role:          getAtt(functionRoleID, "Arn"),
		Environment:   &lambda.Function_Environment{Variables: env},
		LoggingConfig: &lambda.Function_LoggingConfig{LogGroup: ptr(ref(functionLogsID)), LogFormat: ptr("JSON")},
	}
	if f.ReservedConcurrency > 0 {
		fn.ReservedConcurrentExecutions = ptr(f.ReservedConcurrency)
	}
	if f.Tracing {
		fn.TracingConfig = &lambda.Function_TracingConfig{Mode: ptr("Active")}
	}
	code := f.Code
	switch {
	case code.S3Bucket != "":
		fn.Code = &lambda.Function_Code{S3Bucket: ptr(code.S3Bucket), S3Key: ptr(code.S3Key)}
		if code.S3ObjectVersion != "" {
			fn.Code.S3ObjectVersion = ptr(code.S3ObjectVersion)
		}
	case code.Path != "":
		// Rendered as the path itself (see Template.JSON).
		fn.Code = &lambda.Function_Code{}
		b.codePath = code.Path
	default:
		b.params[paramCodeBucket] = parameter{Type: "String", AllowedPattern: `^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$`, Description: "S3 bucket of the function's zip (stepcqrs deploy package)"}
		b.params[paramCodeKey] = parameter{Type: "String", AllowedPattern: `^.+$`, Description: "S3 key of the function's zip"}
		fn.Code = &lambda.Function_Code{S3Bucket: ptr(ref(paramCodeBucket)), S3Key: ptr(ref(paramCodeKey))}
	}
	if err := b.Add(functionID, fn); err != nil {
		return err
	}
	// Roles last: they hold every permission granted so far.
	roles := slices.Sorted(maps.Keys(b.roleOf))
	for _, name := range roles {
		service := "states.amazonaws.com"
		if name == RoleFunction {
			service = "lambda.amazonaws.com"
		}
		if err := b.Add(b.roleOf[name], b.role(name, service)); err != nil {
			return err
		}
	}
	return nil
}

// Permissions returns every statement of the template's IAM policies,
// with its reason: the function's first, then the command and the task
// state machines', the import state machine's, then the extensions' roles,
// each in the order granted.
func (t *Template) Permissions() []Permission {
	rank := func(role string) int {
		switch role {
		case RoleFunction:
			return 0
		case RoleCommandStateMachine:
			return 1
		case RoleTaskStateMachine:
			return 2
		case RoleImportStateMachine:
			return 3
		}
		return 4
	}
	out := slices.Clone(t.perms)
	slices.SortStableFunc(out, func(a, b Permission) int { return rank(a.Role) - rank(b.Role) })
	return out
}

// Actions returns the sorted IAM actions granted to role.
func (t *Template) Actions(role string) []string {
	set := map[string]bool{}
	for _, p := range t.perms {
		if p.Role == role {
			for _, a := range p.Actions {
				set[a] = true
			}
		}
	}
	return slices.Sorted(maps.Keys(set))
}

// LogicalIDs returns the logical IDs of the template's resources, sorted.
func (t *Template) LogicalIDs() []string { return slices.Sorted(maps.Keys(t.doc.Resources)) }

// Resource returns the typed resource of logicalID (nil when there is
// none), e.g. a *dynamodb.Table; its string fields may hold encoded
// intrinsics.
func (t *Template) Resource(logicalID string) Resource { return t.doc.Resources[logicalID] }

// JSON renders the template as CloudFormation JSON (keys sorted, indented
// by two spaces).
func (t *Template) JSON() ([]byte, error) {
	raw, err := json.Marshal(t.doc)
	if err != nil {
		return nil, fmt.Errorf("deploy: template: %w", err)
	}
	out, err := intrinsics.ProcessJSON(raw, nil)
	if err != nil {
		return nil, fmt.Errorf("deploy: template: %w", err)
	}
	if t.codePath == "" {
		return out, nil
	}
	// The function's Code as a local path, for `aws cloudformation
	// package` and `sam deploy`; goformation's Code is a struct.
	var doc map[string]any
	dec := json.NewDecoder(bytes.NewReader(out))
	dec.UseNumber()
	if err := dec.Decode(&doc); err != nil {
		return nil, fmt.Errorf("deploy: template: %w", err)
	}
	fn := doc["Resources"].(map[string]any)[functionID].(map[string]any)
	fn["Properties"].(map[string]any)["Code"] = t.codePath
	return json.MarshalIndent(doc, "", "  ")
}

// YAML renders the template as CloudFormation YAML (long-form intrinsics:
// "Fn::Sub:" rather than "!Sub").
func (t *Template) YAML() ([]byte, error) {
	j, err := t.JSON()
	if err != nil {
		return nil, err
	}
	// yaml.v3 reads the JSON (JSON is YAML) keeping integers integers.
	var v any
	if err := yaml.Unmarshal(j, &v); err != nil {
		return nil, fmt.Errorf("deploy: template: %w", err)
	}
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(v); err != nil {
		return nil, fmt.Errorf("deploy: template: %w", err)
	}
	return buf.Bytes(), enc.Close()
}
