package coretest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/stepcqrs/stepcqrs/core"
)

// ItemStoreHarness adapts an ItemStore implementation to TestItemStore.
type ItemStoreHarness struct {
	// NewStore returns a store for one run of the suite. Required.
	NewStore func(t *testing.T) core.ItemStore
	// CreateTable provisions an empty table named name with string keys pk
	// (hash) and sk (range) on store, ready for use when it returns.
	// Required; the suite creates two tables per run.
	CreateTable func(t *testing.T, store core.ItemStore, name string)
}

// TestItemStore runs the ItemStore conformance suite against h.
func TestItemStore(t *testing.T, h ItemStoreHarness) {
	t.Helper()
	if h.NewStore == nil || h.CreateTable == nil {
		t.Fatal("coretest: ItemStoreHarness needs NewStore and CreateTable")
	}
	st := h.NewStore(t)
	tbl, tbl2 := uniqueName("ct-items"), uniqueName("ct-items")
	h.CreateTable(t, st, tbl)
	h.CreateTable(t, st, tbl2)
	x := &itemSuite{st: st, tbl: tbl, tbl2: tbl2}

	t.Run("Get", x.testGet)
	t.Run("Put", x.testPut)
	t.Run("Conditions", x.testConditions)
	t.Run("Update", x.testUpdate)
	t.Run("Delete", x.testDelete)
	t.Run("Query", x.testQuery)
	t.Run("Transact", x.testTransact)
	t.Run("BatchGet", x.testBatchGet)
	t.Run("BatchWrite", x.testBatchWrite)
	t.Run("Size", x.testSize)
	t.Run("Context", x.testContext)
}

type itemSuite struct {
	st         core.ItemStore
	tbl, tbl2  string
	partitions int
	mu         sync.Mutex
}

// pk returns a partition key no other subtest uses.
func (x *itemSuite) pk() string {
	x.mu.Lock()
	defer x.mu.Unlock()
	x.partitions++
	return "P#" + strconv.Itoa(x.partitions)
}

// get reads key consistently; nil when absent. Other errors fail t.
func (x *itemSuite) get(t *testing.T, table string, k core.Key) core.Item {
	t.Helper()
	it, err := x.st.Get(context.Background(), table, k, true)
	if errors.Is(err, core.ErrNotFound) {
		return nil
	}
	if err != nil {
		t.Fatalf("Get(%s, %v): %v", table, k, err)
	}
	return it
}

func (x *itemSuite) put(t *testing.T, table string, it core.Item) {
	t.Helper()
	if err := x.st.Put(context.Background(), table, it, core.Condition{}); err != nil {
		t.Fatalf("Put(%s, %s): %v", table, fmtItem(it), err)
	}
}

func (x *itemSuite) wantItem(t *testing.T, table string, k core.Key, want core.Item) {
	t.Helper()
	got := x.get(t, table, k)
	if (got == nil) != (want == nil) || (got != nil && !equalItems(got, want)) {
		t.Fatalf("item %s/%s:\n got  %s\n want %s", k.PK, k.SK, fmtItem(got), fmtItem(want))
	}
}

func wantErrIs(t *testing.T, err, target error, what string) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("%s: got error %v (%T), want one matching %v", what, err, err, target)
	}
}

func (x *itemSuite) testGet(t *testing.T) {
	ctx := context.Background()
	t.Run("missing item is ErrNotFound and *NotFoundError", func(t *testing.T) {
		for _, consistent := range []bool{false, true} {
			_, err := x.st.Get(ctx, x.tbl, key(x.pk(), "nope"), consistent)
			mustNotFound(t, err, fmt.Sprintf("Get missing (consistent=%v)", consistent))
		}
	})
	t.Run("returns the written item", func(t *testing.T) {
		it := item(x.pk(), "s", "a", s("1"))
		x.put(t, x.tbl, it)
		x.wantItem(t, x.tbl, key(strAttr(it, "pk"), "s"), it)
	})
	t.Run("same key in another table is a different item", func(t *testing.T) {
		pk := x.pk()
		x.put(t, x.tbl, item(pk, "s"))
		_, err := x.st.Get(ctx, x.tbl2, key(pk, "s"), true)
		mustNotFound(t, err, "Get from the other table")
	})
	t.Run("returned item is the caller's to modify", func(t *testing.T) {
		pk := x.pk()
		it := item(pk, "s", "a", s("1"))
		x.put(t, x.tbl, it)
		it["a"] = s("changed after Put")
		got := x.get(t, x.tbl, key(pk, "s"))
		got["a"] = s("changed after Get")
		x.wantItem(t, x.tbl, key(pk, "s"), item(pk, "s", "a", s("1")))
	})
}

// allTypesItem has one attribute of every DynamoDB type.
func allTypesItem(pk, sk string) core.Item {
	return item(pk, sk,
		"s", s("héllo, wörld #@"),
		"empty", s(""),
		"n", n("42"),
		"neg", n("-1.5"),
		"big", n("12345678901234567890123456789012345678"),
		"b", &types.AttributeValueMemberB{Value: []byte{0, 1, 2, 255}},
		"t", &types.AttributeValueMemberBOOL{Value: true},
		"f", &types.AttributeValueMemberBOOL{Value: false},
		"null", &types.AttributeValueMemberNULL{Value: true},
		"m", &types.AttributeValueMemberM{Value: map[string]core.AttributeValue{
			"inner": s("x"),
			"deep":  &types.AttributeValueMemberM{Value: map[string]core.AttributeValue{"k": n("1")}},
			"list":  &types.AttributeValueMemberL{Value: []core.AttributeValue{s("a"), n("2")}},
		}},
		"emptyMap", &types.AttributeValueMemberM{Value: map[string]core.AttributeValue{}},
		"l", &types.AttributeValueMemberL{Value: []core.AttributeValue{
			s("a"), n("1"), &types.AttributeValueMemberBOOL{Value: true},
			&types.AttributeValueMemberNULL{Value: true},
			&types.AttributeValueMemberL{Value: []core.AttributeValue{s("nested")}},
		}},
		"emptyList", &types.AttributeValueMemberL{Value: []core.AttributeValue{}},
		"ss", &types.AttributeValueMemberSS{Value: []string{"x", "y", "z"}},
		"ns", &types.AttributeValueMemberNS{Value: []string{"1", "2.5", "-3"}},
		"bs", &types.AttributeValueMemberBS{Value: [][]byte{{1}, {2, 3}}},
	)
}

