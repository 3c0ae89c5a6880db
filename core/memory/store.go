package memory

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/google/btree"

	"github.com/stepcqrs/stepcqrs/core"
)

// Region and Account are the AWS region and account id that the in-memory
// adapters put into the ARNs they make.
const (
	Region  = "us-east-1"
	Account = "000000000000"
)

// MaxPageBytes is the most item bytes one Query page returns, as DynamoDB's
// 1 MB cap.
const MaxPageBytes = 1 << 20

// StreamView selects what a table's stream records carry, as DynamoDB's
// StreamViewType.
type StreamView string

// Stream views.
const (
	StreamKeysOnly        StreamView = "KEYS_ONLY"
	StreamNewImage        StreamView = "NEW_IMAGE"
	StreamOldImage        StreamView = "OLD_IMAGE"
	StreamNewAndOldImages StreamView = "NEW_AND_OLD_IMAGES"
)

// StreamLabel is the label of every in-memory table stream; it ends the
// stream ARN.
const StreamLabel = "2024-01-01T00:00:00.000"

// StoreOption configures a Store.
type StoreOption func(*Store)

// StrictTables makes operations on a table that was not created with
// CreateTable fail with a *core.NotFoundError of kind "table", as DynamoDB
// does. Without it, tables spring into existence on first use.
func StrictTables() StoreOption { return func(s *Store) { s.strict = true } }

// WithClock sets the clock that stamps stream records (default time.Now).
func WithClock(now func() time.Time) StoreOption { return func(s *Store) { s.now = now } }

// TableOption configures a table created by CreateTable.
type TableOption func(*table)

// WithStream turns on the table's stream with the given view.
func WithStream(view StreamView) TableOption { return func(t *table) { t.view = view } }

// WithUnchangedWriteRecords makes the table's stream emit a MODIFY record
// also for a put or update that leaves the item exactly as it was. DynamoDB
// writes no record for such a write, and neither does the store by default;
// moto writes one, and this option imitates it (or injects duplicates).
func WithUnchangedWriteRecords() TableOption { return func(t *table) { t.unchanged = true } }

// StreamHandler receives stream records. It runs on the goroutine of a
// writer, after the write committed and outside the store's locks, so it
// may use the store. It must not modify the record.
type StreamHandler func(events.DynamoDBEventRecord)

// Store is an in-memory core.ItemStore with DynamoDB semantics: conditional
// writes, atomic counters, byte-ordered sort keys, paged queries (1 MB
// pages), transactions, item size limits, and optional streams.
//
// A table with a stream (WithStream or EnableStream) emits one
// events.DynamoDBEventRecord per changed item (INSERT, MODIFY or REMOVE) to
// every handler subscribed to it. As in DynamoDB, a put or update that
// leaves an item exactly as it was writes no record (see
// WithUnchangedWriteRecords), nor does a delete of a missing item. Records of one table are delivered in commit order with
// increasing sequence numbers; a write returns after its records were
// delivered, unless another goroutine was delivering records of the same
// table at the time, in which case that goroutine delivers them, still in
// order. A handler that writes to the store is delivered the records of its
// own writes after it returns.
//
// The zero Store is not usable; call NewStore.
type Store struct {
	mu     sync.RWMutex
	tables map[string]*table
	strict bool
	now    func() time.Time

	subMu  sync.RWMutex
	subs   map[string][]*subscription
	events atomic.Uint64
}

type subscription struct{ fn StreamHandler }

type table struct {
	name  string
	parts map[string]*partition
	view  StreamView
	seq   uint64 // last sequence number, guarded by Store.mu
	// unchanged: emit records for writes that change nothing.
	unchanged bool

	qmu        sync.Mutex
	pending    []change
	delivering bool

	// indexes are the table's global secondary indexes by name, kept up
	// to date by set.
	indexes map[string]*index
}

// partition is one partition key's items: by sort key, and the sort keys
// in a B-tree, ordered by bytes (O(log n) inserts and deletes).
type partition struct {
	keys  *btree.BTreeG[string]
	items map[string]core.Item
}

func newPartition() *partition {
	return &partition{keys: btree.NewOrderedG[string](32), items: map[string]core.Item{}}
}

// bound is one end of a sort-key range.
type bound struct {
	key       string
	inclusive bool
	set       bool
}

