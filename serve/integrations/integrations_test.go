package integrations_test

import (
	"context"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/stepcqrs/stepcqrs/asl"
	"github.com/stepcqrs/stepcqrs/asl/interp"
	"github.com/stepcqrs/stepcqrs/core"
	"github.com/stepcqrs/stepcqrs/core/memory"
	"github.com/stepcqrs/stepcqrs/serve/integrations"
)

// env is an interpreter whose integrations run on in-memory ports.
type env struct {
	store   *memory.Store
	queues  *memory.Queues
	topics  *memory.Topics
	objects *memory.Objects
	events  *integrations.EventRecorder
	res     map[string]interp.Resource
}

func newEnv(t *testing.T) *env {
	t.Helper()
	e := &env{store: memory.NewStore(), queues: memory.NewQueues(), topics: memory.NewTopics(), objects: memory.NewObjects(), events: &integrations.EventRecorder{}}
	if err := e.queues.CreateQueue("jobs", memory.QueueConfig{}); err != nil {
		t.Fatal(err)
	}
	if err := e.topics.CreateTopic("news"); err != nil {
		t.Fatal(err)
	}
	if err := e.objects.CreateBucket("bucket-name"); err != nil {
		t.Fatal(err)
	}
	e.res = integrations.Resources(integrations.Backends{Items: e.store, Queues: e.queues, Topics: e.topics, Objects: e.objects, Events: e.events})
	return e
}

