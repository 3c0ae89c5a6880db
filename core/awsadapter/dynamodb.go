package awsadapter

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/stepcqrs/stepcqrs/core"
)

// DynamoDBAPI is the part of *dynamodb.Client that ItemStore calls.
type DynamoDBAPI interface {
	GetItem(ctx context.Context, in *dynamodb.GetItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
	PutItem(ctx context.Context, in *dynamodb.PutItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error)
	UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error)
	DeleteItem(ctx context.Context, in *dynamodb.DeleteItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.DeleteItemOutput, error)
	Query(ctx context.Context, in *dynamodb.QueryInput, optFns ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error)
	TransactWriteItems(ctx context.Context, in *dynamodb.TransactWriteItemsInput, optFns ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error)
	BatchGetItem(ctx context.Context, in *dynamodb.BatchGetItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.BatchGetItemOutput, error)
	BatchWriteItem(ctx context.Context, in *dynamodb.BatchWriteItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.BatchWriteItemOutput, error)
}

// Limits of DynamoDB's batch operations.
const (
	// BatchGetChunk is the most keys one BatchGetItem call reads.
	BatchGetChunk = 100
	// BatchWriteChunk is the most requests one BatchWriteItem call makes.
	BatchWriteChunk = 25
)

// ItemStore is core.ItemStore on DynamoDB. Tables must have the string
// partition key "pk" and the string sort key "sk".
type ItemStore struct {
	client DynamoDBAPI
	// backoff is the first wait before retrying unprocessed batch items.
	backoff time.Duration
	// maxBackoff caps the wait between retries.
	maxBackoff time.Duration
}

var _ core.ItemStore = (*ItemStore)(nil)

// NewItemStore returns an ItemStore that calls client, typically a
// *dynamodb.Client.
func NewItemStore(client DynamoDBAPI) *ItemStore {
	return &ItemStore{client: client, backoff: 50 * time.Millisecond, maxBackoff: 2 * time.Second}
}

func keyAV(k core.Key) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{
		"pk": &types.AttributeValueMemberS{Value: k.PK},
		"sk": &types.AttributeValueMemberS{Value: k.SK},
	}
}

// keyOf extracts the key of item; ok is false when pk or sk is missing or
// not a string.
func keyOf(item map[string]types.AttributeValue) (core.Key, bool) {
	pk, ok1 := item["pk"].(*types.AttributeValueMemberS)
	sk, ok2 := item["sk"].(*types.AttributeValueMemberS)
	if !ok1 || !ok2 {
		return core.Key{}, false
	}
	return core.Key{PK: pk.Value, SK: sk.Value}, true
}

func itemKey(table string, item core.Item) (core.Key, error) {
	k, ok := keyOf(item)
	if !ok || k.PK == "" || k.SK == "" {
		return core.Key{}, &core.ValidationError{Problems: []string{fmt.Sprintf("item for table %s needs non-empty string attributes pk and sk", table)}}
	}
	return k, nil
}

func itemName(table string, k core.Key) string { return table + " " + k.PK + "/" + k.SK }

// conditionOf translates c into a condition builder; ok is false for the
// always-true condition.
func conditionOf(c core.Condition) (cb expression.ConditionBuilder, ok bool, err error) {
	f := c.Form()
	pk := expression.NameNoDotSplit("pk")
	ver := expression.NameNoDotSplit(core.VersionAttr)
	switch {
	case f.Absent:
		return expression.AttributeNotExists(pk), true, nil
	case f.Exists:
		return expression.AttributeExists(pk), true, nil
	case f.Version:
		return expression.Equal(ver, expression.Value(&types.AttributeValueMemberN{Value: fmt.Sprint(f.VersionValue)})), true, nil
	case f.VersionBelow:
		return expression.Or(
			expression.AttributeNotExists(pk),
			expression.AttributeNotExists(ver),
			expression.LessThan(ver, expression.Value(&types.AttributeValueMemberN{Value: fmt.Sprint(f.VersionValue)})),
		), true, nil
	case f.AttrEquals:
		if f.Attr == "" || f.Value == nil {
			return cb, false, &core.ValidationError{Problems: []string{"IfAttrEquals needs an attribute name and a value"}}
		}
		return expression.Equal(expression.NameNoDotSplit(f.Attr), expression.Value(f.Value)), true, nil
	}
	return cb, false, nil
}

