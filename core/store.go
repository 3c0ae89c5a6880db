package core

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// AttributeValue is a DynamoDB attribute value as the AWS SDK models it.
// Use MarshalItem and UnmarshalItem to convert Go values.
type AttributeValue = types.AttributeValue

// Item is one stored item: attribute name to value. Every item carries the
// string attributes "pk" and "sk" that form its Key.
type Item = map[string]AttributeValue

// Key identifies an item: partition key pk and sort key sk, both strings.
type Key struct {
	PK string `dynamodbav:"pk" json:"pk"`
	SK string `dynamodbav:"sk" json:"sk"`
}

// VersionAttr is the number attribute that version conditions compare.
const VersionAttr = "version"

// condKind enumerates the condition forms a store must support.
type condKind uint8

const (
	condNone condKind = iota
	condAbsent
	condExists
	condVersion
	condVersionBelow
	condAttrEquals
)

// Condition guards a write. The zero Condition always holds. A write whose
// condition does not hold fails with an error matching ErrConditionFailed and
// changes nothing.
type Condition struct {
	kind    condKind
	version int64
	attr    string
	value   AttributeValue
}

// IfAbsent holds when no item with the key exists.
func IfAbsent() Condition { return Condition{kind: condAbsent} }

// IfExists holds when an item with the key exists.
func IfExists() Condition { return Condition{kind: condExists} }

// IfVersion holds when the item exists and its "version" attribute equals v.
func IfVersion(v int64) Condition { return Condition{kind: condVersion, version: v} }

// IfVersionBelow holds when the item is absent, or its "version" attribute is
// absent or a number lower than v. It makes "apply version v" idempotent.
func IfVersionBelow(v int64) Condition { return Condition{kind: condVersionBelow, version: v} }

// IfAttrEquals holds when the item exists and attribute name equals value.
func IfAttrEquals(name string, value AttributeValue) Condition {
	return Condition{kind: condAttrEquals, attr: name, value: value}
}

// ConditionForm describes a Condition for adapters: exactly one of the
// booleans is set, or none for the always-true condition.
type ConditionForm struct {
	Absent, Exists, Version, VersionBelow, AttrEquals bool
	// VersionValue is the operand of Version and VersionBelow.
	VersionValue int64
	// Attr and Value are the operands of AttrEquals.
	Attr  string
	Value AttributeValue
}

// Form returns the condition's form, for adapters that translate it.
func (c Condition) Form() ConditionForm {
	f := ConditionForm{VersionValue: c.version, Attr: c.attr, Value: c.value}
	switch c.kind {
	case condAbsent:
		f.Absent = true
	case condExists:
		f.Exists = true
	case condVersion:
		f.Version = true
	case condVersionBelow:
		f.VersionBelow = true
	case condAttrEquals:
		f.AttrEquals = true
	}
	return f
}

// IsZero reports whether c is the always-true condition.
func (c Condition) IsZero() bool { return c.kind == condNone }

// Update changes some attributes of one item in place, atomically.
// Set assigns attributes, Remove deletes them, Add adds a number to a number
// attribute (treating a missing one as 0): the atomic counter of DynamoDB's
// ADD. Naming "pk" or "sk" anywhere, or one attribute twice, is invalid.
// An Update of an absent item creates it (as DynamoDB UpdateItem does) unless
// its condition forbids that.
type Update struct {
	Set    map[string]AttributeValue
	Remove []string
	Add    map[string]int64
}

// SKOp is a sort-key comparison of a Query.
type SKOp uint8

// Sort-key comparisons. Strings compare by UTF-8 bytes, as DynamoDB does.
const (
	SKAny        SKOp = iota // no condition on sk
	SKEqual                  // sk = SK
	SKBeginsWith             // sk begins with SK
	SKLess                   // sk < SK
	SKLessEq                 // sk <= SK
	SKGreater                // sk > SK
	SKGreaterEq              // sk >= SK
	SKBetween                // SK <= sk <= SK2
)

// Query reads the items of one partition, in sort-key order.
type Query struct {
	PK  string
	Op  SKOp
	SK  string
	SK2 string // upper bound of SKBetween
	// Descending returns items in decreasing sort-key order.
	Descending bool
	// Limit caps the items of one page; 0 means the store's default page.
	Limit int
	// StartAfter continues after this key (exclusive), from Page.Next.
	StartAfter *Key
	// ConsistentRead asks for a strongly consistent read.
	ConsistentRead bool
}

