package eventfactory

import (
	"encoding/json"
	"errors"
	"reflect"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/stepcqrs/stepcqrs/core"
)

func TestStreamImageAllTypes(t *testing.T) {
	var image map[string]events.DynamoDBAttributeValue
	err := json.Unmarshal([]byte(`{
		"s": {"S": "x"}, "n": {"N": "123456789012345678901234567890"}, "b": {"B": "AQI="},
		"t": {"BOOL": true}, "z": {"NULL": true},
		"m": {"M": {"in": {"L": [{"S": "a"}, {"NS": ["1"]}]}}},
		"ss": {"SS": ["a", "b"]}, "ns": {"NS": ["1", "-2.5e3"]}, "bs": {"BS": ["AQ==", "Ag=="]}
	}`), &image)
	if err != nil {
		t.Fatal(err)
	}
	got, err := core.FromStreamImage(image)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]types.AttributeValue{
		"s": &types.AttributeValueMemberS{Value: "x"},
		"n": &types.AttributeValueMemberN{Value: "123456789012345678901234567890"},
		"b": &types.AttributeValueMemberB{Value: []byte{1, 2}},
		"t": &types.AttributeValueMemberBOOL{Value: true},
		"z": &types.AttributeValueMemberNULL{Value: true},
		"m": &types.AttributeValueMemberM{Value: map[string]types.AttributeValue{
			"in": &types.AttributeValueMemberL{Value: []types.AttributeValue{
				&types.AttributeValueMemberS{Value: "a"},
				&types.AttributeValueMemberNS{Value: []string{"1"}},
			}},
		}},
		"ss": &types.AttributeValueMemberSS{Value: []string{"a", "b"}},
		"ns": &types.AttributeValueMemberNS{Value: []string{"1", "-2.5e3"}},
		"bs": &types.AttributeValueMemberBS{Value: [][]byte{{1}, {2}}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %#v", got)
	}
	if item, err := core.FromStreamImage(nil); item != nil || err != nil {
		t.Error("nil image")
	}
}

func TestDecodeStreamRecordGuards(t *testing.T) {
	for name, raw := range map[string]string{
		"BS with numbers":     `{"dynamodb": {"NewImage": {"x": {"BS": [1]}}}}`,
		"NULL false":          `{"dynamodb": {"NewImage": {"x": {"NULL": false}}}}`,
		"nested NULL false":   `{"dynamodb": {"NewImage": {"x": {"M": {"y": {"L": [{"NULL": false}]}}}}}}`,
		"escaped NULL false":  `{"dynamodb": {"NewImage": {"x": {"\u004eULL": false}}}}`,
		"two types":           `{"dynamodb": {"NewImage": {"x": {"S": "a", "N": "1"}}}}`,
		"unknown type":        `{"dynamodb": {"NewImage": {"x": {"Q": "a"}}}}`,
		"bad base64":          `{"dynamodb": {"Keys": {"x": {"B": "%%%"}}}}`,
		"S not string":        `{"dynamodb": {"NewImage": {"x": {"S": 1}}}}`,
		"L of scalars":        `{"dynamodb": {"NewImage": {"x": {"L": [1]}}}}`,
		"image not an object": `{"dynamodb": {"NewImage": []}}`,
		"not an object":       `"record"`,
	} {
		_, err := DecodeStreamRecord(json.RawMessage(raw))
		var me *MalformedError
		if !errors.As(err, &me) || !errors.Is(err, core.ErrValidation) || me.Source != SourceDynamoDB {
			t.Errorf("%s: %v", name, err)
		}
	}
	// An attribute named NULL is not a NULL descriptor.
	rec, err := DecodeStreamRecord(json.RawMessage(`{"dynamodb": {"NewImage": {"NULL": {"BOOL": false}, "z": {"NULL": true}}}}`))
	if err != nil || !rec.Change.NewImage["z"].IsNull() {
		t.Errorf("attribute named NULL: %v", err)
	}
}
