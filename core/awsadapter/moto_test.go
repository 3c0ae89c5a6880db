package awsadapter_test

import (
	"context"
	"errors"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/stepcqrs/stepcqrs/core"
	"github.com/stepcqrs/stepcqrs/core/awsadapter"
	"github.com/stepcqrs/stepcqrs/localstack"
	"github.com/stepcqrs/stepcqrs/localstack/endpointtest"
)

// TestConditionFailureCarriesStoredItem checks that a failed condition
// reports the stored item, for single writes and inside a transaction.
func TestConditionFailureCarriesStoredItem(t *testing.T) {
	cfg := endpointtest.Config(t)
	ctx := context.Background()
	db := dynamodb.NewFromConfig(cfg)
	table := endpointtest.Name("cond")
	if _, err := localstack.EnsureTable(ctx, db, localstack.TableSpec{Name: table}); err != nil {
		t.Fatal(err)
	}
	st := awsadapter.NewItemStore(db)
	it := kv("P", "S")
	it["version"] = &types.AttributeValueMemberN{Value: "3"}
	if err := st.Put(ctx, table, it, core.IfAbsent()); err != nil {
		t.Fatal(err)
	}
	err := st.Put(ctx, table, it, core.IfAbsent())
	var cf *core.ConditionFailedError
	if !errors.As(err, &cf) || cf.Table != table || cf.Key != (core.Key{PK: "P", SK: "S"}) {
		t.Fatalf("second put: %v", err)
	}
	if v, ok := cf.Item["version"].(*types.AttributeValueMemberN); !ok || v.Value != "3" {
		t.Errorf("Put condition failure item = %v, want the stored item", cf.Item)
	}
	_, err = st.Update(ctx, table, core.Key{PK: "P", SK: "S"}, core.Update{Add: map[string]int64{"n": 1}}, core.IfVersion(2))
	if !errors.As(err, &cf) || cf.Item == nil {
		t.Errorf("Update condition failure: %v, item %v", err, cf)
	}
	err = st.Transact(ctx, []core.TxOp{
		{Table: table, Put: kv("P", "T"), Cond: core.IfAbsent()},
		{Table: table, Check: true, Key: core.Key{PK: "P", SK: "S"}, Cond: core.IfVersion(2)},
	})
	var tce *core.TransactionCanceledError
	if !errors.As(err, &tce) || len(tce.Reasons) != 2 || tce.Reasons[0] != nil || !errors.As(tce.Reasons[1], &cf) {
		t.Fatalf("transaction: %v", err)
	}
	if cf.Key.SK != "S" {
		t.Fatalf("transaction reason key %v", cf.Key)
	}
	if cf.Item == nil {
		t.Logf("endpoint returns no item in the cancellation reason")
	}
	if _, err := st.Get(ctx, table, core.Key{PK: "P", SK: "T"}, true); !errors.Is(err, core.ErrNotFound) {
		t.Fatalf("canceled transaction wrote: %v", err)
	}
}
