package deploy

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"

	"github.com/awslabs/goformation/v7/cloudformation/dynamodb"
	"github.com/awslabs/goformation/v7/cloudformation/iam"
	"github.com/awslabs/goformation/v7/cloudformation/logs"
	"github.com/awslabs/goformation/v7/cloudformation/policies"
	"github.com/awslabs/goformation/v7/cloudformation/sqs"
	"github.com/awslabs/goformation/v7/cloudformation/stepfunctions"

	"github.com/stepcqrs/stepcqrs/core"
)

// Resource is a typed CloudFormation resource: a value of one of
// goformation's resource packages (github.com/awslabs/goformation/v7/
// cloudformation/...), such as *dynamodb.Table.
type Resource interface {
	AWSCloudFormationType() string
}

// Template values. A field of a resource, an environment variable or a
// policy's resource is a template value: a literal string, or an
// intrinsic function built by Ref, GetAtt, Sub or Join (encoded as
// goformation encodes intrinsics; nest them freely).

// Ref returns the template value {"Ref": logicalID}.
func Ref(logicalID string) string { return ref(logicalID) }

// GetAtt returns the template value {"Fn::GetAtt": [logicalID, attribute]}.
func GetAtt(logicalID, attribute string) string { return getAtt(logicalID, attribute) }

// Sub returns the template value {"Fn::Sub": s}.
func Sub(s string) string { return sub(s) }

// Join returns the template value of the parts (literals or template
// values) concatenated.
func Join(parts ...string) string { return join(parts...) }

// Permission is one statement of a role's policy in the template, with why
// the framework needs it: the template's IAM policies are made of these
// and nothing else.
type Permission struct {
	// Role is "function", "command state machine", "task state machine"
	// or an extension's role.
	Role string
	// Sid names the statement.
	Sid string
	// Actions are IAM actions, e.g. "dynamodb:GetItem".
	Actions []string
	// Resources describe the statement's resources in words, e.g. "table
	// {prefix}order-command" or "*".
	Resources []string
	// Reason says which code calls the actions.
	Reason string

	arns []string // the template values of Resources
}

// Resource pairs a policy resource's template value with its description.
type PolicyResource struct {
	// Value is the template value (an ARN, or "*").
	Value string
	// Text describes it in the report, e.g. "table {prefix}order-command".
	Text string
}

// Builder assembles the template. New drives it for the framework's own
// capabilities; an Extension receives it to add its own.
type Builder struct {
	o         Options
	resources map[string]Resource
	order     []string
	params    map[string]parameter
	conds     map[string]any
	outputs   map[string]output
	env       map[string]string
	perms     []Permission
	roleOf    map[string]string // role name -> logical id of its role resource
	codePath  string
	// dataTables are the modules' data tables (the import capability
	// reads them).
	dataTables []PolicyResource
}

type parameter struct {
	Type           string  `json:"Type"`
	Description    string  `json:"Description,omitempty"`
	Default        *string `json:"Default,omitempty"`
	AllowedPattern string  `json:"AllowedPattern,omitempty"`
}

type output struct {
	Description string          `json:"Description,omitempty"`
	Value       string          `json:"Value"`
	Export      *map[string]any `json:"Export,omitempty"`
}

// logicalIDRE is what CloudFormation accepts as a logical ID.
var logicalIDRE = regexp.MustCompile(`^[A-Za-z0-9]{1,255}$`)

// Add adds resource r under logicalID. Logical IDs are alphanumeric and
// unique.
func (b *Builder) Add(logicalID string, r Resource) error {
	if !logicalIDRE.MatchString(logicalID) {
		return fmt.Errorf("deploy: logical ID %q: letters and digits only", logicalID)
	}
	if _, dup := b.resources[logicalID]; dup {
		return fmt.Errorf("deploy: logical ID %q used twice", logicalID)
	}
	b.resources[logicalID] = r
	b.order = append(b.order, logicalID)
	return nil
}

// Options returns the options New was given, with their defaults filled
// in.
func (b *Builder) Options() Options { return b.o }

// Prefix returns the template value of the resolved name prefix: the
// Prefix parameter, or "{Environment}-{AppName}-" when it is empty.
func (b *Builder) Prefix() string {
	return ifCond(condDerivedPrefix, sub("${"+paramEnvironment+"}-"+b.o.Config.AppName+"-"), ref(paramPrefix))
}

// Name returns the template value of a resource name: the prefix followed
// by suffix.
func (b *Builder) Name(suffix string) string { return join(b.Prefix(), suffix) }