func (x *itemSuite) testPut(t *testing.T) {
	ctx := context.Background()
	t.Run("every attribute type round-trips", func(t *testing.T) {
		pk := x.pk()
		it := allTypesItem(pk, "all")
		x.put(t, x.tbl, it)
		x.wantItem(t, x.tbl, key(pk, "all"), allTypesItem(pk, "all"))
		items, err := x.st.BatchGet(ctx, x.tbl, []core.Key{key(pk, "all")}, true)
		if err != nil || len(items) != 1 || !equalItems(items[0], it) {
			t.Fatalf("BatchGet round trip: %v, %d items", err, len(items))
		}
		page, err := x.st.Query(ctx, x.tbl, core.Query{PK: pk, ConsistentRead: true})
		if err != nil || len(page.Items) != 1 || !equalItems(page.Items[0], it) {
			t.Fatalf("Query round trip: %v, %d items", err, len(page.Items))
		}
	})
	t.Run("replaces the whole item", func(t *testing.T) {
		pk := x.pk()
		x.put(t, x.tbl, item(pk, "s", "a", s("1"), "b", s("2")))
		x.put(t, x.tbl, item(pk, "s", "c", s("3")))
		x.wantItem(t, x.tbl, key(pk, "s"), item(pk, "s", "c", s("3")))
	})
	t.Run("IfAbsent twice: second fails and item unchanged", func(t *testing.T) {
		pk := x.pk()
		first := item(pk, "s", "who", s("first"))
		if err := x.st.Put(ctx, x.tbl, first, core.IfAbsent()); err != nil {
			t.Fatalf("first Put IfAbsent: %v", err)
		}
		err := x.st.Put(ctx, x.tbl, item(pk, "s", "who", s("second")), core.IfAbsent())
		wantErrIs(t, err, core.ErrConditionFailed, "second Put IfAbsent")
		var cf *core.ConditionFailedError
		if !errors.As(err, &cf) {
			t.Fatalf("second Put IfAbsent: %v does not unwrap to *core.ConditionFailedError", err)
		}
		if cf.Table != x.tbl || cf.Key != key(pk, "s") {
			t.Errorf("ConditionFailedError names %s %v, want %s %v", cf.Table, cf.Key, x.tbl, key(pk, "s"))
		}
		x.wantItem(t, x.tbl, key(pk, "s"), first)
	})
	t.Run("concurrent IfAbsent writers of one key: exactly one wins", func(t *testing.T) {
		pk := x.pk()
		const writers = 20
		errs := make([]error, writers)
		var wg sync.WaitGroup
		for i := range writers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs[i] = x.st.Put(ctx, x.tbl, item(pk, "s", "w", ni(int64(i))), core.IfAbsent())
			}()
		}
		wg.Wait()
		winner := -1
		for i, err := range errs {
			switch {
			case err == nil && winner >= 0:
				t.Fatalf("writers %d and %d both won", winner, i)
			case err == nil:
				winner = i
			case !errors.Is(err, core.ErrConditionFailed):
				t.Fatalf("writer %d: %v, want ErrConditionFailed", i, err)
			}
		}
		if winner < 0 {
			t.Fatal("no writer won")
		}
		x.wantItem(t, x.tbl, key(pk, "s"), item(pk, "s", "w", ni(int64(winner))))
	})
	t.Run("missing or empty key attribute is ErrValidation", func(t *testing.T) {
		pk := x.pk()
		for name, it := range map[string]core.Item{
			"no sk":     {"pk": s(pk), "a": s("1")},
			"no pk":     {"sk": s("s"), "a": s("1")},
			"empty sk":  {"pk": s(pk), "sk": s("")},
			"number sk": {"pk": s(pk), "sk": n("1")},
		} {
			err := x.st.Put(ctx, x.tbl, it, core.Condition{})
			wantErrIs(t, err, core.ErrValidation, "Put with "+name)
		}
	})
}

// condCase is one condition and whether it holds in each seed state.
type condCase struct {
	name string
	cond core.Condition
	// holds in state: absent, item with version 3, item without version
	absent, v3, noVersion bool
}

var condCases = []condCase{
	{"IfAbsent", core.IfAbsent(), true, false, false},
	{"IfExists", core.IfExists(), false, true, true},
	{"IfVersion(3)", core.IfVersion(3), false, true, false},
	// The stored version is higher, then lower, than the expected one;
	// versions compare as numbers, not as strings ("3" < "30" < "4").
	{"IfVersion(2)", core.IfVersion(2), false, false, false},
	{"IfVersion(4)", core.IfVersion(4), false, false, false},
	{"IfVersion(30)", core.IfVersion(30), false, false, false},
	{"IfVersionBelow(4)", core.IfVersionBelow(4), true, true, true},
	{"IfVersionBelow(3)", core.IfVersionBelow(3), true, false, true},
	{"IfVersionBelow(2)", core.IfVersionBelow(2), true, false, true},
	{"IfVersionBelow(10)", core.IfVersionBelow(10), true, true, true},
	{"IfAttrEquals(status,a)", core.IfAttrEquals("status", s("a")), false, true, true},
	{"IfAttrEquals(status,b)", core.IfAttrEquals("status", s("b")), false, false, false},
	{"IfAttrEquals(version,3)", core.IfAttrEquals("version", n("3")), false, true, false},
	{"zero condition", core.Condition{}, true, true, true},
}

