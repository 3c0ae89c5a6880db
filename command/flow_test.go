package command_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/stepcqrs/stepcqrs/command"
	"github.com/stepcqrs/stepcqrs/core"
)

func TestApplyOutOfOrder(t *testing.T) {
	e := newEnv(t)
	k := key("ooo")
	c1 := e.publish(t, command.Input{PK: k.PK, SK: k.SK, Name: "v1"})
	c2 := e.publish(t, command.Input{PK: k.PK, SK: k.SK, Version: 1, Name: "v2"})

	r := e.apply(t, c2.Key())
	if r.Outcome != command.OutcomeWait || r.WaitFor != 1 || r.WaitForStatus != core.StatusStarted {
		t.Fatalf("v2 before v1: %+v", r)
	}
	w, err := e.svc.RegisterWaitToken(ctx, c2.Key(), "token-2")
	if err != nil || w.Resume || w.WaitFor != 1 {
		t.Fatalf("RegisterWaitToken = %+v, %v", w, err)
	}
	if c, _ := e.svc.GetCommand(ctx, k, 2); c.Status != core.StatusWaiting || c.TaskToken != "token-2" {
		t.Fatalf("waiting row %+v", c)
	}
	res := e.run(t, c1.Key())
	if !reflect.DeepEqual(res.Tokens, []string{"token-2"}) {
		t.Fatalf("finish of v1 resumes %v", res.Tokens)
	}
	if r := e.apply(t, c2.Key()); r.Outcome != command.OutcomeApplied {
		t.Fatalf("v2 after v1: %+v", r)
	}
	if res, _ := e.svc.Finish(ctx, c2.Key()); len(res.Tokens) != 0 {
		t.Fatalf("v2 resumes %v", res.Tokens)
	}
	if d := e.data(t, "ooo"); d.Version != 2 || d.Name != "v2" {
		t.Fatalf("data %+v", d)
	}
	if c, _ := e.svc.GetCommand(ctx, k, 2); c.TaskToken != "" || c.Status != core.StatusFinished {
		t.Fatalf("finished row keeps token or status: %+v", c)
	}
}

func TestWaitTokenAfterPredecessorApplied(t *testing.T) {
	// The lost-wakeup interleaving: v2 sees v1 pending, v1 applies and
	// finishes (no token to resume yet), then v2 stores its token. The
	// re-check must tell v2 to resume itself.
	e := newEnv(t)
	k := key("race")
	c1 := e.publish(t, command.Input{PK: k.PK, SK: k.SK, Name: "v1"})
	c2 := e.publish(t, command.Input{PK: k.PK, SK: k.SK, Version: 1, Name: "v2"})
	if r := e.apply(t, c2.Key()); r.Outcome != command.OutcomeWait {
		t.Fatalf("%+v", r)
	}
	if res := e.run(t, c1.Key()); len(res.Tokens) != 0 {
		t.Fatalf("tokens %v", res.Tokens)
	}
	w, err := e.svc.RegisterWaitToken(ctx, c2.Key(), "late-token")
	if err != nil || !w.Resume {
		t.Fatalf("RegisterWaitToken = %+v, %v; want Resume", w, err)
	}
	if r := e.apply(t, c2.Key()); r.Outcome != command.OutcomeApplied {
		t.Fatalf("%+v", r)
	}
	if _, err := e.svc.RegisterWaitToken(ctx, c2.Key(), ""); !errors.Is(err, core.ErrValidation) {
		t.Fatalf("empty token: %v", err)
	}
}

