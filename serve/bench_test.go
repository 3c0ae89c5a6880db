package serve_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/sfn"

	"github.com/stepcqrs/stepcqrs/command"
	"github.com/stepcqrs/stepcqrs/core"
	"github.com/stepcqrs/stepcqrs/core/awsadapter"
	"github.com/stepcqrs/stepcqrs/core/memory"
	"github.com/stepcqrs/stepcqrs/eventfactory"
	"github.com/stepcqrs/stepcqrs/local"
	"github.com/stepcqrs/stepcqrs/serve"
)

// countingHandler is a data-sync handler that counts its calls.
type countingHandler struct{ n atomic.Int64 }

func (h *countingHandler) Name() string { return "count" }

func (h *countingHandler) Up(context.Context, *core.Command) error { h.n.Add(1); return nil }

func (h *countingHandler) Down(context.Context, *core.Command) error { return nil }

// benchCommands is the number of commands of one benchmark iteration.
const benchCommands = 300

func benchKeys(b *testing.B) []core.Key {
	keys := make([]core.Key, benchCommands)
	for i := range keys {
		var err error
		if keys[i], err = core.NewKey("ORDER", "acme", fmt.Sprintf("o%05d", i)); err != nil {
			b.Fatal(err)
		}
	}
	return keys
}

// BenchmarkCommandThroughput runs commands (one per entity, with one
// data-sync handler) through the command state machine, from PublishAsync
// to the end of their executions: on the server (in-memory store, the
// command table's stream through a mapping, the service's dispatcher as an
// in-process function, real clock) and on the embedded runtime (virtual
// clock). It reports executions/s.
func BenchmarkCommandThroughput(b *testing.B) {
	b.Run("serve", func(b *testing.B) {
		var total time.Duration
		for range b.N {
			total += runServeCommands(b, false)
		}
		b.ReportMetric(float64(benchCommands*b.N)/total.Seconds(), "executions/s")
	})
	b.Run("serve-api", func(b *testing.B) {
		var total time.Duration
		for range b.N {
			total += runServeCommands(b, true)
		}
		b.ReportMetric(float64(benchCommands*b.N)/total.Seconds(), "executions/s")
	})
	b.Run("embedded", func(b *testing.B) {
		var total time.Duration
		for range b.N {
			total += runEmbeddedCommands(b)
		}
		b.ReportMetric(float64(benchCommands*b.N)/total.Seconds(), "executions/s")
	})
}