func (x *itemSuite) testConditions(t *testing.T) {
	ctx := context.Background()
	states := []struct {
		name string
		seed func(pk string) core.Item // nil: absent
		pick func(c condCase) bool
	}{
		{"absent", func(string) core.Item { return nil }, func(c condCase) bool { return c.absent }},
		{"version 3", func(pk string) core.Item {
			return item(pk, "s", "version", n("3"), "status", s("a"))
		}, func(c condCase) bool { return c.v3 }},
		{"no version", func(pk string) core.Item {
			return item(pk, "s", "status", s("a"))
		}, func(c condCase) bool { return c.noVersion }},
	}
	ops := []struct {
		name string
		run  func(pk string, c core.Condition) error
		// after returns the expected item after a successful op.
		after func(pk string, seed core.Item) core.Item
	}{
		{"Put", func(pk string, c core.Condition) error {
			return x.st.Put(ctx, x.tbl, item(pk, "s", "w", s("1")), c)
		}, func(pk string, _ core.Item) core.Item { return item(pk, "s", "w", s("1")) }},
		{"Update", func(pk string, c core.Condition) error {
			_, err := x.st.Update(ctx, x.tbl, key(pk, "s"), core.Update{Set: map[string]core.AttributeValue{"w": s("1")}}, c)
			return err
		}, func(pk string, seed core.Item) core.Item {
			out := item(pk, "s", "w", s("1"))
			for k, v := range seed {
				out[k] = v
			}
			out["w"] = s("1")
			return out
		}},
		{"Delete", func(pk string, c core.Condition) error {
			return x.st.Delete(ctx, x.tbl, key(pk, "s"), c)
		}, func(string, core.Item) core.Item { return nil }},
		{"Transact Check", func(pk string, c core.Condition) error {
			return x.st.Transact(ctx, []core.TxOp{{Table: x.tbl, Check: true, Key: key(pk, "s"), Cond: c}})
		}, func(_ string, seed core.Item) core.Item { return seed }},
	}
	for _, c := range condCases {
		for _, stt := range states {
			for _, op := range ops {
				if op.name == "Transact Check" && c.cond.IsZero() {
					continue // a check needs a condition
				}
				holds := stt.pick(c)
				name := fmt.Sprintf("%s/%s/%s/holds=%v", c.name, stt.name, op.name, holds)
				t.Run(name, func(t *testing.T) {
					pk := x.pk()
					seed := stt.seed(pk)
					if seed != nil {
						x.put(t, x.tbl, seed)
					}
					err := op.run(pk, c.cond)
					if holds {
						if err != nil {
							t.Fatalf("%s: %v, want success", op.name, err)
						}
						x.wantItem(t, x.tbl, key(pk, "s"), op.after(pk, seed))
						return
					}
					wantErrIs(t, err, core.ErrConditionFailed, op.name)
					var cf *core.ConditionFailedError
					if !errors.As(err, &cf) {
						t.Fatalf("%s: %v does not unwrap to *core.ConditionFailedError", op.name, err)
					}
					if cf.Table != x.tbl || cf.Key != key(pk, "s") {
						t.Errorf("%s: condition failure names %s %v, want %s %v", op.name, cf.Table, cf.Key, x.tbl, key(pk, "s"))
					}
					// Item is optional, but when given it is the stored item.
					if cf.Item != nil && (seed == nil || !equalItems(cf.Item, seed)) {
						t.Errorf("%s: condition failure carries item %s, want nil or %s", op.name, fmtItem(cf.Item), fmtItem(seed))
					}
					if op.name == "Transact Check" {
						var tc *core.TransactionCanceledError
						if !errors.As(err, &tc) {
							t.Fatalf("%s: %v is not a *core.TransactionCanceledError", op.name, err)
						}
					}
					x.wantItem(t, x.tbl, key(pk, "s"), seed)
				})
			}
		}
	}
}