// prefixEnd returns the smallest string greater than every string that
// begins with prefix, and false when there is none (prefix is all 0xff).
func prefixEnd(prefix string) (string, bool) {
	b := []byte(prefix)
	for i := len(b) - 1; i >= 0; i-- {
		if b[i] < 0xff {
			b[i]++
			return string(b[:i+1]), true
		}
	}
	return "", false
}

// skBounds returns the range of sort keys that satisfy op with operands sk
// and sk2.
func skBounds(op core.SKOp, sk, sk2 string) (lo, hi bound, err error) {
	switch op {
	case core.SKAny:
	case core.SKEqual:
		lo, hi = bound{sk, true, true}, bound{sk, true, true}
	case core.SKBeginsWith:
		lo = bound{sk, true, true}
		if end, ok := prefixEnd(sk); ok {
			hi = bound{end, false, true}
		}
	case core.SKLess:
		hi = bound{sk, false, true}
	case core.SKLessEq:
		hi = bound{sk, true, true}
	case core.SKGreater:
		lo = bound{sk, false, true}
	case core.SKGreaterEq:
		lo = bound{sk, true, true}
	case core.SKBetween:
		lo, hi = bound{sk, true, true}, bound{sk2, true, true}
	default:
		return lo, hi, validation(fmt.Sprintf("unknown sort key operator %d", op))
	}
	return lo, hi, nil
}

// below reports whether k is below the lower bound b; above whether it is
// above the upper bound b.
func (b bound) below(k string) bool { return b.set && (k < b.key || (!b.inclusive && k == b.key)) }
func (b bound) above(k string) bool { return b.set && (k > b.key || (!b.inclusive && k == b.key)) }

// scan visits the sort keys of p within [lo, hi], ascending or
// descending, until visit returns false.
func (p *partition) scan(lo, hi bound, desc bool, visit func(sk string) bool) {
	if !desc {
		it := func(k string) bool {
			if lo.below(k) {
				return true
			}
			if hi.above(k) {
				return false
			}
			return visit(k)
		}
		if lo.set {
			p.keys.AscendGreaterOrEqual(lo.key, it)
		} else {
			p.keys.Ascend(it)
		}
		return
	}
	it := func(k string) bool {
		if hi.above(k) {
			return true
		}
		if lo.below(k) {
			return false
		}
		return visit(k)
	}
	if hi.set {
		p.keys.DescendLessOrEqual(hi.key, it)
	} else {
		p.keys.Descend(it)
	}
}

// change is one committed item change awaiting stream delivery.
type change struct {
	seq      uint64
	at       time.Time
	key      core.Key
	old, new core.Item
	view     StreamView // the table's view at commit
	ttl      bool       // a TTL deletion
}

var _ core.ItemStore = (*Store)(nil)

// NewStore returns an empty store.
func NewStore(opts ...StoreOption) *Store {
	s := &Store{tables: map[string]*table{}, now: time.Now, subs: map[string][]*subscription{}}
	for _, o := range opts {
		o(s)
	}
	return s
}

// CreateTable creates a table, or applies opts to an existing one.
func (s *Store) CreateTable(name string, opts ...TableOption) error {
	if name == "" {
		return validation("empty table name")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.tables[name]
	if t == nil {
		t = newTable(name)
		s.tables[name] = t
	}
	for _, o := range opts {
		o(t)
	}
	return nil
}

// EnableStream turns on the stream of a table with the given view (creating
// the table unless the store is strict). An empty view turns it off.
func (s *Store) EnableStream(name string, view StreamView) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, err := s.tableLocked(name, true)
	if err != nil {
		return err
	}
	t.view = view
	return nil
}

// Subscribe registers fn for the stream records of table and returns a
// function that unregisters it. Records are emitted only while the table's
// stream is on.
func (s *Store) Subscribe(table string, fn StreamHandler) (unsubscribe func()) {
	sub := &subscription{fn: fn}
	s.subMu.Lock()
	s.subs[table] = append(s.subs[table], sub)
	s.subMu.Unlock()
	return func() {
		s.subMu.Lock()
		defer s.subMu.Unlock()
		s.subs[table] = slices.DeleteFunc(slices.Clone(s.subs[table]), func(x *subscription) bool { return x == sub })
	}
}

// StreamARN returns the ARN of table's stream, as stream records carry it in
// eventSourceARN.
func StreamARN(table string) string {
	return fmt.Sprintf("arn:aws:dynamodb:%s:%s:table/%s/stream/%s", Region, Account, table, StreamLabel)
}