func TestRedeliveredApplyIsNoOp(t *testing.T) {
	e := newEnv(t)
	k := key("dup")
	var keys []core.Key
	for v := int64(0); v < 5; v++ {
		c := e.publish(t, command.Input{PK: k.PK, SK: k.SK, Version: core.VersionLatest, Name: fmt.Sprint("v", v+1)})
		keys = append(keys, c.Key())
		e.run(t, c.Key())
		// Redeliver this and every earlier apply.
		for _, old := range keys {
			if r := e.apply(t, old); r.Outcome != command.OutcomeAlreadyApplied {
				t.Fatalf("redelivered %s: %+v", old.SK, r)
			}
		}
	}
	hist, err := e.svc.History(ctx, k)
	if err != nil {
		t.Fatal(err)
	}
	var got []int64
	for _, h := range hist {
		got = append(got, h.Version)
	}
	if !reflect.DeepEqual(got, []int64{1, 2, 3, 4}) {
		t.Fatalf("history versions %v, want each earlier version once", got)
	}
	if d := e.data(t, "dup"); d.Version != 5 || d.Name != "v5" {
		t.Fatalf("data %+v", d)
	}
}

func TestFailedVersionIsSkipped(t *testing.T) {
	e := newEnv(t)
	k := key("fail")
	c1 := e.publish(t, command.Input{PK: k.PK, SK: k.SK, Name: "v1"})
	e.run(t, c1.Key())
	c2 := e.publish(t, command.Input{PK: k.PK, SK: k.SK, Version: 1, Name: "v2"})
	c3 := e.publish(t, command.Input{PK: k.PK, SK: k.SK, Version: 2, Name: "v3"})
	c4 := e.publish(t, command.Input{PK: k.PK, SK: k.SK, Version: 3, Name: "v4"})

	if r := e.apply(t, c4.Key()); r.Outcome != command.OutcomeWait || r.WaitFor != 3 {
		t.Fatalf("v4: %+v", r)
	}
	if r := e.apply(t, c3.Key()); r.Outcome != command.OutcomeWait || r.WaitFor != 2 {
		t.Fatalf("v3: %+v", r)
	}
	if w, _ := e.svc.RegisterWaitToken(ctx, c3.Key(), "t3"); w.Resume {
		t.Fatal("v3 resumed early")
	}
	if w, _ := e.svc.RegisterWaitToken(ctx, c4.Key(), "t4"); w.Resume {
		t.Fatal("v4 resumed early")
	}
	// v2 fails (e.g. its execution timed out): its successor is resumed.
	res, err := e.svc.Fail(ctx, c2.Key(), errors.New("boom"))
	if err != nil || !reflect.DeepEqual(res.Tokens, []string{"t3"}) {
		t.Fatalf("Fail = %+v, %v", res, err)
	}
	if r := e.apply(t, c2.Key()); r.Outcome != command.OutcomeFailed {
		t.Fatalf("failed v2 re-applied: %+v", r)
	}
	if r := e.apply(t, c3.Key()); r.Outcome != command.OutcomeApplied {
		t.Fatalf("v3 after failed v2: %+v", r)
	}
	d := e.data(t, "fail")
	if d.Version != 3 || d.Name != "v3" {
		t.Fatalf("data %+v", d)
	}
	if res, _ := e.svc.Finish(ctx, c3.Key()); !reflect.DeepEqual(res.Tokens, []string{"t4"}) {
		t.Fatalf("v3 resumes %v", res.Tokens)
	}
	e.run(t, c4.Key())
	hist, _ := e.svc.History(ctx, k)
	if len(hist) != 2 || hist[0].Version != 1 || hist[1].Version != 3 {
		t.Fatalf("history %+v", hist)
	}
	c, _ := e.svc.GetCommand(ctx, k, 2)
	if c.Status != core.StatusFailed || c.Error != "boom" {
		t.Fatalf("failed row %+v", c)
	}
	// Failing a finished command changes nothing; finishing an unapplied
	// one is refused.
	if _, err := e.svc.Fail(ctx, c4.Key(), errors.New("late")); err != nil {
		t.Fatal(err)
	}
	if c, _ := e.svc.GetCommand(ctx, k, 4); c.Status != core.StatusFinished {
		t.Fatalf("status %s", c.Status)
	}
	c5 := e.publish(t, command.Input{PK: k.PK, SK: k.SK, Version: 4, Name: "v5"})
	if _, err := e.svc.Finish(ctx, c5.Key()); !errors.Is(err, core.ErrValidation) {
		t.Fatalf("finish unapplied: %v", err)
	}
}

