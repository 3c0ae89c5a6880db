package coretest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stepcqrs/stepcqrs/core"
)

// IndexHarness adapts an ItemStore that implements core.IndexQuerier to
// TestIndexQuerier.
type IndexHarness struct {
	// NewStore returns a store for one run of the suite. Required; it must
	// implement core.IndexQuerier.
	NewStore func(t *testing.T) core.ItemStore
	// CreateTable provisions an empty table named name (string keys pk and
	// sk) with the global secondary index ix, ready when it returns.
	CreateTable func(t *testing.T, store core.ItemStore, name string, ix core.Index)
}

// TestIndexQuerier runs the conformance suite of core.IndexQuerier against
// h: sparse indexes, sort-key conditions, paging, and index entries that
// follow updates and deletes. Index reads are eventually consistent, so
// every expectation is polled for a few seconds before it fails.
func TestIndexQuerier(t *testing.T, h IndexHarness) {
	t.Helper()
	if h.NewStore == nil || h.CreateTable == nil {
		t.Fatal("coretest: IndexHarness needs NewStore and CreateTable")
	}
	st := h.NewStore(t)
	iq, ok := st.(core.IndexQuerier)
	if !ok {
		t.Fatalf("coretest: %T does not implement core.IndexQuerier", st)
	}
	tbl := uniqueName("ct-index")
	ix := core.Index{Name: "by-group", PK: "grp", SK: "rank"}
	h.CreateTable(t, st, tbl, ix)
	ctx := context.Background()
	put := func(it core.Item) {
		t.Helper()
		if err := st.Put(ctx, tbl, it, core.Condition{}); err != nil {
			t.Fatal(err)
		}
	}
	// keys reads every page of q and returns the items' sort keys in index
	// order; items with equal index sort keys, whose order DynamoDB leaves
	// open, are listed by table sort key.
	keys := func(q core.IndexQuery) (string, error) {
		type entry struct{ rank, sk string }
		var got []entry
		for pages := 0; ; pages++ {
			if pages > 100 {
				return "", errors.New("more than 100 pages")
			}
			p, err := iq.QueryIndex(ctx, tbl, q)
			if err != nil {
				return "", err
			}
			for _, it := range p.Items {
				if strAttr(it, "pk") == "" || strAttr(it, ix.PK) != q.PK || strAttr(it, ix.SK) == "" {
					return "", fmt.Errorf("item %v lacks the table or index keys", it)
				}
				got = append(got, entry{strAttr(it, ix.SK), strAttr(it, "sk")})
			}
			if q.Limit > 0 && len(p.Items) > q.Limit {
				return "", fmt.Errorf("page of %d items, limit %d", len(p.Items), q.Limit)
			}
			if p.Next == nil {
				if !slices.IsSortedFunc(got, func(a, b entry) int { return strings.Compare(a.rank, b.rank) }) {
					return "", fmt.Errorf("items out of index order: %v", got)
				}
				slices.SortStableFunc(got, func(a, b entry) int {
					if c := strings.Compare(a.rank, b.rank); c != 0 {
						return c
					}
					return strings.Compare(a.sk, b.sk)
				})
				out := make([]string, len(got))
				for i, e := range got {
					out[i] = e.sk
				}
				return strings.Join(out, ","), nil
			}
			q.StartAfter = p.Next
		}
	}
	expect := func(name string, q core.IndexQuery, want string) {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for {
			got, err := keys(q)
			if err == nil && got == want {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: got %q, %v; want %q", name, got, err, want)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	q := func(pk string, op core.SKOp, sk, sk2 string, limit int) core.IndexQuery {
		return core.IndexQuery{Index: ix, PK: pk, Op: op, SK: sk, SK2: sk2, Limit: limit}
	}

	put(item("P", "a", "grp", s("g1"), "rank", s("2026-01-02")))
	put(item("P", "b", "grp", s("g1"), "rank", s("2026-01-04")))
	put(item("Q", "c", "grp", s("g1"), "rank", s("2026-01-03")))
	put(item("P", "d", "grp", s("g2"), "rank", s("2026-01-01")))
	put(item("P", "e", "grp", s("g1")))                          // no sort attribute: not indexed
	put(item("P", "f", "rank", s("2026-01-01")))                 // no partition attribute
	put(item("P", "h", "grp", s("g1"), "rank", s("2026-01-03"))) // ties with c

	t.Run("Sparse", func(t *testing.T) {
		expect("all of g1", q("g1", core.SKAny, "", "", 0), "a,c,h,b")
		expect("all of g2", q("g2", core.SKAny, "", "", 0), "d")
		expect("absent partition", q("g3", core.SKAny, "", "", 0), "")
	})
	t.Run("Conditions", func(t *testing.T) {
		expect("<=", q("g1", core.SKLessEq, "2026-01-03", "", 0), "a,c,h")
		expect("<", q("g1", core.SKLess, "2026-01-03", "", 0), "a")
		expect(">", q("g1", core.SKGreater, "2026-01-03", "", 0), "b")
		expect(">=", q("g1", core.SKGreaterEq, "2026-01-03", "", 0), "c,h,b")
		expect("=", q("g1", core.SKEqual, "2026-01-03", "", 0), "c,h")
		expect("between", q("g1", core.SKBetween, "2026-01-03", "2026-01-04", 0), "c,h,b")
		expect("begins with", q("g1", core.SKBeginsWith, "2026-01-0", "", 0), "a,c,h,b")
	})
	t.Run("Paging", func(t *testing.T) {
		for _, limit := range []int{1, 2, 3} {
			expect(fmt.Sprintf("limit %d", limit), q("g1", core.SKAny, "", "", limit), "a,c,h,b")
			expect(fmt.Sprintf("limit %d <=", limit), q("g1", core.SKLessEq, "2026-01-03", "", limit), "a,c,h")
		}
	})
	t.Run("FollowsWrites", func(t *testing.T) {
		// Moving an item in the index, out of it, and deleting one.
		if _, err := st.Update(ctx, tbl, key("P", "a"), core.Update{Set: map[string]core.AttributeValue{"rank": s("2026-01-09")}}, core.Condition{}); err != nil {
			t.Fatal(err)
		}
		if _, err := st.Update(ctx, tbl, key("P", "b"), core.Update{Remove: []string{"grp"}}, core.Condition{}); err != nil {
			t.Fatal(err)
		}
		if err := st.Delete(ctx, tbl, key("Q", "c"), core.Condition{}); err != nil {
			t.Fatal(err)
		}
		if _, err := st.Update(ctx, tbl, key("P", "e"), core.Update{Set: map[string]core.AttributeValue{"rank": s("2026-01-05")}}, core.Condition{}); err != nil {
			t.Fatal(err)
		}
		expect("after writes", q("g1", core.SKAny, "", "", 0), "h,e,a")
		err := st.Transact(ctx, []core.TxOp{
			{Table: tbl, Key: key("P", "h"), Update: &core.Update{Set: map[string]core.AttributeValue{"grp": s("g2")}}},
			{Table: tbl, Put: item("R", "i", "grp", s("g1"), "rank", s("2026-01-01"))},
		})
		if err != nil {
			t.Fatal(err)
		}
		expect("after a transaction", q("g1", core.SKAny, "", "", 0), "i,e,a")
		expect("moved partition", q("g2", core.SKAny, "", "", 0), "d,h")
	})
}