func newTable(name string) *table {
	return &table{name: name, parts: map[string]*partition{}}
}

// tableLocked returns the named table; with create, a missing table is
// created unless the store is strict. Callers hold s.mu (for writing when
// create is set). A nil table with a nil error means "absent, not strict".
func (s *Store) tableLocked(name string, create bool) (*table, error) {
	if t := s.tables[name]; t != nil {
		return t, nil
	}
	if name == "" {
		return nil, validation("empty table name")
	}
	if s.strict {
		return nil, &core.NotFoundError{Kind: "table", Name: name}
	}
	if !create {
		return nil, nil
	}
	t := newTable(name)
	s.tables[name] = t
	return t, nil
}

func (t *table) get(k core.Key) core.Item {
	p := t.parts[k.PK]
	if p == nil {
		return nil
	}
	return p.items[k.SK]
}

// set stores it (nil: deletes) at k, and updates the indexes.
func (t *table) set(k core.Key, it core.Item) {
	if len(t.indexes) > 0 {
		old := t.get(k)
		for _, ix := range t.indexes {
			ix.remove(k, old)
			ix.add(k, it)
		}
	}
	p := t.parts[k.PK]
	if it == nil {
		if p == nil {
			return
		}
		if _, ok := p.items[k.SK]; !ok {
			return
		}
		delete(p.items, k.SK)
		p.keys.Delete(k.SK)
		if len(p.items) == 0 {
			delete(t.parts, k.PK)
		}
		return
	}
	if p == nil {
		p = newPartition()
		t.parts[k.PK] = p
	}
	if _, ok := p.items[k.SK]; !ok {
		p.keys.ReplaceOrInsert(k.SK)
	}
	p.items[k.SK] = it
}

// commit writes it at k in t and queues its stream record. Callers hold
// s.mu for writing.
func (s *Store) commit(t *table, k core.Key, old, it core.Item, at time.Time) {
	t.set(k, it)
	if t.view == "" || (old == nil && it == nil) {
		return
	}
	if !t.unchanged && old != nil && it != nil && sameItem(old, it) {
		return
	}
	t.seq++
	t.qmu.Lock()
	t.pending = append(t.pending, change{seq: t.seq, at: at, key: k, old: old, new: it, view: t.view})
	t.qmu.Unlock()
}

// flush delivers the queued stream records of t in order.
func (s *Store) flush(t *table) {
	t.qmu.Lock()
	if t.delivering || len(t.pending) == 0 {
		t.qmu.Unlock()
		return
	}
	t.delivering = true
	defer func() {
		t.qmu.Lock()
		t.delivering = false
		t.qmu.Unlock()
	}()
	for len(t.pending) > 0 {
		batch := t.pending
		t.pending = nil
		t.qmu.Unlock()
		s.subMu.RLock()
		subs := s.subs[t.name]
		s.subMu.RUnlock()
		for _, c := range batch {
			if len(subs) == 0 {
				continue
			}
			rec := s.record(t, c)
			for _, sub := range subs {
				sub.fn(rec)
			}
		}
		t.qmu.Lock()
	}
	t.qmu.Unlock()
}

// record builds the stream record of c.
func (s *Store) record(t *table, c change) events.DynamoDBEventRecord {
	name := events.DynamoDBOperationTypeModify
	switch {
	case c.old == nil:
		name = events.DynamoDBOperationTypeInsert
	case c.new == nil:
		name = events.DynamoDBOperationTypeRemove
	}
	keys := map[string]events.DynamoDBAttributeValue{
		"pk": events.NewStringAttribute(c.key.PK),
		"sk": events.NewStringAttribute(c.key.SK),
	}
	sr := events.DynamoDBStreamRecord{
		ApproximateCreationDateTime: events.SecondsEpochTime{Time: c.at.Truncate(time.Second)},
		Keys:                        keys,
		SequenceNumber:              fmt.Sprintf("%021d", c.seq),
		StreamViewType:              string(c.view),
	}
	size := len(c.key.PK) + len(c.key.SK) + 4
	if c.new != nil && (c.view == StreamNewImage || c.view == StreamNewAndOldImages) {
		sr.NewImage = core.ToStreamImage(c.new)
		size += core.ItemSize(c.new)
	}
	if c.old != nil && (c.view == StreamOldImage || c.view == StreamNewAndOldImages) {
		sr.OldImage = core.ToStreamImage(c.old)
		size += core.ItemSize(c.old)
	}
	sr.SizeBytes = int64(size)
	var who *events.DynamoDBUserIdentity
	if c.ttl {
		who = &events.DynamoDBUserIdentity{Type: "Service", PrincipalID: "dynamodb.amazonaws.com"}
	}
	return events.DynamoDBEventRecord{
		UserIdentity:   who,
		AWSRegion:      Region,
		Change:         sr,
		EventID:        fmt.Sprintf("%032x", s.events.Add(1)),
		EventName:      string(name),
		EventSource:    "aws:dynamodb",
		EventVersion:   "1.1",
		EventSourceArn: StreamARN(t.name),
	}
}

