package command_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/stepcqrs/stepcqrs/command"
	"github.com/stepcqrs/stepcqrs/core"
)

func TestCreateUpdateDelete(t *testing.T) {
	e := newEnv(t)
	k := key("1")
	c1 := e.publish(t, command.Input{PK: k.PK, SK: k.SK, Name: "first", Attributes: core.Attributes{"qty": 1}})
	if c1.Version != 1 || c1.Status != core.StatusStarted || c1.Code != "1" || c1.TenantCode != "acme" || c1.Type != "ORDER" {
		t.Fatalf("created %+v", c1)
	}
	if _, err := e.svc.GetData(ctx, k, true); !errors.Is(err, core.ErrNotFound) {
		t.Fatalf("data before apply: %v", err)
	}
	e.run(t, c1.Key())
	c2 := e.publish(t, command.Input{PK: k.PK, SK: k.SK, Version: 1, Name: "second", Attributes: core.Attributes{"qty": 2}})
	e.run(t, c2.Key())
	c3 := e.publish(t, command.Input{PK: k.PK, SK: k.SK, Version: 2, Name: "second", IsDeleted: true, Attributes: core.Attributes{"qty": 2}})
	e.run(t, c3.Key())

	d := e.data(t, "1")
	if d.Version != 3 || !d.IsDeleted || d.CSK != c3.SK || d.Attributes["qty"] != json.Number("2") {
		t.Fatalf("data = %+v", d)
	}
	if !d.CreatedAt.Equal(c1.CreatedAt) || !d.UpdatedAt.Equal(c3.UpdatedAt) {
		t.Errorf("data createdAt %v (want %v), updatedAt %v (want %v)", d.CreatedAt, c1.CreatedAt, d.UpdatedAt, c3.UpdatedAt)
	}
	hist, err := e.svc.History(ctx, k)
	if err != nil {
		t.Fatal(err)
	}
	if len(hist) != 2 || hist[0].Version != 1 || hist[1].Version != 2 || hist[0].Name != "first" || hist[1].Name != "second" {
		t.Fatalf("history = %+v", hist)
	}
	vers, err := e.svc.ListVersions(ctx, k)
	if err != nil {
		t.Fatal(err)
	}
	for i, c := range vers {
		if c.Version != int64(i+1) || c.Status != core.StatusFinished {
			t.Errorf("version %d: %+v", i+1, c)
		}
	}
	if len(vers) != 3 {
		t.Fatalf("%d versions", len(vers))
	}
	if n := len(e.topic.messages()); n != 3 {
		t.Fatalf("%d notifications, want 3", n)
	}
	var note command.Notification
	if err := json.Unmarshal([]byte(e.topic.messages()[2]), &note); err != nil {
		t.Fatal(err)
	}
	if note.Action != "command-status" || note.Status != core.StatusFinished || note.Version != 3 || note.ID != c3.ID {
		t.Errorf("notification %+v", note)
	}
}

func TestVersionRules(t *testing.T) {
	e := newEnv(t)
	k := key("v")
	e.publish(t, command.Input{PK: k.PK, SK: k.SK, Name: "a"})
	e.publish(t, command.Input{PK: k.PK, SK: k.SK, Version: 1, Name: "b"})
	tests := []struct {
		name    string
		version int64
		latest  int64 // expected latest in the conflict; -1: success
		valid   bool
	}{
		{name: "new on existing", version: core.VersionNew, latest: 2},
		{name: "stale", version: 1, latest: 2},
		{name: "ahead", version: 3, latest: 2},
		{name: "far ahead", version: 1000, latest: 2},
		{name: "invalid", version: -2, valid: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := e.svc.PublishAsync(ctx, command.Input{PK: k.PK, SK: k.SK, Version: tt.version, Name: "x"})
			if tt.valid {
				if !errors.Is(err, core.ErrValidation) {
					t.Fatalf("err = %v, want validation", err)
				}
				return
			}
			wantConflict(t, err, tt.latest)
		})
	}
	c := e.publish(t, command.Input{PK: k.PK, SK: k.SK, Version: core.VersionLatest, Name: "c"})
	if c.Version != 3 {
		t.Fatalf("latest publish got version %d", c.Version)
	}
	c = e.publish(t, command.Input{PK: k.PK, SK: k.SK, Version: 3, Name: "d"})
	if c.Version != 4 {
		t.Fatalf("explicit publish got version %d", c.Version)
	}
	// VersionLatest on an entity with no version creates it.
	k2 := key("w")
	if c := e.publish(t, command.Input{PK: k2.PK, SK: k2.SK, Version: core.VersionLatest, Name: "x"}); c.Version != 1 {
		t.Fatalf("latest on nothing: version %d", c.Version)
	}
}