// condExpr builds the condition expression of c alone.
func condExpr(c core.Condition) (*expression.Expression, error) {
	cb, ok, err := conditionOf(c)
	if err != nil || !ok {
		return nil, err
	}
	e, err := expression.NewBuilder().WithCondition(cb).Build()
	if err != nil {
		return nil, fmt.Errorf("stepcqrs: building condition: %w", err)
	}
	return &e, nil
}

// updateBuilder validates upd and translates it; ok is false when upd
// changes nothing.
func updateBuilder(upd core.Update) (ub expression.UpdateBuilder, ok bool, err error) {
	seen := map[string]bool{}
	var problems []string
	use := func(name string) {
		switch {
		case name == "":
			problems = append(problems, "update names an empty attribute")
		case name == "pk" || name == "sk":
			problems = append(problems, "update may not change key attribute "+name)
		case seen[name]:
			problems = append(problems, "update names attribute "+name+" twice")
		}
		seen[name] = true
	}
	for name, v := range upd.Set {
		use(name)
		if v == nil {
			problems = append(problems, "update sets attribute "+name+" to a nil value")
			continue
		}
		ub = ub.Set(expression.NameNoDotSplit(name), expression.Value(v))
		ok = true
	}
	for _, name := range upd.Remove {
		use(name)
		ub = ub.Remove(expression.NameNoDotSplit(name))
		ok = true
	}
	for name, n := range upd.Add {
		use(name)
		ub = ub.Add(expression.NameNoDotSplit(name), expression.Value(&types.AttributeValueMemberN{Value: fmt.Sprint(n)}))
		ok = true
	}
	if len(problems) > 0 {
		return ub, false, &core.ValidationError{Problems: problems}
	}
	return ub, ok, nil
}

// updateExpr builds the update and condition expressions of one update; nil
// when there is neither.
func updateExpr(upd core.Update, c core.Condition) (*expression.Expression, error) {
	ub, hasUpd, err := updateBuilder(upd)
	if err != nil {
		return nil, err
	}
	cb, hasCond, err := conditionOf(c)
	if err != nil {
		return nil, err
	}
	if !hasUpd && !hasCond {
		return nil, nil
	}
	b := expression.NewBuilder()
	if hasUpd {
		b = b.WithUpdate(ub)
	}
	if hasCond {
		b = b.WithCondition(cb)
	}
	e, err := b.Build()
	if err != nil {
		return nil, fmt.Errorf("stepcqrs: building update: %w", err)
	}
	return &e, nil
}

// mapWriteErr translates the error of a single-item write on table/key.
func mapWriteErr(table string, k core.Key, err error) error {
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		return &wrapped{typed: &core.ConditionFailedError{Table: table, Key: k, Item: ccf.Item}, cause: err}
	}
	return mapErr(table, err)
}

// mapErr translates errors every DynamoDB call may return.
func mapErr(table string, err error) error {
	switch {
	case err == nil:
		return nil
	case isItemTooLarge(err):
		return &wrapped{typed: &ItemTooLargeError{Table: table}, cause: err}
	case apiCode(err) == "ResourceNotFoundException":
		return notFound("table", table, err)
	case apiCode(err) == "ValidationException":
		return &wrapped{typed: &core.ValidationError{Problems: []string{apiMessage(err)}}, cause: err}
	}
	return transient("dynamodb", err)
}

// Get implements core.ItemStore.
func (s *ItemStore) Get(ctx context.Context, table string, key core.Key, consistent bool) (core.Item, error) {
	out, err := s.client.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      aws.String(table),
		Key:            keyAV(key),
		ConsistentRead: aws.Bool(consistent),
	})
	if err != nil {
		return nil, mapErr(table, err)
	}
	if out.Item == nil {
		return nil, &core.NotFoundError{Kind: "item", Name: itemName(table, key)}
	}
	return out.Item, nil
}

// Put implements core.ItemStore. Items over core.MaxItemBytes are rejected
// before they are sent.
func (s *ItemStore) Put(ctx context.Context, table string, item core.Item, cond core.Condition) error {
	k, err := itemKey(table, item)
	if err != nil {
		return err
	}
	if err := checkSize(table, item); err != nil {
		return err
	}
	e, err := condExpr(cond)
	if err != nil {
		return err
	}
	in := &dynamodb.PutItemInput{TableName: aws.String(table), Item: item}
	if e != nil {
		in.ConditionExpression = e.Condition()
		in.ExpressionAttributeNames = e.Names()
		in.ExpressionAttributeValues = e.Values()
		in.ReturnValuesOnConditionCheckFailure = types.ReturnValuesOnConditionCheckFailureAllOld
	}
	_, err = s.client.PutItem(ctx, in)
	return mapWriteErr(table, k, err)
}

