package deploy_test

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"net/url"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	cftypes "github.com/aws/aws-sdk-go-v2/service/cloudformation/types"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/stepcqrs/stepcqrs/command"
	"github.com/stepcqrs/stepcqrs/core"
	"github.com/stepcqrs/stepcqrs/deploy"
	"github.com/stepcqrs/stepcqrs/importcsv"
	"github.com/stepcqrs/stepcqrs/localstack/endpointtest"
	"github.com/stepcqrs/stepcqrs/task"
)

// motoUnsupported are the resource types of the template that moto 5.2.1's
// CloudFormation does not implement: it marks them CREATE_COMPLETE without
// creating anything (no logical ID, no physical ID).
var motoUnsupported = map[string]bool{"AWS::SNS::Subscription": true, "AWS::SQS::QueuePolicy": true}

// TestTemplateOnCloudFormation creates the template as a stack on moto's
// CloudFormation (the Environment parameter overridden) and reads every
// resource back through its own service API.
func TestTemplateOnCloudFormation(t *testing.T) {
	cfg := endpointtest.Config(t)
	ctx := context.Background()
	modules := []string{"order", "order-line"}
	const codeBucket, codeKey = "stepcqrs-code", "function.zip"
	s3c := s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true })
	if _, err := s3c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(codeBucket)}); err != nil && !strings.Contains(err.Error(), "BucketAlreadyOwnedByYou") {
		t.Fatal(err)
	}
	if _, err := s3c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(codeBucket), Key: aws.String(codeKey), Body: bytes.NewReader(tinyZip(t))}); err != nil {
		t.Fatal(err)
	}
	opts := deploy.Options{
		Config:  core.Config{AppName: "shop", TTL: core.TTLDays{History: 90}},
		Modules: modules,
		Function: deploy.Function{Code: deploy.Code{S3Bucket: codeBucket, S3Key: codeKey},
			Environment: map[string]string{"LOG_LEVEL": "info"}},
		Sweep:   deploy.Sweep{CommandOlderThanSeconds: 600},
		Imports: deploy.Imports{Enabled: true},
	}
	tp, err := deploy.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	body, err := tp.JSON()
	if err != nil {
		t.Fatal(err)
	}
	env := strings.ToLower(strings.ReplaceAll(endpointtest.Name("ci"), "-", ""))
	stack := endpointtest.Name("stack")
	cf := cloudformation.NewFromConfig(cfg)
	if _, err := cf.CreateStack(ctx, &cloudformation.CreateStackInput{
		StackName:    aws.String(stack),
		TemplateBody: aws.String(string(body)),
		Parameters:   []cftypes.Parameter{{ParameterKey: aws.String("Environment"), ParameterValue: aws.String(env)}},
		Capabilities: []cftypes.Capability{cftypes.CapabilityCapabilityIam},
	}); err != nil {
		t.Fatalf("CreateStack: %v", err)
	}
	st := waitStack(t, cf, stack)
	if st.StackStatus != cftypes.StackStatusCreateComplete {
		t.Fatalf("stack %s: %s", st.StackStatus, aws.ToString(st.StackStatusReason))
	}
	prefix := env + "-shop-"
	outputs := map[string]string{}
	for _, o := range st.Outputs {
		outputs[aws.ToString(o.OutputKey)] = aws.ToString(o.OutputValue)
	}
	if outputs["NamePrefix"] != prefix {
		t.Fatalf("NamePrefix output %q, want %q (outputs %v)", outputs["NamePrefix"], prefix, outputs)
	}

	// Every resource of the template is in the stack, but the types moto
	// does not implement.
	res, err := cf.DescribeStackResources(ctx, &cloudformation.DescribeStackResourcesInput{StackName: aws.String(stack)})
	if err != nil {
		t.Fatal(err)
	}
	physical := map[string]string{}
	for _, r := range res.StackResources {
		if r.ResourceStatus != cftypes.ResourceStatusCreateComplete {
			t.Errorf("%s: %s", aws.ToString(r.LogicalResourceId), r.ResourceStatus)
		}
		physical[aws.ToString(r.LogicalResourceId)] = aws.ToString(r.PhysicalResourceId)
	}
	var skipped []string
	for _, id := range tp.LogicalIDs() {
		typ := tp.Resource(id).AWSCloudFormationType()
		_, ok := physical[id]
		switch {
		case motoUnsupported[typ] && !ok:
			skipped = append(skipped, id+" ("+typ+")")
		case !ok:
			t.Errorf("resource %s (%s) missing from the stack", id, typ)
		}
	}
	t.Logf("stack %s: %d resources created; not implemented by moto's CloudFormation: %v", stack, len(tp.LogicalIDs())-len(skipped), skipped)

	// The function's environment: core.ConfigFromEnv finds every resource.
	lc := lambda.NewFromConfig(cfg)
	fn, err := lc.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String(prefix + "function")})
	if err != nil {
		t.Fatal(err)
	}
	fc := fn.Configuration
	wantArch := "arm64"
	if endpointtest.UsesMoto() {
		// moto's CloudFormation drops Architectures (and TracingConfig,
		// LoggingConfig): the function reads back as x86_64.
		// TestTemplateResources checks them in the template.
		wantArch = "x86_64"
	}
	if string(fc.Runtime) != "provided.al2023" || aws.ToString(fc.Handler) != "bootstrap" || len(fc.Architectures) != 1 || string(fc.Architectures[0]) != wantArch ||
		aws.ToInt32(fc.MemorySize) != 512 || aws.ToInt32(fc.Timeout) != 60 {
		t.Errorf("function: runtime %s handler %s arch %v memory %d timeout %d", fc.Runtime, aws.ToString(fc.Handler), fc.Architectures, aws.ToInt32(fc.MemorySize), aws.ToInt32(fc.Timeout))
	}
	vars := fc.Environment.Variables
	if vars["LOG_LEVEL"] != "info" {
		t.Errorf("extra variable LOG_LEVEL = %q", vars["LOG_LEVEL"])
	}
	c, err := core.ConfigFromEnv(func(k string) string { return vars[k] })
	if err != nil {
		t.Fatalf("ConfigFromEnv(function environment): %v\n%v", err, vars)
	}
	if c.Env != env || c.Prefix() != prefix || c.TTL.History != 90 {
		t.Errorf("config from the function's environment: env %q prefix %q ttl %+v", c.Env, c.Prefix(), c.TTL)
	}
	checkTables(ctx, t, cfg, c, modules)
	checkQueuesAndTopics(ctx, t, cfg, c, outputs)
	if _, err := s3c.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String(c.Bucket())}); err != nil {
		t.Errorf("bucket %s: %v", c.Bucket(), err)
	}

	// State machines: the definitions are the exports, with the
	// function's ARN.
	sf := sfn.NewFromConfig(cfg)
	fnARN := aws.ToString(fc.FunctionArn)
	wantCommand, _ := command.StateMachineJSON(command.StateMachineOptions{FunctionARN: fnARN})
	wantTask, _ := task.StateMachineJSON(task.StateMachineOptions{FunctionARN: fnARN})
	wantImport, _ := importcsv.StateMachineJSON(importcsv.StateMachineOptions{FunctionARN: fnARN})
	if c.ImportStateMachineARN == "" {
		t.Error("the function's environment names no import state machine")
	}
	for arn, want := range map[string][]byte{c.CommandStateMachineARN: wantCommand, c.TaskStateMachineARN: wantTask, c.ImportStateMachineARN: wantImport} {
		d, err := sf.DescribeStateMachine(ctx, &sfn.DescribeStateMachineInput{StateMachineArn: aws.String(arn)})
		if err != nil {
			t.Errorf("state machine %s: %v", arn, err)
			continue
		}
		if !jsonEqual(t, []byte(aws.ToString(d.Definition)), want) {
			t.Errorf("state machine %s: definition differs from the export:\n%s", arn, aws.ToString(d.Definition))
		}
	}

	checkMappings(ctx, t, lc, prefix, c, modules, opts)
	checkRules(ctx, t, cfg, prefix, fnARN)
	checkRolePolicy(ctx, t, cfg, physical["FunctionRole"], tp.Actions(deploy.RoleFunction))
	checkRolePolicy(ctx, t, cfg, physical["TaskStateMachineRole"], tp.Actions(deploy.RoleTaskStateMachine))
	checkRolePolicy(ctx, t, cfg, physical["CommandStateMachineRole"], tp.Actions(deploy.RoleCommandStateMachine))
	checkRolePolicy(ctx, t, cfg, physical["ImportStateMachineRole"], tp.Actions(deploy.RoleImportStateMachine))
}

