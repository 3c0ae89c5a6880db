package awsadapter_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"go.uber.org/fx"
	"go.uber.org/fx/fxtest"

	"github.com/stepcqrs/stepcqrs/core"
	"github.com/stepcqrs/stepcqrs/core/awsadapter"
	"github.com/stepcqrs/stepcqrs/localstack"
	"github.com/stepcqrs/stepcqrs/localstack/endpointtest"
)

// fakeDynamo answers BatchGetItem and BatchWriteItem, leaving the first
// request of each call unprocessed on the first attempt, and records the
// request sizes.
type fakeDynamo struct {
	awsadapter.DynamoDBAPI
	mu         sync.Mutex
	items      map[core.Key]map[string]types.AttributeValue
	getSizes   []int
	writeSizes []int
	stalls     int // how many calls still leave one request unprocessed
	txErr      error
}

func keyFrom(m map[string]types.AttributeValue) core.Key {
	return core.Key{PK: m["pk"].(*types.AttributeValueMemberS).Value, SK: m["sk"].(*types.AttributeValueMemberS).Value}
}

func (f *fakeDynamo) BatchGetItem(_ context.Context, in *dynamodb.BatchGetItemInput, _ ...func(*dynamodb.Options)) (*dynamodb.BatchGetItemOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := &dynamodb.BatchGetItemOutput{Responses: map[string][]map[string]types.AttributeValue{}}
	for table, ka := range in.RequestItems {
		f.getSizes = append(f.getSizes, len(ka.Keys))
		keys := ka.Keys
		if f.stalls > 0 && len(keys) > 1 {
			f.stalls--
			out.UnprocessedKeys = map[string]types.KeysAndAttributes{table: {Keys: keys[:1]}}
			keys = keys[1:]
		}
		for _, k := range keys {
			if it, ok := f.items[keyFrom(k)]; ok {
				out.Responses[table] = append(out.Responses[table], it)
			}
		}
	}
	return out, nil
}

func (f *fakeDynamo) BatchWriteItem(_ context.Context, in *dynamodb.BatchWriteItemInput, _ ...func(*dynamodb.Options)) (*dynamodb.BatchWriteItemOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := &dynamodb.BatchWriteItemOutput{}
	for table, reqs := range in.RequestItems {
		f.writeSizes = append(f.writeSizes, len(reqs))
		if f.stalls > 0 && len(reqs) > 1 {
			f.stalls--
			out.UnprocessedItems = map[string][]types.WriteRequest{table: reqs[:1]}
			reqs = reqs[1:]
		}
		for _, r := range reqs {
			if r.PutRequest != nil {
				f.items[keyFrom(r.PutRequest.Item)] = r.PutRequest.Item
			} else {
				delete(f.items, keyFrom(r.DeleteRequest.Key))
			}
		}
	}
	return out, nil
}

func (f *fakeDynamo) TransactWriteItems(context.Context, *dynamodb.TransactWriteItemsInput, ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error) {
	return nil, f.txErr
}

func kv(pk, sk string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{"pk": &types.AttributeValueMemberS{Value: pk}, "sk": &types.AttributeValueMemberS{Value: sk}}
}

func TestBatchChunksAndRetriesUnprocessed(t *testing.T) {
	f := &fakeDynamo{items: map[core.Key]map[string]types.AttributeValue{}, stalls: 3}
	st := awsadapter.NewItemStore(f)
	ctx := context.Background()
	var puts []core.Item
	var keys []core.Key
	for i := range 260 {
		sk := "S#" + string(rune('a'+i%26)) + string(rune('a'+i/26))
		puts = append(puts, kv("P", sk))
		keys = append(keys, core.Key{PK: "P", SK: sk})
	}
	if err := st.BatchWrite(ctx, "t", puts, nil); err != nil {
		t.Fatal(err)
	}
	if len(f.items) != 260 {
		t.Fatalf("stored %d items, want 260", len(f.items))
	}
	for _, n := range f.writeSizes {
		if n > awsadapter.BatchWriteChunk {
			t.Fatalf("BatchWriteItem of %d requests", n)
		}
	}
	if len(f.writeSizes) != 11+3 { // 260/25 rounded up, plus 3 retries
		t.Fatalf("BatchWriteItem calls %v", f.writeSizes)
	}
	f.stalls = 2
	got, err := st.BatchGet(ctx, "t", append(keys, keys[0], core.Key{PK: "P", SK: "missing"}), true)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 260 {
		t.Fatalf("BatchGet returned %d items, want 260", len(got))
	}
	if want := []int{100, 1, 100, 1, 61}; len(f.getSizes) != len(want) {
		t.Fatalf("BatchGetItem sizes %v, want %v", f.getSizes, want)
	}
	// Put then delete of one key in one call: the delete wins.
	if err := st.BatchWrite(ctx, "t", []core.Item{kv("P", "S#x")}, []core.Key{{PK: "P", SK: "S#x"}}); err != nil {
		t.Fatal(err)
	}
	if _, ok := f.items[core.Key{PK: "P", SK: "S#x"}]; ok {
		t.Fatal("delete after put in one BatchWrite did not win")
	}
}