// nameOr returns override when set, else Name(suffix): the rule of
// core.Config's name methods.
func (b *Builder) nameOr(override, suffix string) string {
	if override != "" {
		return override
	}
	return b.Name(suffix)
}

// FunctionARN returns the template value of the service function's ARN.
func (b *Builder) FunctionARN() string { return getAtt(functionID, "Arn") }

// SetEnv sets a variable of the function's environment. A variable set
// twice is an error.
func (b *Builder) SetEnv(name, value string) error {
	if _, dup := b.env[name]; dup {
		return fmt.Errorf("deploy: environment variable %s set twice", name)
	}
	b.env[name] = value
	return nil
}

// Grant adds a statement to the policy of role: "function" (the service
// function's execution role) or the role of a state machine added with
// AddStateMachine (its name, e.g. "task state machine").
func (b *Builder) Grant(role, sid string, actions []string, resources []PolicyResource, reason string) {
	p := Permission{Role: role, Sid: sid, Actions: actions, Reason: reason}
	for _, r := range resources {
		p.Resources = append(p.Resources, r.Text)
		p.arns = append(p.arns, r.Value)
	}
	b.perms = append(b.perms, p)
}

// Output adds an output of the template, exported as
// "{StackName}-{name}".
func (b *Builder) Output(name, description, value string) {
	b.outputs[name] = output{Description: description, Value: value,
		Export: &map[string]any{"Name": sub("${AWS::StackName}-" + name)}}
}

// TableSpec describes a table of the framework's shape: string keys pk
// (hash) and sk (range), on-demand billing.
type TableSpec struct {
	// Name is the table's name (a template value, e.g. Builder.Name).
	Name string
	// StreamView is "", "NEW_IMAGE" or "NEW_AND_OLD_IMAGES".
	StreamView string
	// TTL turns on time to live on localstack.TTLAttribute ("ttl").
	TTL bool
	// Indexes are KEYS_ONLY global secondary indexes with string keys
	// (command.UnsettledIndex, task.UnsettledIndex).
	Indexes []core.Index
}

// TableRef names a table of the template by template values.
type TableRef struct {
	LogicalID            string
	Name, ARN, StreamARN string
}

// ttlAttribute is the attribute the tables' TTL reads
// (localstack.TTLAttribute; core writes "ttl").
const ttlAttribute = "ttl"

// AddTable adds a DynamoDB table.
func (b *Builder) AddTable(logicalID string, t TableSpec) (TableRef, error) {
	tbl := &dynamodb.Table{
		TableName:   ptr(t.Name),
		BillingMode: ptr("PAY_PER_REQUEST"),
		AttributeDefinitions: []dynamodb.Table_AttributeDefinition{
			{AttributeName: "pk", AttributeType: "S"},
			{AttributeName: "sk", AttributeType: "S"},
		},
		KeySchema: []dynamodb.Table_KeySchema{
			{AttributeName: "pk", KeyType: "HASH"},
			{AttributeName: "sk", KeyType: "RANGE"},
		},
	}
	if t.StreamView != "" {
		tbl.StreamSpecification = &dynamodb.Table_StreamSpecification{StreamViewType: t.StreamView}
	}
	if t.TTL {
		tbl.TimeToLiveSpecification = &dynamodb.Table_TimeToLiveSpecification{AttributeName: ptr(ttlAttribute), Enabled: true}
	}
	defined := map[string]bool{"pk": true, "sk": true}
	for _, ix := range t.Indexes {
		for _, a := range []string{ix.PK, ix.SK} {
			if !defined[a] {
				defined[a] = true
				tbl.AttributeDefinitions = append(tbl.AttributeDefinitions, dynamodb.Table_AttributeDefinition{AttributeName: a, AttributeType: "S"})
			}
		}
		tbl.GlobalSecondaryIndexes = append(tbl.GlobalSecondaryIndexes, dynamodb.Table_GlobalSecondaryIndex{
			IndexName:  ix.Name,
			KeySchema:  []dynamodb.Table_KeySchema{{AttributeName: ix.PK, KeyType: "HASH"}, {AttributeName: ix.SK, KeyType: "RANGE"}},
			Projection: &dynamodb.Table_Projection{ProjectionType: ptr("KEYS_ONLY")},
		})
	}
	if b.o.Tables.PointInTimeRecovery {
		tbl.PointInTimeRecoverySpecification = &dynamodb.Table_PointInTimeRecoverySpecification{PointInTimeRecoveryEnabled: ptr(true)}
	}
	if !b.o.Tables.DeleteWithStack {
		tbl.AWSCloudFormationDeletionPolicy = policies.DeletionPolicy("Retain")
		tbl.AWSCloudFormationUpdateReplacePolicy = policies.UpdateReplacePolicy("Retain")
	}
	if err := b.Add(logicalID, tbl); err != nil {
		return TableRef{}, err
	}
	r := TableRef{LogicalID: logicalID, Name: ref(logicalID), ARN: getAtt(logicalID, "Arn")}
	if t.StreamView != "" {
		r.StreamARN = getAtt(logicalID, "StreamArn")
	}
	return r, nil
}