func TestInvalidInput(t *testing.T) {
	e := newEnv(t)
	tests := []struct {
		name string
		in   command.Input
		want error
	}{
		{name: "hash smuggled into sk", in: command.Input{PK: "ORDER#acme", SK: "ORDER#1@2"}, want: core.ErrInvalidKey},
		{name: "empty pk", in: command.Input{SK: "ORDER#1"}, want: core.ErrInvalidKey},
		{name: "pk without tenant", in: command.Input{PK: "ORDER", SK: "ORDER#1"}, want: core.ErrInvalidKey},
		{name: "tenant mismatch", in: command.Input{PK: "ORDER#acme", SK: "ORDER#1", TenantCode: "globex"}, want: core.ErrValidation},
		{name: "no code", in: command.Input{PK: "ORDER#acme", SK: "ORDER"}, want: core.ErrValidation},
		{name: "negative ttl", in: command.Input{PK: "ORDER#acme", SK: "ORDER#1", TTL: -1}, want: core.ErrValidation},
		{name: "bad number", in: command.Input{PK: "ORDER#acme", SK: "ORDER#1", Attributes: core.Attributes{"n": json.Number("x")}}, want: core.ErrValidation},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := e.svc.PublishAsync(ctx, tt.in); !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestConcurrentWritersExactlyOneWins(t *testing.T) {
	e := newEnv(t)
	for i := 0; i < 50; i++ {
		k := key(fmt.Sprintf("race-%d", i))
		base := int64(core.VersionNew)
		if i%2 == 1 { // odd rounds race on an update, even ones on the create
			e.publish(t, command.Input{PK: k.PK, SK: k.SK, Name: "base"})
			base = 1
		}
		var wg sync.WaitGroup
		errs := make([]error, 2)
		for w := 0; w < 2; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, errs[w] = e.svc.PublishAsync(ctx, command.Input{PK: k.PK, SK: k.SK, Version: base, Name: fmt.Sprintf("writer %d", w)})
			}()
		}
		wg.Wait()
		var won, lost int
		for _, err := range errs {
			switch {
			case err == nil:
				won++
			case errors.Is(err, core.ErrVersionConflict):
				lost++
			default:
				t.Fatalf("round %d: %v", i, err)
			}
		}
		if won != 1 || lost != 1 {
			t.Fatalf("round %d: %d won, %d lost", i, won, lost)
		}
		vers, _ := e.svc.ListVersions(ctx, k)
		if len(vers) != int(base)+1 {
			t.Fatalf("round %d: %d versions", i, len(vers))
		}
	}
}