// tinyZip is a deployment package moto stores (it runs nothing).
func tinyZip(t *testing.T) []byte {
	var b bytes.Buffer
	zw := zip.NewWriter(&b)
	w, err := zw.Create("bootstrap")
	if err == nil {
		_, err = w.Write([]byte("#!/bin/sh\n"))
	}
	if err == nil {
		err = zw.Close()
	}
	if err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func waitStack(t *testing.T, cf *cloudformation.Client, stack string) cftypes.Stack {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		d, err := cf.DescribeStacks(context.Background(), &cloudformation.DescribeStacksInput{StackName: aws.String(stack)})
		if err != nil {
			t.Fatal(err)
		}
		s := d.Stacks[0]
		if !strings.HasSuffix(string(s.StackStatus), "_IN_PROGRESS") || time.Now().After(deadline) {
			return s
		}
		time.Sleep(100 * time.Millisecond) // polling a remote stack's status, not synchronising goroutines
	}
}

func jsonEqual(t *testing.T, a, b []byte) bool {
	t.Helper()
	var x, y any
	if err := json.Unmarshal(a, &x); err != nil {
		t.Fatalf("%v: %s", err, a)
	}
	if err := json.Unmarshal(b, &y); err != nil {
		t.Fatalf("%v: %s", err, b)
	}
	return reflect.DeepEqual(x, y)
}

