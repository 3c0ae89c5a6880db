package memory_test

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/stepcqrs/stepcqrs/core"
	"github.com/stepcqrs/stepcqrs/core/coretest"
	"github.com/stepcqrs/stepcqrs/core/memory"
)

func TestItemStoreConformance(t *testing.T) {
	cases := []struct {
		name string
		opts []memory.StoreOption
		view memory.StreamView
	}{
		{"on-demand tables without stream", nil, ""},
		{"strict tables with NEW_AND_OLD_IMAGES stream", []memory.StoreOption{memory.StrictTables()}, memory.StreamNewAndOldImages},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			coretest.TestItemStore(t, coretest.ItemStoreHarness{
				NewStore: func(*testing.T) core.ItemStore {
					st := memory.NewStore(c.opts...)
					return st
				},
				CreateTable: func(t *testing.T, st core.ItemStore, name string) {
					ms := st.(*memory.Store)
					var opts []memory.TableOption
					if c.view != "" {
						opts = append(opts, memory.WithStream(c.view))
						ms.Subscribe(name, func(events.DynamoDBEventRecord) {})
					}
					if err := ms.CreateTable(name, opts...); err != nil {
						t.Fatal(err)
					}
				},
			})
		})
	}
}

func TestWorkflowsConformance(t *testing.T) {
	coretest.TestWorkflows(t, coretest.WorkflowsHarness{
		New: func(*testing.T) core.Workflows { return memory.NewWorkflows(nil) },
		CreateStateMachine: func(t *testing.T, wf core.Workflows, name string) string {
			arn, err := wf.(*memory.Workflows).CreateStateMachine(name, `{"StartAt":"W","States":{"W":{"Type":"Wait","Seconds":3600,"End":true}}}`)
			if err != nil {
				t.Fatal(err)
			}
			return arn
		},
		IssueTaskToken: func(t *testing.T, wf core.Workflows, executionARN string) string {
			tok, err := wf.(*memory.Workflows).IssueTaskToken(executionARN)
			if err != nil {
				t.Fatal(err)
			}
			return tok.Token
		},
	})
}

func TestObjectStoreConformance(t *testing.T) {
	for _, strict := range []bool{false, true} {
		var opts []memory.ObjectsOption
		name := "on-demand buckets"
		if strict {
			opts, name = append(opts, memory.StrictBuckets()), "strict buckets"
		}
		t.Run(name, func(t *testing.T) {
			coretest.TestObjectStore(t, coretest.ObjectStoreHarness{
				New: func(*testing.T) core.ObjectStore { return memory.NewObjects(opts...) },
				CreateBucket: func(t *testing.T, st core.ObjectStore, bucket string) {
					if err := st.(*memory.Objects).CreateBucket(bucket); err != nil {
						t.Fatal(err)
					}
				},
			})
		})
	}
}

const testVisibility = 80 * time.Millisecond

func TestQueueConformance(t *testing.T) {
	coretest.TestQueue(t, coretest.QueueHarness{
		New: func(*testing.T) core.Queue { return memory.NewQueues() },
		CreateQueue: func(t *testing.T, q core.Queue, name string) {
			if err := q.(*memory.Queues).CreateQueue(name, memory.QueueConfig{VisibilityTimeout: testVisibility}); err != nil {
				t.Fatal(err)
			}
		},
		VisibilityTimeout: testVisibility,
	})
}

func TestTopicConformance(t *testing.T) {
	coretest.TestTopic(t, coretest.TopicHarness{
		New: func(*testing.T) core.Topic { return memory.NewTopics() },
		CreateTopic: func(t *testing.T, tp core.Topic, name string) {
			if err := tp.(*memory.Topics).CreateTopic(name); err != nil {
				t.Fatal(err)
			}
		},
		Subscribe: func(t *testing.T, tp core.Topic, topic string) func(*testing.T, int, time.Duration) []string {
			var mu sync.Mutex
			var got []string
			_, err := tp.(*memory.Topics).Subscribe(topic, func(_ context.Context, m memory.Published) {
				mu.Lock()
				defer mu.Unlock()
				got = append(got, m.Message)
			})
			if err != nil {
				t.Fatal(err)
			}
			return func(t *testing.T, n int, within time.Duration) []string {
				deadline := time.Now().Add(within)
				for {
					mu.Lock()
					out := slices.Clone(got)
					mu.Unlock()
					if len(out) >= n || time.Now().After(deadline) {
						return out
					}
					time.Sleep(5 * time.Millisecond)
				}
			}
		},
	})
}

// The topic suite again, observing delivery through a subscribed queue.
func TestTopicConformanceQueueSubscriber(t *testing.T) {
	qs := memory.NewQueues()
	coretest.TestTopic(t, coretest.TopicHarness{
		New: func(*testing.T) core.Topic { return memory.NewTopics() },
		CreateTopic: func(t *testing.T, tp core.Topic, name string) {
			if err := tp.(*memory.Topics).CreateTopic(name); err != nil {
				t.Fatal(err)
			}
		},
		Subscribe: func(t *testing.T, tp core.Topic, topic string) func(*testing.T, int, time.Duration) []string {
			queue := topic + "-sub"
			if err := qs.CreateQueue(queue, memory.QueueConfig{}); err != nil {
				t.Fatal(err)
			}
			if _, err := tp.(*memory.Topics).SubscribeQueue(topic, qs, queue); err != nil {
				t.Fatal(err)
			}
			return func(t *testing.T, n int, within time.Duration) []string {
				var out []string
				deadline := time.Now().Add(within)
				for len(out) < n && time.Now().Before(deadline) {
					msgs, err := qs.Receive(context.Background(), queue, 10, 50*time.Millisecond)
					if err != nil {
						t.Fatal(err)
					}
					for _, m := range msgs {
						if m.Attributes["k"] != "v" {
							t.Errorf("attributes %v lost on the way", m.Attributes)
						}
						out = append(out, m.Body)
					}
				}
				return out
			}
		},
	})
}