func TestManyVersionsSortByVersion(t *testing.T) {
	e := newEnv(t)
	k := key("many")
	for v := int64(0); v < 120; v++ {
		c := e.publish(t, command.Input{PK: k.PK, SK: k.SK, Version: core.VersionLatest, Name: fmt.Sprint("n", v)})
		if c.Version != v+1 {
			t.Fatalf("publish %d got version %d", v, c.Version)
		}
		e.run(t, c.Key())
	}
	latest, err := e.svc.GetCommand(ctx, k, core.VersionLatest)
	if err != nil || latest.Version != 120 {
		t.Fatalf("latest = %+v, %v", latest, err)
	}
	for _, stale := range []int64{9, 10, 99, 100, 119} {
		_, err := e.svc.PublishAsync(ctx, command.Input{PK: k.PK, SK: k.SK, Version: stale, Name: "stale"})
		wantConflict(t, err, 120)
	}
	if c := e.publish(t, command.Input{PK: k.PK, SK: k.SK, Version: 120, Name: "next"}); c.Version != 121 {
		t.Fatalf("got %d", c.Version)
	}
	vers, _ := e.svc.ListVersions(ctx, k)
	for i, c := range vers {
		if c.Version != int64(i+1) {
			t.Fatalf("ListVersions[%d] = version %d", i, c.Version)
		}
	}
	hist, _ := e.svc.History(ctx, k)
	if len(hist) != 119 || hist[9].Version != 10 || hist[99].Version != 100 {
		t.Fatalf("history has %d rows", len(hist))
	}
	if d := e.data(t, "many"); d.Version != 120 {
		t.Fatalf("data version %d", d.Version)
	}
}

func TestUnchangedInputWritesNothing(t *testing.T) {
	e := newEnv(t)
	k := key("u")
	in := command.Input{PK: k.PK, SK: k.SK, Name: "n", Seq: 3,
		Attributes: core.Attributes{"qty": 2, "price": 1.5, "tags": []any{"a"}, "m": map[string]any{}}}
	c1 := e.publish(t, in)
	tests := []struct {
		name      string
		version   int64
		mutate    func(*command.Input)
		unchanged bool
	}{
		{name: "same, explicit version", version: 1, unchanged: true},
		{name: "same, latest", version: core.VersionLatest, unchanged: true},
		{name: "same numbers, other types", version: 1, unchanged: true, mutate: func(in *command.Input) {
			in.Attributes = core.Attributes{"qty": json.Number("2.0"), "price": json.Number("1.50"), "tags": []any{"a"}, "m": map[string]any{}}
		}},
		{name: "name differs", version: 1, mutate: func(in *command.Input) { in.Name = "other" }},
		{name: "seq differs", version: 1, mutate: func(in *command.Input) { in.Seq = 4 }},
		{name: "deleted", version: 1, mutate: func(in *command.Input) { in.IsDeleted = true }},
		{name: "ttl differs", version: 1, mutate: func(in *command.Input) { in.TTL = 4_000_000_000 }},
		{name: "code differs", version: 1, mutate: func(in *command.Input) { in.Code = "other-code" }},
		{name: "type differs", version: 1, mutate: func(in *command.Input) { in.Type = "RETURN" }},
		{name: "same defaults spelled out", version: 1, unchanged: true, mutate: func(in *command.Input) {
			in.Code, in.Type, in.TenantCode = "u", "ORDER", "acme"
		}},
		{name: "nested differs", version: 1, mutate: func(in *command.Input) {
			in.Attributes = core.Attributes{"qty": 2, "price": 1.5, "tags": []any{"a"}, "m": map[string]any{"x": 1}}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			x := in
			x.Version = tt.version
			if tt.mutate != nil {
				tt.mutate(&x)
			}
			e2 := e
			if !tt.unchanged {
				// A changed input must write: use a fresh entity copy.
				e2 = newEnv(t)
				e2.publish(t, in)
			}
			res, err := e2.svc.PublishAsync(ctx, x)
			if err != nil {
				t.Fatal(err)
			}
			if res.Unchanged != tt.unchanged || res.Command == nil {
				t.Fatalf("result %+v", res)
			}
			if tt.unchanged && res.Command.SK != c1.SK {
				t.Fatalf("unchanged returned %s, want the latest %s", res.Command.SK, c1.SK)
			}
		})
	}
	if vers, _ := e.svc.ListVersions(ctx, k); len(vers) != 1 {
		t.Fatalf("%d versions written", len(vers))
	}
	// Equal content on a stale version is still a conflict.
	e.publish(t, command.Input{PK: k.PK, SK: k.SK, Version: 1, Name: "changed"})
	_, err := e.svc.PublishAsync(ctx, command.Input{PK: k.PK, SK: k.SK, Version: 1, Name: "changed"})
	wantConflict(t, err, 2)
}

