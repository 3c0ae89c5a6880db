package docs

import (
	"context"
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode"

	"github.com/aws/aws-lambda-go/events"

	"github.com/stepcqrs/stepcqrs/command"
	"github.com/stepcqrs/stepcqrs/core"
	"github.com/stepcqrs/stepcqrs/core/memory"
	"github.com/stepcqrs/stepcqrs/eventfactory"
	"github.com/stepcqrs/stepcqrs/local"
)

// The snippets of local.md: the embedded runtime.

func init() {
	generators["local-counters-output"] = output(Example_localCounters)
	generators["local-wait-output"] = output(Example_localWaitIdle)
	generators["local-faults-output"] = output(Example_localFaults)
	generators["local-dropped-output"] = output(Example_localDropped)
	generators["local-clock-output"] = output(Example_localClock)
	generators["local-queue-output"] = output(Example_localQueue)
	generators["local-closed-output"] = output(Example_localClosed)
}

// snippet: local-handler
// latestNames is a data-sync handler: a read model of order names. Up runs
// at least once per command, and not always in version order (version 2
// may be applied, and projected, while the Up of version 1 is retried), so
// it keeps the highest version it has seen and ignores older ones.
type latestNames struct {
	mu   sync.Mutex
	rows map[string]nameRow // by entity id
}

type nameRow struct {
	Name    string
	Version int64
}

func (x *latestNames) Name() string { return "latest-names" }

func (x *latestNames) Up(ctx context.Context, cmd *core.Command) error {
	x.mu.Lock()
	defer x.mu.Unlock()
	if old, ok := x.rows[cmd.ID]; ok && old.Version >= cmd.Version {
		return nil // a redelivery, or an older version arriving late
	}
	x.rows[cmd.ID] = nameRow{Name: cmd.Name, Version: cmd.Version}
	return nil
}

func (x *latestNames) Down(ctx context.Context, cmd *core.Command) error {
	x.mu.Lock()
	defer x.mu.Unlock()
	if old, ok := x.rows[cmd.ID]; ok && old.Version == cmd.Version {
		delete(x.rows, cmd.ID)
	}
	return nil
}

// Rows returns a copy of the read model.
func (x *latestNames) Rows() map[string]nameRow {
	x.mu.Lock()
	defer x.mu.Unlock()
	return maps.Clone(x.rows)
}

// /snippet

// snippet: local-service
func Example_localService() {
	ctx := context.Background()
	names := &latestNames{rows: map[string]nameRow{}}
	rt, err := local.New(ctx, local.Options{
		Config:     core.Config{Env: "dev", AppName: "shop"}, // tables dev-shop-order-command, -data, -history
		Modules:    []string{"order"},
		Registry:   command.NewRegistry().Register("order", names),
		ClockStart: time.Date(2026, 11, 21, 9, 0, 0, 0, time.UTC), // the virtual clock
	})
	if err != nil {
		panic(err)
	}
	defer rt.Close()

	// The module's command.Service, on the in-memory store.
	svc := rt.Service("order")
	key, _ := core.NewKey("ORDER", "acme", "0001")
	for v, name := range []string{"new order", "paid order", "shipped order"} {
		_, err := svc.PublishAsync(ctx, command.Input{PK: key.PK, SK: key.SK, Version: int64(v), Name: name})
		if err != nil {
			panic(err)
		}
	}

	// PublishAsync only wrote command rows: the stream and the state
	// machine do the rest. Wait until nothing is left to do.
	wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := rt.WaitIdle(wctx); err != nil {
		panic(err)
	}

	data, err := svc.GetData(ctx, key, true)
	if err != nil {
		panic(err)
	}
	fmt.Println("data:", data.Version, data.Name, data.UpdatedAt.Format(time.RFC3339))
	history, _ := svc.History(ctx, key)
	for _, h := range history {
		fmt.Println("history:", h.Version, h.Name)
	}
	versions, _ := svc.ListVersions(ctx, key)
	for _, c := range versions {
		fmt.Println("command:", c.Version, c.Status)
	}
	fmt.Println("read model:", names.Rows())
	// Output:
	// data: 3 shipped order 2026-11-21T09:00:00Z
	// history: 1 new order
	// history: 2 paid order
	// command: 1 finished
	// command: 2 finished
	// command: 3 finished
	// read model: map[ORDER#acme#ORDER#0001:{shipped order 3}]
}