// Update implements core.ItemStore with one UpdateItem call (SET, REMOVE and
// ADD clauses) that returns the item as it is afterwards.
func (s *ItemStore) Update(ctx context.Context, table string, key core.Key, upd core.Update, cond core.Condition) (core.Item, error) {
	e, err := updateExpr(upd, cond)
	if err != nil {
		return nil, err
	}
	in := &dynamodb.UpdateItemInput{
		TableName:    aws.String(table),
		Key:          keyAV(key),
		ReturnValues: types.ReturnValueAllNew,
	}
	if e != nil {
		in.UpdateExpression = e.Update()
		in.ConditionExpression = e.Condition()
		in.ExpressionAttributeNames = e.Names()
		in.ExpressionAttributeValues = e.Values()
		if in.ConditionExpression != nil {
			in.ReturnValuesOnConditionCheckFailure = types.ReturnValuesOnConditionCheckFailureAllOld
		}
	}
	out, err := s.client.UpdateItem(ctx, in)
	if err != nil {
		return nil, mapWriteErr(table, key, err)
	}
	item := out.Attributes
	if item == nil {
		item = keyAV(key)
	}
	return item, nil
}

// Delete implements core.ItemStore.
func (s *ItemStore) Delete(ctx context.Context, table string, key core.Key, cond core.Condition) error {
	e, err := condExpr(cond)
	if err != nil {
		return err
	}
	in := &dynamodb.DeleteItemInput{TableName: aws.String(table), Key: keyAV(key)}
	if e != nil {
		in.ConditionExpression = e.Condition()
		in.ExpressionAttributeNames = e.Names()
		in.ExpressionAttributeValues = e.Values()
		in.ReturnValuesOnConditionCheckFailure = types.ReturnValuesOnConditionCheckFailureAllOld
	}
	_, err = s.client.DeleteItem(ctx, in)
	return mapWriteErr(table, key, err)
}

// keyCondition translates the key part of q.
func keyCondition(q core.Query) (expression.KeyConditionBuilder, error) {
	return keyConditionOn("pk", "sk", q.PK, q.Op, q.SK, q.SK2)
}

// keyConditionOn translates a key condition on the key attributes pkAttr
// and skAttr (a table's or an index's).
func keyConditionOn(pkAttr, skAttr, pk string, op core.SKOp, skv, sk2 string) (expression.KeyConditionBuilder, error) {
	kc := expression.Key(pkAttr).Equal(expression.Value(pk))
	sk := expression.Key(skAttr)
	v := expression.Value(skv)
	var c expression.KeyConditionBuilder
	switch op {
	case core.SKAny:
		return kc, nil
	case core.SKEqual:
		c = sk.Equal(v)
	case core.SKBeginsWith:
		c = sk.BeginsWith(skv)
	case core.SKLess:
		c = sk.LessThan(v)
	case core.SKLessEq:
		c = sk.LessThanEqual(v)
	case core.SKGreater:
		c = sk.GreaterThan(v)
	case core.SKGreaterEq:
		c = sk.GreaterThanEqual(v)
	case core.SKBetween:
		c = sk.Between(v, expression.Value(sk2))
	default:
		return kc, &core.ValidationError{Problems: []string{fmt.Sprintf("unknown sort-key comparison %d", op)}}
	}
	return kc.And(c), nil
}

