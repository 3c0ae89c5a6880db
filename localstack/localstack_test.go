package localstack_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/stepcqrs/stepcqrs/core"
	"github.com/stepcqrs/stepcqrs/localstack"
	"github.com/stepcqrs/stepcqrs/localstack/endpointtest"
)

func TestMain(m *testing.M) { endpointtest.Main(m) }

const passDefinition = `{"StartAt":"P","States":{"P":{"Type":"Pass","End":true}}}`

func spec() localstack.Spec {
	return localstack.Spec{
		Tables: []localstack.TableSpec{
			{Name: "order-command", Stream: localstack.StreamNewImage, TTL: true},
			{Name: "order-data", Stream: localstack.StreamNewAndOldImage, TTL: true},
			{Name: "tasks"},
		},
		Queues:  []localstack.QueueSpec{{Name: "tasks", DLQ: "tasks-dlq", MaxReceiveCount: 3}},
		Topics:  []localstack.TopicSpec{{Name: "notifications", Queues: []string{"tasks"}, RawDelivery: true}},
		Buckets: []string{"stepcqrs-imports"},
		StateMachines: []localstack.StateMachineSpec{
			{Name: "command", Definition: passDefinition},
		},
	}
}

func TestProvisionIsIdempotent(t *testing.T) {
	cfg := endpointtest.Config(t)
	endpointtest.Reset(t)
	ctx := context.Background()
	first, err := localstack.Provision(ctx, cfg, spec())
	if err != nil {
		t.Fatalf("Provision: %v", err)
	}
	// A changed definition is applied to the existing machine.
	sp := spec()
	sp.StateMachines[0].Definition = `{"StartAt":"Q","States":{"Q":{"Type":"Pass","End":true}}}`
	second, err := localstack.Provision(ctx, cfg, sp)
	if err != nil {
		t.Fatalf("second Provision: %v", err)
	}
	if first.StateMachineARNs["command"] != second.StateMachineARNs["command"] || first.QueueURLs["tasks"] != second.QueueURLs["tasks"] ||
		first.TopicARNs["notifications"] != second.TopicARNs["notifications"] {
		t.Fatalf("second Provision named other resources:\n%+v\n%+v", first, second)
	}
	if first.TableStreamARNs["order-command"] == "" || first.TableStreamARNs["tasks"] != "" {
		t.Fatalf("stream ARNs: %v", first.TableStreamARNs)
	}

	db := dynamodb.NewFromConfig(cfg)
	desc, err := db.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String("order-data")})
	if err != nil {
		t.Fatal(err)
	}
	if desc.Table.TableStatus != types.TableStatusActive || desc.Table.StreamSpecification.StreamViewType != types.StreamViewTypeNewAndOldImages {
		t.Fatalf("order-data: status %s, stream %+v", desc.Table.TableStatus, desc.Table.StreamSpecification)
	}
	if desc.Table.BillingModeSummary == nil || desc.Table.BillingModeSummary.BillingMode != types.BillingModePayPerRequest {
		t.Fatalf("order-data billing: %+v", desc.Table.BillingModeSummary)
	}
	ttl, err := db.DescribeTimeToLive(ctx, &dynamodb.DescribeTimeToLiveInput{TableName: aws.String("order-data")})
	if err != nil || aws.ToString(ttl.TimeToLiveDescription.AttributeName) != "ttl" {
		t.Fatalf("TTL: %+v, %v", ttl, err)
	}

	q := sqs.NewFromConfig(cfg)
	attrs, err := q.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{
		QueueUrl: aws.String(second.QueueURLs["tasks"]), AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameRedrivePolicy},
	})
	if err != nil {
		t.Fatal(err)
	}
	var redrive struct {
		Target string `json:"deadLetterTargetArn"`
		Max    any    `json:"maxReceiveCount"`
	}
	if err := json.Unmarshal([]byte(attrs.Attributes["RedrivePolicy"]), &redrive); err != nil || redrive.Target != second.QueueARNs["tasks-dlq"] {
		t.Fatalf("redrive policy %q (%v), want target %s", attrs.Attributes["RedrivePolicy"], err, second.QueueARNs["tasks-dlq"])
	}

	subs, err := sns.NewFromConfig(cfg).ListSubscriptionsByTopic(ctx, &sns.ListSubscriptionsByTopicInput{TopicArn: aws.String(second.TopicARNs["notifications"])})
	if err != nil || len(subs.Subscriptions) != 1 {
		t.Fatalf("subscriptions after two Provisions: %+v, %v (want exactly 1)", subs, err)
	}

	sm, err := sfn.NewFromConfig(cfg).DescribeStateMachine(ctx, &sfn.DescribeStateMachineInput{StateMachineArn: aws.String(second.StateMachineARNs["command"])})
	if err != nil || !strings.Contains(aws.ToString(sm.Definition), `"Q"`) {
		t.Fatalf("state machine definition not updated: %v, %v", aws.ToString(sm.Definition), err)
	}
}