// /snippet

func Example_localCounters() {
	ctx := context.Background()
	wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	// snippet: local-counters
	// Two modules: "order" has a data-sync handler, "customer" has none.
	names := &latestNames{rows: map[string]nameRow{}}
	rt, err := local.New(ctx, local.Options{
		Modules:  []string{"order", "customer"},
		Registry: command.NewRegistry().Register("order", names),
	})
	if err != nil {
		panic(err)
	}
	defer rt.Close()

	for _, module := range []string{"customer", "order"} {
		before := rt.Stats()
		key, _ := core.NewKey(strings.ToUpper(module), "acme", "0001")
		res, err := rt.Service(module).PublishAsync(ctx, command.Input{PK: key.PK, SK: key.SK, Name: "first"})
		if err != nil {
			panic(err)
		}
		if err := rt.WaitIdle(wctx); err != nil {
			panic(err)
		}
		s := rt.Stats().Sub(before) // the figures of this command alone
		fmt.Printf("%s: %d transitions, %d Lambda invocations (%d by steps, %d by the stream), %d store calls\n",
			module, s.Transitions, s.LambdaInvocations, s.StepInvocations, s.StreamInvocations, s.StoreCalls)

		// Its execution, under its deterministic name, and its history.
		name := command.ExecutionName(module, res.Command.PK, res.Command.SK)
		for _, e := range rt.Workflows.Executions(rt.Config.CommandStateMachineARN) {
			if e.Name == name {
				states, _ := rt.Workflows.StatesEntered(e.ARN)
				history, _ := rt.Workflows.History(e.ARN)
				fmt.Println("  ", e.Status, states, len(history), "history events, the last", history[len(history)-1].Type)
			}
		}
	}
	// /snippet

	// Output:
	// customer: 3 transitions, 2 Lambda invocations (1 by steps, 1 by the stream), 6 store calls
	//    SUCCEEDED [Apply Route Done] 11 history events, the last ExecutionSucceeded
	// order: 5 transitions, 4 Lambda invocations (3 by steps, 1 by the stream), 9 store calls
	//    SUCCEEDED [Apply Route Sync SyncHandler Finish] 25 history events, the last ExecutionSucceeded
}

func Example_localWaitIdle() {
	ctx := context.Background()
	rt, err := local.New(ctx, local.Options{Modules: []string{"order"}})
	if err != nil {
		panic(err)
	}
	defer rt.Close()
	svc := rt.Service("order")
	key, _ := core.NewKey("ORDER", "acme", "0001")
	// snippet: local-wait
	rt.PauseStreams() // stream records queue up: nothing starts
	if _, err := svc.PublishAsync(ctx, command.Input{PK: key.PK, SK: key.SK, Name: "first"}); err != nil {
		panic(err)
	}
	short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	err = rt.WaitIdle(short) // a held record is work left to do
	fmt.Println(errors.Is(err, context.DeadlineExceeded), err)
	fmt.Println("running:", len(rt.Running()))

	rt.ResumeStreams()
	wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	fmt.Println(rt.WaitIdle(wctx), rt.Stats().ExecutionsSucceeded)
	// /snippet

	// Output:
	// true local: not idle (0 executions running): context deadline exceeded
	// running: 0
	// <nil> 1
}

// orderKey returns the key of order code of tenant acme.
func orderKey(code string) core.Key {
	k, err := core.NewKey("ORDER", "acme", code)
	if err != nil {
		panic(err)
	}
	return k
}

