package importcsv_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/stepcqrs/stepcqrs/command"
	"github.com/stepcqrs/stepcqrs/core"
	"github.com/stepcqrs/stepcqrs/importcsv"
	"github.com/stepcqrs/stepcqrs/local"
)

// Order is a typed row: fields mapped by header.
type Order struct {
	Code     string   `csv:"code" json:"code"`
	Customer string   `csv:"customer" json:"customer"`
	Total    float64  `csv:"total" json:"total"`
	Paid     bool     `csv:"paid,optional" json:"paid"`
	Note     *string  `csv:"note,optional" json:"note,omitempty"`
	Items    int      `csv:"-" json:"-"`
	Tags     []string `csv:"-" json:"tags,omitempty"`
}

func typedRegistry() *importcsv.Registry {
	reg := importcsv.NewRegistry()
	importcsv.Register(reg, "order", importcsv.Strategy[Order]{
		Type: "ORDER",
		Validate: func(_ context.Context, o Order) error {
			if o.Total < 0 {
				return errors.New("total is negative")
			}
			return nil
		},
		Map: importcsv.MapPartial[Order],
	})
	return reg
}

func TestTypedStrategy(t *testing.T) {
	rt := newRuntime(t, typedRegistry(), nil)
	d := importFile(t, rt, importcsv.ModeDirect, "typed.csv",
		"code,customer,total,paid,note\n"+
			"o-1,Ada,10.5,true,\n"+
			"o-2,Grace,-1,false,\n"+
			"o-3,Linus,abc,false,\n"+
			"o-4,Ken,4,yes,gift\n")
	want := importcsv.Counts{Total: 4, Created: 1, Failed: 3}
	if d.Job.Counts != want {
		t.Fatalf("counts %+v", d.Job.Counts)
	}
	fails := allFailures(t, rt.Imports(), d.Job.Key(), 0)
	reasons := map[int]string{}
	for _, f := range fails {
		reasons[f.Row] = f.Reason
	}
	if reasons[2] != "invalid: total is negative" || reasons[3] != `transform: column "total": "abc" is not a number` ||
		reasons[4] != `transform: column "paid": "yes" is not a boolean` {
		t.Fatalf("reasons %q", reasons)
	}
	data, err := rt.Service("order").GetData(bg, core.Key{PK: "ORDER#acme", SK: "ORDER#o-1"}, true)
	if err != nil {
		t.Fatal(err)
	}
	// The struct's JSON is the attributes; the code is the key, and the
	// name defaults to it.
	if data.Name != "o-1" || data.Attributes["customer"] != "Ada" || data.Attributes["total"] != json.Number("10.5") ||
		data.Attributes["paid"] != true || data.Attributes["code"] != nil {
		t.Fatalf("data %+v", data)
	}
	// A changed row is a partial update: attributes not in the row stay.
	_, err = rt.Service("order").PublishPartialUpdateSync(bg, partialWithExtra(data))
	if err != nil {
		t.Fatal(err)
	}
	d = importFile(t, rt, importcsv.ModeDirect, "typed2.csv", "code,customer,total\no-1,Ada,12\n")
	if d.Job.Counts != (importcsv.Counts{Total: 1, Updated: 1}) {
		t.Fatalf("counts %+v (%s)", d.Job.Counts, d.Job.Reason)
	}
	data, err = rt.Service("order").GetData(bg, core.Key{PK: "ORDER#acme", SK: "ORDER#o-1"}, true)
	if err != nil || data.Attributes["total"] != json.Number("12") || data.Attributes["extra"] != "kept" || data.Version != 3 {
		t.Fatalf("data %+v %v", data, err)
	}
}

// TestStrategyRegistration: mistakes fail at start-up, all of them.
func TestStrategyRegistration(t *testing.T) {
	reg := importcsv.NewRegistry()
	importcsv.Register(reg, "order", importcsv.Strategy[core.Attributes]{Type: "ORDER"})
	importcsv.Register(reg, "order", importcsv.Strategy[core.Attributes]{Type: "ORDER"})
	importcsv.Register(reg, "", importcsv.Strategy[core.Attributes]{Type: "X"})
	importcsv.Register(reg, "bad", importcsv.Strategy[core.Attributes]{Type: "A#B"})
	importcsv.Register(reg, "int", importcsv.Strategy[int]{Type: "INT"})
	_, err := local.New(bg, local.Options{Modules: []string{"order"}, Imports: &local.ImportOptions{Registry: reg}})
	var ve *core.ValidationError
	if !errors.As(err, &ve) || len(ve.Problems) != 4 {
		t.Fatalf("err %v", err)
	}
	for _, want := range []string{`module "order": strategy registered twice`, "empty module name", `module "bad": Strategy.Type`, `module "int": int has no default Transform`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("%v: no %q", err, want)
		}
	}
}

// TestImportTenantRule: an outside caller imports only into its tenant.
func TestImportTenantRule(t *testing.T) {
	rt := newRuntime(t, nil, nil)
	ctx := core.NewContext(bg, core.Invoke{TenantCode: "globex", External: true})
	_, err := rt.Imports().Import(ctx, importcsv.JobInput{TenantCode: "acme", Module: "order", Reader: strings.NewReader("code\na\n")})
	if !errors.Is(err, core.ErrTenantNotAllowed) {
		t.Fatalf("import for another tenant: %v", err)
	}
	job, err := rt.Imports().Import(ctx, importcsv.JobInput{TenantCode: "globex", Module: "order", Reader: strings.NewReader("code\na\n")})
	if err != nil || job.Status != importcsv.StatusCompleted {
		t.Fatalf("import for its tenant: %+v %v", job, err)
	}
	other := core.NewContext(bg, core.Invoke{TenantCode: "acme", External: true})
	if _, err := rt.Imports().Get(other, job.Key()); !errors.Is(err, core.ErrTenantNotAllowed) {
		t.Fatalf("Get by another tenant: %v", err)
	}
	if _, err := rt.Imports().Failures(other, job.Key(), importcsv.OutcomeQuery{}); !errors.Is(err, core.ErrTenantNotAllowed) {
		t.Fatalf("Failures by another tenant: %v", err)
	}
	if _, err := rt.Imports().Import(bg, importcsv.JobInput{TenantCode: "acme", Module: "nope", Reader: strings.NewReader("")}); !errors.Is(err, importcsv.ErrUnknownModule) {
		t.Fatalf("unknown module: %v", err)
	}
}

// TestImportIdempotentID: a job with an explicit ID runs once.
func TestImportIdempotentID(t *testing.T) {
	rt := newRuntime(t, nil, nil)
	in := importcsv.JobInput{TenantCode: "acme", Module: "order", ID: "upload-1", Reader: strings.NewReader("code\na\n")}
	j1, err := rt.Imports().Import(bg, in)
	if err != nil {
		t.Fatal(err)
	}
	in.Reader = strings.NewReader("code\nb\n")
	j2, err := rt.Imports().Import(bg, in)
	if err != nil || j2.SK != j1.SK || j2.Counts != j1.Counts || j2.Version != j1.Version {
		t.Fatalf("second import: %+v %v", j2, err)
	}
	if _, err := rt.Service("order").GetData(bg, core.Key{PK: "ORDER#acme", SK: "ORDER#b"}, true); !errors.Is(err, core.ErrNotFound) {
		t.Fatalf("the second file was imported: %v", err)
	}
}

func partialWithExtra(d *core.Data) command.PartialInput {
	return command.PartialInput{PK: d.PK, SK: d.SK, Version: core.VersionLatest, Attributes: map[string]any{"extra": "kept"}}
}