func TestFailResumesWaiterBehindFailedChain(t *testing.T) {
	// v2 and v3 fail while v4 waits: the last Fail must still reach v4.
	e := newEnv(t)
	k := key("chain")
	c1 := e.publish(t, command.Input{PK: k.PK, SK: k.SK, Name: "v1"})
	c2 := e.publish(t, command.Input{PK: k.PK, SK: k.SK, Version: 1, Name: "v2"})
	c3 := e.publish(t, command.Input{PK: k.PK, SK: k.SK, Version: 2, Name: "v3"})
	c4 := e.publish(t, command.Input{PK: k.PK, SK: k.SK, Version: 3, Name: "v4"})
	e.run(t, c1.Key())
	if _, err := e.svc.Fail(ctx, c3.Key(), errors.New("x")); err != nil {
		t.Fatal(err)
	}
	if w, _ := e.svc.RegisterWaitToken(ctx, c4.Key(), "t4"); w.Resume || w.WaitFor != 2 {
		t.Fatalf("v4 wait %+v", w)
	}
	res, _ := e.svc.Fail(ctx, c2.Key(), errors.New("y"))
	if !reflect.DeepEqual(res.Tokens, []string{"t4"}) {
		t.Fatalf("Fail(v2) resumes %v", res.Tokens)
	}
	if r := e.apply(t, c4.Key()); r.Outcome != command.OutcomeApplied {
		t.Fatalf("%+v", r)
	}
	if d := e.data(t, "chain"); d.Version != 4 {
		t.Fatalf("data %+v", d)
	}
}

func TestSyncHandlers(t *testing.T) {
	a, b := &handler{name: "a"}, &handler{name: "b"}
	e := newEnv(t, withHandlers(a, b))
	if got := e.svc.SyncHandlers(); !reflect.DeepEqual(got, []string{"a", "b"}) {
		t.Fatalf("SyncHandlers = %v", got)
	}
	k := key("h")
	c := e.publish(t, command.Input{PK: k.PK, SK: k.SK, Name: "n"})
	e.apply(t, c.Key())
	if err := e.svc.RunSync(ctx, c.Key()); err != nil {
		t.Fatal(err)
	}
	if got, _ := e.svc.GetCommand(ctx, k, 1); got.Status != core.StatusSynced {
		t.Fatalf("status %s", got.Status)
	}
	if err := e.svc.RunHandler(ctx, c.Key(), "b"); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.RunHandler(ctx, c.Key(), "zzz"); !errors.Is(err, core.ErrNotFound) {
		t.Fatalf("unknown handler: %v", err)
	}
	if len(a.ups) != 1 || len(b.ups) != 2 {
		t.Fatalf("ups a=%v b=%v", a.ups, b.ups)
	}
	a.err = errors.New("a broke")
	b.err = errors.New("b broke")
	err := e.svc.RunSync(ctx, c.Key())
	if err == nil || !strings.Contains(err.Error(), `"a"`) || !strings.Contains(err.Error(), `"b"`) {
		t.Fatalf("joined errors: %v", err)
	}
	if err := e.svc.RunDown(ctx, c.Key()); err != nil || len(a.down) != 1 || len(b.down) != 1 {
		t.Fatalf("RunDown: %v", err)
	}
}

func TestRegistryProblemsFailAtStartup(t *testing.T) {
	store, objects := newStores(t)
	base := command.Options{Config: testConfig(), Store: store, Objects: objects}
	reg := command.NewRegistry().
		Register("order", &handler{name: "x"}, &handler{name: "x"}, nil).
		Register("ordr", &handler{name: "y"}).
		Register("invoice", &handler{name: command.BuiltinProjection}, &handler{name: ""})
	_, err := command.NewServices(base, reg, "order", "invoice")
	var ve *core.ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("err = %v", err)
	}
	for _, want := range []string{`duplicate sync handler name "x"`, "is nil", `unknown module "ordr"`, "reserved", "empty name"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("missing problem %q in %v", want, err)
		}
	}
	good := command.NewRegistry().Register("order", &handler{name: "x"})
	svcs, err := command.NewServices(base, good, "order", "invoice")
	if err != nil || len(svcs) != 2 || len(svcs["order"].SyncHandlers()) != 1 || len(svcs["invoice"].SyncHandlers()) != 0 {
		t.Fatalf("NewServices = %v, %v", svcs, err)
	}
}