func (x *itemSuite) testUpdate(t *testing.T) {
	ctx := context.Background()
	t.Run("Set Remove Add and the returned item", func(t *testing.T) {
		pk := x.pk()
		x.put(t, x.tbl, item(pk, "s", "keep", s("k"), "gone", s("g"), "cnt", n("5"), "old", s("o")))
		got, err := x.st.Update(ctx, x.tbl, key(pk, "s"), core.Update{
			Set:    map[string]core.AttributeValue{"old": s("new"), "added": n("7")},
			Remove: []string{"gone", "neverThere"},
			Add:    map[string]int64{"cnt": 3, "fresh": -2},
		}, core.Condition{})
		if err != nil {
			t.Fatalf("Update: %v", err)
		}
		want := item(pk, "s", "keep", s("k"), "cnt", n("8"), "old", s("new"), "added", n("7"), "fresh", n("-2"))
		if !equalItems(got, want) {
			t.Fatalf("Update returned\n %s\nwant\n %s", fmtItem(got), fmtItem(want))
		}
		x.wantItem(t, x.tbl, key(pk, "s"), want)
	})
	t.Run("creates an absent item", func(t *testing.T) {
		pk := x.pk()
		got, err := x.st.Update(ctx, x.tbl, key(pk, "s"), core.Update{
			Set: map[string]core.AttributeValue{"a": s("1")},
			Add: map[string]int64{"n": 1},
		}, core.Condition{})
		if err != nil {
			t.Fatalf("Update: %v", err)
		}
		want := item(pk, "s", "a", s("1"), "n", n("1"))
		if !equalItems(got, want) {
			t.Fatalf("Update returned %s, want %s", fmtItem(got), fmtItem(want))
		}
		x.wantItem(t, x.tbl, key(pk, "s"), want)
	})
	t.Run("IfVersion guards a version bump", func(t *testing.T) {
		pk := x.pk()
		x.put(t, x.tbl, item(pk, "s", "version", n("1")))
		bump := core.Update{Add: map[string]int64{core.VersionAttr: 1}}
		if _, err := x.st.Update(ctx, x.tbl, key(pk, "s"), bump, core.IfVersion(1)); err != nil {
			t.Fatalf("first bump: %v", err)
		}
		_, err := x.st.Update(ctx, x.tbl, key(pk, "s"), bump, core.IfVersion(1))
		wantErrIs(t, err, core.ErrConditionFailed, "second bump with stale version")
		x.wantItem(t, x.tbl, key(pk, "s"), item(pk, "s", "version", n("2")))
	})
	t.Run("20 concurrent Adds give the exact total", func(t *testing.T) {
		pk := x.pk()
		const workers, each = 20, 5
		var wg sync.WaitGroup
		errs := make(chan error, workers*each)
		for range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for range each {
					_, err := x.st.Update(ctx, x.tbl, key(pk, "s"), core.Update{Add: map[string]int64{"n": 1, "m": 2}}, core.Condition{})
					if err != nil {
						errs <- err
					}
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatalf("concurrent Add: %v", err)
		}
		x.wantItem(t, x.tbl, key(pk, "s"), item(pk, "s", "n", ni(workers*each), "m", ni(2*workers*each)))
	})
	t.Run("invalid updates are ErrValidation and change nothing", func(t *testing.T) {
		pk := x.pk()
		seed := item(pk, "s", "a", s("1"), "str", s("x"))
		x.put(t, x.tbl, seed)
		cases := []struct {
			name string
			upd  core.Update
		}{
			{"Set pk", core.Update{Set: map[string]core.AttributeValue{"pk": s("other")}}},
			{"Set sk", core.Update{Set: map[string]core.AttributeValue{"sk": s("other")}}},
			{"Remove sk", core.Update{Remove: []string{"sk"}}},
			{"Add pk", core.Update{Add: map[string]int64{"pk": 1}}},
			{"Set and Remove one attribute", core.Update{Set: map[string]core.AttributeValue{"a": s("2")}, Remove: []string{"a"}}},
			{"Set and Add one attribute", core.Update{Set: map[string]core.AttributeValue{"a": s("2")}, Add: map[string]int64{"a": 1}}},
			{"Remove one attribute twice", core.Update{Remove: []string{"a", "a"}}},
			{"Add to a string", core.Update{Add: map[string]int64{"str": 1}}},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				_, err := x.st.Update(ctx, x.tbl, key(pk, "s"), c.upd, core.Condition{})
				wantErrIs(t, err, core.ErrValidation, c.name)
				x.wantItem(t, x.tbl, key(pk, "s"), seed)
			})
		}
	})
	t.Run("result over MaxItemBytes is ErrItemTooLarge and item unchanged", func(t *testing.T) {
		pk := x.pk()
		seed := item(pk, "s", "a", s(strings.Repeat("a", 300*1024)))
		x.put(t, x.tbl, seed)
		_, err := x.st.Update(ctx, x.tbl, key(pk, "s"), core.Update{
			Set: map[string]core.AttributeValue{"b": s(strings.Repeat("b", 200*1024))},
		}, core.Condition{})
		wantErrIs(t, err, core.ErrItemTooLarge, "Update past the limit")
		x.wantItem(t, x.tbl, key(pk, "s"), seed)
	})
}

func (x *itemSuite) testDelete(t *testing.T) {
	ctx := context.Background()
	t.Run("missing item without condition succeeds", func(t *testing.T) {
		if err := x.st.Delete(ctx, x.tbl, key(x.pk(), "s"), core.Condition{}); err != nil {
			t.Fatalf("Delete missing: %v", err)
		}
	})
	t.Run("removes the item and only it", func(t *testing.T) {
		pk := x.pk()
		x.put(t, x.tbl, item(pk, "a"))
		x.put(t, x.tbl, item(pk, "b"))
		if err := x.st.Delete(ctx, x.tbl, key(pk, "a"), core.Condition{}); err != nil {
			t.Fatalf("Delete: %v", err)
		}
		x.wantItem(t, x.tbl, key(pk, "a"), nil)
		x.wantItem(t, x.tbl, key(pk, "b"), item(pk, "b"))
	})
	t.Run("IfExists on a missing item fails", func(t *testing.T) {
		err := x.st.Delete(ctx, x.tbl, key(x.pk(), "s"), core.IfExists())
		wantErrIs(t, err, core.ErrConditionFailed, "Delete IfExists missing")
	})
}

// querySKs are the sort keys of the query partition, in byte order.
var querySKs = []string{"A", "a", "a#1", "a#2", "a#3", "b", "b#1", "c", "z~", "é"}