func TestBatchWriteRejectsOversizedItemBeforeSending(t *testing.T) {
	f := &fakeDynamo{items: map[core.Key]map[string]types.AttributeValue{}}
	big := kv("P", "S")
	big["x"] = &types.AttributeValueMemberS{Value: strings.Repeat("x", core.MaxItemBytes)}
	err := awsadapter.NewItemStore(f).BatchWrite(context.Background(), "t", []core.Item{kv("P", "A"), big}, nil)
	if !errors.Is(err, core.ErrItemTooLarge) || len(f.writeSizes) != 0 {
		t.Fatalf("err %v after %d calls", err, len(f.writeSizes))
	}
}

func TestTransactionCanceledWithoutStructuredReasons(t *testing.T) {
	f := &fakeDynamo{txErr: &types.TransactionCanceledException{
		Message: aws.String("Transaction cancelled, please refer cancellation reasons for specific reasons [None, ConditionalCheckFailed]"),
	}}
	err := awsadapter.NewItemStore(f).Transact(context.Background(), []core.TxOp{
		{Table: "t", Put: kv("P", "A")},
		{Table: "t", Check: true, Key: core.Key{PK: "P", SK: "B"}, Cond: core.IfExists()},
	})
	var tce *core.TransactionCanceledError
	if !errors.As(err, &tce) || !errors.Is(err, core.ErrConditionFailed) {
		t.Fatalf("err = %v", err)
	}
	var cf *core.ConditionFailedError
	if tce.Reasons[0] != nil || !errors.As(tce.Reasons[1], &cf) || cf.Key.SK != "B" {
		t.Fatalf("reasons %v", tce.Reasons)
	}
}

func TestItemSize(t *testing.T) {
	it := kv("ab", "cde") // names 4 + values 5
	it["n"] = &types.AttributeValueMemberN{Value: "12345"}
	it["m"] = &types.AttributeValueMemberM{Value: map[string]types.AttributeValue{"k": &types.AttributeValueMemberBOOL{Value: true}}}
	// n: 1 + (5+1)/2+1 = 5; m: 1 + 3 + (1+1+1) = 7
	if got := core.ItemSize(it); got != 9+5+7 {
		t.Fatalf("ItemSize = %d, want 21", got)
	}
}

func TestExecutionARN(t *testing.T) {
	got := awsadapter.ExecutionARN("arn:aws:states:us-east-1:123456789012:stateMachine:command", "cmd-1")
	if got != "arn:aws:states:us-east-1:123456789012:execution:command:cmd-1" {
		t.Fatal(got)
	}
	if awsadapter.ExecutionARN("nonsense", "x") != "" {
		t.Fatal("ARN from nonsense")
	}
}

func TestStartExecutionIsIdempotentForJSONEqualInput(t *testing.T) {
	cfg := endpointtest.Config(t)
	client := sfn.NewFromConfig(cfg)
	ctx := context.Background()
	name := endpointtest.Name("idem")
	res, err := localstack.ProvisionWith(ctx, localstack.Clients{SFN: client}, localstack.Spec{
		StateMachines: []localstack.StateMachineSpec{{Name: name, Definition: waitingDefinition}},
	})
	if err != nil {
		t.Fatal(err)
	}
	sm := res.StateMachineARNs[name]
	wf := awsadapter.NewWorkflows(client)
	arn, err := wf.StartExecution(ctx, sm, "cmd-1", json.RawMessage(`{"pk":"A","sk":"B"}`))
	if err != nil {
		t.Fatal(err)
	}
	if arn != awsadapter.ExecutionARN(sm, "cmd-1") {
		t.Fatalf("ARN %s is not the derived %s", arn, awsadapter.ExecutionARN(sm, "cmd-1"))
	}
	again, err := wf.StartExecution(ctx, sm, "cmd-1", json.RawMessage(`{ "sk": "B", "pk": "A" }`))
	if err != nil || again != arn {
		t.Fatalf("restart with JSON-equal input: %s, %v", again, err)
	}
	_, err = wf.StartExecution(ctx, sm, "cmd-1", json.RawMessage(`{"pk":"A","sk":"C"}`))
	if !errors.Is(err, core.ErrExecutionExists) {
		t.Fatalf("restart with other input: %v", err)
	}
	_, err = wf.StartExecution(ctx, sm+"-gone", "x", nil)
	if !errors.Is(err, core.ErrNotFound) {
		t.Fatalf("unknown state machine: %v", err)
	}
}