func TestPartialUpdateMerge(t *testing.T) {
	e := newEnv(t)
	k := key("p")
	e.publish(t, command.Input{PK: k.PK, SK: k.SK, Name: "n", Seq: 7, Attributes: core.Attributes{
		"keep": "k", "drop": "d", "list": []any{1, 2, 3},
		"obj": map[string]any{"a": 1, "inner": map[string]any{"x": "x", "y": "y"}},
	}})
	name := "renamed"
	res, err := e.svc.PublishPartialUpdateAsync(ctx, command.PartialInput{PK: k.PK, SK: k.SK, Version: core.VersionLatest, Name: &name,
		Attributes: map[string]any{"drop": nil, "list": []any{9}, "new": true,
			"obj": map[string]any{"b": 2, "inner": map[string]any{"y": "Y"}}}})
	if err != nil {
		t.Fatal(err)
	}
	got, err := e.svc.GetCommand(ctx, k, res.Command.Version)
	if err != nil {
		t.Fatal(err)
	}
	want := core.Attributes{"keep": "k", "list": []any{json.Number("9")}, "new": true,
		"obj": map[string]any{"a": json.Number("1"), "b": json.Number("2"), "inner": map[string]any{"x": "x", "y": "Y"}}}
	if got.Version != 2 || got.Name != "renamed" || got.Seq != 7 || !reflect.DeepEqual(got.Attributes, want) {
		t.Fatalf("merged = %+v\nattributes %#v", got, got.Attributes)
	}
	// Base version rules: stale base conflicts, missing entity is not found,
	// an empty patch is unchanged.
	_, err = e.svc.PublishPartialUpdateAsync(ctx, command.PartialInput{PK: k.PK, SK: k.SK, Version: 1, Name: &name})
	wantConflict(t, err, 2)
	k2 := key("nobody")
	if _, err := e.svc.PublishPartialUpdateAsync(ctx, command.PartialInput{PK: k2.PK, SK: k2.SK, Version: core.VersionLatest}); !errors.Is(err, core.ErrNotFound) {
		t.Fatalf("missing entity: %v", err)
	}
	if res, err := e.svc.PublishPartialUpdateAsync(ctx, command.PartialInput{PK: k.PK, SK: k.SK, Version: 2}); err != nil || !res.Unchanged {
		t.Fatalf("empty patch: %+v, %v", res, err)
	}
}

func TestMergeAttributesDoesNotModifyArguments(t *testing.T) {
	base := map[string]any{"o": map[string]any{"a": 1}}
	patch := map[string]any{"o": map[string]any{"b": 2}}
	out := command.MergeAttributes(base, patch)
	if len(base["o"].(map[string]any)) != 1 || len(patch["o"].(map[string]any)) != 1 || len(out["o"].(map[string]any)) != 2 {
		t.Fatalf("base %v patch %v out %v", base, patch, out)
	}
}

func TestAuditFieldsAndTenant(t *testing.T) {
	e := newEnv(t)
	k := key("audit")
	ictx := core.NewContext(ctx, core.Invoke{RequestID: "req-9", UserID: "user-1", SourceIP: "192.0.2.1", TenantCode: "acme"})
	res, err := e.svc.PublishAsync(ictx, command.Input{PK: k.PK, SK: k.SK, Name: "n"})
	if err != nil {
		t.Fatal(err)
	}
	c, _ := e.svc.GetCommand(ctx, k, 1)
	if c.RequestID != "req-9" || c.CreatedBy != "user-1" || c.UpdatedBy != "user-1" || c.CreatedIP != "192.0.2.1" || c.Source != "test" {
		t.Fatalf("audit fields %+v", c)
	}
	if !c.CreatedAt.Equal(res.Command.CreatedAt) || c.CreatedAt.IsZero() {
		t.Fatalf("createdAt %v", c.CreatedAt)
	}
	other := core.NewContext(ctx, core.Invoke{TenantCode: "globex"})
	if _, err := e.svc.PublishAsync(other, command.Input{PK: k.PK, SK: k.SK, Version: 1, Name: "x"}); !errors.Is(err, core.ErrTenantNotAllowed) {
		t.Fatalf("cross-tenant publish: %v", err)
	}
}

