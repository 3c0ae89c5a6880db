package deploy_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/awslabs/goformation/v7/schema"
	"github.com/santhosh-tekuri/jsonschema/v6"
	"gopkg.in/yaml.v3"

	"github.com/stepcqrs/stepcqrs/core"
	"github.com/stepcqrs/stepcqrs/deploy"
	"github.com/stepcqrs/stepcqrs/task"
)

var (
	cfnSchemaOnce sync.Once
	cfnSchema     *jsonschema.Schema
	cfnSchemaErr  error
)

// cloudFormationSchema compiles the CloudFormation JSON schema goformation
// ships (draft-04; its "$id" is the draft's own URL, which draft 4 does not
// read), pruned to the resource types of the given templates: the whole
// schema has some 7,000 definitions, and compiling them (and matching each
// resource against a thousand alternatives) takes minutes under the race
// detector. A resource of any other type fails validation, as it should:
// the templates under test are the ones that choose the types.
func cloudFormationSchema(t *testing.T, templates ...map[string]any) *jsonschema.Schema {
	t.Helper()
	cfnSchemaOnce.Do(func() {
		var doc map[string]any
		if cfnSchemaErr = json.Unmarshal([]byte(schema.CloudformationSchema), &doc); cfnSchemaErr != nil {
			return
		}
		types := map[string]bool{}
		for _, tpl := range templates {
			res, _ := tpl["Resources"].(map[string]any)
			for _, r := range res {
				if typ, ok := r.(map[string]any)["Type"].(string); ok {
					types[typ] = true
				}
			}
		}
		pruneSchema(doc, types)
		c := jsonschema.NewCompiler()
		c.DefaultDraft(jsonschema.Draft4)
		if cfnSchemaErr = c.AddResource("cloudformation.schema.json", doc); cfnSchemaErr == nil {
			cfnSchema, cfnSchemaErr = c.Compile("cloudformation.schema.json")
		}
	})
	if cfnSchemaErr != nil {
		t.Fatalf("compiling goformation's CloudFormation schema: %v", cfnSchemaErr)
	}
	return cfnSchema
}

// pruneSchema keeps, of the schema's resource alternatives, those of types,
// and of its definitions those the rest of the schema still refers to.
func pruneSchema(doc map[string]any, types map[string]bool) {
	res := doc["properties"].(map[string]any)["Resources"].(map[string]any)
	for _, pp := range res["patternProperties"].(map[string]any) {
		alt := pp.(map[string]any)
		var kept []any
		for _, a := range alt["anyOf"].([]any) {
			ref, _ := a.(map[string]any)["$ref"].(string)
			if types[strings.TrimPrefix(ref, "#/definitions/")] {
				kept = append(kept, a)
			}
		}
		alt["anyOf"] = kept
	}
	defs := doc["definitions"].(map[string]any)
	keep := map[string]bool{}
	var walk func(v any)
	walk = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			if ref, ok := x["$ref"].(string); ok {
				name := strings.TrimPrefix(ref, "#/definitions/")
				if name != ref && !keep[name] {
					keep[name] = true
					walk(defs[name])
				}
			}
			for k, e := range x {
				if k != "definitions" {
					walk(e)
				}
			}
		case []any:
			for _, e := range x {
				walk(e)
			}
		}
	}
	walk(doc)
	for name := range defs {
		if !keep[name] {
			delete(defs, name)
		}
	}
}

// resolved returns the template with every intrinsic function of its
// resources and outputs replaced by a string (see resolveIntrinsics).
func resolved(doc any) any {
	m := doc.(map[string]any)
	out := maps.Clone(m)
	for _, k := range []string{"Resources", "Outputs"} {
		if v, ok := m[k]; ok {
			out[k] = resolveIntrinsics(v)
		}
	}
	return out
}

// resolveIntrinsics replaces every intrinsic function by a string, as
// CloudFormation does before it checks a property's type (the schema
// types the properties as their resolved values, e.g. TableName
// "string").
func resolveIntrinsics(v any) any {
	switch x := v.(type) {
	case map[string]any:
		if len(x) == 1 {
			for k := range x {
				if k == "Ref" || strings.HasPrefix(k, "Fn::") {
					return "resolved-" + k
				}
			}
		}
		out := map[string]any{}
		for k, e := range x {
			out[k] = resolveIntrinsics(e)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = resolveIntrinsics(e)
		}
		return out
	}
	return v
}

