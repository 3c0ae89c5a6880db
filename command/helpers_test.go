package command_test

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/stepcqrs/stepcqrs/command"
	"github.com/stepcqrs/stepcqrs/core"
)

// env is one module's Service on fresh in-memory stores.
type env struct {
	svc     *command.Service
	store   core.ItemStore
	objects core.ObjectStore
	topic   *recordingTopic
	cfg     core.Config
	clock   *fakeClock
}

type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(time.Millisecond)
	return c.t
}

// recordingTopic records publishes; it stands in for a subscriber.
type recordingTopic struct {
	mu   sync.Mutex
	msgs []string
	fail error
}

func (r *recordingTopic) Publish(_ context.Context, topic, msg string, _ map[string]string) (string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.fail != nil {
		return "", r.fail
	}
	r.msgs = append(r.msgs, msg)
	return "m", nil
}

func (r *recordingTopic) messages() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.msgs...)
}

func testConfig() core.Config {
	return core.Config{Env: "test", AppName: "shop", AttributeOffloadBytes: 100 * 1024}
}

type envOption func(*command.Options)

func withHandlers(h ...command.SyncHandler) envOption {
	return func(o *command.Options) { o.Handlers = h }
}

func withConfig(f func(*core.Config)) envOption {
	return func(o *command.Options) { f(&o.Config) }
}

func newEnv(t testing.TB, opts ...envOption) *env {
	t.Helper()
	e := &env{topic: &recordingTopic{}, clock: &fakeClock{t: time.Date(2026, 11, 21, 0, 0, 0, 0, time.UTC)}}
	e.store, e.objects = newStores(t)
	o := command.Options{
		Module: "order", Config: testConfig(), Store: e.store, Objects: e.objects,
		Topic: e.topic, Clock: e.clock.Now, Source: "test", Logger: slog.New(slog.DiscardHandler),
	}
	for _, f := range opts {
		f(&o)
	}
	e.cfg = o.Config
	provision(t, e.store, e.objects, o.Config, o.Module)
	svc, err := command.New(o)
	if err != nil {
		t.Fatal(err)
	}
	e.svc = svc
	return e
}

var ctx = context.Background()

func key(code string) core.Key {
	k, err := core.NewKey("ORDER", "acme", code)
	if err != nil {
		panic(err)
	}
	return k
}

func (e *env) publish(t testing.TB, in command.Input) *core.Command {
	t.Helper()
	res, err := e.svc.PublishAsync(ctx, in)
	if err != nil {
		t.Fatalf("PublishAsync(%s v%d): %v", in.SK, in.Version, err)
	}
	if res.Unchanged {
		t.Fatalf("PublishAsync(%s v%d): unexpectedly unchanged", in.SK, in.Version)
	}
	return res.Command
}

func (e *env) apply(t testing.TB, k core.Key) command.ApplyResult {
	t.Helper()
	res, err := e.svc.Apply(ctx, k)
	if err != nil {
		t.Fatalf("Apply(%s): %v", k.SK, err)
	}
	return res
}

// run drives one command through apply and finish, as the state machine
// does on its default path.
func (e *env) run(t testing.TB, k core.Key) command.Resume {
	t.Helper()
	if res := e.apply(t, k); res.Outcome != command.OutcomeApplied {
		t.Fatalf("Apply(%s) = %+v, want applied", k.SK, res)
	}
	if err := e.svc.RunSync(ctx, k); err != nil {
		t.Fatalf("RunSync(%s): %v", k.SK, err)
	}
	r, err := e.svc.Finish(ctx, k)
	if err != nil {
		t.Fatalf("Finish(%s): %v", k.SK, err)
	}
	return r
}

func (e *env) data(t testing.TB, code string) *core.Data {
	t.Helper()
	d, err := e.svc.GetData(ctx, key(code), true)
	if err != nil {
		t.Fatalf("GetData(%s): %v", code, err)
	}
	return d
}

func wantConflict(t testing.TB, err error, latest int64) {
	t.Helper()
	var vc *core.VersionConflictError
	if !errors.As(err, &vc) || !errors.Is(err, core.ErrVersionConflict) {
		t.Fatalf("err = %v, want *core.VersionConflictError", err)
	}
	if vc.Latest != latest {
		t.Fatalf("conflict reports latest %d, want %d", vc.Latest, latest)
	}
}

// handler is a recording SyncHandler.
type handler struct {
	name string
	mu   sync.Mutex
	ups  []string
	down []string
	cmds []core.Command // the commands Up received
	err  error
}

func (h *handler) Name() string { return h.name }

func (h *handler) Up(_ context.Context, c *core.Command) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.ups = append(h.ups, c.SK)
	h.cmds = append(h.cmds, *c)
	return h.err
}

func (h *handler) Down(_ context.Context, c *core.Command) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.down = append(h.down, c.SK)
	return nil
}
