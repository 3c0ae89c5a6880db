package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sort"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"go.uber.org/fx"

	"github.com/stepcqrs/stepcqrs/command"
	"github.com/stepcqrs/stepcqrs/core"
	"github.com/stepcqrs/stepcqrs/local"
)

// runDemo runs the service on the embedded runtime and writes what
// happened to w.
func runDemo(ctx context.Context, w io.Writer) error {
	start := time.Now()
	level := slog.LevelWarn
	if os.Getenv("STEPCQRS_DEBUG") != "" {
		level = slog.LevelDebug
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	// The service is built from the same fx module as on AWS (see
	// runLambda); the runtime supplies the configuration and the in-memory
	// ports instead of core.Module and awsadapter.Module.
	var rm ReadModel
	rt, err := local.New(ctx, local.Options{
		Modules: []string{orderModule},
		App:     fx.Options(serviceModule, fx.Supply(logger), fx.Populate(&rm)),
		Logger:  logger,
	})
	if err != nil {
		return err
	}
	defer rt.Close()
	if err := rm.Reset(ctx); err != nil {
		return err
	}
	svc := rt.Service(orderModule)
	fmt.Fprintf(w, "stepcqrs orders demo — embedded runtime, read model: %s\n\n", rm.Kind())

	key := func(code string) core.Key {
		k, err := core.NewKey("ORDER", "acme", code)
		if err != nil {
			panic(err)
		}
		return k
	}
	var published, unchanged, conflicts int
	publish := func(what string, in command.Input) error {
		res, err := svc.PublishAsync(ctx, in)
		if err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		if res.Unchanged {
			unchanged++
			fmt.Fprintf(w, "  %-34s %s unchanged (nothing written)\n", what, in.SK)
			return nil
		}
		published++
		fmt.Fprintf(w, "  %-34s %s v%d\n", what, res.Command.SK, res.Command.Version)
		return nil
	}
	partial := func(what string, in command.PartialInput) error {
		res, err := svc.PublishPartialUpdateAsync(ctx, in)
		if err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		published++
		fmt.Fprintf(w, "  %-34s %s v%d\n", what, res.Command.SK, res.Command.Version)
		return nil
	}
	idle := func() error {
		c, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		return rt.WaitIdle(c)
	}

	fmt.Fprintln(w, "publish:")
	orders := []struct {
		code, customer string
		total          float64
		items          []any
	}{
		{"o-1001", "Ada", 42.5, []any{"book", "pen"}},
		{"o-1002", "Grace", 120, []any{"keyboard"}},
		{"o-1003", "Linus", 7.25, []any{"sticker"}},
	}
	for _, o := range orders {
		k := key(o.code)
		if err := publish("create", command.Input{PK: k.PK, SK: k.SK, Version: core.VersionNew, Name: "order " + o.code,
			Attributes: core.Attributes{"customer": o.customer, "total": o.total, "items": o.items, "status": "new"}}); err != nil {
			return err
		}
	}
	k1, k2, k3 := key("o-1001"), key("o-1002"), key("o-1003")
	if err := publish("update (status paid)", command.Input{PK: k1.PK, SK: k1.SK, Version: 1, Name: "order o-1001",
		Attributes: core.Attributes{"customer": "Ada", "total": 42.5, "items": []any{"book", "pen"}, "status": "paid"}}); err != nil {
		return err
	}
	if err := publish("same input again", command.Input{PK: k1.PK, SK: k1.SK, Version: core.VersionLatest, Name: "order o-1001",
		Attributes: core.Attributes{"customer": "Ada", "total": 42.5, "items": []any{"book", "pen"}, "status": "paid"}}); err != nil {
		return err
	}
	if err := partial("partial update (shipping)", command.PartialInput{PK: k2.PK, SK: k2.SK, Version: core.VersionLatest,
		Attributes: map[string]any{"status": "shipped", "shipping": map[string]any{"method": "express", "carrier": "UPS"}}}); err != nil {
		return err
	}
	if err := idle(); err != nil {
		return err
	}
	// Five clerks edit o-1001 at version 2 at the same time: one wins.
	var wg sync.WaitGroup
	var mu sync.Mutex
	winner := ""
	for i := 1; i <= 5; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			clerk := fmt.Sprintf("clerk-%d", i)
			_, err := svc.PublishPartialUpdateAsync(ctx, command.PartialInput{PK: k1.PK, SK: k1.SK, Version: 2,
				Attributes: map[string]any{"note": "gift wrap by " + clerk}})
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				winner = clerk
				published++
			case errors.Is(err, core.ErrVersionConflict):
				conflicts++
			default:
				fmt.Fprintln(w, "  unexpected:", err)
			}
		}()
	}
	wg.Wait()
	fmt.Fprintf(w, "  %-34s %s won, %d got a version conflict\n", "5 concurrent updates at v2", winner, conflicts)
	del := true
	if err := partial("soft delete", command.PartialInput{PK: k3.PK, SK: k3.SK, Version: core.VersionLatest, IsDeleted: &del}); err != nil {
		return err
	}
	if err := idle(); err != nil {
		return err
	}

	fmt.Fprintln(w, "\ndata (order-data):")
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "  id\tversion\tdeleted\tattributes")
	page, err := svc.ListData(ctx, command.ListInput{PK: k1.PK})
	if err != nil {
		return err
	}
	for _, d := range page.Items {
		fmt.Fprintf(tw, "  %s\t%d\t%v\t%s\n", d.ID, d.Version, d.IsDeleted, attrs(d.Attributes))
	}
	tw.Flush()

	fmt.Fprintln(w, "\nhistory of o-1001 (order-history):")
	hist, err := svc.History(ctx, k1)
	if err != nil {
		return err
	}
	for _, h := range hist {
		fmt.Fprintf(w, "  v%d  %s\n", h.Version, attrs(h.Attributes))
	}

	fmt.Fprintf(w, "\nread model (%s, kept by the \"sql\" data-sync handler):\n", rm.Kind())
	rows, err := rm.All(ctx)
	if err != nil {
		return err
	}
	tw = tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "  id\tversion\tdeleted\tcustomer\ttotal\tstatus")
	for _, r := range rows {
		fmt.Fprintf(tw, "  %s\t%d\t%v\t%s\t%s\t%s\n", r.ID, r.Version, r.Deleted, r.Customer, r.Total, r.Status)
	}
	tw.Flush()

	s := rt.Stats()
	var notStarted, failed int
	for _, e := range rt.Workflows.Executions("") {
		if e.Status != core.ExecutionSucceeded {
			failed++
		}
	}
	if int(s.ExecutionsStarted) != published {
		notStarted = published - int(s.ExecutionsStarted)
	}
	n := max(1, float64(s.ExecutionsStarted))
	fmt.Fprintf(w, "\nsummary: %d commands published (%d unchanged, %d conflicts rejected), %d executions, %d failed, %d missing;\n",
		published, unchanged, conflicts, s.ExecutionsStarted, failed, notStarted)
	fmt.Fprintf(w, "         per command: %.1f state transitions, %.1f step Lambda invocations, %.1f store calls; %d stream batches;\n",
		float64(s.Transitions)/n, float64(s.StepInvocations)/n, float64(s.StoreCalls)/n, s.StreamInvocations)
	fmt.Fprintf(w, "         wall time %s\n", time.Since(start).Round(time.Millisecond))
	if failed > 0 || notStarted != 0 {
		return fmt.Errorf("%d executions failed, %d commands without execution", failed, notStarted)
	}
	return nil
}

// attrs renders attributes compactly, keys sorted.
func attrs(a core.Attributes) string {
	keys := make([]string, 0, len(a))
	for k := range a {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s=%v", k, a[k])
	}
	return strings.Join(parts, " ")
}
