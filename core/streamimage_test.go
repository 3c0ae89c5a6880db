package core_test

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/stepcqrs/stepcqrs/core"
)

func TestStreamImageRoundTrip(t *testing.T) {
	s := func(v string) core.AttributeValue { return &types.AttributeValueMemberS{Value: v} }
	items := []core.Item{
		{},
		{"pk": s("p"), "sk": s("s"), "a": s("b")},
		{
			"n":    &types.AttributeValueMemberN{Value: "-1.5"},
			"b":    &types.AttributeValueMemberB{Value: []byte{0, 1}},
			"t":    &types.AttributeValueMemberBOOL{Value: true},
			"null": &types.AttributeValueMemberNULL{Value: true},
			"ss":   &types.AttributeValueMemberSS{Value: []string{"a", "b"}},
			"ns":   &types.AttributeValueMemberNS{Value: []string{"1", "2"}},
			"bs":   &types.AttributeValueMemberBS{Value: [][]byte{{1}, {2}}},
			"l":    &types.AttributeValueMemberL{Value: []core.AttributeValue{s("x"), &types.AttributeValueMemberL{}}},
			"m":    &types.AttributeValueMemberM{Value: map[string]core.AttributeValue{"k": s("v"), "e": &types.AttributeValueMemberM{Value: map[string]core.AttributeValue{}}}},
		},
	}
	render := func(item core.Item) string {
		b, err := json.Marshal(core.ToStreamImage(item))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	for i, item := range items {
		back, err := core.FromStreamImage(core.ToStreamImage(item))
		if err != nil {
			t.Fatalf("item %d: %v", i, err)
		}
		if a, b := render(item), render(back); a != b {
			t.Errorf("item %d: round trip\n %s\nto\n %s", i, a, b)
		}
		if !core.AttributeValuesEqual(&types.AttributeValueMemberM{Value: item}, &types.AttributeValueMemberM{Value: back}) {
			t.Errorf("item %d: round trip changed the item", i)
		}
	}
	if core.ToStreamImage(nil) != nil {
		t.Error("ToStreamImage(nil) is not nil")
	}
	if item, err := core.FromStreamImage(nil); item != nil || err != nil {
		t.Errorf("FromStreamImage(nil) = %v, %v", item, err)
	}
}

// Values aws-lambda-go's accessors panic on give a validation error naming
// the attribute, never a panic.
func TestFromStreamImageGuards(t *testing.T) {
	tests := []struct {
		name  string
		image map[string]events.DynamoDBAttributeValue
	}{
		{"zero value", map[string]events.DynamoDBAttributeValue{"zero": {}}},
		{"zero value in a list", map[string]events.DynamoDBAttributeValue{"l": events.NewListAttribute([]events.DynamoDBAttributeValue{{}})}},
		{"zero value in a map", map[string]events.DynamoDBAttributeValue{"m": events.NewMapAttribute(map[string]events.DynamoDBAttributeValue{"k": {}})}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := core.FromStreamImage(tt.image)
			var ve *core.ValidationError
			if !errors.Is(err, core.ErrValidation) || !errors.As(err, &ve) {
				t.Fatalf("err = %v, want a *core.ValidationError", err)
			}
		})
	}
}