// run runs a definition to its end and returns its result.
func (e *env) run(t *testing.T, def string, input string) interp.Result {
	t.Helper()
	x, _ := e.start(t, def, input)
	res, err := x.Wait(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func (e *env) start(t *testing.T, def string, input string) (*interp.Execution, *interp.Engine) {
	t.Helper()
	sm, err := asl.ParseAndValidate([]byte(def))
	if err != nil {
		t.Fatalf("definition: %v", err)
	}
	eng, err := interp.New(sm, interp.Options{Resources: e.res, Clock: interp.NewVirtualClock(time.Now())})
	if err != nil {
		t.Fatal(err)
	}
	x, err := eng.Start(context.Background(), json.RawMessage(input))
	if err != nil {
		t.Fatal(err)
	}
	return x, eng
}

// task is a one-state machine of resource with parameters.
func task(resource, params string) string {
	return `{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"` + resource + `","Parameters":` + params + `,"End":true}}}`
}

func decode(t *testing.T, s json.RawMessage) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(s, &m); err != nil {
		t.Fatalf("output %s: %v", s, err)
	}
	return m
}

func mustSucceed(t *testing.T, res interp.Result) map[string]any {
	t.Helper()
	if res.Status != interp.StatusSucceeded {
		t.Fatalf("status %s: %s: %s", res.Status, res.Error, res.Cause)
	}
	return decode(t, res.Output)
}

func jsonOf(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// sdkHTTP checks the SdkHttpMetadata of an optimized integration's result
// and returns the result without it.
func sdkHTTP(t *testing.T, out map[string]any, contentType string) map[string]any {
	t.Helper()
	md, _ := out["SdkHttpMetadata"].(map[string]any)
	hh, _ := md["HttpHeaders"].(map[string]any)
	rm, _ := out["SdkResponseMetadata"].(map[string]any)
	if md["HttpStatusCode"] != float64(200) || hh["Content-Type"] != contentType || rm["RequestId"] == "" || rm["RequestId"] != hh["x-amzn-RequestId"] {
		t.Errorf("SdkHttpMetadata %v, SdkResponseMetadata %v", md, rm)
	}
	rest := map[string]any{}
	for k, v := range out {
		if k != "SdkHttpMetadata" && k != "SdkResponseMetadata" {
			rest[k] = v
		}
	}
	return rest
}

// TestDynamoDBPutUpdateGetQueryDelete follows AWS's recorded
// DYNAMODB_PUT_UPDATE_GET_ITEM and DYNAMODB_PUT_QUERY runs, on a table
// keyed by pk and sk.
func TestDynamoDBPutUpdateGetQueryDelete(t *testing.T) {
	e := newEnv(t)
	def := `{"StartAt":"Put","States":{
	  "Put":{"Type":"Task","Resource":"arn:aws:states:::dynamodb:putItem","Parameters":{"TableName":"t","Item.$":"$.item"},"ResultPath":"$.put","Next":"Update"},
	  "Update":{"Type":"Task","Resource":"arn:aws:states:::dynamodb:updateItem","Parameters":{"TableName":"t","Key.$":"$.key","UpdateExpression":"set S=:r","ExpressionAttributeValues":{":r":{"S":"HelloWorldUpdated"}},"ReturnValues":"UPDATED_NEW"},"ResultPath":"$.update","Next":"Get"},
	  "Get":{"Type":"Task","Resource":"arn:aws:states:::dynamodb:getItem","Parameters":{"TableName":"t","Key.$":"$.key"},"ResultPath":"$.get","Next":"Query"},
	  "Query":{"Type":"Task","Resource":"arn:aws:states:::aws-sdk:dynamodb:query","Parameters":{"TableName":"t","KeyConditionExpression":"pk = :p AND begins_with(sk, :s)","ExpressionAttributeValues":{":p":{"S":"P#1"},":s":{"S":"S#"}}},"ResultPath":"$.query","Next":"Delete"},
	  "Delete":{"Type":"Task","Resource":"arn:aws:states:::dynamodb:deleteItem","Parameters":{"TableName":"t","Key.$":"$.key","ReturnValues":"ALL_OLD"},"ResultPath":"$.delete","Next":"GetAgain"},
	  "GetAgain":{"Type":"Task","Resource":"arn:aws:states:::dynamodb:getItem","Parameters":{"TableName":"t","Key.$":"$.key"},"ResultPath":"$.gone","End":true}}}`
	in := `{"item":{"pk":{"S":"P#1"},"sk":{"S":"S#1"},"data":{"S":"HelloWorld"},"n":{"N":"5"},"tags":{"SS":["a","b"]}},"key":{"pk":{"S":"P#1"},"sk":{"S":"S#1"}}}`
	out := mustSucceed(t, e.run(t, def, in))
	if put := sdkHTTP(t, out["put"].(map[string]any), "application/x-amz-json-1.0"); len(put) != 0 {
		t.Errorf("putItem answered %v beside the metadata, AWS answers nothing", put)
	}
	if got := jsonOf(t, sdkHTTP(t, out["update"].(map[string]any), "application/x-amz-json-1.0")); got != `{"Attributes":{"S":{"S":"HelloWorldUpdated"}}}` {
		t.Errorf("updateItem UPDATED_NEW: %s", got)
	}
	wantItem := `{"Item":{"S":{"S":"HelloWorldUpdated"},"data":{"S":"HelloWorld"},"n":{"N":"5"},"pk":{"S":"P#1"},"sk":{"S":"S#1"},"tags":{"SS":["a","b"]}}}`
	if got := jsonOf(t, sdkHTTP(t, out["get"].(map[string]any), "application/x-amz-json-1.0")); got != wantItem {
		t.Errorf("getItem: %s\nwant %s", got, wantItem)
	}
	q := out["query"].(map[string]any)
	if _, ok := q["SdkHttpMetadata"]; ok {
		t.Errorf("the AWS SDK integration has no SdkHttpMetadata: %v", q)
	}
	if q["Count"] != float64(1) || q["ScannedCount"] != float64(1) || jsonOf(t, q["Items"]) != `[`+strings.TrimSuffix(strings.TrimPrefix(wantItem, `{"Item":`), "}")+`]` {
		t.Errorf("query: %s", jsonOf(t, q))
	}
	if got := jsonOf(t, sdkHTTP(t, out["delete"].(map[string]any), "application/x-amz-json-1.0")); got != strings.Replace(wantItem, `"Item"`, `"Attributes"`, 1) {
		t.Errorf("deleteItem ALL_OLD: %s", got)
	}
	if gone := sdkHTTP(t, out["gone"].(map[string]any), "application/x-amz-json-1.0"); len(gone) != 0 {
		t.Errorf("getItem of a deleted item: %v, want no Item", gone)
	}
	if _, err := e.store.Get(context.Background(), "t", core.Key{PK: "P#1", SK: "S#1"}, true); !strings.Contains(errString(err), "not found") {
		t.Errorf("the item is still stored: %v", err)
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// TestDynamoDBErrors: AWS's error names and cause layout.
func TestDynamoDBErrors(t *testing.T) {
	e := newEnv(t)
	cases := []struct {
		name, resource, params string
		wantErr, wantCause     string
	}{
		{"condition failed", "arn:aws:states:::dynamodb:putItem",
			`{"TableName":"t","Item":{"pk":{"S":"P"},"sk":{"S":"S"}},"ConditionExpression":"attribute_not_exists(pk)"}`,
			"DynamoDB.ConditionalCheckFailedException", "The conditional request failed (Service: AmazonDynamoDBv2; Status Code: 400; Error Code: ConditionalCheckFailedException; Request ID: "},
		{"condition failed, AWS SDK integration", "arn:aws:states:::aws-sdk:dynamodb:putItem",
			`{"TableName":"t","Item":{"pk":{"S":"P"},"sk":{"S":"S"}},"ConditionExpression":"attribute_not_exists(pk)"}`,
			"DynamoDb.ConditionalCheckFailedException", "The conditional request failed (Service: DynamoDb, Status Code: 400, Request ID: "},
		{"no item", "arn:aws:states:::dynamodb:putItem", `{"TableName":"t"}`,
			"DynamoDB.AmazonDynamoDBException", "1 validation error detected: Value null at 'item' failed to satisfy constraint: Member must not be null (Service: AmazonDynamoDBv2; Status Code: 400; Error Code: ValidationException;"},
		{"another key schema", "arn:aws:states:::dynamodb:getItem", `{"TableName":"t","Key":{"id":{"S":"1"}}}`,
			"DynamoDB.AmazonDynamoDBException", "The provided key element does not match the schema"},
		{"an expression the port cannot carry", "arn:aws:states:::dynamodb:updateItem",
			`{"TableName":"t","Key":{"pk":{"S":"P"},"sk":{"S":"S"}},"UpdateExpression":"SET a = if_not_exists(a, :z)","ExpressionAttributeValues":{":z":{"N":"0"}}}`,
			"DynamoDB.AmazonDynamoDBException", "not supported by the ItemStore port"},
	}
	// The item the conditions see.
	if err := e.store.Put(context.Background(), "t", core.Item{"pk": s("P"), "sk": s("S")}, core.Condition{}); err != nil {
		t.Fatal(err)
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res := e.run(t, task(c.resource, c.params), `{}`)
			if res.Status != interp.StatusFailed || res.Error != c.wantErr || !strings.Contains(res.Cause, c.wantCause) {
				t.Errorf("got %s %s: %s\nwant %s with a cause containing %q", res.Status, res.Error, res.Cause, c.wantErr, c.wantCause)
			}
		})
	}
}

// TestDynamoDBAtomicCounter: "SET n = n + :one" and "ADD" are the port's
// atomic Add; ALL_NEW answers the item after the update.
func TestDynamoDBAtomicCounter(t *testing.T) {
	e := newEnv(t)
	def := task("arn:aws:states:::dynamodb:updateItem", `{"TableName":"t","Key":{"pk":{"S":"C"},"sk":{"S":"1"}},"UpdateExpression":"SET #n = #n + :one ADD m :two REMOVE gone","ExpressionAttributeNames":{"#n":"n"},"ExpressionAttributeValues":{":one":{"N":"1"},":two":{"N":"2"}},"ReturnValues":"ALL_NEW"}`)
	if err := e.store.Put(context.Background(), "t", core.Item{"pk": s("C"), "sk": s("1"), "gone": s("x")}, core.Condition{}); err != nil {
		t.Fatal(err)
	}
	e.run(t, def, `{}`)
	out := mustSucceed(t, e.run(t, def, `{}`))
	if got := jsonOf(t, out["Attributes"]); got != `{"m":{"N":"4"},"n":{"N":"2"},"pk":{"S":"C"},"sk":{"S":"1"}}` {
		t.Errorf("after two updates: %s", got)
	}
}

func s(v string) core.AttributeValue { return &types.AttributeValueMemberS{Value: v} }

// TestSQSSendMessage follows AWS's recorded test_send_message_attributes;
// the waitForTaskToken pattern gets its token through the message.
func TestSQSSendMessage(t *testing.T) {
	e := newEnv(t)
	res := e.run(t, task("arn:aws:states:::sqs:sendMessage", `{"QueueUrl":"https://sqs.us-east-1.amazonaws.com/123456789012/jobs","MessageBody":"test_message_body","MessageAttributes":{"my_attribute_no_1":{"DataType":"String","StringValue":"Hello"},"my_attribute_no_2":{"DataType":"String","StringValue":"World"}}}`), `{}`)
	out := sdkHTTP(t, mustSucceed(t, res), "application/x-amz-json-1.0")
	msgs, err := e.queues.Receive(context.Background(), "jobs", 10, 0)
	if err != nil || len(msgs) != 1 {
		t.Fatalf("queue: %v, %v", msgs, err)
	}
	m := msgs[0]
	if out["MessageId"] != m.ID || out["MD5OfMessageBody"] != "3caa9a099bc4e58ae7923f68c5d7d081" || m.Body != "test_message_body" ||
		!reflect.DeepEqual(m.Attributes, map[string]string{"my_attribute_no_1": "Hello", "my_attribute_no_2": "World"}) {
		t.Errorf("result %v, message %+v", out, m)
	}
	if out["MD5OfMessageAttributes"] != "7a2370fb1a1bb683e7d1ed61e44ffe02" {
		t.Errorf("MD5OfMessageAttributes %v", out["MD5OfMessageAttributes"])
	}

	// .waitForTaskToken: the body carries the token, the task waits for it.
	x, eng := e.start(t, task("arn:aws:states:::sqs:sendMessage.waitForTaskToken", `{"QueueUrl":"jobs","MessageBody":{"token.$":"$$.Task.Token","n.$":"$.n"}}`), `{"n":7}`)
	var body struct {
		Token string
		N     int
	}
	for body.Token == "" {
		msgs, err := e.queues.Receive(context.Background(), "jobs", 1, time.Second)
		if err != nil {
			t.Fatal(err)
		}
		if len(msgs) == 1 {
			if err := json.Unmarshal([]byte(msgs[0].Body), &body); err != nil {
				t.Fatal(err)
			}
		}
	}
	if body.N != 7 {
		t.Errorf("message body %+v", body)
	}
	if x.Status().Status != interp.StatusRunning {
		t.Fatalf("the task did not wait for its token: %+v", x.Status())
	}
	if err := eng.SendTaskSuccess(body.Token, json.RawMessage(`{"done":true}`)); err != nil {
		t.Fatal(err)
	}
	if res, _ := x.Wait(context.Background()); res.Status != interp.StatusSucceeded || string(res.Output) != `{"done":true}` {
		t.Errorf("after SendTaskSuccess: %+v", res)
	}
}

// TestSNSPublish: a JSON Message is published as its JSON text; an
// unknown topic is SNS.NotFoundException, as AWS recorded it.
func TestSNSPublish(t *testing.T) {
	e := newEnv(t)
	out := sdkHTTP(t, mustSucceed(t, e.run(t, task("arn:aws:states:::sns:publish", `{"TopicArn":"arn:aws:sns:us-east-1:123456789012:news","Message":{"Message":"HelloWorld!"},"MessageAttributes":{"kind":{"DataType":"String","StringValue":"greeting"}}}`), `{}`)), "text/xml")
	pub := e.topics.Published("news")
	if len(pub) != 1 || pub[0].Message != `{"Message":"HelloWorld!"}` || pub[0].Attributes["kind"] != "greeting" || out["MessageId"] != pub[0].ID {
		t.Errorf("result %v, published %+v", out, pub)
	}
	res := e.run(t, task("arn:aws:states:::sns:publish", `{"TopicArn":"arn:aws:sns:us-east-1:123456789012:nope","Message":"x"}`), `{}`)
	if res.Error != "SNS.NotFoundException" || !strings.HasPrefix(res.Cause, "Topic does not exist (Service: AmazonSNS; Status Code: 404; Error Code: NotFound; Request ID: ") {
		t.Errorf("unknown topic: %s: %s", res.Error, res.Cause)
	}
}

// TestS3PutGetObject: a JSON Body is stored as compact JSON, with the
// ETag AWS recorded for it (test_s3_put_object[dict]).
func TestS3PutGetObject(t *testing.T) {
	e := newEnv(t)
	put := mustSucceed(t, e.run(t, task("arn:aws:states:::aws-sdk:s3:putObject", `{"Bucket":"bucket-name","Key":"file-key","Body":{"Dict":"Value"}}`), `{}`))
	if put["ETag"] != `"49e31cee5aec8faf3345893addb14346"` {
		t.Errorf("putObject: %v", put)
	}
	if b, err := e.objects.Get(context.Background(), "bucket-name", "file-key"); err != nil || string(b) != `{"Dict":"Value"}` {
		t.Errorf("stored %q, %v", b, err)
	}
	get := mustSucceed(t, e.run(t, task("arn:aws:states:::aws-sdk:s3:getObject", `{"Bucket":"bucket-name","Key":"file-key"}`), `{}`))
	if get["Body"] != `{"Dict":"Value"}` || get["ContentLength"] != float64(16) || get["ETag"] != put["ETag"] || get["ContentType"] != "binary/octet-stream" {
		t.Errorf("getObject: %v", get)
	}
	res := e.run(t, task("arn:aws:states:::aws-sdk:s3:getObject", `{"Bucket":"bucket-name","Key":"missing"}`), `{}`)
	if res.Error != "S3.NoSuchKeyException" || !strings.HasPrefix(res.Cause, "The specified key does not exist. (Service: S3, Status Code: 404, Request ID: ") {
		t.Errorf("missing key: %s: %s", res.Error, res.Cause)
	}
}

// TestEventsPutEvents follows AWS's recorded test_put_events_base,
// test_put_events_malformed_detail and test_put_events_no_source.
func TestEventsPutEvents(t *testing.T) {
	e := newEnv(t)
	out := mustSucceed(t, e.run(t, task("arn:aws:states:::events:putEvents", `{"Entries":[
	  {"Detail":"{\"Message\": \"HelloWorld0\"}","DetailType":"dt","Source":"some.source"},
	  {"Detail":{"Message":"HelloWorld1"},"DetailType":"dt","Source":"some.source","Resources":["r1"]}]}`), `{}`))
	evs := e.events.Events()
	if len(evs) != 2 || out["FailedEntryCount"] != float64(0) || jsonOf(t, out["Entries"]) != `[{"EventId":"`+evs[0].ID+`"},{"EventId":"`+evs[1].ID+`"}]` {
		t.Fatalf("result %v, events %+v", out, evs)
	}
	if string(evs[0].Detail) != `{"Message": "HelloWorld0"}` || string(evs[1].Detail) != `{"Message":"HelloWorld1"}` || evs[1].Source != "some.source" || evs[1].DetailType != "dt" || !reflect.DeepEqual(evs[1].Resources, []string{"r1"}) {
		t.Errorf("events %+v", evs)
	}
	res := e.run(t, task("arn:aws:states:::events:putEvents", `{"Entries":[{"Detail":"\"jsonstring\"","DetailType":"dt","Source":"some.source"}]}`), `{}`)
	if res.Error != "EventBridge.FailedEntry" || res.Cause != `{"Entries":[{"ErrorCode":"MalformedDetail","ErrorMessage":"Detail is malformed."}],"FailedEntryCount":1}` {
		t.Errorf("malformed detail: %s: %s", res.Error, res.Cause)
	}
	res = e.run(t, task("arn:aws:states:::events:putEvents", `{"Entries":[{"Detail":{"Message":"HelloWorld1"},"DetailType":"dt","Source":"some.source"},{"Detail":{"Message":"HelloWorld"},"DetailType":"dt"}]}`), `{}`)
	var cause struct {
		Entries          []map[string]string
		FailedEntryCount int
	}
	_ = json.Unmarshal([]byte(res.Cause), &cause)
	if res.Error != "EventBridge.FailedEntry" || cause.FailedEntryCount != 1 || len(cause.Entries) != 2 || cause.Entries[0]["EventId"] == "" ||
		cause.Entries[1]["ErrorCode"] != "InvalidArgument" || cause.Entries[1]["ErrorMessage"] != "Parameter Source is not valid. Reason: Source is a required argument." {
		t.Errorf("no source: %s: %s", res.Error, res.Cause)
	}
	if n := len(e.events.Events()); n != 3 {
		t.Errorf("the valid entry of a failed call is still put, as EventBridge does: %d events, want 3", n)
	}
}