func checkTables(ctx context.Context, t *testing.T, cfg aws.Config, c core.Config, modules []string) {
	t.Helper()
	db := dynamodb.NewFromConfig(cfg)
	type want struct {
		stream ddbtypes.StreamViewType
		index  string
	}
	tables := map[string]want{c.TasksTable(): {ddbtypes.StreamViewTypeNewImage, task.UnsettledIndex.Name},
		c.ImportTable(): {"", importcsv.UnsettledIndex.Name}}
	for _, m := range modules {
		tables[c.CommandTable(m)] = want{ddbtypes.StreamViewTypeNewAndOldImages, command.UnsettledIndex.Name}
		tables[c.DataTable(m)] = want{}
		tables[c.HistoryTable(m)] = want{}
	}
	for name, w := range tables {
		d, err := db.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(name)})
		if err != nil {
			t.Errorf("table %s: %v", name, err)
			continue
		}
		tb := d.Table
		var keys []string
		for _, k := range tb.KeySchema {
			keys = append(keys, aws.ToString(k.AttributeName)+":"+string(k.KeyType))
		}
		if strings.Join(keys, ",") != "pk:HASH,sk:RANGE" {
			t.Errorf("table %s keys %v", name, keys)
		}
		if tb.BillingModeSummary == nil || tb.BillingModeSummary.BillingMode != ddbtypes.BillingModePayPerRequest {
			t.Errorf("table %s billing %+v", name, tb.BillingModeSummary)
		}
		gotStream := ddbtypes.StreamViewType("")
		if s := tb.StreamSpecification; s != nil && aws.ToBool(s.StreamEnabled) {
			gotStream = s.StreamViewType
		}
		if gotStream != w.stream {
			t.Errorf("table %s stream %q, want %q", name, gotStream, w.stream)
		}
		var idx []string
		for _, g := range tb.GlobalSecondaryIndexes {
			ks := []string{}
			for _, k := range g.KeySchema {
				ks = append(ks, aws.ToString(k.AttributeName))
			}
			idx = append(idx, aws.ToString(g.IndexName)+"("+strings.Join(ks, ",")+")"+string(g.Projection.ProjectionType))
		}
		wantIdx := []string(nil)
		if w.index != "" {
			wantIdx = []string{"unsettled(unsettled,unsettledAt)KEYS_ONLY"}
		}
		if !slices.Equal(idx, wantIdx) {
			t.Errorf("table %s indexes %v, want %v", name, idx, wantIdx)
		}
		ttl, err := db.DescribeTimeToLive(ctx, &dynamodb.DescribeTimeToLiveInput{TableName: aws.String(name)})
		if err != nil {
			t.Errorf("TTL of %s: %v", name, err)
			continue
		}
		status := ttl.TimeToLiveDescription.TimeToLiveStatus
		switch {
		case endpointtest.UsesMoto() && status == ddbtypes.TimeToLiveStatusDisabled:
			// moto's CloudFormation ignores TimeToLiveSpecification;
			// TestTemplateResources checks it in the template.
		case status != ddbtypes.TimeToLiveStatusEnabled || aws.ToString(ttl.TimeToLiveDescription.AttributeName) != "ttl":
			t.Errorf("TTL of %s: %s on %q", name, status, aws.ToString(ttl.TimeToLiveDescription.AttributeName))
		}
	}
}

