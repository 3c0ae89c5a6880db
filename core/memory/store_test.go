package memory_test

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"

	"github.com/stepcqrs/stepcqrs/core"
	"github.com/stepcqrs/stepcqrs/core/memory"
)

func TestQueryPageCap(t *testing.T) {
	ctx := context.Background()
	st := memory.NewStore()
	for i := range 30 {
		if err := st.Put(ctx, "t", it("p", strconv.Itoa(100+i), "pad", strings.Repeat("x", 100_000)), core.Condition{}); err != nil {
			t.Fatal(err)
		}
	}
	page, err := st.Query(ctx, "t", core.Query{PK: "p"})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Items) != 10 || page.Next == nil || page.Next.SK != "109" {
		t.Fatalf("first page: %d items, next %v; want 10 items (1 MB) and a Next", len(page.Items), page.Next)
	}
	total := len(page.Items)
	for page.Next != nil {
		if page, err = st.Query(ctx, "t", core.Query{PK: "p", StartAfter: page.Next}); err != nil {
			t.Fatal(err)
		}
		total += len(page.Items)
	}
	if total != 30 {
		t.Fatalf("%d items in all, want 30", total)
	}
}

func TestStrictTables(t *testing.T) {
	ctx := context.Background()
	st := memory.NewStore(memory.StrictTables())
	calls := map[string]func() error{
		"Get": func() error { _, err := st.Get(ctx, "nope", core.Key{PK: "p", SK: "s"}, false); return err },
		"Put": func() error { return st.Put(ctx, "nope", it("p", "s"), core.Condition{}) },
		"Query": func() error {
			_, err := st.Query(ctx, "nope", core.Query{PK: "p"})
			return err
		},
		"Transact":   func() error { return st.Transact(ctx, []core.TxOp{{Table: "nope", Put: it("p", "s")}}) },
		"BatchWrite": func() error { return st.BatchWrite(ctx, "nope", []core.Item{it("p", "s")}, nil) },
	}
	for name, call := range calls {
		var nf *core.NotFoundError
		if err := call(); !errors.As(err, &nf) || nf.Kind != "table" {
			t.Errorf("%s on a missing table: %v, want a table *NotFoundError", name, err)
		}
	}
	if len(st.Tables()) != 0 {
		t.Fatalf("tables were created: %v", st.Tables())
	}
}

func TestTransactValidation(t *testing.T) {
	ctx := context.Background()
	st := memory.NewStore()
	k := core.Key{PK: "p", SK: "s"}
	cases := map[string][]core.TxOp{
		"no kind":            {{Table: "t", Key: k}},
		"two kinds":          {{Table: "t", Key: k, Delete: true, Check: true, Cond: core.IfExists()}},
		"check without cond": {{Table: "t", Key: k, Check: true}},
		"no table":           {{Key: k, Delete: true}},
		"empty key":          {{Table: "t", Delete: true}},
		"update names sk":    {{Table: "t", Key: k, Update: &core.Update{Remove: []string{"sk"}}}},
	}
	for name, ops := range cases {
		if err := st.Transact(ctx, ops); !errors.Is(err, core.ErrValidation) {
			t.Errorf("%s: %v, want ErrValidation", name, err)
		}
	}
	if err := st.Transact(ctx, nil); err != nil {
		t.Errorf("empty transaction: %v", err)
	}
}

func TestItemsInspection(t *testing.T) {
	ctx := context.Background()
	st := memory.NewStore()
	for _, k := range [][2]string{{"b", "2"}, {"a", "9"}, {"b", "1"}} {
		if err := st.Put(ctx, "t", it(k[0], k[1]), core.Condition{}); err != nil {
			t.Fatal(err)
		}
	}
	var got []string
	for _, item := range st.Items("t") {
		got = append(got, core.ToStreamImage(item)["pk"].String()+core.ToStreamImage(item)["sk"].String())
	}
	if strings.Join(got, ",") != "a9,b1,b2" {
		t.Fatalf("Items order %v", got)
	}
}
