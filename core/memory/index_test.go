package memory_test

import (
	"context"
	"errors"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/stepcqrs/stepcqrs/core"
	"github.com/stepcqrs/stepcqrs/core/coretest"
	"github.com/stepcqrs/stepcqrs/core/memory"
)

func TestIndexQuerierConformance(t *testing.T) {
	for _, c := range []struct {
		name string
		opts []memory.StoreOption
		// lazy: the index is created by the first query, after the items.
		lazy bool
	}{
		{"declared index", []memory.StoreOption{memory.StrictTables()}, false},
		{"index created on first query", nil, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			coretest.TestIndexQuerier(t, coretest.IndexHarness{
				NewStore: func(*testing.T) core.ItemStore { return memory.NewStore(c.opts...) },
				CreateTable: func(t *testing.T, st core.ItemStore, name string, ix core.Index) {
					var opts []memory.TableOption
					if !c.lazy {
						opts = append(opts, memory.WithIndex(ix))
					}
					if err := st.(*memory.Store).CreateTable(name, opts...); err != nil {
						t.Fatal(err)
					}
				},
			})
		})
	}
}

// TestIndexOnExistingItems: an index declared on a table that holds items
// indexes them; a strict store refuses an undeclared index, and an index
// name queried with other key attributes is an error.
func TestIndexOnExistingItems(t *testing.T) {
	ctx := context.Background()
	st := memory.NewStore(memory.StrictTables())
	if err := st.CreateTable("t"); err != nil {
		t.Fatal(err)
	}
	s := func(v string) core.AttributeValue { return &types.AttributeValueMemberS{Value: v} }
	for _, sk := range []string{"b", "a"} {
		if err := st.Put(ctx, "t", core.Item{"pk": s("P"), "sk": s(sk), "g": s("x"), "r": s(sk)}, core.Condition{}); err != nil {
			t.Fatal(err)
		}
	}
	ix := core.Index{Name: "ix", PK: "g", SK: "r"}
	if _, err := st.QueryIndex(ctx, "t", core.IndexQuery{Index: ix, PK: "x"}); !errors.Is(err, core.ErrNotFound) {
		t.Fatalf("undeclared index on a strict store: %v", err)
	}
	if err := st.CreateTable("t", memory.WithIndex(ix)); err != nil {
		t.Fatal(err)
	}
	p, err := st.QueryIndex(ctx, "t", core.IndexQuery{Index: ix, PK: "x"})
	if err != nil || len(p.Items) != 2 || p.Items[0]["sk"].(*types.AttributeValueMemberS).Value != "a" {
		t.Fatalf("page %+v, %v", p, err)
	}
	if _, err := st.QueryIndex(ctx, "t", core.IndexQuery{Index: core.Index{Name: "ix", PK: "g", SK: "other"}, PK: "x"}); !errors.Is(err, core.ErrValidation) {
		t.Fatalf("index with other keys: %v", err)
	}
}