func Example_localFaults() {
	ctx := context.Background()
	// snippet: local-faults
	names := &latestNames{rows: map[string]nameRow{}}
	rt, err := local.New(ctx, local.Options{
		Modules:  []string{"order"},
		Registry: command.NewRegistry().Register("order", names),
		Faults: local.Faults{
			DuplicateRate:     0.2, // a stream record delivered twice
			ReorderRate:       0.2, // a stream record delivered after later ones
			LambdaFailureRate: 0.1, // an invocation fails, before or after the function ran
		},
		AutoAdvanceClock: true, // waits time out by themselves, as time passes on AWS
		Seed:             7,
	})
	if err != nil {
		panic(err)
	}
	defer rt.Close()

	svc := rt.Service("order")
	const entities, versions = 20, 3
	for v := range versions {
		for e := range entities {
			key := orderKey(fmt.Sprintf("%04d", e))
			_, err := svc.PublishAsync(ctx, command.Input{PK: key.PK, SK: key.SK, Version: int64(v), Name: fmt.Sprint("v", v+1)})
			if err != nil {
				panic(err)
			}
		}
	}
	wctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	if err := rt.WaitIdle(wctx); err != nil {
		panic(err)
	}

	// Every entity at its last version, every command finished, the read
	// model in step with the data table.
	atLast, finished, inReadModel := 0, 0, 0
	rows := names.Rows()
	for e := range entities {
		key := orderKey(fmt.Sprintf("%04d", e))
		if d, err := svc.GetData(ctx, key, true); err == nil && d.Version == versions && d.Name == "v3" {
			atLast++
		}
		cmds, _ := svc.ListVersions(ctx, key)
		for _, c := range cmds {
			if c.Status == core.StatusFinished {
				finished++
			}
		}
		if r := rows[core.EntityID(key.PK, key.SK)]; r.Version == versions && r.Name == "v3" {
			inReadModel++
		}
	}
	s := rt.Stats()
	fmt.Println("entities at version 3:", atLast, "of", entities, "- in the read model:", inReadModel)
	fmt.Println("commands finished:", finished, "of", entities*versions)
	fmt.Println("executions:", s.ExecutionsStarted, "started,", s.ExecutionsSucceeded, "succeeded,", s.ExecutionsFailed, "failed")
	fmt.Println("faults were injected:", s.StreamDuplicates > 0, s.StreamReordered > 0, s.InjectedFailures > 0)
	// /snippet

	// Output:
	// entities at version 3: 20 of 20 - in the read model: 20
	// commands finished: 60 of 60
	// executions: 60 started, 60 succeeded, 0 failed
	// faults were injected: true true true
}

func Example_localDropped() {
	ctx := context.Background()
	// snippet: local-dropped
	chain, last := orderKey("0001"), orderKey("0002")
	lost1, _ := core.VersionedSK(chain.SK, 1) // the first of three versions
	lost2, _ := core.VersionedSK(last.SK, 2)  // the last of two
	rt, err := local.New(ctx, local.Options{
		Modules: []string{"order"},
		Faults: local.Faults{
			Drop: func(table string, rec events.DynamoDBEventRecord) bool {
				sk := rec.Change.NewImage["sk"].String()
				return sk == lost1 || sk == lost2
			},
		},
		AutoAdvanceClock: true,
		SweepInterval:    -1, // no periodic sweep: this example sweeps by hand, below
	})
	if err != nil {
		panic(err)
	}
	defer rt.Close()
	svc := rt.Service("order")
	start := rt.Clock.Now()
	for v := range 3 {
		if _, err := svc.PublishAsync(ctx, command.Input{PK: chain.PK, SK: chain.SK, Version: int64(v), Name: fmt.Sprint("v", v+1)}); err != nil {
			panic(err)
		}
	}
	for v := range 2 {
		if _, err := svc.PublishAsync(ctx, command.Input{PK: last.PK, SK: last.SK, Version: int64(v), Name: fmt.Sprint("v", v+1)}); err != nil {
			panic(err)
		}
	}
	wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := rt.WaitIdle(wctx); err != nil {
		panic(err)
	}
	show := func(key core.Key) {
		d, _ := svc.GetData(ctx, key, true)
		cmds, _ := svc.ListVersions(ctx, key)
		var st []string
		for _, c := range cmds {
			st = append(st, fmt.Sprintf("v%d %s", c.Version, c.Status))
		}
		fmt.Printf("%s: data v%d; %s\n", key.SK, d.Version, strings.Join(st, ", "))
	}
	show(chain) // version 2 waited for 1, timed out, and started the execution of 1
	show(last)  // nobody waits for a last version
	fmt.Println("a wait timed out:", rt.Clock.Now().Sub(start) >= 5*time.Minute)

	// The sweep finds the lost last version once it has been unsettled for
	// longer than Options.SweepOlderThan (15 minutes by default). (The
	// periodic sweep, every Options.SweepInterval of the clock, would do the
	// same.)
	if err := rt.AdvanceClock(20 * time.Minute); err != nil {
		panic(err)
	}
	if _, err := rt.Sweep(ctx); err != nil {
		panic(err)
	}
	if err := rt.WaitIdle(wctx); err != nil {
		panic(err)
	}
	show(last)
	s := rt.Stats()
	fmt.Println("swept:", s.SweepStarted, "dropped:", s.StreamDropped, "executions:", s.ExecutionsStarted, "failed:", s.ExecutionsFailed)
	// /snippet

	// Output:
	// ORDER#0001: data v3; v1 finished, v2 finished, v3 finished
	// ORDER#0002: data v1; v1 finished, v2 started
	// a wait timed out: true
	// ORDER#0002: data v2; v1 finished, v2 finished
	// swept: 1 dropped: 2 executions: 5 failed: 0
}