// Query implements core.ItemStore. With a Limit it asks DynamoDB for one
// item more than the page holds, so that Next is nil exactly when the
// partition has no more matching items (DynamoDB alone returns a
// LastEvaluatedKey whenever a page is full).
func (s *ItemStore) Query(ctx context.Context, table string, q core.Query) (core.Page, error) {
	if q.Limit < 0 {
		return core.Page{}, &core.ValidationError{Problems: []string{"query limit must not be negative"}}
	}
	if q.Op == core.SKBetween && q.SK > q.SK2 {
		// DynamoDB rejects an empty range; the port reads it as no items.
		return core.Page{}, nil
	}
	kc, err := keyCondition(q)
	if err != nil {
		return core.Page{}, err
	}
	e, err := expression.NewBuilder().WithKeyCondition(kc).Build()
	if err != nil {
		return core.Page{}, fmt.Errorf("stepcqrs: building query: %w", err)
	}
	in := &dynamodb.QueryInput{
		TableName:                 aws.String(table),
		KeyConditionExpression:    e.KeyCondition(),
		ExpressionAttributeNames:  e.Names(),
		ExpressionAttributeValues: e.Values(),
		ScanIndexForward:          aws.Bool(!q.Descending),
		ConsistentRead:            aws.Bool(q.ConsistentRead),
	}
	if q.Limit > 0 {
		in.Limit = aws.Int32(int32(min(q.Limit, 1<<30)) + 1)
	}
	if q.StartAfter != nil {
		in.ExclusiveStartKey = keyAV(*q.StartAfter)
	}
	out, err := s.client.Query(ctx, in)
	if err != nil {
		return core.Page{}, mapErr(table, err)
	}
	page := core.Page{Items: out.Items}
	if q.Limit > 0 && len(page.Items) > q.Limit {
		page.Items = page.Items[:q.Limit]
		k, _ := keyOf(page.Items[q.Limit-1])
		page.Next = &k
		return page, nil
	}
	if out.LastEvaluatedKey != nil {
		if k, ok := keyOf(out.LastEvaluatedKey); ok {
			page.Next = &k
		}
	}
	return page, nil
}

type txTarget struct {
	table string
	key   core.Key
}

// Transact implements core.ItemStore with one TransactWriteItems call.
func (s *ItemStore) Transact(ctx context.Context, ops []core.TxOp) error {
	if len(ops) == 0 {
		return nil
	}
	if len(ops) > core.MaxTransactItems {
		return &core.ValidationError{Problems: []string{fmt.Sprintf("transaction has %d operations, at most %d allowed", len(ops), core.MaxTransactItems)}}
	}
	items := make([]types.TransactWriteItem, len(ops))
	targets := make([]txTarget, len(ops))
	seen := map[txTarget]int{}
	for i, op := range ops {
		it, k, err := s.txItem(op)
		if err != nil {
			return fmt.Errorf("stepcqrs: transaction op %d: %w", i, err)
		}
		t := txTarget{op.Table, k}
		if j, dup := seen[t]; dup {
			return &core.ValidationError{Problems: []string{fmt.Sprintf("transaction ops %d and %d write the same item %s", j, i, itemName(op.Table, k))}}
		}
		seen[t] = i
		items[i], targets[i] = it, t
	}
	_, err := s.client.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: items})
	if err == nil {
		return nil
	}
	var tce *types.TransactionCanceledException
	if !errors.As(err, &tce) {
		table := ""
		if len(ops) > 0 {
			table = ops[0].Table
		}
		return mapErr(table, err)
	}
	canceled := cancellation(tce, targets)
	if passing(canceled) {
		return &core.TransientError{Service: "dynamodb", Err: &wrapped{typed: canceled, cause: err}}
	}
	return &wrapped{typed: canceled, cause: err}
}

// passingTxReasons are the cancellation reasons of a transaction that a
// retry may overcome: contention with another transaction and throttling.
var passingTxReasons = map[string]bool{
	"TransactionConflict":           true,
	"ThrottlingError":               true,
	"ProvisionedThroughputExceeded": true,
	"RequestLimitExceeded":          true,
}

// passing reports whether every reason of a cancellation is a passing one.
func passing(tc *core.TransactionCanceledError) bool {
	n := 0
	for _, r := range tc.Reasons {
		if r == nil {
			continue
		}
		var tr *TxReasonError
		if !errors.As(r, &tr) || !passingTxReasons[tr.Code] {
			return false
		}
		n++
	}
	return n > 0
}

// cancelCodes parses "[ConditionalCheckFailed, None]" from the message of a
// cancellation that carries no structured reasons.
var cancelCodes = regexp.MustCompile(`\[([A-Za-z, ]+)\]`)