func render(t *testing.T, o deploy.Options) (*deploy.Template, map[string]any) {
	t.Helper()
	tp, err := deploy.New(o)
	if err != nil {
		t.Fatal(err)
	}
	b, err := tp.JSON()
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	return tp, doc
}

func props(doc map[string]any, id string) map[string]any {
	r, _ := doc["Resources"].(map[string]any)[id].(map[string]any)
	p, _ := r["Properties"].(map[string]any)
	return p
}

// TestTemplateValidatesAgainstSchema checks the JSON and YAML renderings
// of several configurations against goformation's CloudFormation schema.
func TestTemplateValidatesAgainstSchema(t *testing.T) {
	cases := map[string]deploy.Options{
		"defaults":      {Config: core.Config{AppName: "shop"}, Modules: []string{"order"}},
		"code from S3":  {Config: core.Config{AppName: "shop", Env: "prod"}, Modules: []string{"order", "order_line", "product"}, Function: deploy.Function{Code: deploy.Code{S3Bucket: "b", S3Key: "k.zip"}, Tracing: true, ReservedConcurrency: 50}},
		"tasks only":    {Config: core.Config{AppName: "jobs"}, StateMachines: deploy.StateMachines{LogLevel: "OFF"}, Sweep: deploy.Sweep{Disabled: true}},
		"no tasks":      {Config: core.Config{AppName: "shop", TablePrefix: "x-"}, Modules: []string{"order"}, Tasks: deploy.Tasks{Disabled: true}, Notifications: deploy.Notifications{Consume: true}},
		"everything on": {Config: core.Config{AppName: "shop", RequireInvoke: true, TTL: core.TTLDays{Command: 7}}, Modules: []string{"order"}, Tables: deploy.Tables{PointInTimeRecovery: true, DeleteWithStack: true}, StateMachines: deploy.StateMachines{LogLevel: "ALL", IncludeExecutionData: true, Tracing: true}, Tasks: deploy.Tasks{MaxConcurrency: 5, QueueBatchSize: 50}, Imports: deploy.Imports{Enabled: true}},
	}
	var docs []map[string]any
	for _, o := range cases {
		_, doc := render(t, o)
		docs = append(docs, doc)
	}
	sch := cloudFormationSchema(t, docs...)
	for name, o := range cases {
		t.Run(name, func(t *testing.T) {
			tp, err := deploy.New(o)
			if err != nil {
				t.Fatal(err)
			}
			j, err := tp.JSON()
			if err != nil {
				t.Fatal(err)
			}
			y, err := tp.YAML()
			if err != nil {
				t.Fatal(err)
			}
			var fromJSON, fromYAML any
			if err := json.Unmarshal(j, &fromJSON); err != nil {
				t.Fatal(err)
			}
			if err := yaml.Unmarshal(y, &fromYAML); err != nil {
				t.Fatal(err)
			}
			// YAML and JSON say the same (numbers compared as JSON).
			yj, err := json.Marshal(fromYAML)
			if err != nil {
				t.Fatal(err)
			}
			if !jsonEqual(t, j, yj) {
				t.Fatalf("YAML and JSON renderings differ")
			}
			if err := sch.Validate(resolved(fromJSON)); err != nil {
				t.Fatalf("template does not validate against the CloudFormation schema:\n%v", err)
			}
		})
	}
	// The schema catches what it should: a wrong property type fails.
	_, doc := render(t, cases["defaults"])
	props(doc, "TaskQueue")["VisibilityTimeout"] = "long"
	if err := sch.Validate(resolved(any(doc))); err == nil {
		t.Fatal("a string VisibilityTimeout validated")
	}
}