// Page is one page of query results. Next is nil on the last page; otherwise
// pass it as Query.StartAfter to read on. A page may be shorter than Limit
// and still have a Next (DynamoDB's 1 MB page cap), so loop until Next is nil.
type Page struct {
	Items []Item
	Next  *Key
}

// TxOp is one operation of an atomic multi-item write. Exactly one of Put,
// Update, Delete or Check is set.
type TxOp struct {
	Table string
	// Put writes Item (its key is taken from the item).
	Put Item
	// Update changes the item at Key.
	Update *Update
	// Delete removes the item at Key.
	Delete bool
	// Check only asserts Cond on the item at Key.
	Check bool
	Key   Key
	Cond  Condition
}

// ItemStore is the port to a DynamoDB-like key-value store.
//
// Implementations are safe for concurrent use. Every method honours ctx
// cancellation. Reads of a missing item return an error matching ErrNotFound.
// A failed condition returns an error matching ErrConditionFailed (for
// Transact, a *TransactionCanceledError that also matches it). An item larger
// than MaxItemBytes is rejected with an error matching ErrItemTooLarge and
// nothing is written.
type ItemStore interface {
	// Get reads one item. consistent asks for a strongly consistent read.
	Get(ctx context.Context, table string, key Key, consistent bool) (Item, error)
	// Put writes a whole item if cond holds.
	Put(ctx context.Context, table string, item Item, cond Condition) error
	// Update applies upd to the item at key if cond holds and returns the item
	// as it is after the update.
	Update(ctx context.Context, table string, key Key, upd Update, cond Condition) (Item, error)
	// Delete removes the item at key if cond holds. Deleting a missing item
	// with the zero condition succeeds.
	Delete(ctx context.Context, table string, key Key, cond Condition) error
	// Query reads one page of a partition.
	Query(ctx context.Context, table string, q Query) (Page, error)
	// Transact applies all ops atomically, or none of them. At most
	// MaxTransactItems ops, each on a distinct item.
	Transact(ctx context.Context, ops []TxOp) error
	// BatchGet reads many items of one table; missing items are left out.
	// The order of the result is unspecified.
	BatchGet(ctx context.Context, table string, keys []Key, consistent bool) ([]Item, error)
	// BatchWrite puts and deletes many items of one table, unconditionally and
	// not atomically; it retries unprocessed items until all are written or
	// ctx ends.
	BatchWrite(ctx context.Context, table string, puts []Item, deletes []Key) error
}

// Limits the ItemStore contract shares with DynamoDB.
const (
	// MaxItemBytes is the largest item DynamoDB stores (400 KB).
	MaxItemBytes = 400 * 1024
	// MaxTransactItems is the most operations in one Transact call.
	MaxTransactItems = 100
)

// Index describes a global secondary index of a table: its name and the
// string attributes that form its partition and sort keys. Indexes are
// sparse: an item is in the index when it carries both attributes as
// strings, and only then; removing either attribute takes it out.
type Index struct {
	Name string
	// PK and SK name the item attributes of the index's partition and
	// sort keys.
	PK, SK string
}

// IndexQuery reads one partition of a table's global secondary index, in
// the order of the index's sort key.
type IndexQuery struct {
	Index Index
	// PK is the index partition to read: the value of Index.PK.
	PK string
	// Op, SK and SK2 restrict the value of Index.SK, as Query's do.
	Op      SKOp
	SK, SK2 string
	// Limit caps the items of one page; 0 means the store's default page.
	Limit int
	// StartAfter continues after this position (exclusive), from
	// IndexPage.Next.
	StartAfter *IndexCursor
}

// IndexCursor is a position in an index: the table key of an item and its
// index sort key value.
type IndexCursor struct {
	Key Key
	SK  string
}

// IndexPage is one page of index query results. Next is nil on the last
// page; a page may be shorter than Limit and still have a Next.
type IndexPage struct {
	Items []Item
	Next  *IndexCursor
}

// IndexQuerier is implemented by item stores that can query global
// secondary indexes (both adapters do; check with a type assertion).
// Items carry at least the table's and the index's key attributes (what a
// KEYS_ONLY index projects); read an item with Get for the rest. Index
// reads are eventually consistent, as DynamoDB's are: an item written
// moments ago may be missing from a page, or still present after it left
// the index. Querying an index the table does not have is an error
// matching ErrNotFound.
type IndexQuerier interface {
	QueryIndex(ctx context.Context, table string, q IndexQuery) (IndexPage, error)
}