// cancellation builds the per-op reasons of a canceled transaction.
func cancellation(tce *types.TransactionCanceledException, targets []txTarget) *core.TransactionCanceledError {
	reasons := make([]error, len(targets))
	codes := make([]string, len(targets))
	msgs := make([]string, len(targets))
	olds := make([]core.Item, len(targets))
	if len(tce.CancellationReasons) > 0 {
		for i, r := range tce.CancellationReasons {
			if i >= len(targets) {
				break
			}
			codes[i], msgs[i], olds[i] = aws.ToString(r.Code), aws.ToString(r.Message), r.Item
		}
	} else if m := cancelCodes.FindStringSubmatch(aws.ToString(tce.Message)); m != nil {
		for i, c := range strings.Split(m[1], ",") {
			if i < len(codes) {
				codes[i] = strings.TrimSpace(c)
			}
		}
	}
	known := false
	for i, c := range codes {
		t := targets[i]
		switch c {
		case "", "None":
		case "ConditionalCheckFailed":
			reasons[i] = &core.ConditionFailedError{Table: t.table, Key: t.key, Item: olds[i]}
			known = true
		case "ValidationError":
			if strings.Contains(msgs[i], "size") {
				reasons[i] = &ItemTooLargeError{Table: t.table}
			} else {
				reasons[i] = &TxReasonError{Code: c, Message: msgs[i]}
			}
			known = true
		default:
			reasons[i] = &TxReasonError{Code: c, Message: msgs[i]}
			known = true
		}
	}
	if !known {
		// No usable reason: blame the whole transaction on op 0 rather than
		// report a cancellation without cause.
		reasons[0] = &TxReasonError{Code: "Unknown", Message: aws.ToString(tce.Message)}
	}
	return &core.TransactionCanceledError{Reasons: reasons}
}

// TxReasonError is why DynamoDB canceled one operation of a transaction for
// a reason other than a failed condition (TransactionConflict,
// ThrottlingError, …).
type TxReasonError struct {
	Code, Message string
}

// Error returns the code and message DynamoDB gave.
func (e *TxReasonError) Error() string {
	if e.Message == "" {
		return "stepcqrs: " + e.Code
	}
	return "stepcqrs: " + e.Code + ": " + e.Message
}

func (s *ItemStore) txItem(op core.TxOp) (types.TransactWriteItem, core.Key, error) {
	n := 0
	for _, b := range []bool{op.Put != nil, op.Update != nil, op.Delete, op.Check} {
		if b {
			n++
		}
	}
	if n != 1 {
		return types.TransactWriteItem{}, core.Key{}, &core.ValidationError{Problems: []string{"exactly one of Put, Update, Delete, Check must be set"}}
	}
	table := aws.String(op.Table)
	allOld := types.ReturnValuesOnConditionCheckFailureAllOld
	switch {
	case op.Put != nil:
		k, err := itemKey(op.Table, op.Put)
		if err != nil {
			return types.TransactWriteItem{}, k, err
		}
		if err := checkSize(op.Table, op.Put); err != nil {
			return types.TransactWriteItem{}, k, err
		}
		e, err := condExpr(op.Cond)
		if err != nil {
			return types.TransactWriteItem{}, k, err
		}
		p := &types.Put{TableName: table, Item: op.Put}
		if e != nil {
			p.ConditionExpression, p.ExpressionAttributeNames, p.ExpressionAttributeValues = e.Condition(), e.Names(), e.Values()
			p.ReturnValuesOnConditionCheckFailure = allOld
		}
		return types.TransactWriteItem{Put: p}, k, nil
	case op.Update != nil:
		e, err := updateExpr(*op.Update, op.Cond)
		if err != nil {
			return types.TransactWriteItem{}, op.Key, err
		}
		if e == nil || e.Update() == nil {
			return types.TransactWriteItem{}, op.Key, &core.ValidationError{Problems: []string{"transaction update changes nothing"}}
		}
		u := &types.Update{TableName: table, Key: keyAV(op.Key), UpdateExpression: e.Update(),
			ConditionExpression: e.Condition(), ExpressionAttributeNames: e.Names(), ExpressionAttributeValues: e.Values()}
		if u.ConditionExpression != nil {
			u.ReturnValuesOnConditionCheckFailure = allOld
		}
		return types.TransactWriteItem{Update: u}, op.Key, nil
	case op.Delete:
		e, err := condExpr(op.Cond)
		if err != nil {
			return types.TransactWriteItem{}, op.Key, err
		}
		d := &types.Delete{TableName: table, Key: keyAV(op.Key)}
		if e != nil {
			d.ConditionExpression, d.ExpressionAttributeNames, d.ExpressionAttributeValues = e.Condition(), e.Names(), e.Values()
			d.ReturnValuesOnConditionCheckFailure = allOld
		}
		return types.TransactWriteItem{Delete: d}, op.Key, nil
	default:
		e, err := condExpr(op.Cond)
		if err != nil {
			return types.TransactWriteItem{}, op.Key, err
		}
		if e == nil {
			return types.TransactWriteItem{}, op.Key, &core.ValidationError{Problems: []string{"transaction check needs a condition"}}
		}
		return types.TransactWriteItem{ConditionCheck: &types.ConditionCheck{TableName: table, Key: keyAV(op.Key),
			ConditionExpression: e.Condition(), ExpressionAttributeNames: e.Names(), ExpressionAttributeValues: e.Values(),
			ReturnValuesOnConditionCheckFailure: allOld}}, op.Key, nil
	}
}

