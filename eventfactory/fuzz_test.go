package eventfactory

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda/messages"
)

// FuzzDispatch feeds arbitrary payloads through detection, decoding and
// dispatch, seeded with every fixture. It checks that nothing panics, that
// every answer has the shape its source promises, and that every error has
// a name for Step Functions.
func FuzzDispatch(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.json")
	for _, file := range files {
		b, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`{"Records":[{"eventSource":"aws:dynamodb","dynamodb":{"SequenceNumber":"1","NewImage":{"a":{"BS":[{}]}}}}]}`))
	f.Add([]byte(`{"input":null,"context":{}}`))
	r := NewRouter(Config{Logger: quietLogger()})
	OnDynamoDB(r, "demo-order-command", AllStreamEvents(), func(ctx context.Context, e DynamoDBRecord[order]) error { return nil })
	OnDynamoDB(r, "demo-order-command", AllStreamEvents(), func(ctx context.Context, e DynamoDBRecord[map[string]any]) error { return nil })
	OnSQS(r, "demo-tasks", func(ctx context.Context, m SQSMessage[taskBody]) error { return nil })
	OnSQS(r, "demo-tasks.fifo", func(ctx context.Context, m SQSMessage[string]) error { return nil })
	OnSNS(r, "demo-notifications", func(ctx context.Context, m SNSMessage[map[string]any]) error { return nil })
	OnS3(r, "demo-imports", "", func(ctx context.Context, o S3Object) error { return nil })
	OnEventBridge(r, "com.example.orders", "OrderShipped", func(ctx context.Context, e EventBridgeEvent[map[string]any]) error { return nil })
	OnStepFunctions(r, "demo-command", "apply", func(ctx context.Context, task SFNTask[keysInput]) (any, error) { return task.Input, nil })
	OnStepFunctions(r, "demo-task", "run-subtask", func(ctx context.Context, task SFNTask[json.RawMessage]) (any, error) { return task.Input, nil })
	OnHTTP(r, http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		w.Header().Set("Content-Type", req.Header.Get("Content-Type"))
		_, _ = w.Write(body)
	}))
	d, err := r.Build()
	if err != nil {
		f.Fatal(err)
	}
	h := d.Handler()
	// Two stream routers, without and with LazyStreamImages, whose records
	// must agree.
	var eagerRecs, lazyRecs []DynamoDBRecord[order]
	streamRouter := func(cfg Config, recs *[]DynamoDBRecord[order]) *Dispatcher {
		cfg.Logger = quietLogger()
		r := NewRouter(cfg)
		OnDynamoDB(r, "demo-order-command", AllStreamEvents(), func(ctx context.Context, e DynamoDBRecord[order]) error {
			*recs = append(*recs, e)
			return nil
		})
		d, err := r.Build()
		if err != nil {
			f.Fatal(err)
		}
		return d
	}
	eagerD, lazyD := streamRouter(Config{}, &eagerRecs), streamRouter(Config{LazyStreamImages: true}, &lazyRecs)
	f.Fuzz(func(t *testing.T, payload []byte) {
		eagerRecs, lazyRecs = eagerRecs[:0], lazyRecs[:0]
		eOut, eErr := eagerD.Dispatch(context.Background(), payload)
		lOut, lErr := lazyD.Dispatch(context.Background(), payload)
		if (eErr == nil) != (lErr == nil) || !reflect.DeepEqual(eOut, lOut) || len(eagerRecs) != len(lazyRecs) {
			t.Fatalf("LazyStreamImages changes the answer: %v %v / %v %v, %d / %d records", eOut, eErr, lOut, lErr, len(eagerRecs), len(lazyRecs))
		}
		for i, e := range eagerRecs {
			l := lazyRecs[i]
			if !reflect.DeepEqual(l.LambdaRecord(), e.Record) || !reflect.DeepEqual(l.Keys, e.Keys) ||
				!reflect.DeepEqual(l.NewImage, e.NewImage) || !reflect.DeepEqual(l.OldImage, e.OldImage) {
				t.Fatalf("record %d differs with LazyStreamImages", i)
			}
		}
		src, derr := Detect(payload)
		out, err := d.Dispatch(context.Background(), payload)
		if derr != nil && err == nil && out != nil {
			t.Fatalf("Detect failed (%v) but Dispatch answered %v", derr, out)
		}
		if err != nil {
			if out != nil {
				t.Fatalf("result %v with error %v", out, err)
			}
			if ErrorName(err) == "" {
				t.Fatalf("unnamed error %v", err)
			}
			if _, herr := h(context.Background(), payload); herr != nil {
				if _, ok := herr.(messages.InvokeResponse_Error); !ok {
					t.Fatalf("Handler returned %T", herr)
				}
			}
			return
		}
		switch src {
		case SourceDynamoDB:
			resp, ok := out.(events.DynamoDBEventResponse)
			if !ok {
				t.Fatalf("dynamodb answer %T", out)
			}
			if len(resp.BatchItemFailures) > 1 {
				t.Fatalf("stream answer names %d records; it stops at the first", len(resp.BatchItemFailures))
			}
			for _, f := range resp.BatchItemFailures {
				if f.ItemIdentifier == "" {
					t.Fatal("empty SequenceNumber reported")
				}
			}
		case SourceSQS:
			resp, ok := out.(events.SQSEventResponse)
			if !ok {
				t.Fatalf("sqs answer %T", out)
			}
			for _, f := range resp.BatchItemFailures {
				if f.ItemIdentifier == "" {
					t.Fatal("empty messageId reported")
				}
			}
		case SourceSNS, SourceS3, SourceEventBridge:
			if out != nil {
				t.Fatalf("%v answered %v", src, out)
			}
		case SourceAPIGatewayV1:
			if _, ok := out.(events.APIGatewayProxyResponse); !ok {
				t.Fatalf("%v answered %T", src, out)
			}
		case SourceAPIGatewayV2:
			if _, ok := out.(events.APIGatewayV2HTTPResponse); !ok {
				t.Fatalf("%v answered %T", src, out)
			}
		case SourceFunctionURL:
			if _, ok := out.(events.LambdaFunctionURLResponse); !ok {
				t.Fatalf("%v answered %T", src, out)
			}
		}
		if _, err := json.Marshal(out); err != nil {
			t.Fatalf("answer does not encode: %v", err)
		}
	})
}