func TestOptionsValidate(t *testing.T) {
	err := command.Options{Config: core.Config{}}.Validate()
	var ve *core.ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("err = %v", err)
	}
	for _, want := range []string{"Module is empty", "Store is nil", "Env is empty"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("missing %q in %v", want, err)
		}
	}
	if _, err := command.New(command.Options{}); !errors.Is(err, core.ErrValidation) {
		t.Fatalf("New: %v", err)
	}
}

func TestNotificationFailureIsReported(t *testing.T) {
	e := newEnv(t)
	e.topic.fail = errors.New("sns down")
	k := key("n")
	c := e.publish(t, command.Input{PK: k.PK, SK: k.SK, Name: "n"})
	c2 := e.publish(t, command.Input{PK: k.PK, SK: k.SK, Version: 1, Name: "n2"})
	if r := e.apply(t, c2.Key()); r.Outcome != command.OutcomeWait {
		t.Fatalf("Apply(v2) = %+v, want wait", r)
	}
	if _, err := e.svc.RegisterWaitToken(ctx, c2.Key(), "t2"); err != nil {
		t.Fatal(err)
	}
	e.apply(t, c.Key())
	if _, err := e.svc.Finish(ctx, c.Key()); err == nil || !strings.Contains(err.Error(), "sns down") {
		t.Fatalf("Finish: %v", err)
	}
	// The retry (Step Functions retries the failed step) publishes the
	// notification and hands back the waiter's token, although the
	// command is already marked finished.
	e.topic.fail = nil
	r, err := e.svc.Finish(ctx, c.Key())
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(r.Tokens) != "[t2]" {
		t.Fatalf("retried Finish resumes %v, want [t2]", r.Tokens)
	}
	msgs := e.topic.messages()
	if len(msgs) != 1 {
		t.Fatalf("%d notifications after the retry, want 1: %q", len(msgs), msgs)
	}
	var note command.Notification
	if err := json.Unmarshal([]byte(msgs[0]), &note); err != nil {
		t.Fatal(err)
	}
	if note.Version != 1 || note.Status != core.StatusFinished || note.ID != c.ID {
		t.Fatalf("notification %+v", note)
	}
	if got, _ := e.svc.GetCommand(ctx, k, 1); got.Status != core.StatusFinished {
		t.Fatalf("status %s", got.Status)
	}
}

func TestAdvance(t *testing.T) {
	e := newEnv(t)
	k := key("adv")
	c1 := e.publish(t, command.Input{PK: k.PK, SK: k.SK, Name: "v1"})
	c2 := e.publish(t, command.Input{PK: k.PK, SK: k.SK, Version: 1, Name: "v2"})
	r, err := e.svc.Advance(ctx, c2.Key())
	if err != nil || r.Finished || r.Apply.Outcome != command.OutcomeWait {
		t.Fatalf("Advance(v2) = %+v, %v", r, err)
	}
	if _, err := e.svc.RegisterWaitToken(ctx, c2.Key(), "t2"); err != nil {
		t.Fatal(err)
	}
	r, err = e.svc.Advance(ctx, c1.Key())
	if err != nil || !r.Finished || r.Apply.Outcome != command.OutcomeApplied || len(r.Resume.Tokens) != 1 {
		t.Fatalf("Advance(v1) = %+v, %v", r, err)
	}
	// Redelivered: finishes again harmlessly.
	if r, err = e.svc.Advance(ctx, c1.Key()); err != nil || !r.Finished || r.Apply.Outcome != command.OutcomeAlreadyApplied {
		t.Fatalf("redelivered Advance(v1) = %+v, %v", r, err)
	}
	// With sync handlers Advance stops after Apply.
	h := &handler{name: "h"}
	e2 := newEnv(t, withHandlers(h))
	c := e2.publish(t, command.Input{PK: k.PK, SK: k.SK, Name: "v1"})
	if r, err = e2.svc.Advance(ctx, c.Key()); err != nil || r.Finished || r.Apply.Outcome != command.OutcomeApplied {
		t.Fatalf("Advance with handlers = %+v, %v", r, err)
	}
	// A failed command is not finished by a redelivered Advance.
	c2b := e.publish(t, command.Input{PK: k.PK, SK: k.SK, Version: 2, Name: "v3"})
	if _, err := e.svc.Fail(ctx, c2b.Key(), errors.New("x")); err != nil {
		t.Fatal(err)
	}
	if r, err = e.svc.Advance(ctx, c2b.Key()); err != nil || r.Finished || r.Apply.Outcome != command.OutcomeFailed {
		t.Fatalf("Advance(failed) = %+v, %v", r, err)
	}
}