func TestLargeAttributesOffloaded(t *testing.T) {
	e := newEnv(t)
	k := key("big")
	blob := strings.Repeat("x", 300*1024)
	c := e.publish(t, command.Input{PK: k.PK, SK: k.SK, Name: "big", Attributes: core.Attributes{"blob": blob, "n": 1}})
	item, err := e.store.Get(ctx, e.cfg.CommandTable("order"), c.Key(), true)
	if err != nil {
		t.Fatal(err)
	}
	var raw core.Command
	if err := core.UnmarshalItem(item, &raw); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(raw.AttributesRef, "s3://"+e.cfg.Bucket()+"/") || len(raw.Attributes) != 0 {
		t.Fatalf("row not offloaded: ref %q, %d attributes", raw.AttributesRef, len(raw.Attributes))
	}
	e.run(t, c.Key())
	c2 := e.publish(t, command.Input{PK: k.PK, SK: k.SK, Version: 1, Name: "big2", Attributes: core.Attributes{"blob": blob, "n": 2}})
	e.run(t, c2.Key())

	check := func(what string, a core.Attributes, ref string, n string) {
		t.Helper()
		if ref != "" || a["blob"] != blob || a["n"] != json.Number(n) {
			t.Fatalf("%s: attributes not resolved (ref %q, n %v)", what, ref, a["n"])
		}
	}
	got, _ := e.svc.GetCommand(ctx, k, 1)
	check("GetCommand", got.Attributes, got.AttributesRef, "1")
	d := e.data(t, "big")
	check("GetData", d.Attributes, d.AttributesRef, "2")
	hist, _ := e.svc.History(ctx, k)
	check("History", hist[0].Attributes, hist[0].AttributesRef, "1")
	page, err := e.svc.ListData(ctx, command.ListInput{PK: k.PK})
	if err != nil || len(page.Items) != 1 {
		t.Fatalf("ListData: %v", err)
	}
	check("ListData", page.Items[0].Attributes, page.Items[0].AttributesRef, "2")
	vers, _ := e.svc.ListVersions(ctx, k)
	check("ListVersions", vers[1].Attributes, vers[1].AttributesRef, "2")
	// Unchanged detection sees through the reference.
	res, err := e.svc.PublishAsync(ctx, command.Input{PK: k.PK, SK: k.SK, Version: 2, Name: "big2", Attributes: core.Attributes{"blob": blob, "n": 2}})
	if err != nil || !res.Unchanged {
		t.Fatalf("unchanged large input: %+v %v", res, err)
	}
	objs, _ := e.objects.List(ctx, e.cfg.Bucket(), "")
	if len(objs) != 2 {
		t.Fatalf("%d objects, want 2 (data and history share the command's)", len(objs))
	}
}

