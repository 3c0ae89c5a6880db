package memory

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/stepcqrs/stepcqrs/core"
)

var _ core.IndexQuerier = (*Store)(nil)

// WithIndex gives a table a global secondary index (see core.Index),
// built from the items already stored and kept up to date by every write.
// An item is in the index when it carries both key attributes as strings.
// Without StrictTables, an index is also created on first query.
func WithIndex(ix core.Index) TableOption {
	return func(t *table) { t.defineIndex(ix) }
}

// index is an in-memory global secondary index: per index partition, the
// entries sorted by index sort key, then table key.
type index struct {
	spec  core.Index
	parts map[string][]indexEntry
}

type indexEntry struct {
	sk  string
	key core.Key
}

func (a indexEntry) compare(b indexEntry) int {
	if c := strings.Compare(a.sk, b.sk); c != 0 {
		return c
	}
	if c := strings.Compare(a.key.PK, b.key.PK); c != 0 {
		return c
	}
	return strings.Compare(a.key.SK, b.key.SK)
}

// defineIndex adds ix to t (a no-op when an index of that name exists) and
// indexes the stored items. Callers hold the store's write lock, or own t.
func (t *table) defineIndex(ix core.Index) {
	if t.indexes == nil {
		t.indexes = map[string]*index{}
	}
	if t.indexes[ix.Name] != nil {
		return
	}
	x := &index{spec: ix, parts: map[string][]indexEntry{}}
	for pk, p := range t.parts {
		for sk, it := range p.items {
			x.add(core.Key{PK: pk, SK: sk}, it)
		}
	}
	t.indexes[ix.Name] = x
}

// entry returns the index entry of the item it at k, if it is indexed.
func (x *index) entry(k core.Key, it core.Item) (string, indexEntry, bool) {
	if it == nil {
		return "", indexEntry{}, false
	}
	pk, ok1 := it[x.spec.PK].(*types.AttributeValueMemberS)
	sk, ok2 := it[x.spec.SK].(*types.AttributeValueMemberS)
	if !ok1 || !ok2 {
		return "", indexEntry{}, false
	}
	return pk.Value, indexEntry{sk: sk.Value, key: k}, true
}

func (x *index) add(k core.Key, it core.Item) {
	pk, e, ok := x.entry(k, it)
	if !ok {
		return
	}
	es := x.parts[pk]
	i, _ := slices.BinarySearchFunc(es, e, indexEntry.compare)
	x.parts[pk] = slices.Insert(es, i, e)
}

func (x *index) remove(k core.Key, it core.Item) {
	pk, e, ok := x.entry(k, it)
	if !ok {
		return
	}
	es := x.parts[pk]
	if i, found := slices.BinarySearchFunc(es, e, indexEntry.compare); found {
		es = slices.Delete(es, i, i+1)
	}
	if len(es) == 0 {
		delete(x.parts, pk)
	} else {
		x.parts[pk] = es
	}
}

// QueryIndex implements core.IndexQuerier. Pages are capped as Query's
// (Limit, MaxPageBytes); items are whole (an ALL projection).
func (s *Store) QueryIndex(ctx context.Context, tbl string, q core.IndexQuery) (core.IndexPage, error) {
	if err := ctx.Err(); err != nil {
		return core.IndexPage{}, err
	}
	switch {
	case q.Index.Name == "" || q.Index.PK == "" || q.Index.SK == "":
		return core.IndexPage{}, validation("index query needs the index name and key attributes")
	case q.PK == "":
		return core.IndexPage{}, validation("index query needs a partition key")
	case q.Limit < 0:
		return core.IndexPage{}, validation("negative query limit")
	case q.Op == core.SKBetween && q.SK > q.SK2:
		return core.IndexPage{}, validation(fmt.Sprintf("between bounds %q > %q", q.SK, q.SK2))
	}
	x, err := s.indexFor(tbl, q.Index)
	if err != nil || x == nil {
		return core.IndexPage{}, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	t := s.tables[tbl]
	es := x.parts[q.PK]
	lo, hi, err := skRange(len(es), func(i int) string { return es[i].sk }, q.Op, q.SK, q.SK2)
	if err != nil {
		return core.IndexPage{}, err
	}
	if q.StartAfter != nil {
		c := indexEntry{sk: q.StartAfter.SK, key: q.StartAfter.Key}
		i, found := slices.BinarySearchFunc(es, c, indexEntry.compare)
		if found {
			i++
		}
		lo = max(lo, i)
	}
	var page core.IndexPage
	bytes := 0
	for ; lo < hi; lo++ {
		if q.Limit > 0 && len(page.Items) == q.Limit {
			break
		}
		it := t.get(es[lo].key)
		size := core.ItemSize(it)
		if bytes+size > MaxPageBytes && len(page.Items) > 0 {
			break
		}
		bytes += size
		page.Items = append(page.Items, cloneItem(it))
	}
	// As DynamoDB: a page that reached its Limit has a Next even when no
	// item follows.
	if n := len(page.Items); n > 0 && (lo < hi || n == q.Limit) {
		last := es[lo-1]
		page.Next = &core.IndexCursor{Key: last.key, SK: last.sk}
	}
	return page, nil
}

// indexFor returns the index ix of table tbl, creating it on first use
// unless the store is strict; nil when the table is absent and the store
// is not strict.
func (s *Store) indexFor(tbl string, ix core.Index) (*index, error) {
	s.mu.RLock()
	t, err := s.tableLocked(tbl, false)
	var x *index
	if t != nil {
		x = t.indexes[ix.Name]
	}
	s.mu.RUnlock()
	if err != nil || t == nil {
		return nil, err
	}
	if x == nil {
		if s.strict {
			return nil, &core.NotFoundError{Kind: "index", Name: tbl + "/" + ix.Name}
		}
		s.mu.Lock()
		t.defineIndex(ix)
		x = t.indexes[ix.Name]
		s.mu.Unlock()
	}
	if x.spec != ix {
		return nil, validation(fmt.Sprintf("index %s of %s has keys %s/%s, not %s/%s", ix.Name, tbl, x.spec.PK, x.spec.SK, ix.PK, ix.SK))
	}
	return x, nil
}