func (x *itemSuite) testQuery(t *testing.T) {
	ctx := context.Background()
	pk := x.pk()
	var puts []core.Item
	for i, sk := range slices.Backward(querySKs) {
		puts = append(puts, item(pk, sk, "i", ni(int64(i))))
	}
	if err := x.st.BatchWrite(ctx, x.tbl, puts, nil); err != nil {
		t.Fatalf("seeding: %v", err)
	}
	// A neighbour partition whose keys must never show up.
	x.put(t, x.tbl, item(pk+"x", "a#1"))
	x.put(t, x.tbl, item("P", "a#1"))

	between := func(lo, hi string) []string {
		var out []string
		for _, sk := range querySKs {
			if sk >= lo && sk <= hi {
				out = append(out, sk)
			}
		}
		return out
	}
	cases := []struct {
		name    string
		op      core.SKOp
		sk, sk2 string
		want    []string
	}{
		{"any", core.SKAny, "", "", querySKs},
		{"equal", core.SKEqual, "a#2", "", []string{"a#2"}},
		{"equal missing", core.SKEqual, "a#", "", nil},
		{"begins_with a#", core.SKBeginsWith, "a#", "", []string{"a#1", "a#2", "a#3"}},
		{"begins_with a", core.SKBeginsWith, "a", "", []string{"a", "a#1", "a#2", "a#3"}},
		{"begins_with none", core.SKBeginsWith, "q", "", nil},
		{"less", core.SKLess, "b", "", []string{"A", "a", "a#1", "a#2", "a#3"}},
		{"less-or-equal", core.SKLessEq, "b", "", []string{"A", "a", "a#1", "a#2", "a#3", "b"}},
		{"greater", core.SKGreater, "b", "", []string{"b#1", "c", "z~", "é"}},
		{"greater-or-equal", core.SKGreaterEq, "b", "", []string{"b", "b#1", "c", "z~", "é"}},
		{"between", core.SKBetween, "a#2", "b#1", between("a#2", "b#1")},
		{"between equal bounds", core.SKBetween, "c", "c", []string{"c"}},
		{"greater than multibyte boundary", core.SKGreater, "z~", "", []string{"é"}},
	}
	modes := []struct {
		name       string
		desc       bool
		limit      int
		consistent bool
	}{
		{"ascending", false, 0, false},
		{"descending", true, 0, false},
		{"ascending limit 2", false, 2, true},
		{"descending limit 1", true, 1, true},
		{"ascending limit 3 consistent", false, 3, true},
	}
	for _, c := range cases {
		for _, m := range modes {
			t.Run(c.name+"/"+m.name, func(t *testing.T) {
				want := slices.Clone(c.want)
				if m.desc {
					slices.Reverse(want)
				}
				got := x.queryAll(t, core.Query{PK: pk, Op: c.op, SK: c.sk, SK2: c.sk2,
					Descending: m.desc, Limit: m.limit, ConsistentRead: m.consistent})
				if !slices.Equal(got, want) {
					t.Fatalf("got sks %q, want %q", got, want)
				}
			})
		}
	}
	t.Run("empty partition", func(t *testing.T) {
		page, err := x.st.Query(ctx, x.tbl, core.Query{PK: x.pk(), ConsistentRead: true})
		if err != nil || len(page.Items) != 0 || page.Next != nil {
			t.Fatalf("got %d items, next %v, err %v; want an empty last page", len(page.Items), page.Next, err)
		}
	})
	t.Run("StartAfter a key deleted between pages continues after it", func(t *testing.T) {
		pk := x.pk()
		for _, sk := range []string{"a", "b", "c", "d", "e"} {
			x.put(t, x.tbl, item(pk, sk))
		}
		for _, desc := range []bool{false, true} {
			q := core.Query{PK: pk, Limit: 2, Descending: desc, ConsistentRead: true}
			page, err := x.st.Query(ctx, x.tbl, q)
			if err != nil || page.Next == nil {
				t.Fatalf("first page: next %v, %v", page.Next, err)
			}
			want := []string{"c", "d", "e"}
			if desc {
				want = []string{"c", "b", "a"}
			}
			// The page boundary ("b", or "d" descending) goes away, and
			// comes back for the next round.
			if err := x.st.Delete(ctx, x.tbl, *page.Next, core.Condition{}); err != nil {
				t.Fatal(err)
			}
			q.StartAfter = page.Next
			if got := x.queryAll(t, q); !slices.Equal(got, want) {
				t.Fatalf("descending=%v: after the deleted boundary got %q, want %q", desc, got, want)
			}
			x.put(t, x.tbl, item(pk, page.Next.SK))
		}
	})
	t.Run("250 items in pages of 7 come exactly once in order", func(t *testing.T) {
		pk := x.pk()
		var puts []core.Item
		var want []string
		for i := range 250 {
			sk := fmt.Sprintf("row#%04d", i)
			want = append(want, sk)
			puts = append(puts, item(pk, sk, "i", ni(int64(i))))
		}
		if err := x.st.BatchWrite(ctx, x.tbl, puts, nil); err != nil {
			t.Fatalf("seeding: %v", err)
		}
		got := x.queryAll(t, core.Query{PK: pk, Limit: 7, ConsistentRead: true})
		if !slices.Equal(got, want) {
			t.Fatalf("ascending: got %d sks, want %d in order", len(got), len(want))
		}
		slices.Reverse(want)
		got = x.queryAll(t, core.Query{PK: pk, Limit: 7, Descending: true, ConsistentRead: true})
		if !slices.Equal(got, want) {
			t.Fatalf("descending: got %d sks, want %d in order", len(got), len(want))
		}
		got = x.queryAll(t, core.Query{PK: pk, ConsistentRead: true})
		if len(got) != 250 {
			t.Fatalf("default page size: got %d sks, want 250", len(got))
		}
	})
	t.Run("items past the 1 MB page cap come over several pages", func(t *testing.T) {
		pk := x.pk()
		var want []string
		for i := range 6 {
			sk := fmt.Sprintf("big#%d", i)
			want = append(want, sk)
			x.put(t, x.tbl, item(pk, sk, "x", s(strings.Repeat("x", 300*1024))))
		}
		for _, desc := range []bool{false, true} {
			q := core.Query{PK: pk, Descending: desc, ConsistentRead: true}
			page, err := x.st.Query(ctx, x.tbl, q)
			if err != nil {
				t.Fatalf("Query: %v", err)
			}
			if len(page.Items) == 0 || len(page.Items) >= 6 || page.Next == nil {
				t.Fatalf("descending=%v: first page of 1.8 MB of items holds %d items, next %v; want a short page with a Next", desc, len(page.Items), page.Next)
			}
			w := slices.Clone(want)
			if desc {
				slices.Reverse(w)
			}
			if got := x.queryAll(t, q); !slices.Equal(got, w) {
				t.Fatalf("descending=%v: got %q, want %q", desc, got, w)
			}
		}
	})
	t.Run("negative Limit is ErrValidation", func(t *testing.T) {
		_, err := x.st.Query(ctx, x.tbl, core.Query{PK: pk, Limit: -1})
		wantErrIs(t, err, core.ErrValidation, "Query with Limit -1")
	})
}