// holds evaluates cond against cur (nil: absent).
func holds(cond core.Condition, cur core.Item) (bool, error) {
	f := cond.Form()
	switch {
	case f.Absent:
		return cur == nil, nil
	case f.Exists:
		return cur != nil, nil
	case f.Version:
		if cur == nil {
			return false, nil
		}
		n, ok := cur[core.VersionAttr].(*types.AttributeValueMemberN)
		return ok && compareNumbers(n.Value, fmt.Sprint(f.VersionValue)) == 0, nil
	case f.VersionBelow:
		if cur == nil {
			return true, nil
		}
		v, present := cur[core.VersionAttr]
		if !present {
			return true, nil
		}
		n, ok := v.(*types.AttributeValueMemberN)
		return ok && compareNumbers(n.Value, fmt.Sprint(f.VersionValue)) < 0, nil
	case f.AttrEquals:
		want, err := normalizeValue(f.Value, f.Attr)
		if err != nil {
			return false, err
		}
		if cur == nil {
			return false, nil
		}
		v, ok := cur[f.Attr]
		return ok && core.AttributeValuesEqual(v, want), nil
	}
	return true, nil
}

// check evaluates cond and returns a *core.ConditionFailedError when it
// does not hold.
func check(tbl string, k core.Key, cond core.Condition, cur core.Item) error {
	ok, err := holds(cond, cur)
	if err != nil {
		return err
	}
	if !ok {
		return &core.ConditionFailedError{Table: tbl, Key: k, Item: cloneItem(cur)}
	}
	return nil
}

func tooLarge(tbl string, k core.Key, size int) error {
	return fmt.Errorf("%w: %s %s/%s is %d bytes, the limit is %d", core.ErrItemTooLarge, tbl, k.PK, k.SK, size, core.MaxItemBytes)
}

// Get implements core.ItemStore.
func (s *Store) Get(ctx context.Context, tbl string, k core.Key, _ bool) (core.Item, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := validateKey(k); err != nil {
		return nil, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	t, err := s.tableLocked(tbl, false)
	if err != nil {
		return nil, err
	}
	var it core.Item
	if t != nil {
		it = t.get(k)
	}
	if it == nil {
		return nil, &core.NotFoundError{Kind: "item", Name: tbl + "/" + k.PK + "/" + k.SK}
	}
	return cloneItem(it), nil
}

// Put implements core.ItemStore.
func (s *Store) Put(ctx context.Context, tbl string, item core.Item, cond core.Condition) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	it, k, err := validateItem(item)
	if err != nil {
		return err
	}
	if size := core.ItemSize(it); size > core.MaxItemBytes {
		return tooLarge(tbl, k, size)
	}
	_, err = s.writeOne(tbl, k, cond, func(core.Item) (core.Item, error) { return it, nil })
	return err
}

// writeOne is the single-item write: under the store's lock it makes the
// new item from the stored one (nil: absent) with next, checks cond against
// the stored one, and commits (a nil new item deletes); then it delivers
// the stream records. An error from next wins over a failed condition, as
// DynamoDB reports a malformed request before evaluating its condition. It
// returns the committed item, which the store never mutates afterwards:
// every write replaces items, copy on write.
func (s *Store) writeOne(tbl string, k core.Key, cond core.Condition, next func(old core.Item) (core.Item, error)) (core.Item, error) {
	at := s.now()
	s.mu.Lock()
	t, err := s.tableLocked(tbl, true)
	if err != nil {
		s.mu.Unlock()
		return nil, err
	}
	old := t.get(k)
	it, err := next(old)
	if err == nil {
		err = check(tbl, k, cond, old)
	}
	if err != nil {
		s.mu.Unlock()
		return nil, err
	}
	s.commit(t, k, old, it, at)
	s.mu.Unlock()
	s.flush(t)
	return it, nil
}