func Example_localClock() {
	ctx := context.Background()
	wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	// snippet: local-clock
	cfg := core.DefaultConfig()
	cfg.TTL.Command = 7 // superseded command versions expire after 7 days
	rt, err := local.New(ctx, local.Options{
		Config:     cfg,
		Modules:    []string{"order"},
		ClockStart: time.Date(2026, 11, 21, 9, 0, 0, 0, time.UTC),
	})
	if err != nil {
		panic(err)
	}
	defer rt.Close()
	svc := rt.Service("order")
	key := orderKey("0001")
	publish := func(v int64, name string) {
		if _, err := svc.PublishAsync(ctx, command.Input{PK: key.PK, SK: key.SK, Version: v, Name: name}); err != nil {
			panic(err)
		}
		if err := rt.WaitIdle(wctx); err != nil {
			panic(err)
		}
	}
	publish(core.VersionNew, "new order")
	if err := rt.AdvanceClock(36 * time.Hour); err != nil { // no real time passes
		panic(err)
	}
	publish(1, "paid order")
	versions, _ := svc.ListVersions(ctx, key)
	for _, c := range versions {
		expires := "never"
		if c.TTL > 0 {
			expires = time.Unix(c.TTL, 0).UTC().Format(time.DateTime)
		}
		fmt.Println("command:", c.Version, c.CreatedAt.Format(time.DateTime), "expires", expires)
	}

	// DynamoDB deletes expired items by itself, late; in memory, ask for it.
	if err := rt.AdvanceClock(8 * 24 * time.Hour); err != nil {
		panic(err)
	}
	table, _, _ := svc.Tables()
	n, err := rt.Store.ExpireItems(ctx, table, "ttl", rt.Clock.Now())
	if err != nil {
		panic(err)
	}
	versions, _ = svc.ListVersions(ctx, key)
	fmt.Println("expired:", n, "left:", len(versions), "now:", rt.Clock.Now().Format(time.DateTime))
	// /snippet

	// Output:
	// command: 1 2026-11-21 09:00:00 expires 2026-11-29 21:00:00
	// command: 2 2026-11-22 21:00:00 expires never
	// expired: 1 left: 1 now: 2026-11-30 21:00:00
}

