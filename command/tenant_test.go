package command_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"testing"

	"github.com/stepcqrs/stepcqrs/command"
	"github.com/stepcqrs/stepcqrs/core"
)

// caller is the context of an HTTP caller acting for tenant.
func caller(tenant string) context.Context {
	return core.NewContext(ctx, core.Invoke{TenantCode: tenant, UserID: "u-" + tenant, External: true})
}

// TestReadSideTenantIsolation: a caller acting for tenant acme reads acme's
// rows, and gets a *core.TenantError — never a row, not even "not found" —
// for every read of globex's rows: get, list, page with a crafted cursor,
// versions, history, resync.
func TestReadSideTenantIsolation(t *testing.T) {
	e := newEnv(t)
	keys := map[string]core.Key{}
	for _, tenant := range []string{"acme", "globex"} {
		for i := range 3 {
			k, err := core.NewKey("ORDER", tenant, fmt.Sprint(i))
			if err != nil {
				t.Fatal(err)
			}
			keys[tenant] = k
			c := e.publish(t, command.Input{PK: k.PK, SK: k.SK, Name: tenant + " secret", Attributes: core.Attributes{"owner": tenant}})
			e.run(t, c.Key())
			c2 := e.publish(t, command.Input{PK: k.PK, SK: k.SK, Version: 1, Name: tenant + " secret 2"})
			e.run(t, c2.Key())
		}
	}
	acme, globex := keys["acme"], keys["globex"]
	a := caller("acme")

	// acme's own reads work.
	if d, err := e.svc.GetData(a, acme, true); err != nil || d.Name != "acme secret 2" {
		t.Fatalf("own GetData: %+v, %v", d, err)
	}
	page, err := e.svc.ListData(a, command.ListInput{PK: acme.PK, Limit: 2})
	if err != nil || len(page.Items) != 2 || page.Cursor == "" {
		t.Fatalf("own ListData: %+v, %v", page, err)
	}
	if _, err := e.svc.ListData(a, command.ListInput{PK: acme.PK, Limit: 2, Cursor: page.Cursor}); err != nil {
		t.Fatalf("own ListData page 2: %v", err)
	}

	// Every read of globex's rows is refused.
	crafted := func(k core.Key) string {
		b, _ := json.Marshal(k)
		return base64.RawURLEncoding.EncodeToString(b)
	}
	reads := map[string]func() (any, error){
		"GetData":     func() (any, error) { return e.svc.GetData(a, globex, true) },
		"GetCommand":  func() (any, error) { return e.svc.GetCommand(a, globex, 1) },
		"GetLatest":   func() (any, error) { return e.svc.GetCommand(a, globex, core.VersionLatest) },
		"ListVersion": func() (any, error) { return e.svc.ListVersions(a, globex) },
		"History":     func() (any, error) { return e.svc.History(a, globex) },
		"ListData":    func() (any, error) { return e.svc.ListData(a, command.ListInput{PK: globex.PK}) },
		"ListDataCursorIntoGlobex": func() (any, error) {
			return e.svc.ListData(a, command.ListInput{PK: globex.PK, Cursor: crafted(core.Key{PK: globex.PK, SK: "ORDER#0"})})
		},
		"Resync": func() (any, error) { return e.svc.Resync(a, globex.PK) },
		"PartialUpdate": func() (any, error) {
			return e.svc.PublishPartialUpdateAsync(a, command.PartialInput{PK: globex.PK, SK: globex.SK, Version: core.VersionLatest, Attributes: map[string]any{"x": 1}})
		},
		"Publish": func() (any, error) {
			return e.svc.PublishAsync(a, command.Input{PK: globex.PK, SK: globex.SK, Version: core.VersionLatest, Name: "hijack"})
		},
	}
	for name, read := range reads {
		got, err := read()
		var te *core.TenantError
		if !errors.As(err, &te) || te.Requested != "globex" {
			t.Errorf("%s of globex's rows as acme: %+v, %v; want a *core.TenantError", name, got, err)
		}
	}
	// A cursor of another partition on one's own listing is refused too:
	// it cannot steer the query into globex's rows.
	if p, err := e.svc.ListData(a, command.ListInput{PK: acme.PK, Cursor: crafted(core.Key{PK: globex.PK, SK: "ORDER#0"})}); !errors.Is(err, core.ErrValidation) {
		t.Errorf("acme listing with a cursor into globex: %+v, %v; want a validation error", p, err)
	}
	// A caller whose credentials name no tenant reads nothing.
	anon := core.NewContext(ctx, core.Invoke{External: true})
	if d, err := e.svc.GetData(anon, acme, true); !errors.Is(err, core.ErrTenantNotAllowed) {
		t.Errorf("GetData without a tenant: %+v, %v", d, err)
	}
	// Nothing of globex changed.
	d, err := e.svc.GetData(ctx, globex, true)
	if err != nil || d.Version != 2 || d.Name != "globex secret 2" {
		t.Fatalf("globex's row: %+v, %v", d, err)
	}
}

