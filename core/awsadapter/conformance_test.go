package awsadapter_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/stepcqrs/stepcqrs/core"
	"github.com/stepcqrs/stepcqrs/core/awsadapter"
	"github.com/stepcqrs/stepcqrs/core/coretest"
	"github.com/stepcqrs/stepcqrs/localstack"
	"github.com/stepcqrs/stepcqrs/localstack/endpointtest"
	"github.com/stepcqrs/stepcqrs/serve"
	"github.com/stepcqrs/stepcqrs/serve/servetest"
)

func TestMain(m *testing.M) { endpointtest.Main(m) }

// waitingDefinition is a state machine whose executions stay RUNNING: they
// wait on a task token for an hour. moto (execution disabled) never runs
// them at all.
const waitingDefinition = `{
  "StartAt": "Wait",
  "States": {
    "Wait": {
      "Type": "Task",
      "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken",
      "Parameters": {"FunctionName": "stepcqrs-none", "Payload": {"token.$": "$$.Task.Token"}},
      "TimeoutSeconds": 3600,
      "End": true
    }
  }
}`

func TestDynamoDBItemStoreConformance(t *testing.T) {
	// The suite's concurrent writers (one IfAbsent winner, exact ADD
	// totals) rely on per-request isolation, which moto lacks.
	cfg := endpointtest.Serialized(endpointtest.Config(t))
	db := dynamodb.NewFromConfig(cfg)
	coretest.TestItemStore(t, coretest.ItemStoreHarness{
		NewStore: func(t *testing.T) core.ItemStore { return awsadapter.NewItemStore(db) },
		CreateTable: func(t *testing.T, _ core.ItemStore, name string) {
			if _, err := localstack.EnsureTable(context.Background(), db, localstack.TableSpec{Name: name}); err != nil {
				t.Fatalf("create table %s: %v", name, err)
			}
		},
	})
}

func TestDynamoDBIndexQuerierConformance(t *testing.T) {
	cfg := endpointtest.Config(t)
	db := dynamodb.NewFromConfig(cfg)
	coretest.TestIndexQuerier(t, coretest.IndexHarness{
		NewStore: func(t *testing.T) core.ItemStore { return awsadapter.NewItemStore(db) },
		CreateTable: func(t *testing.T, _ core.ItemStore, name string, ix core.Index) {
			if _, err := localstack.EnsureTable(context.Background(), db, localstack.TableSpec{Name: name, Indexes: []core.Index{ix}}); err != nil {
				t.Fatalf("create table %s: %v", name, err)
			}
		},
	})
}

func TestSFNWorkflowsConformance(t *testing.T) {
	// moto without execution issues no task tokens (and accepts any
	// token), so the suite runs against stepcqrs serve (package serve),
	// which runs the executions and issues real tokens; the adapter's
	// calls on moto are covered by adapter_test.go.
	srv := servetest.Start(t, serve.Options{})
	client := sfn.NewFromConfig(srv.Config(t))
	coretest.TestWorkflows(t, srv.WorkflowsHarness(func(*testing.T) core.Workflows { return awsadapter.NewWorkflows(client) }))
}

func TestS3ObjectStoreConformance(t *testing.T) {
	cfg := endpointtest.Config(t)
	client := awsadapter.NewS3Client(cfg, true)
	coretest.TestObjectStore(t, coretest.ObjectStoreHarness{
		New: func(t *testing.T) core.ObjectStore { return awsadapter.NewObjectStore(client) },
		CreateBucket: func(t *testing.T, _ core.ObjectStore, bucket string) {
			if _, err := client.CreateBucket(context.Background(), &s3.CreateBucketInput{Bucket: aws.String(strings.ToLower(bucket))}); err != nil {
				t.Fatalf("create bucket %s: %v", bucket, err)
			}
		},
	})
}

func TestSQSQueueConformance(t *testing.T) {
	cfg := endpointtest.Config(t)
	client := sqs.NewFromConfig(cfg)
	const vis = time.Second
	coretest.TestQueue(t, coretest.QueueHarness{
		New: func(t *testing.T) core.Queue { return awsadapter.NewQueue(client) },
		CreateQueue: func(t *testing.T, _ core.Queue, name string) {
			_, err := localstack.ProvisionWith(context.Background(), localstack.Clients{SQS: client}, localstack.Spec{
				Queues: []localstack.QueueSpec{{Name: name, VisibilityTimeout: vis}},
			})
			if err != nil {
				t.Fatalf("create queue %s: %v", name, err)
			}
		},
		VisibilityTimeout: vis,
	})
}

func TestSNSTopicConformance(t *testing.T) {
	cfg := endpointtest.Config(t)
	client := sns.NewFromConfig(cfg)
	sqsClient := sqs.NewFromConfig(cfg)
	observer := awsadapter.NewQueue(sqsClient)
	coretest.TestTopic(t, coretest.TopicHarness{
		New: func(t *testing.T) core.Topic { return awsadapter.NewTopic(client) },
		CreateTopic: func(t *testing.T, _ core.Topic, name string) {
			if _, err := client.CreateTopic(context.Background(), &sns.CreateTopicInput{Name: aws.String(name)}); err != nil {
				t.Fatalf("create topic %s: %v", name, err)
			}
		},
		Subscribe: func(t *testing.T, _ core.Topic, topic string) func(*testing.T, int, time.Duration) []string {
			q := endpointtest.Name("observer")
			_, err := localstack.ProvisionWith(context.Background(), localstack.Clients{SNS: client, SQS: sqsClient}, localstack.Spec{
				Queues: []localstack.QueueSpec{{Name: q}},
				Topics: []localstack.TopicSpec{{Name: topic, Queues: []string{q}, RawDelivery: true}},
			})
			if err != nil {
				t.Fatalf("subscribe queue to %s: %v", topic, err)
			}
			return func(t *testing.T, n int, within time.Duration) []string {
				t.Helper()
				var bodies []string
				deadline := time.Now().Add(within)
				for len(bodies) < n && time.Now().Before(deadline) {
					wait := min(time.Until(deadline), time.Second)
					msgs, err := observer.Receive(context.Background(), q, 10, wait)
					if err != nil {
						t.Fatalf("receive from observer queue: %v", err)
					}
					for _, m := range msgs {
						bodies = append(bodies, m.Body)
						if err := observer.Delete(context.Background(), q, m.ReceiptHandle); err != nil {
							t.Fatalf("delete from observer queue: %v", err)
						}
					}
				}
				return bodies
			}
		},
	})
}