// applyUpdate returns the item that upd makes of old (nil: absent).
func applyUpdate(tbl string, k core.Key, old core.Item, upd core.Update) (core.Item, error) {
	seen := make(map[string]bool, len(upd.Set)+len(upd.Remove)+len(upd.Add))
	name := func(n string) error {
		switch {
		case n == "pk" || n == "sk":
			return validation("an update cannot change key attribute " + n)
		case n == "":
			return validation("empty attribute name")
		case seen[n]:
			return validation("an update names attribute " + n + " twice")
		}
		seen[n] = true
		return nil
	}
	next := make(core.Item, len(old)+len(upd.Set)+len(upd.Add))
	for n, v := range old {
		next[n] = v
	}
	next["pk"] = &types.AttributeValueMemberS{Value: k.PK}
	next["sk"] = &types.AttributeValueMemberS{Value: k.SK}
	for n, v := range upd.Set {
		if err := name(n); err != nil {
			return nil, err
		}
		c, err := normalizeValue(v, n)
		if err != nil {
			return nil, err
		}
		next[n] = c
	}
	for _, n := range upd.Remove {
		if err := name(n); err != nil {
			return nil, err
		}
		delete(next, n)
	}
	for n, d := range upd.Add {
		if err := name(n); err != nil {
			return nil, err
		}
		cur := "0"
		if v, ok := next[n]; ok {
			num, isNum := v.(*types.AttributeValueMemberN)
			if !isNum {
				return nil, validation(fmt.Sprintf("cannot add to attribute %s of type %T", n, v))
			}
			cur = num.Value
		}
		sum, err := addNumber(cur, d)
		if err != nil {
			return nil, validation(err.Error())
		}
		next[n] = &types.AttributeValueMemberN{Value: sum}
	}
	if size := core.ItemSize(next); size > core.MaxItemBytes {
		return nil, tooLarge(tbl, k, size)
	}
	return next, nil
}

// Update implements core.ItemStore.
func (s *Store) Update(ctx context.Context, tbl string, k core.Key, upd core.Update, cond core.Condition) (core.Item, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := validateKey(k); err != nil {
		return nil, err
	}
	next, err := s.writeOne(tbl, k, cond, func(old core.Item) (core.Item, error) { return applyUpdate(tbl, k, old, upd) })
	if err != nil {
		return nil, err
	}
	return cloneItem(next), nil
}

// Delete implements core.ItemStore.
func (s *Store) Delete(ctx context.Context, tbl string, k core.Key, cond core.Condition) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := validateKey(k); err != nil {
		return err
	}
	_, err := s.writeOne(tbl, k, cond, func(core.Item) (core.Item, error) { return nil, nil })
	return err
}

