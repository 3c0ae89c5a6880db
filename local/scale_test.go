package local_test

import (
	"bytes"
	"context"
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/stepcqrs/stepcqrs/command"
	"github.com/stepcqrs/stepcqrs/core"
	"github.com/stepcqrs/stepcqrs/core/memory"
	"github.com/stepcqrs/stepcqrs/local"
)

// heap returns the live heap after a full collection.
func heap() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// BenchmarkRuntimeScale runs n commands (n entities of one tenant, one
// partition) through the embedded runtime on its default path and reports
// the cost per command and what the runtime retains per command: the heap
// after the run, with the runtime alive (retained-bytes/command), and the
// part of it the store's rows hold (store-bytes/command: the heap a fresh
// store takes for a copy of every row). Run it with -benchtime 1x.
func BenchmarkRuntimeScale(b *testing.B) {
	for _, n := range []int{10_000, 100_000} {
		b.Run(fmt.Sprintf("n=%d", n), func(b *testing.B) {
			for range b.N {
				runScale(b, n)
			}
		})
	}
}

func runScale(b *testing.B, n int) {
	ctx := context.Background()
	b.StopTimer()
	rt, err := local.New(ctx, local.Options{Modules: []string{"order"}})
	if err != nil {
		b.Fatal(err)
	}
	defer rt.Close()
	svc := rt.Service("order")
	keys := make([]core.Key, n)
	for i := range keys {
		if keys[i], err = core.NewKey("ORDER", "acme", fmt.Sprintf("o%07d", i)); err != nil {
			b.Fatal(err)
		}
	}
	base := heap()
	b.StartTimer()
	start := time.Now()
	const batch = 1000
	for i := 0; i < n; i += batch {
		for _, k := range keys[i:min(i+batch, n)] {
			if _, err := svc.PublishAsync(ctx, command.Input{PK: k.PK, SK: k.SK, Name: "order " + k.SK,
				Attributes: core.Attributes{"qty": 1, "status": "new"}}); err != nil {
				b.Fatal(err)
			}
		}
		wctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
		err := rt.WaitIdle(wctx)
		cancel()
		if err != nil {
			b.Fatal(err)
		}
	}
	elapsed := time.Since(start)
	b.StopTimer()
	if s := rt.Stats(); s.ExecutionsSucceeded != int64(n) {
		b.Fatalf("%d executions succeeded, want %d (stats %+v)", s.ExecutionsSucceeded, n, s)
	}
	retained := heap() - base
	// What the rows alone take: a copy of every row in a fresh store.
	before := heap()
	copyStore := memory.NewStore()
	for _, t := range rt.Store.Tables() {
		for _, it := range rt.Store.Items(t) {
			if err := copyStore.Put(ctx, t, deepCopy(it), core.Condition{}); err != nil {
				b.Fatal(err)
			}
		}
	}
	store := heap() - before
	runtime.KeepAlive(copyStore)
	runtime.KeepAlive(rt)
	b.ReportMetric(float64(elapsed.Nanoseconds())/float64(n), "ns/command")
	b.ReportMetric(float64(retained)/float64(n), "retained-bytes/command")
	b.ReportMetric(float64(store)/float64(n), "store-bytes/command")
	b.ReportMetric(0, "ns/op")
}

// deepCopy copies an item down to its strings and bytes, so that a store
// holding the copy shares no memory with the original.
func deepCopy(it core.Item) core.Item {
	out := make(core.Item, len(it))
	for k, v := range it {
		out[strings.Clone(k)] = copyValue(v)
	}
	return out
}

func copyValue(v core.AttributeValue) core.AttributeValue {
	switch v := v.(type) {
	case *types.AttributeValueMemberS:
		return &types.AttributeValueMemberS{Value: strings.Clone(v.Value)}
	case *types.AttributeValueMemberN:
		return &types.AttributeValueMemberN{Value: strings.Clone(v.Value)}
	case *types.AttributeValueMemberB:
		return &types.AttributeValueMemberB{Value: bytes.Clone(v.Value)}
	case *types.AttributeValueMemberM:
		return &types.AttributeValueMemberM{Value: deepCopy(v.Value)}
	case *types.AttributeValueMemberL:
		l := make([]types.AttributeValue, len(v.Value))
		for i, x := range v.Value {
			l[i] = copyValue(x)
		}
		return &types.AttributeValueMemberL{Value: l}
	case *types.AttributeValueMemberSS:
		ss := make([]string, len(v.Value))
		for i, x := range v.Value {
			ss[i] = strings.Clone(x)
		}
		return &types.AttributeValueMemberSS{Value: ss}
	case *types.AttributeValueMemberNS:
		ns := make([]string, len(v.Value))
		for i, x := range v.Value {
			ns[i] = strings.Clone(x)
		}
		return &types.AttributeValueMemberNS{Value: ns}
	case *types.AttributeValueMemberBS:
		bs := make([][]byte, len(v.Value))
		for i, x := range v.Value {
			bs[i] = bytes.Clone(x)
		}
		return &types.AttributeValueMemberBS{Value: bs}
	case *types.AttributeValueMemberBOOL:
		return &types.AttributeValueMemberBOOL{Value: v.Value}
	case *types.AttributeValueMemberNULL:
		return &types.AttributeValueMemberNULL{Value: v.Value}
	}
	return v
}
