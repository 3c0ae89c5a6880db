package core_test

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/stepcqrs/stepcqrs/core"
)

func TestItemSize(t *testing.T) {
	s := func(v string) core.AttributeValue { return &types.AttributeValueMemberS{Value: v} }
	n := func(v string) core.AttributeValue { return &types.AttributeValueMemberN{Value: v} }
	cases := []struct {
		name string
		item core.Item
		want int
	}{
		{"empty", core.Item{}, 0},
		{"string", core.Item{"ab": s("héllo")}, 2 + 6},
		{"number 3 digits", core.Item{"n": n("123")}, 1 + 3},
		{"number trailing zeros", core.Item{"n": n("1000")}, 1 + 2},
		{"number decimals", core.Item{"n": n("-0.0012")}, 1 + 2},
		{"bool and null", core.Item{"b": &types.AttributeValueMemberBOOL{}, "z": &types.AttributeValueMemberNULL{Value: true}}, 2 + 2},
		{"binary", core.Item{"b": &types.AttributeValueMemberB{Value: make([]byte, 10)}}, 11},
		{"string set", core.Item{"ss": &types.AttributeValueMemberSS{Value: []string{"a", "bc"}}}, 2 + 3},
		{"list", core.Item{"l": &types.AttributeValueMemberL{Value: []core.AttributeValue{s("ab"), s("c")}}}, 1 + 3 + 3 + 2},
		{"map", core.Item{"m": &types.AttributeValueMemberM{Value: map[string]core.AttributeValue{"k": s("vv")}}}, 1 + 3 + 1 + 1 + 2},
	}
	for _, c := range cases {
		if got := core.ItemSize(c.item); got != c.want {
			t.Errorf("%s: ItemSize = %d, want %d", c.name, got, c.want)
		}
	}
}
