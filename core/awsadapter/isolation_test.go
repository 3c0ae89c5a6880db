//go:build motorepro

package awsadapter_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/stepcqrs/stepcqrs/localstack"
	"github.com/stepcqrs/stepcqrs/localstack/endpointtest"
)

// TestTransactWriteItemsIsolation is a minimal reproduction of an endpoint
// property the command flow relies on: two TransactWriteItems conditioned
// on the same stored value, sent at the same time, must not both commit,
// and a cancelled one must not undo the other's committed write. DynamoDB
// guarantees both (transactions are serializable). moto 5.2.1 does not: its
// transact_write_items checks each condition and writes item by item
// without a lock, and on a failed condition it restores a deep copy of the
// whole table taken when the call started, erasing anything another
// request committed meanwhile.
//
// The race is probabilistic, so the test is built only when asked:
//
//	go test -tags motorepro -v -run TestTransactWriteItemsIsolation ./core/awsadapter/
//
// It reports how many of N races broke isolation and fails if any did.
// Tests of concurrency properties therefore send their requests to moto
// one at a time (endpointtest.Serialized) and check the property under
// real concurrency on the in-memory store, which is serializable.
func TestTransactWriteItemsIsolation(t *testing.T) {
	cfg := endpointtest.Config(t)
	ctx := context.Background()
	db := dynamodb.NewFromConfig(cfg)
	table := endpointtest.Name("iso")
	if _, err := localstack.EnsureTable(ctx, db, localstack.TableSpec{Name: table}); err != nil {
		t.Fatal(err)
	}
	str := func(s string) types.AttributeValue { return &types.AttributeValueMemberS{Value: s} }
	num := func(n int) types.AttributeValue { return &types.AttributeValueMemberN{Value: fmt.Sprint(n)} }
	// tx moves item (pk, "data") from version v to v+1 and marks the
	// writer's own row, as an apply does: a conditioned Put plus an
	// Update of another item.
	tx := func(pk string, v int, writer string) error {
		_, err := db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{
			{Put: &types.Put{
				TableName:                 aws.String(table),
				Item:                      map[string]types.AttributeValue{"pk": str(pk), "sk": str("data"), "version": num(v + 1), "by": str(writer)},
				ConditionExpression:       aws.String("version = :v"),
				ExpressionAttributeValues: map[string]types.AttributeValue{":v": num(v)},
			}},
			{Update: &types.Update{
				TableName:                 aws.String(table),
				Key:                       map[string]types.AttributeValue{"pk": str(pk), "sk": str("mark#" + writer)},
				UpdateExpression:          aws.String("SET won = :t"),
				ExpressionAttributeValues: map[string]types.AttributeValue{":t": &types.AttributeValueMemberBOOL{Value: true}},
			}},
		}})
		return err
	}
	const races = 200
	bothCommitted, bothCancelled, erased := 0, 0, 0
	for i := range races {
		pk := fmt.Sprintf("race-%d", i)
		if _, err := db.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(table),
			Item: map[string]types.AttributeValue{"pk": str(pk), "sk": str("data"), "version": num(1)}}); err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		errs := make([]error, 2)
		start := make(chan struct{})
		for w := range 2 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				errs[w] = tx(pk, 1, fmt.Sprint(w))
			}()
		}
		close(start)
		wg.Wait()
		ok := 0
		for _, err := range errs {
			var tce *types.TransactionCanceledException
			switch {
			case err == nil:
				ok++
			case errors.As(err, &tce):
			default:
				t.Fatalf("race %d: %v", i, err)
			}
		}
		switch ok {
		case 2:
			bothCommitted++
		case 0:
			// One of them started from version 1, which held: a
			// serializable store commits it.
			bothCancelled++
		case 1:
			// The winner's writes must all be there.
			out, err := db.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(table), ConsistentRead: aws.Bool(true),
				Key: map[string]types.AttributeValue{"pk": str(pk), "sk": str("data")}})
			if err != nil {
				t.Fatal(err)
			}
			if v, _ := out.Item["version"].(*types.AttributeValueMemberN); v == nil || v.Value != "2" {
				erased++
			}
		}
	}
	t.Logf("%d races: %d with both transactions committed, %d with both cancelled, %d where a cancelled transaction erased the committed one",
		races, bothCommitted, bothCancelled, erased)
	if bad := bothCommitted + bothCancelled + erased; bad > 0 {
		t.Errorf("the endpoint does not isolate concurrent TransactWriteItems (%d of %d races)", bad, races)
	}
}