func TestPublishSync(t *testing.T) {
	h := &handler{name: "search"}
	e := newEnv(t, withHandlers(h))
	k := key("s")
	res, err := e.svc.PublishSync(ctx, command.Input{PK: k.PK, SK: k.SK, Name: "one"})
	if err != nil {
		t.Fatal(err)
	}
	if res.Command.Status != core.StatusFinished || res.Command.SyncMode != core.SyncModeSync {
		t.Fatalf("result %+v", res.Command)
	}
	if d := e.data(t, "s"); d.Version != 1 || d.Name != "one" {
		t.Fatalf("data %+v", d)
	}
	name := "two"
	if _, err := e.svc.PublishPartialUpdateSync(ctx, command.PartialInput{PK: k.PK, SK: k.SK, Version: 1, Name: &name}); err != nil {
		t.Fatal(err)
	}
	if d := e.data(t, "s"); d.Version != 2 || d.Name != "two" {
		t.Fatalf("data %+v", d)
	}
	if hist, _ := e.svc.History(ctx, k); len(hist) != 1 || hist[0].Name != "one" {
		t.Fatalf("history %+v", hist)
	}
	if len(h.ups) != 2 {
		t.Fatalf("handler ran %d times", len(h.ups))
	}
	c, _ := e.svc.GetCommand(ctx, k, 2)
	if c.Status != core.StatusFinished {
		t.Fatalf("status %s", c.Status)
	}
	// A redelivered stream record of a sync row is a no-op for Apply.
	if r := e.apply(t, c.Key()); r.Outcome != command.OutcomeAlreadyApplied {
		t.Fatalf("apply of sync row: %+v", r)
	}
	// Stale sync publish: conflict, nothing written.
	_, err = e.svc.PublishSync(ctx, command.Input{PK: k.PK, SK: k.SK, Version: 1, Name: "x"})
	wantConflict(t, err, 2)
	// An async version still pending blocks a sync publish.
	e.publish(t, command.Input{PK: k.PK, SK: k.SK, Version: 2, Name: "async"})
	_, err = e.svc.PublishSync(ctx, command.Input{PK: k.PK, SK: k.SK, Version: 3, Name: "sync"})
	var pe *command.PendingError
	if !errors.As(err, &pe) || pe.Pending != 3 || !errors.Is(err, command.ErrPending) {
		t.Fatalf("err = %v, want *PendingError", err)
	}
	// A failing handler: data applied, command failed, error returned.
	h.err = errors.New("index down")
	k2 := key("s2")
	res, err = e.svc.PublishSync(ctx, command.Input{PK: k2.PK, SK: k2.SK, Name: "x"})
	if err == nil || !strings.Contains(err.Error(), "index down") || res.Command == nil || res.Command.Status != core.StatusFailed {
		t.Fatalf("failing handler: %+v %v", res, err)
	}
}

func TestTTLs(t *testing.T) {
	e := newEnv(t, withConfig(func(c *core.Config) {
		c.TTL = core.TTLDays{Command: 1, Data: 2, History: 3}
		c.TenantTTL = map[string]core.TTLDays{"other": {Command: 10}}
	}))
	k := key("ttl")
	c1 := e.publish(t, command.Input{PK: k.PK, SK: k.SK, Name: "a"})
	if c1.TTL != 0 {
		t.Fatalf("new command got ttl %d", c1.TTL)
	}
	e.run(t, c1.Key())
	d1 := e.data(t, "ttl")
	day := int64(86400)
	if d1.TTL < e.clock.t.Unix()+2*day-60 || d1.TTL > e.clock.t.Unix()+2*day {
		t.Fatalf("data ttl %d", d1.TTL)
	}
	c2 := e.publish(t, command.Input{PK: k.PK, SK: k.SK, Version: 1, Name: "b"})
	e.run(t, c2.Key())
	old, _ := e.svc.GetCommand(ctx, k, 1)
	latest, _ := e.svc.GetCommand(ctx, k, 2)
	hist, _ := e.svc.History(ctx, k)
	now := e.clock.t.Unix()
	if old.TTL < now+day-60 || old.TTL > now+day || latest.TTL != 0 {
		t.Fatalf("command ttls: superseded %d, latest %d", old.TTL, latest.TTL)
	}
	if len(hist) != 1 || hist[0].TTL < now+3*day-60 || hist[0].TTL > now+3*day {
		t.Fatalf("history ttl %+v", hist)
	}
	// Input ttl wins for the data row; a tenant override replaces defaults.
	ko := core.Key{PK: "ORDER#other", SK: "ORDER#1"}
	c := e.publish(t, command.Input{PK: ko.PK, SK: ko.SK, Name: "o", TTL: 4_000_000_000})
	e.run(t, c.Key())
	d, _ := e.svc.GetData(ctx, ko, true)
	if d.TTL != 4_000_000_000 {
		t.Fatalf("input ttl not kept: %d", d.TTL)
	}
	c = e.publish(t, command.Input{PK: ko.PK, SK: ko.SK, Version: 1, Name: "o2", TTL: 4_000_000_000})
	e.run(t, c.Key())
	prev, _ := e.svc.GetCommand(ctx, ko, 1)
	if prev.TTL < now+10*day-60 {
		t.Fatalf("tenant command ttl %d", prev.TTL)
	}
}