// QueueSpec describes an SQS queue, with a dead-letter queue when DLQName
// is set.
type QueueSpec struct {
	// Name and DLQName are template values.
	Name, DLQName string
	// MaxReceiveCount of the redrive policy (with a DLQ).
	MaxReceiveCount int
	// VisibilityTimeoutSeconds; 0 keeps SQS's default (30).
	VisibilityTimeoutSeconds int
}

// QueueRef names a queue of the template by template values.
type QueueRef struct {
	LogicalID      string
	Name, URL, ARN string
	// DLQ is the dead-letter queue, if any.
	DLQ *QueueRef
}

// dlqRetentionSeconds keeps dead letters the longest SQS allows: 14 days.
const dlqRetentionSeconds = 14 * 24 * 3600

// AddQueue adds a queue (and its dead-letter queue, logical ID
// logicalID+"DLQ").
func (b *Builder) AddQueue(logicalID string, q QueueSpec) (QueueRef, error) {
	r := QueueRef{LogicalID: logicalID, Name: getAtt(logicalID, "QueueName"), URL: ref(logicalID), ARN: getAtt(logicalID, "Arn")}
	queue := &sqs.Queue{QueueName: ptr(q.Name), SqsManagedSseEnabled: ptr(true)}
	if q.VisibilityTimeoutSeconds > 0 {
		queue.VisibilityTimeout = ptr(q.VisibilityTimeoutSeconds)
	}
	if q.DLQName != "" {
		id := logicalID + "DLQ"
		if err := b.Add(id, &sqs.Queue{QueueName: ptr(q.DLQName), SqsManagedSseEnabled: ptr(true),
			MessageRetentionPeriod: ptr(dlqRetentionSeconds)}); err != nil {
			return r, err
		}
		r.DLQ = &QueueRef{LogicalID: id, Name: getAtt(id, "QueueName"), URL: ref(id), ARN: getAtt(id, "Arn")}
		queue.RedrivePolicy = map[string]any{"deadLetterTargetArn": r.DLQ.ARN, "maxReceiveCount": q.MaxReceiveCount}
	}
	return r, b.Add(logicalID, queue)
}

// StateMachineSpec describes a state machine whose every task invokes the
// service function.
type StateMachineSpec struct {
	// Name is the machine's name (a template value).
	Name string
	// Role names its role in Permissions, e.g. "task state machine".
	Role string
	// Definition returns the definition JSON with functionARN as the
	// function every task invokes (the exported StateMachineJSON of a
	// capability).
	Definition func(functionARN string) ([]byte, error)
}

// StateMachineRef names a state machine of the template.
type StateMachineRef struct {
	LogicalID string
	// Name and ARN are template values. ARN is built from the name, not
	// taken from the resource, so that the function's environment and
	// policies can name the machine without a circular dependency (the
	// machine's definition names the function).
	Name, ARN string
	// RoleLogicalID is the logical ID of the machine's role.
	RoleLogicalID string
}

// functionARNPlaceholder stands for the function's ARN in a definition;
// the DefinitionString's Fn::Sub replaces it.
const functionARNPlaceholder = "${" + functionID + ".Arn}"

