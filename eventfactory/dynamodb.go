package eventfactory

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// Stream event names (eventName of a DynamoDB stream record).
const (
	StreamInsert = "INSERT"
	StreamModify = "MODIFY"
	StreamRemove = "REMOVE"
)

// AllStreamEvents returns every stream event name (a new slice), for
// OnDynamoDB.
func AllStreamEvents() []string { return []string{StreamInsert, StreamModify, StreamRemove} }

// AttributeError: a stream attribute value cannot be converted. It unwraps
// to the cause.
type AttributeError struct {
	Path string // e.g. "attributes.items[2]"
	Err  error
}

// Error implements error.
func (e *AttributeError) Error() string {
	return fmt.Sprintf("eventfactory: attribute %s: %v", e.Path, e.Err)
}

// Unwrap returns the cause.
func (e *AttributeError) Unwrap() error { return e.Err }

// StreamImageToItem converts a stream image (Keys, NewImage or OldImage of
// an events.DynamoDBStreamRecord) into an SDK item, ready for
// attributevalue.UnmarshalMap. Every type is converted: S, N, B, BOOL, NULL,
// M, L, SS, NS, BS. A nil image gives a nil item. Values that
// aws-lambda-go's accessors would panic on (a zero DynamoDBAttributeValue)
// give an *AttributeError instead.
func StreamImageToItem(image map[string]events.DynamoDBAttributeValue) (map[string]types.AttributeValue, error) {
	if image == nil {
		return nil, nil
	}
	return convertMap(image, "")
}

func convertMap(m map[string]events.DynamoDBAttributeValue, path string) (map[string]types.AttributeValue, error) {
	out := make(map[string]types.AttributeValue, len(m))
	for k, v := range m {
		p := k
		if path != "" {
			p = path + "." + k
		}
		av, err := convertValue(v, p)
		if err != nil {
			return nil, err
		}
		out[k] = av
	}
	return out, nil
}

// convertValue converts one value. The accessors of
// events.DynamoDBAttributeValue panic on a type mismatch or a missing value;
// the recover turns that into an error.
func convertValue(v events.DynamoDBAttributeValue, path string) (av types.AttributeValue, err error) {
	defer func() {
		if r := recover(); r != nil {
			av, err = nil, &AttributeError{Path: path, Err: fmt.Errorf("unusable value: %v", r)}
		}
	}()
	switch v.DataType() {
	case events.DataTypeString:
		return &types.AttributeValueMemberS{Value: v.String()}, nil
	case events.DataTypeNumber:
		return &types.AttributeValueMemberN{Value: v.Number()}, nil
	case events.DataTypeBinary:
		if v.IsNull() {
			return nil, &AttributeError{Path: path, Err: errors.New("binary (B) value missing")}
		}
		return &types.AttributeValueMemberB{Value: v.Binary()}, nil
	case events.DataTypeBoolean:
		return &types.AttributeValueMemberBOOL{Value: v.Boolean()}, nil
	case events.DataTypeNull:
		return &types.AttributeValueMemberNULL{Value: true}, nil
	case events.DataTypeMap:
		m, err := convertMap(v.Map(), path)
		if err != nil {
			return nil, err
		}
		return &types.AttributeValueMemberM{Value: m}, nil
	case events.DataTypeList:
		list := v.List()
		out := make([]types.AttributeValue, len(list))
		for i, e := range list {
			c, err := convertValue(e, fmt.Sprintf("%s[%d]", path, i))
			if err != nil {
				return nil, err
			}
			out[i] = c
		}
		return &types.AttributeValueMemberL{Value: out}, nil
	case events.DataTypeStringSet:
		return &types.AttributeValueMemberSS{Value: cloneStrings(v.StringSet())}, nil
	case events.DataTypeNumberSet:
		return &types.AttributeValueMemberNS{Value: cloneStrings(v.NumberSet())}, nil
	case events.DataTypeBinarySet:
		return &types.AttributeValueMemberBS{Value: v.BinarySet()}, nil
	}
	return nil, &AttributeError{Path: path, Err: fmt.Errorf("unknown data type %d", v.DataType())}
}

// cloneStrings copies s, keeping nil and empty apart.
func cloneStrings(s []string) []string {
	if s == nil {
		return nil
	}
	return append(make([]string, 0, len(s)), s...)
}

// DecodeStreamRecord decodes one DynamoDB stream record (an element of the
// Records array). It does not use aws-lambda-go's attribute value decoder,
// which goes through map[string]interface{} for every value, panics on
// some malformed sets (e.g. {"BS": [1]}) and reads {"NULL": false} as NULL;
// its own parser is strict (one known type per value, strings where strings
// belong, standard base64, NULL true) and never panics. Errors are
// *MalformedError with Record -1.
func DecodeStreamRecord(raw json.RawMessage) (events.DynamoDBEventRecord, error) {
	ds, err := decodeStream(raw)
	return ds.rec, err
}
