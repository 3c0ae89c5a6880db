package eventfactory

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/aws/aws-lambda-go/events"
)

// streamBatch builds a stream batch of n INSERT records shaped like
// command rows.
func streamBatch(tb testing.TB, n int) json.RawMessage {
	tb.Helper()
	var base events.DynamoDBEvent
	if err := json.Unmarshal(readFixture(tb, "dynamodb-batch.json"), &base); err != nil {
		tb.Fatal(err)
	}
	var recs []json.RawMessage
	for i := 0; i < n; i++ {
		rec := base.Records[0]
		rec.Change.SequenceNumber = fmt.Sprint(1000 + i)
		b, err := json.Marshal(rec)
		if err != nil {
			tb.Fatal(err)
		}
		recs = append(recs, b)
	}
	b, err := json.Marshal(map[string]any{"Records": recs})
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// BenchmarkDispatchDynamoDBBatch: a 100-record stream batch through
// detection, decoding (record, image conversion, attributevalue into a
// struct) and dispatch to a no-op typed handler.
func BenchmarkDispatchDynamoDBBatch(b *testing.B) {
	benchmarkDynamoDBBatch(b, Config{Logger: quietLogger()})
}

// BenchmarkDispatchDynamoDBBatchLazyImages is BenchmarkDispatchDynamoDBBatch
// with Config.LazyStreamImages.
func BenchmarkDispatchDynamoDBBatchLazyImages(b *testing.B) {
	benchmarkDynamoDBBatch(b, Config{Logger: quietLogger(), LazyStreamImages: true})
}

func benchmarkDynamoDBBatch(b *testing.B, cfg Config) {
	const n = 100
	payload := streamBatch(b, n)
	r := NewRouter(cfg)
	calls := 0
	OnDynamoDB(r, "demo-order-command", []string{StreamInsert}, func(ctx context.Context, e DynamoDBRecord[order]) error {
		calls++
		return nil
	})
	d, err := r.Build()
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	b.SetBytes(int64(len(payload)))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		out, err := d.Dispatch(ctx, payload)
		if err != nil || len(out.(events.DynamoDBEventResponse).BatchItemFailures) != 0 {
			b.Fatal(out, err)
		}
	}
	b.StopTimer()
	if calls != n*b.N {
		b.Fatalf("%d calls", calls)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/record")
	// allocs/op is reported by ReportAllocs; per record:
	res := testing.AllocsPerRun(5, func() { _, _ = d.Dispatch(ctx, payload) })
	b.ReportMetric(res/n, "allocs/record")
}