func TestApplyWhenSupersededRowIsGone(t *testing.T) {
	// The previous command row is missing (deleted by hand, or the data row
	// was written by another tool): the apply transaction's TTL write on it
	// fails; the command must still apply, without that TTL.
	for _, sync := range []bool{false, true} {
		t.Run(fmt.Sprint("sync=", sync), func(t *testing.T) {
			e := newEnv(t, withConfig(func(c *core.Config) { c.TTL = core.TTLDays{Command: 1} }))
			k := key("gone")
			c1 := e.publish(t, command.Input{PK: k.PK, SK: k.SK, Name: "v1"})
			e.run(t, c1.Key())
			// Point the data row at a command row that does not exist.
			_, err := e.store.Update(ctx, e.cfg.DataTable("order"), k, core.Update{Set: map[string]core.AttributeValue{
				"csk": &types.AttributeValueMemberS{Value: k.SK + "@0000000077"}}}, core.IfExists())
			if err != nil {
				t.Fatal(err)
			}
			if sync {
				if _, err := e.svc.PublishSync(ctx, command.Input{PK: k.PK, SK: k.SK, Version: 1, Name: "v2"}); err != nil {
					t.Fatal(err)
				}
			} else {
				c2 := e.publish(t, command.Input{PK: k.PK, SK: k.SK, Version: 1, Name: "v2"})
				if r := e.apply(t, c2.Key()); r.Outcome != command.OutcomeApplied {
					t.Fatalf("%+v", r)
				}
			}
			if d := e.data(t, "gone"); d.Version != 2 || d.Name != "v2" {
				t.Fatalf("data %+v", d)
			}
			if _, err := e.store.Get(ctx, e.cfg.CommandTable("order"), core.Key{PK: k.PK, SK: k.SK + "@0000000077"}, true); !errors.Is(err, core.ErrNotFound) {
				t.Fatalf("phantom command row created: %v", err)
			}
		})
	}
}

func TestSyncRefusesUnappliedCommand(t *testing.T) {
	h := &handler{name: "h"}
	e := newEnv(t, withHandlers(h))
	k := key("early")
	c := e.publish(t, command.Input{PK: k.PK, SK: k.SK, Name: "n"})
	if err := e.svc.RunSync(ctx, c.Key()); !errors.Is(err, core.ErrValidation) {
		t.Fatalf("RunSync before apply: %v", err)
	}
	if err := e.svc.RunHandler(ctx, c.Key(), "h"); !errors.Is(err, core.ErrValidation) {
		t.Fatalf("RunHandler before apply: %v", err)
	}
	if len(h.ups) != 0 {
		t.Fatalf("handler projected an unapplied command: %v", h.ups)
	}
}