// AddStateMachine adds a standard state machine, its role (which may
// invoke the function), and its log group when logging is on.
func (b *Builder) AddStateMachine(logicalID string, s StateMachineSpec) (StateMachineRef, error) {
	def, err := s.Definition(functionARNPlaceholder)
	if err != nil {
		return StateMachineRef{}, fmt.Errorf("deploy: state machine %s: %w", logicalID, err)
	}
	var compact bytes.Buffer
	if err := json.Compact(&compact, def); err != nil {
		return StateMachineRef{}, fmt.Errorf("deploy: state machine %s: definition: %w", logicalID, err)
	}
	text := compact.String()
	if n := strings.Count(text, "${"); n != strings.Count(text, functionARNPlaceholder) {
		return StateMachineRef{}, fmt.Errorf("deploy: state machine %s: the definition holds \"${\" beyond the function ARN; Fn::Sub would take it for a variable", logicalID)
	}
	ref := StateMachineRef{
		LogicalID:     logicalID,
		Name:          s.Name,
		ARN:           join(sub("arn:${AWS::Partition}:states:${AWS::Region}:${AWS::AccountId}:stateMachine:"), s.Name),
		RoleLogicalID: logicalID + "Role",
	}
	sm := &stepfunctions.StateMachine{
		StateMachineName: ptr(s.Name),
		StateMachineType: ptr("STANDARD"),
		DefinitionString: ptr(sub(text)),
		RoleArn:          getAtt(ref.RoleLogicalID, "Arn"),
	}
	so := b.o.StateMachines
	b.roleOf[s.Role] = ref.RoleLogicalID
	b.Grant(s.Role, "InvokeFunction", []string{"lambda:InvokeFunction"},
		[]PolicyResource{{Value: b.FunctionARN(), Text: "function {prefix}function"},
			{Value: join(b.FunctionARN(), ":*"), Text: "its versions and aliases"}},
		"every Task state invokes the service function (arn:aws:states:::lambda:invoke and .waitForTaskToken)")
	if so.LogLevel != "OFF" {
		lg := logicalID + "LogGroup"
		if err := b.Add(lg, &logs.LogGroup{
			LogGroupName:    ptr(join("/aws/vendedlogs/states/", s.Name)),
			RetentionInDays: ptr(so.LogRetentionDays),
		}); err != nil {
			return ref, err
		}
		sm.LoggingConfiguration = &stepfunctions.StateMachine_LoggingConfiguration{
			Level:                ptr(so.LogLevel),
			IncludeExecutionData: ptr(so.IncludeExecutionData),
			Destinations: []stepfunctions.StateMachine_LogDestination{{
				CloudWatchLogsLogGroup: &stepfunctions.StateMachine_CloudWatchLogsLogGroup{LogGroupArn: ptr(getAtt(lg, "Arn"))},
			}},
		}
		b.Grant(s.Role, "LogDelivery", []string{
			"logs:CreateLogDelivery", "logs:DeleteLogDelivery", "logs:DescribeLogGroups", "logs:DescribeResourcePolicies",
			"logs:GetLogDelivery", "logs:ListLogDeliveries", "logs:PutResourcePolicy", "logs:UpdateLogDelivery",
		}, []PolicyResource{{Value: "*", Text: "*"}},
			"execution logging to CloudWatch Logs (LoggingConfiguration): Step Functions sets up the log delivery with these, which take no resource")
	} else {
		sm.LoggingConfiguration = &stepfunctions.StateMachine_LoggingConfiguration{Level: ptr("OFF")}
	}
	if so.Tracing {
		sm.TracingConfiguration = &stepfunctions.StateMachine_TracingConfiguration{Enabled: ptr(true)}
		b.Grant(s.Role, "Tracing", []string{"xray:GetSamplingRules", "xray:GetSamplingTargets", "xray:PutTelemetryRecords", "xray:PutTraceSegments"},
			[]PolicyResource{{Value: "*", Text: "*"}}, "X-Ray tracing of the executions (TracingConfiguration); these actions take no resource")
	}
	if err := b.Add(logicalID, sm); err != nil {
		return ref, err
	}
	return ref, nil
}

// role returns the role resource of name with its policy made of the
// permissions granted to name.
func (b *Builder) role(name, service string) *iam.Role {
	var statements []map[string]any
	for _, p := range b.perms {
		if p.Role != name {
			continue
		}
		var res any = p.arns
		if len(p.arns) == 1 {
			res = p.arns[0]
		}
		statements = append(statements, map[string]any{"Sid": p.Sid, "Effect": "Allow", "Action": p.Actions, "Resource": res})
	}
	r := &iam.Role{
		Description: ptr("stepcqrs " + name + " of " + b.o.Config.AppName),
		AssumeRolePolicyDocument: map[string]any{
			"Version": "2012-10-17",
			"Statement": []map[string]any{{
				"Effect":    "Allow",
				"Principal": map[string]any{"Service": service},
				"Action":    "sts:AssumeRole",
				"Condition": map[string]any{"StringEquals": map[string]any{"aws:SourceAccount": ref("AWS::AccountId")}},
			}},
		},
	}
	if len(statements) > 0 {
		r.Policies = []iam.Role_Policy{{
			PolicyName:     "stepcqrs",
			PolicyDocument: map[string]any{"Version": "2012-10-17", "Statement": statements},
		}}
	}
	return r
}
