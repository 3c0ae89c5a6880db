package memory

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/google/btree"

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

// index is an in-memory global secondary index: per index partition, a
// B-tree of the entries ordered by index sort key, then table key.
type index struct {
	spec  core.Index
	parts map[string]*btree.BTreeG[indexEntry]
}

type indexEntry struct {
	sk  string
	key core.Key
}

func (a indexEntry) less(b indexEntry) bool {
	if a.sk != b.sk {
		return a.sk < b.sk
	}
	if a.key.PK != b.key.PK {
		return a.key.PK < b.key.PK
	}
	return a.key.SK < b.key.SK
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
	x := &index{spec: ix, parts: map[string]*btree.BTreeG[indexEntry]{}}
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
	if es == nil {
		es = btree.NewG(32, indexEntry.less)
		x.parts[pk] = es
	}
	es.ReplaceOrInsert(e)
}

func (x *index) remove(k core.Key, it core.Item) {
	pk, e, ok := x.entry(k, it)
	if !ok {
		return
	}
	if es := x.parts[pk]; es != nil {
		es.Delete(e)
		if es.Len() == 0 {
			delete(x.parts, pk)
		}
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
	lo, hi, err := skBounds(q.Op, q.SK, q.SK2)
	if err != nil {
		return core.IndexPage{}, err
	}
	var page core.IndexPage
	es := x.parts[q.PK]
	if es == nil {
		return page, nil
	}
	var from indexEntry // where the scan starts: lo, or after the cursor
	if lo.set {
		from.sk = lo.key
	}
	c := q.StartAfter
	if c != nil && (!lo.set || c.SK >= lo.key) {
		from = indexEntry{sk: c.SK, key: c.Key}
	}
	bytes, more := 0, false
	es.AscendGreaterOrEqual(from, func(e indexEntry) bool {
		switch {
		case lo.below(e.sk), c != nil && e.sk == c.SK && e.key == c.Key:
			return true
		case hi.above(e.sk):
			return false
		case q.Limit > 0 && len(page.Items) == q.Limit:
			more = true
			return false
		}
		it := t.get(e.key)
		size := core.ItemSize(it)
		if bytes+size > MaxPageBytes && len(page.Items) > 0 {
			more = true
			return false
		}
		bytes += size
		page.Items = append(page.Items, cloneItem(it))
		page.Next = &core.IndexCursor{Key: e.key, SK: e.sk}
		return true
	})
	// As DynamoDB: a page that reached its Limit has a Next even when no
	// item follows.
	if !more && len(page.Items) != q.Limit {
		page.Next = nil
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