func TestResync(t *testing.T) {
	h := &handler{name: "h"}
	e := newEnv(t, withHandlers(h))
	ictx := core.NewContext(ctx, core.Invoke{RequestID: "req-r", UserID: "user-r", SourceIP: "192.0.2.7"})
	for i := 0; i < 120; i++ {
		k := key(fmt.Sprintf("r%03d", i))
		if _, err := e.svc.PublishSync(ictx, command.Input{PK: k.PK, SK: k.SK, Name: "n", Seq: 5, Attributes: core.Attributes{"i": i}}); err != nil {
			t.Fatal(err)
		}
	}
	// r000 gets a second version: its replay is of version 2.
	if _, err := e.svc.PublishSync(ctx, command.Input{PK: "ORDER#acme", SK: "ORDER#r000", Version: 1, Name: "n2", Seq: 6, Attributes: core.Attributes{"i": 1000}}); err != nil {
		t.Fatal(err)
	}
	want, err := e.svc.GetCommand(ctx, key("r000"), 2)
	if err != nil {
		t.Fatal(err)
	}
	first, err := e.svc.GetCommand(ctx, key("r000"), 1)
	if err != nil {
		t.Fatal(err)
	}
	h.ups, h.cmds = nil, nil
	n, err := e.svc.Resync(ctx, "ORDER#acme")
	if err != nil || n != 120 || len(h.ups) != 120 || h.ups[0] != "ORDER#r000@0000000002" || h.ups[1] != "ORDER#r001@0000000001" {
		t.Fatalf("Resync = %d, %v; ups %d", n, err, len(h.ups))
	}
	// The replayed command is rebuilt from the data row: every field the
	// handler may project is the command's.
	got := h.cmds[0]
	if got.PK != want.PK || got.SK != want.SK || got.ID != want.ID || got.Code != "r000" || got.Type != "ORDER" ||
		got.TenantCode != "acme" || got.Name != "n2" || got.Version != 2 || got.Seq != 6 ||
		got.Status != core.StatusFinished || fmt.Sprint(got.Attributes["i"]) != "1000" {
		t.Fatalf("replayed %+v, want %+v", got, want)
	}
	d := e.data(t, "r000")
	if !got.CreatedAt.Equal(first.CreatedAt) || got.CreatedBy != "user-r" || got.CreatedIP != "192.0.2.7" ||
		!got.UpdatedAt.Equal(d.UpdatedAt) || got.UpdatedAt.Equal(got.CreatedAt) {
		t.Fatalf("replayed audit fields %+v, want created %v by user-r, updated %v", got, first.CreatedAt, d.UpdatedAt)
	}
	if got := h.cmds[119]; got.Name != "n" || got.Seq != 5 || fmt.Sprint(got.Attributes["i"]) != "119" || got.RequestID != "req-r" {
		t.Fatalf("replayed %+v", got)
	}
	h.err = errors.New("down")
	if _, err := e.svc.Resync(ctx, "ORDER#acme"); err == nil || !strings.Contains(err.Error(), "ORDER#r000") {
		t.Fatalf("Resync error: %v", err)
	}
}

// TestFailResumesWaiterBehindLongFailedChain is
// TestFailResumesWaiterBehindFailedChain with more failed successors than
// one query page holds: the successor scan must page on to the waiter.
func TestFailResumesWaiterBehindLongFailedChain(t *testing.T) {
	e := newEnv(t)
	k := key("longchain")
	const last = 25
	cmds := make([]*core.Command, last+1)
	for v := int64(1); v <= last; v++ {
		cmds[v] = e.publish(t, command.Input{PK: k.PK, SK: k.SK, Version: v - 1, Name: fmt.Sprint("v", v)})
	}
	e.run(t, cmds[1].Key())
	for v := 3; v < last; v++ {
		if _, err := e.svc.Fail(ctx, cmds[v].Key(), errors.New("x")); err != nil {
			t.Fatal(err)
		}
	}
	if w, err := e.svc.RegisterWaitToken(ctx, cmds[last].Key(), "tlast"); err != nil || w.Resume {
		t.Fatalf("last wait %+v %v", w, err)
	}
	res, err := e.svc.Fail(ctx, cmds[2].Key(), errors.New("y"))
	if err != nil || !reflect.DeepEqual(res.Tokens, []string{"tlast"}) {
		t.Fatalf("Fail(v2) resumes %v, %v; want [tlast]", res.Tokens, err)
	}
	if r := e.apply(t, cmds[last].Key()); r.Outcome != command.OutcomeApplied {
		t.Fatalf("%+v", r)
	}
}