// TestOneKeyRule: keys that core.NewKey would not build are refused the
// same way on every path, whether or not the context carries an Invoke,
// and a tenant is spelled one way only.
func TestOneKeyRule(t *testing.T) {
	e := newEnv(t)
	for _, c := range []context.Context{ctx, caller("acme"), caller("me")} {
		for _, pk := range []string{"PRODUCT#ac#me", "PRODUCT#ACME", "PRODUCT"} {
			_, err := e.svc.PublishAsync(c, command.Input{PK: pk, SK: "PRODUCT#1", Name: "x"})
			var ke *core.KeyError
			if !errors.As(err, &ke) || ke.Part != "pk" {
				t.Errorf("publish pk %q: %v, want a *core.KeyError on pk", pk, err)
			}
			if _, err := e.svc.GetData(c, core.Key{PK: pk, SK: "PRODUCT#1"}, true); !errors.As(err, &ke) {
				t.Errorf("GetData pk %q: %v, want a *core.KeyError", pk, err)
			}
		}
	}
	// NewKey's spelling is the stored one: what acme writes, acme reads.
	k, err := core.NewKey("PRODUCT", "ACME", "1")
	if err != nil {
		t.Fatal(err)
	}
	c := e.publish(t, command.Input{PK: k.PK, SK: k.SK, Name: "p"})
	e.run(t, c.Key())
	if d, err := e.svc.GetData(caller("acme"), core.Key{PK: "PRODUCT#acme", SK: "PRODUCT#1"}, true); err != nil || d.Name != "p" {
		t.Fatalf("GetData: %+v, %v", d, err)
	}
}

// TestRequireInvoke: with Config.RequireInvoke a context without an Invoke
// is refused on both sides; service invocations (no External caller) pass.
func TestRequireInvoke(t *testing.T) {
	e := newEnv(t, withConfig(func(c *core.Config) { c.RequireInvoke = true }))
	k := key("ri")
	if _, err := e.svc.PublishAsync(ctx, command.Input{PK: k.PK, SK: k.SK, Name: "x"}); !errors.Is(err, core.ErrTenantNotAllowed) {
		t.Fatalf("publish without Invoke: %v", err)
	}
	if _, err := e.svc.GetData(ctx, k, true); !errors.Is(err, core.ErrTenantNotAllowed) {
		t.Fatalf("GetData without Invoke: %v", err)
	}
	svcCtx := core.NewContext(ctx, core.InvokeFromLambda(ctx))
	if _, err := e.svc.PublishAsync(svcCtx, command.Input{PK: k.PK, SK: k.SK, Name: "x"}); err != nil {
		t.Fatalf("publish as the service: %v", err)
	}
	if _, err := e.svc.PublishAsync(caller("acme"), command.Input{PK: k.PK, SK: k.SK, Version: 1, Name: "y"}); err != nil {
		t.Fatalf("publish as acme: %v", err)
	}
}
