package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"go.uber.org/fx"

	"github.com/stepcqrs/stepcqrs/command"
	"github.com/stepcqrs/stepcqrs/core"
	"github.com/stepcqrs/stepcqrs/local"
	"github.com/stepcqrs/stepcqrs/task"
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
	var tasks *task.Service
	rt, err := local.New(ctx, local.Options{
		Modules: []string{orderModule},
		Tasks:   &local.TaskOptions{}, // tasks table, task queue and task state machine; handlers from task.Module
		App:     fx.Options(serviceModule, fx.Supply(logger), fx.Populate(&rm, &tasks)),
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
	if err := explainPaths(w, rt, svc.SyncHandlers()); err != nil {
		return err
	}
	if failed > 0 || notStarted != 0 {
		return fmt.Errorf("%d executions failed, %d commands without execution", failed, notStarted)
	}
	if err := repriceAll(ctx, w, rt, tasks, svc, idle); err != nil {
		return err
	}
	if err := importOrders(ctx, w, rt, logger); err != nil {
		return err
	}
	fmt.Fprintf(w, "\nwall time %s\n", time.Since(start).Round(time.Millisecond))
	return nil
}

// repriceAll runs a fan-out task that raises every order's total by 10%:
// one sub-task per order, at most three at a time; the deleted order's
// sub-task fails, so the task ends FAILED with that failure listed.
func repriceAll(ctx context.Context, w io.Writer, rt *local.Runtime, tasks *task.Service, svc *command.Service, idle func() error) error {
	fmt.Fprintln(w, "\ntask: reprice every order by +10% (one sub-task per order, at most 3 at a time):")
	k, err := core.NewKey("ORDER", "acme", "o-1001")
	if err != nil {
		return err
	}
	page, err := svc.ListData(ctx, command.ListInput{PK: k.PK})
	if err != nil {
		return err
	}
	var inputs []RepriceInput
	for _, d := range page.Items {
		inputs = append(inputs, RepriceInput{Code: d.Code, Percent: 10})
	}
	before := rt.Stats()
	parent, err := tasks.CreateFanOut(ctx, task.FanOutInput{TenantCode: "acme", Type: repriceTask, Name: "reprice +10%",
		Generate: task.Each(inputs)})
	if err != nil {
		return err
	}
	if err := idle(); err != nil {
		return err
	}
	d, err := tasks.Get(ctx, parent.Key(), task.PageRequest{})
	if err != nil {
		return err
	}
	c := d.Task.Counts
	fmt.Fprintf(w, "  task %s: %s — %d sub-tasks: %d succeeded, %d failed\n", d.Task.SK, d.Task.Status, c.Total, c.Succeeded, c.Failed)
	for _, st := range d.SubTasks {
		line := fmt.Sprintf("    #%d %s", st.Index, st.Status)
		if st.Error != "" {
			line += ": " + st.Error
		} else {
			line += ": " + string(st.Result)
		}
		fmt.Fprintln(w, line)
	}
	s := rt.Stats().Sub(before)
	fmt.Fprintf(w, "  cost: %d state transitions, %d Lambda invocations, %d store calls for %d sub-tasks\n",
		s.Transitions, s.LambdaInvocations, s.StoreCalls, c.Total)
	if c.Total != int64(len(inputs)) || c.Succeeded+c.Failed != c.Total {
		return fmt.Errorf("task %s: counters %+v for %d orders", d.Task.SK, c, len(inputs))
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

// explainPaths says which paths of the command state machine the
// executions took, and, when the module has data-sync handlers (which put
// every command on the sync path), what the default path costs instead.
// Transitions and invocations are counted on the deployed definition:
// every state entered is a transition, every Task state an invocation.
func explainPaths(w io.Writer, rt *local.Runtime, handlers []string) error {
	types, err := stateTypes(rt.CommandStateMachine)
	if err != nil {
		return err
	}
	cost := func(path []string) (transitions, invocations int) {
		for _, st := range path {
			if types[st] == "Task" {
				invocations++
			}
		}
		return len(path), invocations
	}
	counts := map[string]int{}
	for _, e := range rt.Workflows.Executions("") {
		states, err := rt.Workflows.StatesEntered(e.ARN)
		if err != nil {
			return err
		}
		counts[strings.Join(states, " → ")]++
	}
	paths := make([]string, 0, len(counts))
	for p := range counts {
		paths = append(paths, p)
	}
	sort.Slice(paths, func(i, j int) bool {
		if counts[paths[i]] != counts[paths[j]] {
			return counts[paths[i]] > counts[paths[j]]
		}
		return paths[i] < paths[j]
	})
	for k, p := range paths {
		t, i := cost(strings.Split(p, " → "))
		label := "paths:"
		if k > 0 {
			label = "      "
		}
		fmt.Fprintf(w, "         %s %d× %s (%d transitions, %d invocations)\n", label, counts[p], p, t, i)
	}
	if len(handlers) > 0 {
		def := []string{command.StateApply, command.StateRoute, command.StateDone}
		t, i := cost(def)
		fmt.Fprintf(w, "         the data-sync handler %s puts every command on the sync path; without one, the default\n", strings.Join(quoted(handlers), ", "))
		fmt.Fprintf(w, "         path %s costs %d transitions and %d Lambda invocation per command;\n", strings.Join(def, " → "), t, i)
	}
	return nil
}

// stateTypes maps every state of a definition, nested ones included, to
// its type.
func stateTypes(definition []byte) (map[string]string, error) {
	type machine struct {
		States map[string]json.RawMessage
	}
	out := map[string]string{}
	var walk func(m machine) error
	walk = func(m machine) error {
		for name, raw := range m.States {
			var st struct {
				Type          string
				ItemProcessor *machine
				Iterator      *machine
				Branches      []machine
			}
			if err := json.Unmarshal(raw, &st); err != nil {
				return fmt.Errorf("state %s: %w", name, err)
			}
			out[name] = st.Type
			nested := st.Branches
			for _, p := range []*machine{st.ItemProcessor, st.Iterator} {
				if p != nil {
					nested = append(nested, *p)
				}
			}
			for _, n := range nested {
				if err := walk(n); err != nil {
					return err
				}
			}
		}
		return nil
	}
	var m machine
	if err := json.Unmarshal(definition, &m); err != nil {
		return nil, err
	}
	return out, walk(m)
}

func quoted(names []string) []string {
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = strconv.Quote(n)
	}
	return out
}