func Example_localQueue() {
	ctx := context.Background()
	wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	// snippet: local-queue
	var mu sync.Mutex
	var seen []string
	jobs := func(r *eventfactory.Router) {
		eventfactory.OnSQS(r, "jobs", func(ctx context.Context, m eventfactory.SQSMessage[string]) error {
			mu.Lock()
			defer mu.Unlock()
			seen = append(seen, m.Body+"#"+m.Message.Attributes["ApproximateReceiveCount"])
			if m.Body == "flaky" && m.Message.Attributes["ApproximateReceiveCount"] == "1" {
				return errors.New("not this time") // reported in batchItemFailures
			}
			return nil
		})
	}
	rt, err := local.New(ctx, local.Options{
		Modules: []string{"order"},
		Routes:  []eventfactory.Registration{jobs},
		QueueSources: []local.QueueSource{{Queue: "jobs",
			Config: memory.QueueConfig{VisibilityTimeout: 30 * time.Second}}},
	})
	if err != nil {
		panic(err)
	}
	defer rt.Close()
	for _, body := range []string{"steady", "flaky"} {
		if _, err := rt.Queues.Send(ctx, "jobs", core.OutgoingMessage{Body: body}); err != nil {
			panic(err)
		}
	}
	report := func() {
		if err := rt.WaitIdle(wctx); err != nil { // a message waiting for its visibility timeout does not count
			panic(err)
		}
		mu.Lock()
		defer mu.Unlock()
		sort.Strings(seen)
		visible, hidden, _ := rt.Queues.QueueDepth("jobs")
		fmt.Println(seen, "visible", visible, "in flight", hidden)
	}
	report()
	if err := rt.AdvanceClock(31 * time.Second); err != nil { // past the visibility timeout
		panic(err)
	}
	report()
	// /snippet

	// Output:
	// [flaky#1 steady#1] visible 0 in flight 1
	// [flaky#1 flaky#2 steady#1] visible 0 in flight 0
}

func Example_localClosed() {
	ctx := context.Background()
	rt, err := local.New(ctx, local.Options{Modules: []string{"order"}})
	if err != nil {
		panic(err)
	}
	svc := rt.Service("order")
	key := orderKey("0001")
	if _, err := svc.PublishSync(ctx, command.Input{PK: key.PK, SK: key.SK, Name: "before"}); err != nil {
		panic(err)
	}
	// snippet: local-closed
	if err := rt.Close(); err != nil {
		panic(err)
	}
	// Nothing would process a command now: it is refused, not stored.
	_, err = svc.PublishAsync(ctx, command.Input{PK: key.PK, SK: key.SK, Version: 1, Name: "after"})
	fmt.Println(errors.Is(err, local.ErrClosed))

	// Reads keep working, for inspection.
	versions, err := svc.ListVersions(ctx, key)
	fmt.Println(len(versions), versions[0].Name, err)
	// /snippet

	// Output:
	// true
	// 1 before <nil>
}

// TestGuideIdentifiers checks that every Go name a guide writes in inline
// code as package.Name or package.Name.Member (a method or field of a
// type, promoted ones included) is declared in that package of this
// repository, so that a rename cannot leave a guide, or the glossary,
// behind. Fenced blocks are left alone: their snippets are compiled.
func TestGuideIdentifiers(t *testing.T) {
	repo, err := scanRepo("..")
	if err != nil {
		t.Fatal(err)
	}
	guides, err := filepath.Glob("*.md")
	if err != nil {
		t.Fatal(err)
	}
	checked := 0
	for _, g := range guides {
		src, err := os.ReadFile(g)
		if err != nil {
			t.Fatal(err)
		}
		for _, ref := range inlineRefs(string(src)) {
			p := repo.byName[ref.pkg]
			if p == nil {
				continue // not a package of this repository (fx, slog, …)
			}
			checked++
			if !repo.declares(p, ref.name, ref.member) {
				t.Errorf("%s:%d: %s is not declared in %s", g, ref.line, ref.text, p.dir)
			}
		}
	}
	if checked == 0 {
		t.Fatal("no identifier checked: the scan finds nothing")
	}
}

// goRef is a package.Name[.Member] written in a guide's inline code.
type goRef struct {
	pkg, name, member, text string
	line                    int
}

var goRefRE = regexp.MustCompile(`\b([a-z][a-z0-9]*)\.([A-Z][A-Za-z0-9_]*)(?:\.([A-Z][A-Za-z0-9_]*))?`)

// inlineRefs returns the references in the inline code spans of md,
// outside fenced blocks.
func inlineRefs(md string) []goRef {
	// Split the prose on backticks: a code span may continue on the next
	// line.
	var out []goRef
	line := 1
	for j, part := range strings.Split(strings.Join(proseLines(md), "\n"), "`") {
		if j%2 == 1 { // odd parts are inside backticks
			for _, m := range goRefRE.FindAllStringSubmatch(part, -1) {
				out = append(out, goRef{pkg: m[1], name: m[2], member: m[3], text: m[0], line: line})
			}
		}
		line += strings.Count(part, "\n")
	}
	return out
}