// TestTemplateResources checks the resources' settings in the template,
// including those moto's CloudFormation drops (TTL, architecture,
// tracing, logging, the filtered subscription and the queue policy).
func TestTemplateResources(t *testing.T) {
	tp, doc := render(t, deploy.Options{
		Config:        core.Config{AppName: "shop", Env: "stg"},
		Modules:       []string{"order"},
		Function:      deploy.Function{Code: deploy.Code{Path: "dist/bootstrap.zip"}, Tracing: true, Timeout: 30 * time.Second},
		Tasks:         deploy.Tasks{Settings: task.Settings{MaxReceiveCount: 3, Lease: 10 * time.Minute}},
		StateMachines: deploy.StateMachines{LogLevel: "ALL", Tracing: true},
	})
	params := doc["Parameters"].(map[string]any)
	if p := params["Environment"].(map[string]any); p["Default"] != "stg" {
		t.Errorf("Environment parameter %v", p)
	}
	if _, ok := params["CodeS3Bucket"]; ok {
		t.Error("code parameters with a code path")
	}
	for _, id := range []string{"OrderCommandTable", "OrderDataTable", "OrderHistoryTable", "TasksTable"} {
		p := props(doc, id)
		ttl, _ := p["TimeToLiveSpecification"].(map[string]any)
		if ttl["AttributeName"] != "ttl" || ttl["Enabled"] != true || p["BillingMode"] != "PAY_PER_REQUEST" {
			t.Errorf("%s: TTL %v billing %v", id, ttl, p["BillingMode"])
		}
		r := doc["Resources"].(map[string]any)[id].(map[string]any)
		if r["DeletionPolicy"] != "Retain" || r["UpdateReplacePolicy"] != "Retain" {
			t.Errorf("%s: deletion policy %v/%v", id, r["DeletionPolicy"], r["UpdateReplacePolicy"])
		}
	}
	if s := props(doc, "OrderCommandTable")["StreamSpecification"].(map[string]any); s["StreamViewType"] != "NEW_AND_OLD_IMAGES" {
		t.Errorf("command stream %v", s)
	}
	if _, ok := props(doc, "OrderDataTable")["StreamSpecification"]; ok {
		t.Error("data table has a stream")
	}
	fn := props(doc, "Function")
	if fn["Code"] != "dist/bootstrap.zip" || !slices.Equal(anyStrings(fn["Architectures"]), []string{"arm64"}) ||
		fn["Runtime"] != "provided.al2023" || fn["Timeout"] != 30.0 || fn["TracingConfig"].(map[string]any)["Mode"] != "Active" {
		t.Errorf("function: code %v arch %v runtime %v timeout %v tracing %v", fn["Code"], fn["Architectures"], fn["Runtime"], fn["Timeout"], fn["TracingConfig"])
	}
	q := props(doc, "TaskQueue")
	if q["VisibilityTimeout"] != 600.0 || q["RedrivePolicy"].(map[string]any)["maxReceiveCount"] != 3.0 {
		t.Errorf("task queue: %v", q)
	}
	sub := props(doc, "NotificationSubscription")
	if !jsonEqual(t, mustJSON(t, sub["FilterPolicy"]), []byte(`{"action":["command-status","task-status"]}`)) || sub["RawMessageDelivery"] != true || sub["Protocol"] != "sqs" {
		t.Errorf("subscription: %v", sub)
	}
	pol := mustJSON(t, props(doc, "NotificationQueuePolicy"))
	if !bytes.Contains(pol, []byte(`"aws:SourceArn":{"Ref":"NotificationTopic"}`)) || !bytes.Contains(pol, []byte(`"sns.amazonaws.com"`)) {
		t.Errorf("queue policy: %s", pol)
	}
	for _, id := range []string{"CommandStateMachine", "TaskStateMachine"} {
		sm := props(doc, id)
		lc := sm["LoggingConfiguration"].(map[string]any)
		if lc["Level"] != "ALL" || sm["TracingConfiguration"].(map[string]any)["Enabled"] != true || sm["StateMachineType"] != "STANDARD" {
			t.Errorf("%s: logging %v tracing %v", id, lc, sm["TracingConfiguration"])
		}
		def := sm["DefinitionString"].(map[string]any)["Fn::Sub"].(string)
		if strings.Count(def, "${") != strings.Count(def, "${Function.Arn}") || !strings.Contains(def, `"FunctionName":"${Function.Arn}"`) {
			t.Errorf("%s: definition does not name the function by ${Function.Arn} only", id)
		}
	}
	// Every variable core.ConfigFromEnv reads for this service is set.
	vars := fn["Environment"].(map[string]any)["Variables"].(map[string]any)
	env := slices.Sorted(maps.Keys(vars))
	want := []string{core.EnvAlarmTopic, core.EnvAppName, core.EnvBucket, core.EnvCommandStateMachineARN, core.EnvEnv, core.EnvNotificationQueue,
		core.EnvNotificationTopic, core.EnvTablePrefix, core.EnvTaskDLQ, core.EnvTaskQueue, core.EnvTaskStateMachineARN}
	slices.Sort(want)
	if !slices.Equal(env, want) {
		t.Errorf("function environment %v, want %v", env, want)
	}
	// Tracing grants X-Ray to the function and the machines.
	for _, role := range []string{deploy.RoleFunction, deploy.RoleCommandStateMachine, deploy.RoleTaskStateMachine} {
		if !slices.Contains(tp.Actions(role), "xray:PutTraceSegments") {
			t.Errorf("%s: no xray:PutTraceSegments with tracing on", role)
		}
	}
	if !slices.Contains(tp.Actions(deploy.RoleTaskStateMachine), "states:StartExecution") || slices.Contains(tp.Actions(deploy.RoleCommandStateMachine), "states:StartExecution") {
		t.Error("only the task machine (distributed Map) may start executions of itself")
	}
	for _, p := range tp.Permissions() {
		if p.Reason == "" || len(p.Actions) == 0 || len(p.Resources) == 0 {
			t.Errorf("permission %+v lacks a reason, actions or resources", p)
		}
		if slices.Contains(p.Resources, "*") {
			for _, a := range p.Actions {
				if !starOnly[a] {
					t.Errorf("%s: %s granted on *", p.Role, a)
				}
			}
		}
	}
}