func checkQueuesAndTopics(ctx context.Context, t *testing.T, cfg aws.Config, c core.Config, outputs map[string]string) {
	t.Helper()
	q := sqs.NewFromConfig(cfg)
	attrs := func(name string) map[string]string {
		u, err := q.GetQueueUrl(ctx, &sqs.GetQueueUrlInput{QueueName: aws.String(name)})
		if err != nil {
			t.Errorf("queue %s: %v", name, err)
			return nil
		}
		a, err := q.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: u.QueueUrl, AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameAll}})
		if err != nil {
			t.Errorf("queue %s: %v", name, err)
			return nil
		}
		return a.Attributes
	}
	redrive := func(name, dlq string, max int) {
		a := attrs(name)
		var p struct {
			Target string          `json:"deadLetterTargetArn"`
			Max    json.RawMessage `json:"maxReceiveCount"`
		}
		if err := json.Unmarshal([]byte(a["RedrivePolicy"]), &p); err != nil || !strings.HasSuffix(p.Target, ":"+dlq) || strings.Trim(string(p.Max), `"`) != itoa(max) {
			t.Errorf("queue %s redrive policy %q (%v), want %s after %d receives", name, a["RedrivePolicy"], err, dlq, max)
		}
		if d := attrs(dlq); d["MessageRetentionPeriod"] != "1209600" {
			t.Errorf("dead-letter queue %s retention %q, want 14 days", dlq, d["MessageRetentionPeriod"])
		}
	}
	redrive(c.TaskQueue(), c.TaskDLQ(), task.DefaultMaxReceiveCount)
	redrive(c.NotificationQueue(), c.NotificationQueue()+"-dlq", 5)
	if v := attrs(c.TaskQueue())["VisibilityTimeout"]; v != itoa(int(task.DefaultLease.Seconds())) {
		t.Errorf("task queue visibility timeout %s, want the lease %s", v, task.DefaultLease)
	}
	if outputs["StreamFailureQueueUrl"] == "" || attrs(c.Prefix()+"stream-failures") == nil {
		t.Errorf("stream failure queue: output %q", outputs["StreamFailureQueueUrl"])
	}
	topics, err := sns.NewFromConfig(cfg).ListTopics(ctx, &sns.ListTopicsInput{})
	if err != nil {
		t.Fatal(err)
	}
	found := map[string]bool{}
	for _, tp := range topics.Topics {
		a := aws.ToString(tp.TopicArn)
		found[a[strings.LastIndexByte(a, ':')+1:]] = true
	}
	if !found[c.NotificationTopic()] || !found[c.AlarmTopic()] {
		t.Errorf("topics %v lack %s or %s", found, c.NotificationTopic(), c.AlarmTopic())
	}
}

func checkMappings(ctx context.Context, t *testing.T, lc *lambda.Client, prefix string, c core.Config, modules []string, o deploy.Options) {
	t.Helper()
	out, err := lc.ListEventSourceMappings(ctx, &lambda.ListEventSourceMappingsInput{FunctionName: aws.String(prefix + "function")})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, m := range out.EventSourceMappings {
		src := aws.ToString(m.EventSourceArn)
		name := src[strings.LastIndexAny(src, ":/")+1:]
		if i := strings.Index(src, ":table/"); i >= 0 {
			name = strings.SplitN(src[i+len(":table/"):], "/", 2)[0]
		}
		var filters []string
		if m.FilterCriteria != nil {
			for _, f := range m.FilterCriteria.Filters {
				filters = append(filters, aws.ToString(f.Pattern))
			}
		}
		desc := strings.Join(filters, "|") + " types=" + join(m.FunctionResponseTypes)
		if strings.Contains(src, ":table/") {
			desc += " bisect=" + boolText(aws.ToBool(m.BisectBatchOnFunctionError)) +
				" retries=" + itoa(int(aws.ToInt32(m.MaximumRetryAttempts))) +
				" age=" + itoa(int(aws.ToInt32(m.MaximumRecordAgeInSeconds))) +
				" start=" + string(m.StartingPosition)
			if d := m.DestinationConfig; d == nil || d.OnFailure == nil || !strings.HasSuffix(aws.ToString(d.OnFailure.Destination), ":"+prefix+"stream-failures") {
				t.Errorf("mapping of %s: on-failure destination %+v", name, m.DestinationConfig)
			}
		}
		got[name] = desc
	}
	stream := func(filter string) string {
		return filter + " types=ReportBatchItemFailures bisect=true retries=10 age=86400 start=TRIM_HORIZON"
	}
	want := map[string]string{
		c.TasksTable(): stream(task.StreamFilterCriteria),
		c.TaskQueue():  " types=ReportBatchItemFailures",
	}
	for _, m := range modules {
		want[c.CommandTable(m)] = stream(command.StreamFilterCriteria)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("event source mappings:\n got %v\nwant %v", got, want)
	}
}