func TestUnknownQueueAndTopic(t *testing.T) {
	cfg := endpointtest.Config(t)
	ctx := context.Background()
	_, err := awsadapter.NewQueue(sqs.NewFromConfig(cfg)).Send(ctx, endpointtest.Name("noqueue"), core.OutgoingMessage{Body: "x"})
	var nf *core.NotFoundError
	if !errors.As(err, &nf) || nf.Kind != "queue" {
		t.Fatalf("send to unknown queue: %v", err)
	}
	_, err = awsadapter.NewTopic(sns.NewFromConfig(cfg)).Publish(ctx, endpointtest.Name("notopic"), "x", nil)
	if !errors.As(err, &nf) || nf.Kind != "topic" {
		t.Fatalf("publish to unknown topic: %v", err)
	}
	_, err = awsadapter.NewItemStore(dynamodb.NewFromConfig(cfg)).Get(ctx, endpointtest.Name("notable"), core.Key{PK: "a", SK: "b"}, false)
	if !errors.As(err, &nf) || nf.Kind != "table" {
		t.Fatalf("get from unknown table: %v", err)
	}
}

// TestModule starts the fx module against the test endpoint (through
// AWS_ENDPOINT_URL, as a deployed service would) and uses the ports.
func TestModule(t *testing.T) {
	url, external := endpointtest.Endpoint(t), endpointtest.External()
	t.Setenv("AWS_ENDPOINT_URL", url)
	if !external {
		t.Setenv("AWS_ACCESS_KEY_ID", "test")
		t.Setenv("AWS_SECRET_ACCESS_KEY", "test")
		t.Setenv("AWS_REGION", endpointtest.Region)
	}
	table := endpointtest.Name("fx")
	cfg := endpointtest.Config(t)
	if _, err := localstack.Provision(context.Background(), cfg, localstack.Spec{Tables: []localstack.TableSpec{{Name: table}}, Buckets: []string{table}}); err != nil {
		t.Fatal(err)
	}
	var (
		items   core.ItemStore
		objects core.ObjectStore
		wf      core.Workflows
		q       core.Queue
		tp      core.Topic
		direct  *awsadapter.ItemStore
	)
	app := fxtest.New(t, awsadapter.Module, fx.Populate(&items, &objects, &wf, &q, &tp, &direct))
	app.RequireStart()
	defer app.RequireStop()
	ctx := context.Background()
	if err := items.Put(ctx, table, kv("P", "S"), core.IfAbsent()); err != nil {
		t.Fatal(err)
	}
	if _, err := direct.Get(ctx, table, core.Key{PK: "P", SK: "S"}, true); err != nil {
		t.Fatal(err)
	}
	if !awsadapter.S3PathStyle(aws.Config{}) {
		t.Fatal("S3PathStyle false with AWS_ENDPOINT_URL set")
	}
	if err := objects.Put(ctx, table, "k", []byte("v"), "text/plain"); err != nil {
		t.Fatal(err)
	}
	if b, err := objects.Get(ctx, table, "k"); err != nil || string(b) != "v" {
		t.Fatalf("object: %q, %v", b, err)
	}
}

// TestModuleWithCoreConfig takes the endpoint and region from a core.Config
// in the graph instead of AWS_ENDPOINT_URL.
func TestModuleWithCoreConfig(t *testing.T) {
	url, external := endpointtest.Endpoint(t), endpointtest.External()
	if external {
		t.Skip("the endpoint comes from AWS_ENDPOINT_URL already")
	}
	t.Setenv("AWS_ACCESS_KEY_ID", "test")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "test")
	t.Setenv("AWS_REGION", "")
	t.Setenv("AWS_DEFAULT_REGION", "")
	table := endpointtest.Name("fxcore")
	if _, err := localstack.Provision(context.Background(), endpointtest.Config(t), localstack.Spec{Buckets: []string{table}}); err != nil {
		t.Fatal(err)
	}
	var objects core.ObjectStore
	app := fxtest.New(t,
		fx.Supply(core.Config{Region: endpointtest.Region, Endpoint: url}),
		awsadapter.Module,
		fx.Populate(&objects),
	)
	app.RequireStart()
	defer app.RequireStop()
	if err := objects.Put(context.Background(), table, "k", []byte("v"), ""); err != nil {
		t.Fatal(err)
	}
}