// Query implements core.ItemStore. Without a Limit a page holds every
// matching item up to MaxPageBytes. As DynamoDB, a page that reached its
// Limit has a Next even when no item follows.
func (s *Store) Query(ctx context.Context, tbl string, q core.Query) (core.Page, error) {
	if err := ctx.Err(); err != nil {
		return core.Page{}, err
	}
	if q.PK == "" {
		return core.Page{}, validation("query needs a partition key")
	}
	if q.Limit < 0 {
		return core.Page{}, validation("negative query limit")
	}
	if q.Op == core.SKBetween && q.SK > q.SK2 {
		return core.Page{}, validation(fmt.Sprintf("between bounds %q > %q", q.SK, q.SK2))
	}
	if q.StartAfter != nil && q.StartAfter.PK != q.PK {
		return core.Page{}, validation("StartAfter is in another partition")
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	t, err := s.tableLocked(tbl, false)
	if err != nil || t == nil {
		return core.Page{}, err
	}
	p := t.parts[q.PK]
	if p == nil {
		return core.Page{}, nil
	}
	lo, hi, err := skBounds(q.Op, q.SK, q.SK2)
	if err != nil {
		return core.Page{}, err
	}
	if a := q.StartAfter; a != nil {
		// Continue after a: raise the lower bound (or lower the upper
		// one, descending) to a, exclusive.
		if q.Descending {
			if !hi.set || a.SK <= hi.key {
				hi = bound{a.SK, false, true}
			}
		} else if !lo.set || a.SK >= lo.key {
			lo = bound{a.SK, false, true}
		}
	}
	var page core.Page
	bytes, more := 0, false
	p.scan(lo, hi, q.Descending, func(sk string) bool {
		if q.Limit > 0 && len(page.Items) == q.Limit {
			more = true
			return false
		}
		it := p.items[sk]
		size := core.ItemSize(it)
		if bytes+size > MaxPageBytes && len(page.Items) > 0 {
			more = true
			return false
		}
		bytes += size
		page.Items = append(page.Items, cloneItem(it))
		return true
	})
	// As DynamoDB: a page that reached its Limit has a Next even when no
	// item follows.
	if len(page.Items) > 0 && (more || len(page.Items) == q.Limit) {
		last := page.Items[len(page.Items)-1]
		page.Next = &core.Key{PK: q.PK, SK: last["sk"].(*types.AttributeValueMemberS).Value}
	}
	return page, nil
}

// txKey identifies an item across tables.
type txKey struct {
	table string
	key   core.Key
}

// Transact implements core.ItemStore.
func (s *Store) Transact(ctx context.Context, ops []core.TxOp) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if len(ops) > core.MaxTransactItems {
		return validation(fmt.Sprintf("%d transaction ops, at most %d allowed", len(ops), core.MaxTransactItems))
	}
	keys := make([]core.Key, len(ops))
	puts := make([]core.Item, len(ops))
	seen := make(map[txKey]int, len(ops))
	for i, op := range ops {
		kinds := 0
		for _, b := range []bool{op.Put != nil, op.Update != nil, op.Delete, op.Check} {
			if b {
				kinds++
			}
		}
		if kinds != 1 {
			return validation(fmt.Sprintf("op %d: exactly one of Put, Update, Delete, Check must be set", i))
		}
		if op.Table == "" {
			return validation(fmt.Sprintf("op %d: empty table name", i))
		}
		if op.Check && op.Cond.IsZero() {
			return validation(fmt.Sprintf("op %d: a Check needs a condition", i))
		}
		k := op.Key
		if op.Put != nil {
			it, pk, err := validateItem(op.Put)
			if err != nil {
				return fmt.Errorf("op %d: %w", i, err)
			}
			if size := core.ItemSize(it); size > core.MaxItemBytes {
				return fmt.Errorf("op %d: %w", i, tooLarge(op.Table, pk, size))
			}
			puts[i], k = it, pk
		} else if err := validateKey(k); err != nil {
			return fmt.Errorf("op %d: %w", i, err)
		}
		tk := txKey{op.Table, k}
		if j, dup := seen[tk]; dup {
			return validation(fmt.Sprintf("ops %d and %d both touch %s %s/%s", j, i, op.Table, k.PK, k.SK))
		}
		seen[tk] = i
		keys[i] = k
	}
	at := s.now()
	s.mu.Lock()
	tables := make([]*table, len(ops))
	nexts := make([]core.Item, len(ops))
	reasons := make([]error, len(ops))
	failed := false
	for i, op := range ops {
		t, err := s.tableLocked(op.Table, true)
		if err != nil {
			s.mu.Unlock()
			return fmt.Errorf("op %d: %w", i, err)
		}
		tables[i] = t
		old := t.get(keys[i])
		switch {
		case op.Put != nil:
			nexts[i] = puts[i]
		case op.Update != nil:
			next, err := applyUpdate(op.Table, keys[i], old, *op.Update)
			if err != nil {
				s.mu.Unlock()
				return fmt.Errorf("op %d: %w", i, err)
			}
			nexts[i] = next
		case op.Check:
			nexts[i] = old
		}
		if err := check(op.Table, keys[i], op.Cond, old); err != nil {
			if _, isCond := err.(*core.ConditionFailedError); !isCond {
				s.mu.Unlock()
				return fmt.Errorf("op %d: %w", i, err)
			}
			reasons[i] = err
			failed = true
		}
	}
	if failed {
		s.mu.Unlock()
		return &core.TransactionCanceledError{Reasons: reasons}
	}
	var touched []*table
	for i, op := range ops {
		if op.Check {
			continue
		}
		t := tables[i]
		s.commit(t, keys[i], t.get(keys[i]), nexts[i], at)
		if !slices.Contains(touched, t) {
			touched = append(touched, t)
		}
	}
	s.mu.Unlock()
	for _, t := range touched {
		s.flush(t)
	}
	return nil
}