// queryAll follows Next until the last page and returns the sort keys.
func (x *itemSuite) queryAll(t *testing.T, q core.Query) []string {
	t.Helper()
	var out []string
	for pages := 0; ; pages++ {
		if pages > 1000 {
			t.Fatal("query does not end")
		}
		page, err := x.st.Query(context.Background(), x.tbl, q)
		if err != nil {
			t.Fatalf("Query(%+v): %v", q, err)
		}
		if q.Limit > 0 && len(page.Items) > q.Limit {
			t.Fatalf("page of %d items exceeds Limit %d", len(page.Items), q.Limit)
		}
		for _, it := range page.Items {
			if p := strAttr(it, "pk"); p != q.PK {
				t.Fatalf("query of %q returned an item of partition %q", q.PK, p)
			}
			out = append(out, strAttr(it, "sk"))
		}
		if page.Next == nil {
			return out
		}
		q.StartAfter = page.Next
	}
}

func (x *itemSuite) testTransact(t *testing.T) {
	ctx := context.Background()
	t.Run("all or nothing when one condition fails", func(t *testing.T) {
		pk := x.pk()
		x.put(t, x.tbl, item(pk, "upd", "v", n("1")))
		x.put(t, x.tbl, item(pk, "del"))
		x.put(t, x.tbl, item(pk, "guard", "version", n("5")))
		ops := []core.TxOp{
			{Table: x.tbl, Put: item(pk, "new", "a", s("1")), Cond: core.IfAbsent()},
			{Table: x.tbl, Key: key(pk, "upd"), Update: &core.Update{Add: map[string]int64{"v": 1}}},
			{Table: x.tbl, Key: key(pk, "del"), Delete: true},
			{Table: x.tbl, Key: key(pk, "guard"), Check: true, Cond: core.IfVersion(4)},
			{Table: x.tbl2, Put: item(pk, "other")},
		}
		err := x.st.Transact(ctx, ops)
		wantErrIs(t, err, core.ErrConditionFailed, "Transact")
		var tc *core.TransactionCanceledError
		if !errors.As(err, &tc) {
			t.Fatalf("Transact: %v (%T) is not a *core.TransactionCanceledError", err, err)
		}
		if len(tc.Reasons) != len(ops) {
			t.Fatalf("got %d reasons, want one per op (%d): %v", len(tc.Reasons), len(ops), tc.Reasons)
		}
		for i, r := range tc.Reasons {
			if i == 3 {
				var cf *core.ConditionFailedError
				if !errors.As(r, &cf) {
					t.Fatalf("reason of the failing op 3 is %v, want a *core.ConditionFailedError", r)
				}
				if cf.Table != x.tbl || cf.Key != key(pk, "guard") {
					t.Errorf("reason names %s %v, want %s %v", cf.Table, cf.Key, x.tbl, key(pk, "guard"))
				}
			} else if r != nil {
				t.Errorf("reason of op %d is %v, want nil", i, r)
			}
		}
		x.wantItem(t, x.tbl, key(pk, "new"), nil)
		x.wantItem(t, x.tbl, key(pk, "upd"), item(pk, "upd", "v", n("1")))
		x.wantItem(t, x.tbl, key(pk, "del"), item(pk, "del"))
		x.wantItem(t, x.tbl2, key(pk, "other"), nil)
	})
	t.Run("Put Update Delete Check across two tables", func(t *testing.T) {
		pk := x.pk()
		x.put(t, x.tbl, item(pk, "upd", "v", n("1"), "gone", s("x")))
		x.put(t, x.tbl, item(pk, "del"))
		x.put(t, x.tbl2, item(pk, "guard", "version", n("5"), "status", s("ok")))
		err := x.st.Transact(ctx, []core.TxOp{
			{Table: x.tbl, Put: item(pk, "new", "a", s("1")), Cond: core.IfAbsent()},
			{Table: x.tbl, Key: key(pk, "upd"), Cond: core.IfExists(), Update: &core.Update{
				Add: map[string]int64{"v": 1}, Set: map[string]core.AttributeValue{"s": s("set")}, Remove: []string{"gone"},
			}},
			{Table: x.tbl, Key: key(pk, "created"), Update: &core.Update{Set: map[string]core.AttributeValue{"c": s("1")}}},
			{Table: x.tbl, Key: key(pk, "del"), Delete: true, Cond: core.IfExists()},
			{Table: x.tbl2, Key: key(pk, "guard"), Check: true, Cond: core.IfVersion(5)},
			{Table: x.tbl2, Key: key(pk, "guard2"), Check: true, Cond: core.IfAbsent()},
			{Table: x.tbl2, Put: item(pk, "other", "b", s("2")), Cond: core.IfVersionBelow(1)},
		})
		if err != nil {
			t.Fatalf("Transact: %v", err)
		}
		x.wantItem(t, x.tbl, key(pk, "new"), item(pk, "new", "a", s("1")))
		x.wantItem(t, x.tbl, key(pk, "upd"), item(pk, "upd", "v", n("2"), "s", s("set")))
		x.wantItem(t, x.tbl, key(pk, "created"), item(pk, "created", "c", s("1")))
		x.wantItem(t, x.tbl, key(pk, "del"), nil)
		x.wantItem(t, x.tbl2, key(pk, "guard"), item(pk, "guard", "version", n("5"), "status", s("ok")))
		x.wantItem(t, x.tbl2, key(pk, "guard2"), nil)
		x.wantItem(t, x.tbl2, key(pk, "other"), item(pk, "other", "b", s("2")))
	})
	t.Run("two ops on one item is ErrValidation", func(t *testing.T) {
		pk := x.pk()
		err := x.st.Transact(ctx, []core.TxOp{
			{Table: x.tbl, Put: item(pk, "a", "n", s("1"))},
			{Table: x.tbl, Put: item(pk, "s", "n", s("1"))},
			{Table: x.tbl, Key: key(pk, "s"), Update: &core.Update{Add: map[string]int64{"n": 1}}},
		})
		wantErrIs(t, err, core.ErrValidation, "Transact")
		x.wantItem(t, x.tbl, key(pk, "a"), nil)
		x.wantItem(t, x.tbl, key(pk, "s"), nil)
	})
	t.Run("same key in two tables is two items", func(t *testing.T) {
		pk := x.pk()
		err := x.st.Transact(ctx, []core.TxOp{
			{Table: x.tbl, Put: item(pk, "s")},
			{Table: x.tbl2, Put: item(pk, "s")},
		})
		if err != nil {
			t.Fatalf("Transact: %v", err)
		}
		x.wantItem(t, x.tbl2, key(pk, "s"), item(pk, "s"))
	})
	t.Run("malformed ops are ErrValidation and nothing written", func(t *testing.T) {
		for name, bad := range map[string]func(pk string) core.TxOp{
			"Check without condition": func(pk string) core.TxOp {
				return core.TxOp{Table: x.tbl, Key: key(pk, "c"), Check: true}
			},
			"no operation": func(pk string) core.TxOp {
				return core.TxOp{Table: x.tbl, Key: key(pk, "c"), Cond: core.IfAbsent()}
			},
			"Delete and Check": func(pk string) core.TxOp {
				return core.TxOp{Table: x.tbl, Key: key(pk, "c"), Delete: true, Check: true, Cond: core.IfAbsent()}
			},
		} {
			pk := x.pk()
			err := x.st.Transact(ctx, []core.TxOp{{Table: x.tbl, Put: item(pk, "a")}, bad(pk)})
			wantErrIs(t, err, core.ErrValidation, "Transact with "+name)
			x.wantItem(t, x.tbl, key(pk, "a"), nil)
		}
	})
	t.Run("more than MaxTransactItems ops is ErrValidation", func(t *testing.T) {
		pk := x.pk()
		ops := make([]core.TxOp, core.MaxTransactItems+1)
		for i := range ops {
			ops[i] = core.TxOp{Table: x.tbl, Put: item(pk, strconv.Itoa(i))}
		}
		wantErrIs(t, x.st.Transact(ctx, ops), core.ErrValidation, "Transact")
		x.wantItem(t, x.tbl, key(pk, "0"), nil)
	})
	t.Run("MaxTransactItems ops succeed", func(t *testing.T) {
		pk := x.pk()
		ops := make([]core.TxOp, core.MaxTransactItems)
		for i := range ops {
			ops[i] = core.TxOp{Table: x.tbl, Put: item(pk, fmt.Sprintf("%03d", i)), Cond: core.IfAbsent()}
		}
		if err := x.st.Transact(ctx, ops); err != nil {
			t.Fatalf("Transact: %v", err)
		}
		if got := x.queryAll(t, core.Query{PK: pk, ConsistentRead: true}); len(got) != core.MaxTransactItems {
			t.Fatalf("got %d items, want %d", len(got), core.MaxTransactItems)
		}
	})
	t.Run("too large item is ErrItemTooLarge and nothing written", func(t *testing.T) {
		pk := x.pk()
		err := x.st.Transact(ctx, []core.TxOp{
			{Table: x.tbl, Put: item(pk, "small")},
			{Table: x.tbl, Put: item(pk, "big", "x", s(strings.Repeat("x", core.MaxItemBytes+1)))},
		})
		wantErrIs(t, err, core.ErrItemTooLarge, "Transact")
		x.wantItem(t, x.tbl, key(pk, "small"), nil)
		x.wantItem(t, x.tbl, key(pk, "big"), nil)
	})
}