func runServeCommands(b *testing.B, viaAPI bool) time.Duration {
	b.StopTimer()
	ctx := context.Background()
	quiet := slog.New(slog.DiscardHandler)
	cfg := core.Config{Env: "bench", AppName: "orders"}
	store := memory.NewStore()
	if err := store.CreateTable(cfg.CommandTable("order"), memory.WithStream(memory.StreamNewImage), memory.WithIndex(command.UnsettledIndex)); err != nil {
		b.Fatal(err)
	}
	fns := serve.NewFunctions("", "")
	srv := serve.New(serve.Options{Lambda: fns})
	defer srv.Close()
	def, err := command.StateMachineJSON(command.StateMachineOptions{FunctionARN: "arn:aws:lambda:us-east-1:123456789012:function:orders"})
	if err != nil {
		b.Fatal(err)
	}
	if cfg.CommandStateMachineARN, err = srv.CreateStateMachine(serve.StateMachine{Name: cfg.Prefix() + "command", Definition: string(def)}); err != nil {
		b.Fatal(err)
	}
	h := &countingHandler{}
	svcs, err := command.NewServices(command.Options{Config: cfg, Store: store, Logger: quiet}, command.NewRegistry().Register("order", h), "order")
	if err != nil {
		b.Fatal(err)
	}
	var wf core.Workflows = srv
	if viaAPI {
		url, err := srv.Start("127.0.0.1:0")
		if err != nil {
			b.Fatal(err)
		}
		awsCfg, err := serve.EndpointConfig(ctx, url, "us-east-1")
		if err != nil {
			b.Fatal(err)
		}
		wf = awsadapter.NewWorkflows(sfn.NewFromConfig(awsCfg))
	}
	steps, err := command.Steps(command.StepsOptions{Services: svcs, Workflows: wf, StateMachineARN: cfg.CommandStateMachineARN, Logger: quiet})
	if err != nil {
		b.Fatal(err)
	}
	router := eventfactory.NewRouter(eventfactory.Config{Logger: quiet})
	steps(router)
	disp, err := router.Build()
	if err != nil {
		b.Fatal(err)
	}
	fns.Add("orders", serve.HandlerFunction{Name: "orders", Handler: disp.Handler()}, 0)
	streams := serve.NewMemoryStreams(store)
	source := "arn:aws:dynamodb:us-east-1:123456789012:table/" + cfg.CommandTable("order")
	if _, err := streams.StreamARN(ctx, source); err != nil {
		b.Fatal(err)
	}
	ms, err := serve.StartMappings(ctx, serve.MappingOptions{Lambda: fns, Streams: streams, PollInterval: time.Millisecond}, serve.Mapping{
		FunctionName: "orders", EventSourceArn: source, BatchSize: 100,
		FunctionResponseTypes: []string{"ReportBatchItemFailures"},
		FilterCriteria:        &serve.FilterCriteria{Filters: []serve.Filter{{Pattern: command.StreamFilterCriteria}}},
	})
	if err != nil {
		b.Fatal(err)
	}
	defer ms.Close()
	keys := benchKeys(b)
	b.StartTimer()
	start := time.Now()
	for _, k := range keys {
		if _, err := svcs["order"].PublishAsync(ctx, command.Input{PK: k.PK, SK: k.SK, Name: "n", Attributes: core.Attributes{"v": 1}}); err != nil {
			b.Fatal(err)
		}
	}
	prefix := cfg.CommandStateMachineARN[:len(cfg.CommandStateMachineARN)-len(cfg.Prefix()+"command")]
	for _, k := range keys {
		sk, _ := core.VersionedSK(k.SK, 1)
		arn := prefix[:len(prefix)-len("stateMachine:")] + "execution:" + cfg.Prefix() + "command:" + command.ExecutionName("order", k.PK, sk)
		for {
			ex, err := srv.Wait(ctx, arn)
			if errors.Is(err, core.ErrNotFound) {
				time.Sleep(100 * time.Microsecond) // the stream has not delivered the command yet
				continue
			}
			if err != nil || ex.Status != core.ExecutionSucceeded {
				b.Fatalf("execution %s: %+v, %v", arn, ex, err)
			}
			break
		}
	}
	elapsed := time.Since(start)
	b.StopTimer()
	if n := h.n.Load(); n != benchCommands {
		b.Fatalf("the sync handler ran %d times, want %d", n, benchCommands)
	}
	return elapsed
}

func runEmbeddedCommands(b *testing.B) time.Duration {
	b.StopTimer()
	ctx := context.Background()
	h := &countingHandler{}
	rt, err := local.New(ctx, local.Options{Modules: []string{"order"}, Registry: command.NewRegistry().Register("order", h)})
	if err != nil {
		b.Fatal(err)
	}
	defer rt.Close()
	keys := benchKeys(b)
	b.StartTimer()
	start := time.Now()
	for _, k := range keys {
		if _, err := rt.Service("order").PublishAsync(ctx, command.Input{PK: k.PK, SK: k.SK, Name: "n", Attributes: core.Attributes{"v": 1}}); err != nil {
			b.Fatal(err)
		}
	}
	if err := rt.WaitIdle(ctx); err != nil {
		b.Fatal(err)
	}
	elapsed := time.Since(start)
	b.StopTimer()
	if st := rt.Stats(); st.ExecutionsSucceeded != benchCommands || h.n.Load() != benchCommands {
		b.Fatalf("executions %+v, sync handler %d", st, h.n.Load())
	}
	return elapsed
}