func TestListDataPagination(t *testing.T) {
	e := newEnv(t)
	for i := 0; i < 25; i++ {
		k := key(fmt.Sprintf("%03d", i))
		c := e.publish(t, command.Input{PK: k.PK, SK: k.SK, Name: fmt.Sprint(i)})
		e.run(t, c.Key())
	}
	var names []string
	cursor := ""
	pages := 0
	for {
		page, err := e.svc.ListData(ctx, command.ListInput{PK: "ORDER#acme", Op: core.SKBeginsWith, SK: "ORDER#0", Limit: 10, Cursor: cursor, Descending: true})
		if err != nil {
			t.Fatal(err)
		}
		pages++
		for _, d := range page.Items {
			names = append(names, d.Name)
		}
		if page.Cursor == "" {
			break
		}
		cursor = page.Cursor
	}
	if len(names) != 25 || names[0] != "24" || names[24] != "0" || pages < 3 {
		t.Fatalf("%d pages, names %v", pages, names)
	}
	if _, err := e.svc.ListData(ctx, command.ListInput{PK: "ORDER#acme", Cursor: "garbage"}); !errors.Is(err, core.ErrValidation) {
		t.Fatalf("bad cursor: %v", err)
	}
}

func TestLargeAttributesRacingWritersLeaveNoOrphans(t *testing.T) {
	e := newEnv(t)
	blob := strings.Repeat("y", 200*1024)
	for i := 0; i < 5; i++ {
		k := key(fmt.Sprintf("bigrace-%d", i))
		var wg sync.WaitGroup
		wins := make([]bool, 2)
		for w := 0; w < 2; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, err := e.svc.PublishAsync(ctx, command.Input{PK: k.PK, SK: k.SK, Name: fmt.Sprint(w), Attributes: core.Attributes{"blob": blob, "w": w}})
				wins[w] = err == nil
			}()
		}
		wg.Wait()
		if wins[0] == wins[1] {
			t.Fatalf("round %d: wins %v", i, wins)
		}
	}
	objs, _ := e.objects.List(ctx, e.cfg.Bucket(), "")
	if len(objs) != 5 {
		t.Fatalf("%d objects for 5 written commands", len(objs))
	}
}

func TestLargeAttributesSync(t *testing.T) {
	e := newEnv(t)
	k := key("bigsync")
	blob := strings.Repeat("z", 150*1024)
	if _, err := e.svc.PublishSync(ctx, command.Input{PK: k.PK, SK: k.SK, Name: "a", Attributes: core.Attributes{"blob": blob}}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.PublishSync(ctx, command.Input{PK: k.PK, SK: k.SK, Version: 1, Name: "b", Attributes: core.Attributes{"blob": blob + "!"}}); err != nil {
		t.Fatal(err)
	}
	if d := e.data(t, "bigsync"); d.Attributes["blob"] != blob+"!" || d.Version != 2 {
		t.Fatalf("data version %d not resolved", d.Version)
	}
	if h, _ := e.svc.History(ctx, k); len(h) != 1 || h[0].Attributes["blob"] != blob {
		t.Fatal("history not resolved")
	}
	item, _ := e.store.Get(ctx, e.cfg.DataTable("order"), k, true)
	if _, ok := item["attributesRef"]; !ok {
		t.Fatal("data row holds the payload instead of the reference")
	}
	cmdT, dataT, histT := e.svc.Tables()
	if e.svc.Module() != "order" || cmdT != "test-shop-order-command" || dataT != "test-shop-order-data" || histT != "test-shop-order-history" {
		t.Fatalf("tables %s %s %s", cmdT, dataT, histT)
	}
}