// proseLines returns the lines of md with those of fenced blocks blanked,
// so that line numbers stay those of md.
func proseLines(md string) []string {
	lines := strings.Split(md, "\n")
	fence := ""
	for i, line := range lines {
		if tick := fenceOf(line); fence != "" {
			if strings.HasPrefix(tick, fence) && strings.TrimSpace(line) == tick {
				fence = ""
			}
			lines[i] = ""
		} else if tick != "" {
			fence = tick
			lines[i] = ""
		}
	}
	return lines
}

// goPkg is what a package of the repository declares.
type goPkg struct {
	dir, path string
	top       map[string]bool
	members   map[string]map[string]bool // type → its fields and methods
	embeds    map[string][]embedded      // type → its embedded types
}

type embedded struct{ path, typ string }

// goRepo holds the packages of the repository by name and import path.
type goRepo struct {
	byName map[string]*goPkg // nil value: the name is ambiguous or absent
	byPath map[string]*goPkg
}

// scanRepo parses the non-test Go files of every package under root, but
// for commands (package main) and this package.
func scanRepo(root string) (*goRepo, error) {
	modPath := "github.com/stepcqrs/stepcqrs"
	r := &goRepo{byName: map[string]*goPkg{}, byPath: map[string]*goPkg{}}
	names := map[string]int{}
	err := filepath.WalkDir(root, func(dir string, d fs.DirEntry, err error) error {
		if err != nil || !d.IsDir() {
			return err
		}
		if base := d.Name(); dir != root && (strings.HasPrefix(base, ".") || strings.HasPrefix(base, "_") || base == "testdata" || base == "node_modules") {
			return filepath.SkipDir
		}
		files, _ := filepath.Glob(filepath.Join(dir, "*.go"))
		fset := token.NewFileSet()
		var p *goPkg
		pkgName := ""
		for _, f := range files {
			if strings.HasSuffix(f, "_test.go") {
				continue
			}
			file, err := parser.ParseFile(fset, f, nil, parser.SkipObjectResolution)
			if err != nil {
				return err
			}
			if file.Name.Name == "main" || file.Name.Name == "docs" {
				return nil
			}
			if p == nil {
				rel, _ := filepath.Rel(root, dir)
				p = &goPkg{dir: filepath.ToSlash(rel), path: modPath + "/" + filepath.ToSlash(rel),
					top: map[string]bool{}, members: map[string]map[string]bool{}, embeds: map[string][]embedded{}}
				pkgName = file.Name.Name
			}
			p.addFile(file)
		}
		if p != nil {
			names[pkgName]++
			r.byName[pkgName] = p
			r.byPath[p.path] = p
		}
		return nil
	})
	for n, c := range names {
		if c > 1 {
			r.byName[n] = nil // ambiguous: not checked
		}
	}
	return r, err
}

func (p *goPkg) member(typ, name string) {
	if p.members[typ] == nil {
		p.members[typ] = map[string]bool{}
	}
	p.members[typ][name] = true
}

// addFile records the declarations of one file.
func (p *goPkg) addFile(file *ast.File) {
	imports := map[string]string{} // local name → import path
	for _, im := range file.Imports {
		path := strings.Trim(im.Path.Value, `"`)
		name := path[strings.LastIndex(path, "/")+1:]
		if im.Name != nil {
			name = im.Name.Name
		}
		imports[name] = path
	}
	for _, decl := range file.Decls {
		switch d := decl.(type) {
		case *ast.FuncDecl:
			if d.Recv == nil {
				p.top[d.Name.Name] = true
				continue
			}
			recv := d.Recv.List[0].Type
			if star, ok := recv.(*ast.StarExpr); ok {
				recv = star.X
			}
			if idx, ok := recv.(*ast.IndexExpr); ok {
				recv = idx.X
			}
			if id, ok := recv.(*ast.Ident); ok {
				p.member(id.Name, d.Name.Name)
			}
		case *ast.GenDecl:
			for _, spec := range d.Specs {
				switch s := spec.(type) {
				case *ast.ValueSpec:
					for _, n := range s.Names {
						p.top[n.Name] = true
					}
				case *ast.TypeSpec:
					p.top[s.Name.Name] = true
					p.addMembers(s.Name.Name, s.Type, imports)
				}
			}
		}
	}
}

