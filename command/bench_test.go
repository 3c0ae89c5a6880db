package command_test

import (
	"context"
	"fmt"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stepcqrs/stepcqrs/command"
	"github.com/stepcqrs/stepcqrs/core"
)

// countingStore counts the calls that reach the store (DynamoDB requests).
type countingStore struct {
	core.ItemStore
	reads, writes atomic.Int64
}

func (c *countingStore) Get(ctx context.Context, t string, k core.Key, cons bool) (core.Item, error) {
	c.reads.Add(1)
	return c.ItemStore.Get(ctx, t, k, cons)
}

func (c *countingStore) Query(ctx context.Context, t string, q core.Query) (core.Page, error) {
	c.reads.Add(1)
	return c.ItemStore.Query(ctx, t, q)
}

func (c *countingStore) Put(ctx context.Context, t string, it core.Item, cond core.Condition) error {
	c.writes.Add(1)
	return c.ItemStore.Put(ctx, t, it, cond)
}

func (c *countingStore) Update(ctx context.Context, t string, k core.Key, u core.Update, cond core.Condition) (core.Item, error) {
	c.writes.Add(1)
	return c.ItemStore.Update(ctx, t, k, u, cond)
}

func (c *countingStore) Transact(ctx context.Context, ops []core.TxOp) error {
	c.writes.Add(1)
	return c.ItemStore.Transact(ctx, ops)
}

// BenchmarkDefaultPath measures one update of an entity on the default
// path: PublishAsync with the known version, then Advance (apply + finish
// in one call, as one Lambda invocation of the state machine would).
func BenchmarkDefaultPath(b *testing.B) {
	for _, ttl := range []bool{false, true} {
		b.Run(fmt.Sprintf("commandTTL=%v", ttl), func(b *testing.B) {
			inner, objects := newStores(b)
			cfg := testConfig()
			if ttl {
				cfg.TTL = core.TTLDays{Command: 7, History: 30}
			}
			provision(b, inner, objects, cfg, "order")
			store := &countingStore{ItemStore: inner}
			svc, err := command.New(command.Options{Module: "order", Config: cfg, Store: store, Objects: objects,
				Clock: time.Now, Logger: slog.New(slog.DiscardHandler)})
			if err != nil {
				b.Fatal(err)
			}
			k := key("bench")
			res, _ := svc.PublishAsync(ctx, command.Input{PK: k.PK, SK: k.SK, Name: "0"})
			if _, err := svc.Advance(ctx, res.Command.Key()); err != nil {
				b.Fatal(err)
			}
			store.reads.Store(0)
			store.writes.Store(0)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				res, err := svc.PublishAsync(ctx, command.Input{PK: k.PK, SK: k.SK, Version: int64(i + 1), Name: fmt.Sprint(i + 1),
					Attributes: core.Attributes{"i": i}})
				if err != nil {
					b.Fatal(err)
				}
				r, err := svc.Advance(ctx, res.Command.Key())
				if err != nil || !r.Finished {
					b.Fatal(r, err)
				}
			}
			b.ReportMetric(float64(store.reads.Load())/float64(b.N), "reads/cmd")
			b.ReportMetric(float64(store.writes.Load())/float64(b.N), "writes/cmd")
		})
	}
}