// starOnly are the actions that take no resource (so "*" is their least
// privilege).
var starOnly = map[string]bool{
	"sns:ListTopics": true, "dynamodb:ListStreams": true, "xray:PutTraceSegments": true, "xray:PutTelemetryRecords": true,
	"xray:GetSamplingRules": true, "xray:GetSamplingTargets": true, "logs:CreateLogDelivery": true, "logs:DeleteLogDelivery": true,
	"logs:DescribeLogGroups": true, "logs:DescribeResourcePolicies": true, "logs:GetLogDelivery": true, "logs:ListLogDeliveries": true,
	"logs:PutResourcePolicy": true, "logs:UpdateLogDelivery": true,
}

func anyStrings(v any) []string {
	var out []string
	for _, x := range v.([]any) {
		out = append(out, x.(string))
	}
	return out
}

// TestEnvironmentRoundTrip: the variables of a config read back as it.
func TestEnvironmentRoundTrip(t *testing.T) {
	c := core.Config{Env: "prod", AppName: "shop", TaskQueueName: "jobs", TTL: core.TTLDays{Data: 30},
		TenantTTL:              map[string]core.TTLDays{"acme": {History: 90}, "globex": {Command: 7, Data: 1}},
		CommandStateMachineARN: "arn:aws:states:eu-west-1:123456789012:stateMachine:prod-shop-command", RequireInvoke: true,
		TenantHeaderMode: core.TenantHeaderFallback, AttributeOffloadBytes: 1000}
	vars := deploy.Environment(c)
	back, err := core.ConfigFromEnv(func(k string) string { return vars[k] })
	if err != nil {
		t.Fatal(err)
	}
	for _, pair := range [][2]string{{back.TaskQueue(), "jobs"}, {back.TaskDLQ(), "prod-shop-task-dlq"}, {back.Bucket(), "prod-shop-objects"},
		{back.CommandStateMachineARN, c.CommandStateMachineARN}, {back.Prefix(), "prod-shop-"}} {
		if pair[0] != pair[1] {
			t.Errorf("read back %q, want %q", pair[0], pair[1])
		}
	}
	if !back.RequireInvoke || back.TTL != c.TTL || !maps.Equal(back.TenantTTL, c.TenantTTL) || back.AttributeOffloadBytes != 1000 || back.TenantHeaderMode != core.TenantHeaderFallback {
		t.Errorf("settings read back %+v", back)
	}
}