// addMembers records the fields, interface methods and embedded types of
// the type typ.
func (p *goPkg) addMembers(typ string, expr ast.Expr, imports map[string]string) {
	var fields *ast.FieldList
	switch t := expr.(type) {
	case *ast.StructType:
		fields = t.Fields
	case *ast.InterfaceType:
		fields = t.Methods
	default:
		return
	}
	for _, f := range fields.List {
		for _, n := range f.Names {
			p.member(typ, n.Name)
		}
		if len(f.Names) > 0 {
			continue
		}
		e := f.Type
		if star, ok := e.(*ast.StarExpr); ok {
			e = star.X
		}
		switch x := e.(type) {
		case *ast.Ident:
			p.member(typ, x.Name)
			p.embeds[typ] = append(p.embeds[typ], embedded{path: p.path, typ: x.Name})
		case *ast.SelectorExpr:
			p.member(typ, x.Sel.Name)
			if pkg, ok := x.X.(*ast.Ident); ok {
				p.embeds[typ] = append(p.embeds[typ], embedded{path: imports[pkg.Name], typ: x.Sel.Name})
			}
		}
	}
}

// declares reports whether p declares name, and name has member (when not
// empty) directly or through an embedded type of this repository.
func (r *goRepo) declares(p *goPkg, name, member string) bool {
	if !p.top[name] {
		return false
	}
	return member == "" || r.hasMember(p, name, member, 0)
}

func (r *goRepo) hasMember(p *goPkg, typ, member string, depth int) bool {
	if p.members[typ][member] {
		return true
	}
	if depth > 5 {
		return false
	}
	for _, e := range p.embeds[typ] {
		if q := r.byPath[e.path]; q != nil && r.hasMember(q, e.typ, member, depth+1) {
			return true
		}
	}
	return false
}

// TestGuideAnchors checks that the #anchor of every link from a guide to a
// guide (the glossary's terms, say) names a heading of that guide, as
// GitHub derives heading anchors.
func TestGuideAnchors(t *testing.T) {
	link := regexp.MustCompile(`\]\(([^)#\s]*\.md)?#([^)\s]+)\)`)
	guides, err := filepath.Glob("*.md")
	if err != nil {
		t.Fatal(err)
	}
	anchors := map[string]map[string]bool{}
	for _, g := range guides {
		src, err := os.ReadFile(g)
		if err != nil {
			t.Fatal(err)
		}
		anchors[g] = headingAnchors(string(src))
	}
	checked := 0
	for _, g := range guides {
		src, _ := os.ReadFile(g)
		for _, m := range link.FindAllStringSubmatch(string(src), -1) {
			target := m[1]
			if target == "" {
				target = g
			}
			a, ok := anchors[target]
			if !ok {
				continue // not a guide of this directory: TestGuideLinks checks the file
			}
			checked++
			if !a[m[2]] {
				t.Errorf("%s: link %s#%s names no heading of %s", g, m[1], m[2], target)
			}
		}
	}
	if checked == 0 {
		t.Fatal("no anchor checked")
	}
}

// headingAnchors returns the anchors GitHub gives the headings of md:
// lower case, punctuation but '-' and '_' removed, spaces made '-', a
// repeated anchor suffixed -1, -2, …
func headingAnchors(md string) map[string]bool {
	out := map[string]bool{}
	for _, line := range proseLines(md) {
		text, ok := strings.CutPrefix(strings.TrimLeft(line, "#"), " ")
		if !ok || !strings.HasPrefix(line, "#") {
			continue
		}
		var b strings.Builder
		for _, r := range strings.ToLower(strings.TrimSpace(text)) {
			switch {
			case r == ' ':
				b.WriteRune('-')
			case r == '-' || r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r):
				b.WriteRune(r)
			}
		}
		a := b.String()
		for i := 1; out[a]; i++ {
			a = fmt.Sprintf("%s-%d", b.String(), i)
		}
		out[a] = true
	}
	return out
}