func TestReadStream(t *testing.T) {
	cfg := endpointtest.Config(t)
	ctx := context.Background()
	table := endpointtest.Name("stream")
	if _, err := localstack.Provision(ctx, cfg, localstack.Spec{Tables: []localstack.TableSpec{{Name: table, Stream: localstack.StreamNewAndOldImage}}}); err != nil {
		t.Fatal(err)
	}
	db := dynamodb.NewFromConfig(cfg)
	item := map[string]types.AttributeValue{
		"pk":   &types.AttributeValueMemberS{Value: "ORDER#t1"},
		"sk":   &types.AttributeValueMemberS{Value: "ORDER#o1@1"},
		"n":    &types.AttributeValueMemberN{Value: "42"},
		"ok":   &types.AttributeValueMemberBOOL{Value: true},
		"tags": &types.AttributeValueMemberSS{Value: []string{"a", "b"}},
		"attributes": &types.AttributeValueMemberM{Value: map[string]types.AttributeValue{
			"list": &types.AttributeValueMemberL{Value: []types.AttributeValue{&types.AttributeValueMemberS{Value: "x"}, &types.AttributeValueMemberNULL{Value: true}}},
		}},
	}
	if _, err := db.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(table), Item: item}); err != nil {
		t.Fatal(err)
	}
	item["n"] = &types.AttributeValueMemberN{Value: "43"}
	if _, err := db.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(table), Item: item}); err != nil {
		t.Fatal(err)
	}
	recs, err := localstack.ReadStream(ctx, cfg, table)
	if err != nil {
		t.Fatalf("ReadStream: %v", err)
	}
	if len(recs) != 2 {
		t.Fatalf("got %d records, want 2: %+v", len(recs), recs)
	}
	ins, mod := recs[0], recs[1]
	if ins.EventName != "INSERT" || mod.EventName != "MODIFY" {
		t.Fatalf("event names %s, %s", ins.EventName, mod.EventName)
	}
	if ins.EventSource != "aws:dynamodb" || !strings.Contains(ins.EventSourceArn, table) || ins.AWSRegion == "" {
		t.Fatalf("record metadata: %+v", ins)
	}
	if got := ins.Change.Keys["sk"].String(); got != "ORDER#o1@1" {
		t.Fatalf("keys: %v", ins.Change.Keys)
	}
	img := ins.Change.NewImage
	if img["n"].Number() != "42" || !img["ok"].Boolean() || len(img["tags"].StringSet()) != 2 ||
		img["attributes"].Map()["list"].List()[0].String() != "x" || !img["attributes"].Map()["list"].List()[1].IsNull() {
		t.Fatalf("new image: %+v", img)
	}
	if mod.Change.OldImage["n"].Number() != "42" || mod.Change.NewImage["n"].Number() != "43" {
		t.Fatalf("modify images: old %v new %v", mod.Change.OldImage["n"], mod.Change.NewImage["n"])
	}
	if ins.Change.SequenceNumber == "" || ins.Change.StreamViewType != "NEW_AND_OLD_IMAGES" {
		t.Fatalf("stream record: %+v", ins.Change)
	}
	// The records survive a round trip through the Lambda event JSON.
	raw, err := json.Marshal(events.DynamoDBEvent{Records: recs})
	if err != nil {
		t.Fatal(err)
	}
	var back events.DynamoDBEvent
	if err := json.Unmarshal(raw, &back); err != nil || len(back.Records) != 2 || back.Records[0].Change.NewImage["n"].Number() != "42" {
		t.Fatalf("JSON round trip: %v, %s", err, raw)
	}
}

func TestReadStreamWithoutStream(t *testing.T) {
	cfg := endpointtest.Config(t)
	table := endpointtest.Name("nostream")
	if _, err := localstack.Provision(context.Background(), cfg, localstack.Spec{Tables: []localstack.TableSpec{{Name: table}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := localstack.ReadStream(context.Background(), cfg, table); err == nil || !strings.Contains(err.Error(), "no stream") {
		t.Fatalf("ReadStream of a table without stream: %v", err)
	}
}

func TestServiceSpec(t *testing.T) {
	c := core.Config{Env: "local", AppName: "demo"}
	sp, err := localstack.ServiceSpec(c, "order", "product")
	if err != nil {
		t.Fatal(err)
	}
	if len(sp.Tables) != 8 || sp.Tables[0].Name != "local-demo-order-command" || sp.Tables[0].Stream != localstack.StreamNewImage ||
		sp.Tables[1].Stream != localstack.StreamNone || !sp.Tables[2].TTL {
		t.Fatalf("tables: %+v", sp.Tables)
	}
	if sp.Queues[0].DLQ != c.TaskDLQ() || sp.Topics[0].Queues[0] != c.NotificationQueue() || sp.Buckets[0] != c.Bucket() {
		t.Fatalf("spec: %+v", sp)
	}
	if _, err := localstack.ServiceSpec(c, "bad name"); !errors.Is(err, core.ErrValidation) {
		t.Fatalf("bad module: %v", err)
	}
	cfg := endpointtest.Config(t)
	c.AppName = strings.ToLower(endpointtest.Name("svc"))
	if sp, err = localstack.ServiceSpec(c, "order"); err != nil {
		t.Fatal(err)
	}
	res, err := localstack.Provision(context.Background(), cfg, sp)
	if err != nil {
		t.Fatalf("Provision(ServiceSpec): %v", err)
	}
	if res.TableStreamARNs[c.CommandTable("order")] == "" || res.QueueURLs[c.TaskDLQ()] == "" || res.TopicARNs[c.AlarmTopic()] == "" {
		t.Fatalf("resources: %+v", res)
	}
}