func (x *itemSuite) testBatchGet(t *testing.T) {
	ctx := context.Background()
	t.Run("missing items are left out", func(t *testing.T) {
		pk := x.pk()
		x.put(t, x.tbl, item(pk, "a", "v", s("a")))
		x.put(t, x.tbl, item(pk, "c", "v", s("c")))
		items, err := x.st.BatchGet(ctx, x.tbl, []core.Key{key(pk, "a"), key(pk, "b"), key(pk, "c")}, true)
		if err != nil {
			t.Fatalf("BatchGet: %v", err)
		}
		got := sortedSKs(items)
		if !slices.Equal(got, []string{"a", "c"}) {
			t.Fatalf("got %q, want [a c]", got)
		}
	})
	t.Run("no keys gives no items", func(t *testing.T) {
		items, err := x.st.BatchGet(ctx, x.tbl, nil, false)
		if err != nil || len(items) != 0 {
			t.Fatalf("got %d items, %v", len(items), err)
		}
	})
	t.Run("250 keys, some missing", func(t *testing.T) {
		pk := x.pk()
		var puts []core.Item
		var keys []core.Key
		var want []string
		for i := range 250 {
			sk := fmt.Sprintf("%04d", i)
			keys = append(keys, key(pk, sk))
			if i%5 != 0 {
				puts = append(puts, item(pk, sk, "pad", s(strings.Repeat("p", 1000))))
				want = append(want, sk)
			}
		}
		if err := x.st.BatchWrite(ctx, x.tbl, puts, nil); err != nil {
			t.Fatalf("seeding: %v", err)
		}
		items, err := x.st.BatchGet(ctx, x.tbl, keys, false)
		if err != nil {
			t.Fatalf("BatchGet: %v", err)
		}
		if got := sortedSKs(items); !slices.Equal(got, want) {
			t.Fatalf("got %d items, want %d", len(got), len(want))
		}
	})
}

