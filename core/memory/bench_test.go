package memory_test

import (
	"context"
	"strconv"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/stepcqrs/stepcqrs/core"
	"github.com/stepcqrs/stepcqrs/core/memory"
)

// benchItem is a command-row-sized item.
func benchItem(pk, sk string) core.Item {
	return core.Item{
		"pk": sv(pk), "sk": sv(sk), "id": sv(pk + "#" + sk), "code": sv("code"), "name": sv("a name"),
		"version": &types.AttributeValueMemberN{Value: "3"}, "tenantCode": sv("tenant"), "type": sv("ORDER"),
		"isDeleted": &types.AttributeValueMemberBOOL{}, "attributes": &types.AttributeValueMemberM{Value: map[string]core.AttributeValue{
			"amount": &types.AttributeValueMemberN{Value: "12.5"}, "note": sv("some text"),
		}},
	}
}

func BenchmarkPut(b *testing.B) {
	ctx := context.Background()
	for _, stream := range []bool{false, true} {
		b.Run("stream="+strconv.FormatBool(stream), func(b *testing.B) {
			st := memory.NewStore()
			if stream {
				_ = st.EnableStream("t", memory.StreamNewAndOldImages)
				st.Subscribe("t", func(events.DynamoDBEventRecord) {})
			}
			items := make([]core.Item, 1024)
			for i := range items {
				items[i] = benchItem("P#"+strconv.Itoa(i%16), "S#"+strconv.Itoa(i))
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				item := items[i%len(items)]
				item["seq"] = &types.AttributeValueMemberN{Value: strconv.Itoa(i)} // every put changes the item
				if err := st.Put(ctx, "t", item, core.Condition{}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkGet(b *testing.B) {
	ctx := context.Background()
	st := memory.NewStore()
	for i := range 1024 {
		if err := st.Put(ctx, "t", benchItem("P#"+strconv.Itoa(i%16), "S#"+strconv.Itoa(i)), core.Condition{}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		k := i % 1024
		if _, err := st.Get(ctx, "t", core.Key{PK: "P#" + strconv.Itoa(k%16), SK: "S#" + strconv.Itoa(k)}, true); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkTransact measures the apply step's shape: history copy, data
// row conditioned on the previous version, TTL update on the command.
func BenchmarkTransact(b *testing.B) {
	ctx := context.Background()
	st := memory.NewStore()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		pk := "P#" + strconv.Itoa(i)
		err := st.Transact(ctx, []core.TxOp{
			{Table: "history", Put: benchItem(pk, "S@1")},
			{Table: "data", Put: benchItem(pk, "S"), Cond: core.IfVersionBelow(2)},
			{Table: "command", Key: core.Key{PK: pk, SK: "S@1"}, Update: &core.Update{Set: map[string]core.AttributeValue{"ttl": &types.AttributeValueMemberN{Value: "1700000000"}}}},
		})
		if err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkQueryPage(b *testing.B) {
	ctx := context.Background()
	st := memory.NewStore()
	for i := range 1000 {
		if err := st.Put(ctx, "t", benchItem("P", "S#"+strconv.Itoa(100000+i)), core.Condition{}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := st.Query(ctx, "t", core.Query{PK: "P", Op: core.SKBeginsWith, SK: "S#1005", Limit: 25}); err != nil {
			b.Fatal(err)
		}
	}
}
