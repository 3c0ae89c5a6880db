package eventfactory

import (
	"encoding/json"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// decodeText decodes a text payload (SQS body, SNS message): as is for
// string and []byte, else as JSON.
func decodeText[T any](s string) (T, error) {
	var v T
	switch p := any(&v).(type) {
	case *string:
		*p = s
		return v, nil
	case *[]byte:
		*p = []byte(s)
		return v, nil
	}
	err := json.Unmarshal([]byte(s), &v)
	return v, err
}

// decodeRaw decodes JSON; missing JSON decodes as null (the zero value).
func decodeRaw[T any](b json.RawMessage) (T, error) {
	var v T
	if len(b) == 0 {
		return v, nil
	}
	if p, ok := any(&v).(*json.RawMessage); ok {
		*p = append(json.RawMessage(nil), b...)
		return v, nil
	}
	err := json.Unmarshal(b, &v)
	return v, err
}

// imageDecoder decodes stream images. A Decoder holds only its options,
// so one serves every call (attributevalue.UnmarshalMap makes a new one
// each time).
var imageDecoder = attributevalue.NewDecoder()

// decodeImage decodes a stream image, as attributevalue.UnmarshalMap does;
// m, when not nil, is item wrapped as a map attribute value. A nil item
// gives nil.
func decodeImage[T any](item map[string]types.AttributeValue, m *types.AttributeValueMemberM) (*T, error) {
	if item == nil {
		return nil, nil
	}
	v := new(T)
	if p, ok := any(v).(*map[string]types.AttributeValue); ok {
		*p = item
		return v, nil
	}
	if m == nil {
		m = &types.AttributeValueMemberM{Value: item}
	}
	if err := imageDecoder.Decode(m, v); err != nil {
		return nil, err
	}
	return v, nil
}