// BatchGet implements core.ItemStore.
func (s *Store) BatchGet(ctx context.Context, tbl string, keys []core.Key, _ bool) ([]core.Item, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	for _, k := range keys {
		if err := validateKey(k); err != nil {
			return nil, err
		}
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	t, err := s.tableLocked(tbl, false)
	if err != nil || t == nil {
		return nil, err
	}
	out := make([]core.Item, 0, len(keys))
	for _, k := range keys {
		if it := t.get(k); it != nil {
			out = append(out, cloneItem(it))
		}
	}
	return out, nil
}

// BatchWrite implements core.ItemStore. The in-memory store applies the
// whole batch at once: puts in order, then deletes.
func (s *Store) BatchWrite(ctx context.Context, tbl string, puts []core.Item, deletes []core.Key) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	items := make([]core.Item, len(puts))
	keys := make([]core.Key, len(puts))
	for i, p := range puts {
		it, k, err := validateItem(p)
		if err != nil {
			return fmt.Errorf("put %d: %w", i, err)
		}
		if size := core.ItemSize(it); size > core.MaxItemBytes {
			return fmt.Errorf("put %d: %w", i, tooLarge(tbl, k, size))
		}
		items[i], keys[i] = it, k
	}
	for i, k := range deletes {
		if err := validateKey(k); err != nil {
			return fmt.Errorf("delete %d: %w", i, err)
		}
	}
	if len(puts)+len(deletes) == 0 {
		return nil
	}
	at := s.now()
	s.mu.Lock()
	t, err := s.tableLocked(tbl, true)
	if err != nil {
		s.mu.Unlock()
		return err
	}
	for i, it := range items {
		s.commit(t, keys[i], t.get(keys[i]), it, at)
	}
	for _, k := range deletes {
		s.commit(t, k, t.get(k), nil, at)
	}
	s.mu.Unlock()
	s.flush(t)
	return nil
}

// Items returns a copy of every item of table, ordered by pk then sk, for
// tests and inspection.
func (s *Store) Items(tbl string) []core.Item {
	s.mu.RLock()
	defer s.mu.RUnlock()
	t := s.tables[tbl]
	if t == nil {
		return nil
	}
	pks := make([]string, 0, len(t.parts))
	for pk := range t.parts {
		pks = append(pks, pk)
	}
	slices.Sort(pks)
	var out []core.Item
	for _, pk := range pks {
		p := t.parts[pk]
		p.keys.Ascend(func(sk string) bool {
			out = append(out, cloneItem(p.items[sk]))
			return true
		})
	}
	return out
}

// Tables returns the names of the store's tables, sorted.
func (s *Store) Tables() []string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	names := make([]string, 0, len(s.tables))
	for n := range s.tables {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// ExpireItems deletes the items of table whose number attribute ttlAttr (a
// Unix time in seconds) is before now, as DynamoDB's TTL process does (it
// does so late and lazily; call this to make it happen in a test). Each
// deletion emits a REMOVE stream record whose userIdentity names the
// DynamoDB service, like a TTL deletion. It returns how many items went.
func (s *Store) ExpireItems(ctx context.Context, tbl, ttlAttr string, now time.Time) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	limit := now.Unix()
	s.mu.Lock()
	t, err := s.tableLocked(tbl, false)
	if err != nil || t == nil {
		s.mu.Unlock()
		return 0, err
	}
	var expired []core.Key
	for pk, p := range t.parts {
		for sk, it := range p.items {
			n, ok := it[ttlAttr].(*types.AttributeValueMemberN)
			if ok && compareNumbers(n.Value, fmt.Sprint(limit)) < 0 {
				expired = append(expired, core.Key{PK: pk, SK: sk})
			}
		}
	}
	slices.SortFunc(expired, func(a, b core.Key) int {
		if c := strings.Compare(a.PK, b.PK); c != 0 {
			return c
		}
		return strings.Compare(a.SK, b.SK)
	})
	at := s.now()
	for _, k := range expired {
		old := t.get(k)
		t.set(k, nil)
		if t.view != "" {
			t.seq++
			t.qmu.Lock()
			t.pending = append(t.pending, change{seq: t.seq, at: at, key: k, old: old, view: t.view, ttl: true})
			t.qmu.Unlock()
		}
	}
	s.mu.Unlock()
	s.flush(t)
	return len(expired), nil
}