func TestOptionsErrors(t *testing.T) {
	tests := []struct {
		name string
		o    deploy.Options
		want string
	}{
		{"no app", deploy.Options{Modules: []string{"order"}}, "Config.AppName is required"},
		{"upper-case app", deploy.Options{Config: core.Config{AppName: "Shop"}, Modules: []string{"order"}}, "lower-case"},
		{"nothing", deploy.Options{Config: core.Config{AppName: "shop"}, Tasks: deploy.Tasks{Disabled: true}}, "nothing to deploy"},
		{"bad module", deploy.Options{Config: core.Config{AppName: "shop"}, Modules: []string{"or der"}}, "module"},
		{"duplicate module", deploy.Options{Config: core.Config{AppName: "shop"}, Modules: []string{"order", "order"}}, "twice"},
		{"lease below timeout", deploy.Options{Config: core.Config{AppName: "shop"}, Modules: []string{"order"},
			Function: deploy.Function{Timeout: 5 * time.Minute}, Tasks: deploy.Tasks{Settings: task.Settings{Lease: time.Minute}}}, "shorter than Function.Timeout"},
		{"reserved variable", deploy.Options{Config: core.Config{AppName: "shop"}, Modules: []string{"order"},
			Function: deploy.Function{Environment: map[string]string{"STEPCQRS_ENV": "x"}}}, "set by the template"},
		{"code twice", deploy.Options{Config: core.Config{AppName: "shop"}, Modules: []string{"order"},
			Function: deploy.Function{Code: deploy.Code{Path: "a.zip", S3Bucket: "b", S3Key: "k"}}}, "exclude each other"},
		{"architecture", deploy.Options{Config: core.Config{AppName: "shop"}, Modules: []string{"order"}, Function: deploy.Function{Architecture: "arm"}}, "Architecture"},
		{"log level", deploy.Options{Config: core.Config{AppName: "shop"}, Modules: []string{"order"}, StateMachines: deploy.StateMachines{LogLevel: "DEBUG"}}, "LogLevel"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := deploy.New(tt.o)
			var oe *deploy.OptionsError
			if !errors.Is(err, deploy.ErrOptions) || !errors.As(err, &oe) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("New: %v, want an OptionsError containing %q", err, tt.want)
			}
		})
	}
}

// extension adds a table, a queue and a variable, as the import
// capability's extension will.
type extension struct{}

func (extension) Name() string { return "import" }
func (extension) Apply(b *deploy.Builder) error {
	t, err := b.AddTable("ImportTable", deploy.TableSpec{Name: b.Name("import"), StreamView: "NEW_IMAGE", TTL: true})
	if err != nil {
		return err
	}
	q, err := b.AddQueue("ImportQueue", deploy.QueueSpec{Name: b.Name("import-queue"), DLQName: b.Name("import-dlq"), MaxReceiveCount: 2})
	if err != nil {
		return err
	}
	b.Grant(deploy.RoleFunction, "ImportTable", []string{"dynamodb:PutItem"}, []deploy.PolicyResource{{Value: t.ARN, Text: "table {prefix}import"}}, "import jobs")
	return b.SetEnv(core.EnvImportQueue, q.Name)
}

func TestExtension(t *testing.T) {
	tp, doc := render(t, deploy.Options{Config: core.Config{AppName: "shop"}, Modules: []string{"order"}, Extensions: []deploy.Extension{extension{}}})
	vars := props(doc, "Function")["Environment"].(map[string]any)["Variables"].(map[string]any)
	if _, ok := vars[core.EnvImportQueue]; !ok || tp.Resource("ImportQueueDLQ") == nil {
		t.Fatalf("extension's variable or DLQ missing: %v", vars)
	}
	pol := mustJSON(t, props(doc, "FunctionRole"))
	if !bytes.Contains(pol, []byte(`"Sid":"ImportTable"`)) {
		t.Errorf("extension's grant missing from the function's role")
	}
	if _, err := deploy.New(deploy.Options{Config: core.Config{AppName: "shop"}, Modules: []string{"order"}, Extensions: []deploy.Extension{extension{}, extension{}}}); err == nil || !strings.Contains(err.Error(), "extension import") {
		t.Errorf("an extension applied twice: %v", err)
	}
}