func checkRules(ctx context.Context, t *testing.T, cfg aws.Config, prefix, fnARN string) {
	t.Helper()
	eb := eventbridge.NewFromConfig(cfg)
	for rule, want := range map[string]string{
		"command-sweep": `{"version":"0","id":"stepcqrs-command-sweep","source":"stepcqrs","detail-type":"stepcqrs.command.sweep","account":"123456789012","region":"us-east-1","resources":[],"detail":{"olderThanSeconds":600}}`,
		"task-sweep":    `{"version":"0","id":"stepcqrs-task-sweep","source":"stepcqrs","detail-type":"stepcqrs.task.sweep","account":"123456789012","region":"us-east-1","resources":[],"detail":{}}`,
		"import-sweep":  `{"version":"0","id":"stepcqrs-import-sweep","source":"stepcqrs","detail-type":"stepcqrs.import.sweep","account":"123456789012","region":"us-east-1","resources":[],"detail":{}}`,
	} {
		d, err := eb.DescribeRule(ctx, &eventbridge.DescribeRuleInput{Name: aws.String(prefix + rule)})
		if err != nil {
			t.Errorf("rule %s: %v", rule, err)
			continue
		}
		if aws.ToString(d.ScheduleExpression) != "rate(5 minutes)" || d.State != "ENABLED" {
			t.Errorf("rule %s: schedule %q state %s", rule, aws.ToString(d.ScheduleExpression), d.State)
		}
		tg, err := eb.ListTargetsByRule(ctx, &eventbridge.ListTargetsByRuleInput{Rule: aws.String(prefix + rule)})
		if err != nil || len(tg.Targets) != 1 {
			t.Errorf("rule %s targets: %+v, %v", rule, tg, err)
			continue
		}
		if aws.ToString(tg.Targets[0].Arn) != fnARN || !jsonEqual(t, []byte(aws.ToString(tg.Targets[0].Input)), []byte(want)) {
			t.Errorf("rule %s target %s input %s", rule, aws.ToString(tg.Targets[0].Arn), aws.ToString(tg.Targets[0].Input))
		}
	}
}

func checkRolePolicy(ctx context.Context, t *testing.T, cfg aws.Config, role string, want []string) {
	t.Helper()
	ic := iam.NewFromConfig(cfg)
	p, err := ic.GetRolePolicy(ctx, &iam.GetRolePolicyInput{RoleName: aws.String(role), PolicyName: aws.String("stepcqrs")})
	if err != nil {
		t.Errorf("role %s: %v", role, err)
		return
	}
	doc, err := url.QueryUnescape(aws.ToString(p.PolicyDocument))
	if err != nil {
		doc = aws.ToString(p.PolicyDocument)
	}
	if endpointtest.UsesMoto() && strings.HasPrefix(doc, "{'") {
		// moto's CloudFormation stores an inline policy as the Python
		// repr of the document; ours holds no quote of its own.
		doc = strings.ReplaceAll(doc, "'", `"`)
	}
	var pd struct {
		Statement []struct {
			Action   []string
			Resource any
		}
	}
	if err := json.Unmarshal([]byte(doc), &pd); err != nil {
		t.Errorf("role %s policy %s: %v", role, doc, err)
		return
	}
	var got []string
	for _, s := range pd.Statement {
		got = append(got, s.Action...)
		if s.Resource == nil || s.Resource == "" {
			t.Errorf("role %s: statement %v without resource", role, s.Action)
		}
	}
	sort.Strings(got)
	got = slices.Compact(got)
	if !slices.Equal(got, want) {
		t.Errorf("role %s actions:\n got %v\nwant %v", role, got, want)
	}
}

func join[S ~string](s []S) string {
	var parts []string
	for _, x := range s {
		parts = append(parts, string(x))
	}
	return strings.Join(parts, ",")
}

func boolText(b bool) string {
	if b {
		return "true"
	}
	return "false"
}