// sleep waits d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// BatchGet implements core.ItemStore with BatchGetItem calls of at most
// BatchGetChunk keys, retrying unprocessed keys with exponential backoff.
// Duplicate keys are read once.
func (s *ItemStore) BatchGet(ctx context.Context, table string, keys []core.Key, consistent bool) ([]core.Item, error) {
	seen := make(map[core.Key]bool, len(keys))
	uniq := make([]core.Key, 0, len(keys))
	for _, k := range keys {
		if !seen[k] {
			seen[k] = true
			uniq = append(uniq, k)
		}
	}
	var items []core.Item
	for start := 0; start < len(uniq); start += BatchGetChunk {
		chunk := uniq[start:min(start+BatchGetChunk, len(uniq))]
		avs := make([]map[string]types.AttributeValue, len(chunk))
		for i, k := range chunk {
			avs[i] = keyAV(k)
		}
		req := map[string]types.KeysAndAttributes{table: {Keys: avs, ConsistentRead: aws.Bool(consistent)}}
		wait := s.backoff
		for len(req) > 0 {
			out, err := s.client.BatchGetItem(ctx, &dynamodb.BatchGetItemInput{RequestItems: req})
			if err != nil {
				return nil, mapErr(table, err)
			}
			items = append(items, out.Responses[table]...)
			req = out.UnprocessedKeys
			if len(req[table].Keys) == 0 {
				break
			}
			if err := sleep(ctx, wait); err != nil {
				return nil, err
			}
			wait = min(2*wait, s.maxBackoff)
		}
	}
	return items, nil
}

// BatchWrite implements core.ItemStore with BatchWriteItem calls of at most
// BatchWriteChunk requests, retrying unprocessed items with exponential
// backoff. Puts are applied before deletes; when one key appears more than
// once the last request for it wins (DynamoDB rejects a batch that names a
// key twice).
func (s *ItemStore) BatchWrite(ctx context.Context, table string, puts []core.Item, deletes []core.Key) error {
	var reqs []types.WriteRequest
	pos := map[core.Key]int{}
	add := func(k core.Key, r types.WriteRequest) {
		if i, ok := pos[k]; ok {
			reqs[i] = r
			return
		}
		pos[k] = len(reqs)
		reqs = append(reqs, r)
	}
	for _, it := range puts {
		k, err := itemKey(table, it)
		if err != nil {
			return err
		}
		if err := checkSize(table, it); err != nil {
			return err
		}
		add(k, types.WriteRequest{PutRequest: &types.PutRequest{Item: it}})
	}
	for _, k := range deletes {
		add(k, types.WriteRequest{DeleteRequest: &types.DeleteRequest{Key: keyAV(k)}})
	}
	for start := 0; start < len(reqs); start += BatchWriteChunk {
		req := map[string][]types.WriteRequest{table: reqs[start:min(start+BatchWriteChunk, len(reqs))]}
		wait := s.backoff
		for len(req[table]) > 0 {
			out, err := s.client.BatchWriteItem(ctx, &dynamodb.BatchWriteItemInput{RequestItems: req})
			if err != nil {
				return mapErr(table, err)
			}
			req = out.UnprocessedItems
			if len(req[table]) == 0 {
				break
			}
			if err := sleep(ctx, wait); err != nil {
				return err
			}
			wait = min(2*wait, s.maxBackoff)
		}
	}
	return nil
}