func sortedSKs(items []core.Item) []string {
	out := make([]string, len(items))
	for i, it := range items {
		out[i] = strAttr(it, "sk")
	}
	slices.Sort(out)
	return out
}

func (x *itemSuite) testBatchWrite(t *testing.T) {
	ctx := context.Background()
	t.Run("60 puts, then 40 deletes and 5 puts", func(t *testing.T) {
		pk := x.pk()
		var puts []core.Item
		for i := range 60 {
			puts = append(puts, item(pk, fmt.Sprintf("%03d", i), "v", ni(int64(i))))
		}
		if err := x.st.BatchWrite(ctx, x.tbl, puts, nil); err != nil {
			t.Fatalf("BatchWrite puts: %v", err)
		}
		if got := x.queryAll(t, core.Query{PK: pk, ConsistentRead: true}); len(got) != 60 {
			t.Fatalf("after puts: %d items, want 60", len(got))
		}
		var dels []core.Key
		for i := range 40 {
			dels = append(dels, key(pk, fmt.Sprintf("%03d", i)))
		}
		more := []core.Item{}
		for i := 100; i < 105; i++ {
			more = append(more, item(pk, fmt.Sprintf("%03d", i)))
		}
		if err := x.st.BatchWrite(ctx, x.tbl, more, dels); err != nil {
			t.Fatalf("BatchWrite deletes: %v", err)
		}
		got := x.queryAll(t, core.Query{PK: pk, ConsistentRead: true})
		if len(got) != 25 || got[0] != "040" || got[24] != "104" {
			t.Fatalf("after deletes: %q", got)
		}
		x.wantItem(t, x.tbl, key(pk, "059"), item(pk, "059", "v", n("59")))
	})
	t.Run("nothing to write", func(t *testing.T) {
		if err := x.st.BatchWrite(ctx, x.tbl, nil, nil); err != nil {
			t.Fatalf("BatchWrite: %v", err)
		}
	})
	t.Run("too large item is ErrItemTooLarge", func(t *testing.T) {
		pk := x.pk()
		err := x.st.BatchWrite(ctx, x.tbl, []core.Item{item(pk, "big", "x", s(strings.Repeat("x", core.MaxItemBytes+1)))}, nil)
		wantErrIs(t, err, core.ErrItemTooLarge, "BatchWrite")
		x.wantItem(t, x.tbl, key(pk, "big"), nil)
	})
}

func (x *itemSuite) testSize(t *testing.T) {
	ctx := context.Background()
	t.Run("item over MaxItemBytes is ErrItemTooLarge and nothing written", func(t *testing.T) {
		pk := x.pk()
		for name, it := range map[string]core.Item{
			"one big string": item(pk, "s", "x", s(strings.Repeat("x", core.MaxItemBytes))),
			"big binary":     item(pk, "s", "x", &types.AttributeValueMemberB{Value: make([]byte, core.MaxItemBytes)}),
			"many attributes": func() core.Item {
				it := item(pk, "s")
				for i := range 420 {
					it[fmt.Sprintf("attr%04d", i)] = s(strings.Repeat("v", 1000))
				}
				return it
			}(),
		} {
			err := x.st.Put(ctx, x.tbl, it, core.Condition{})
			wantErrIs(t, err, core.ErrItemTooLarge, "Put "+name)
			x.wantItem(t, x.tbl, key(pk, "s"), nil)
		}
	})
	t.Run("item under MaxItemBytes is stored", func(t *testing.T) {
		// 400,000 bytes: well under AWS's 409,600, and under the 405,000
		// that moto 5.2.1 enforces.
		pk := x.pk()
		it := item(pk, "s", "x", s(strings.Repeat("x", 400_000-20)))
		x.put(t, x.tbl, it)
		x.wantItem(t, x.tbl, key(pk, "s"), it)
	})
}

func (x *itemSuite) testContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	pk := x.pk()
	calls := []struct {
		name string
		call func() error
	}{
		{"Get", func() error { _, err := x.st.Get(ctx, x.tbl, key(pk, "s"), true); return err }},
		{"Put", func() error { return x.st.Put(ctx, x.tbl, item(pk, "s"), core.Condition{}) }},
		{"Update", func() error {
			_, err := x.st.Update(ctx, x.tbl, key(pk, "s"), core.Update{Add: map[string]int64{"n": 1}}, core.Condition{})
			return err
		}},
		{"Delete", func() error { return x.st.Delete(ctx, x.tbl, key(pk, "s"), core.Condition{}) }},
		{"Query", func() error { _, err := x.st.Query(ctx, x.tbl, core.Query{PK: pk}); return err }},
		{"Transact", func() error { return x.st.Transact(ctx, []core.TxOp{{Table: x.tbl, Put: item(pk, "s")}}) }},
		{"BatchGet", func() error { _, err := x.st.BatchGet(ctx, x.tbl, []core.Key{key(pk, "s")}, true); return err }},
		{"BatchWrite", func() error { return x.st.BatchWrite(ctx, x.tbl, []core.Item{item(pk, "s")}, nil) }},
	}
	for _, c := range calls {
		t.Run("canceled "+c.name+" fails with context.Canceled", func(t *testing.T) {
			wantErrIs(t, c.call(), context.Canceled, c.name)
		})
	}
	x.wantItem(t, x.tbl, key(pk, "s"), nil)
}
