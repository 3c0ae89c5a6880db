package core

import (
	"bytes"
	"fmt"
	"slices"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// ToStreamImage converts an item to the image form of a DynamoDB stream
// record (Keys, NewImage, OldImage), deep-copying it. A nil item gives a nil
// image; nil values are left out.
func ToStreamImage(item Item) map[string]events.DynamoDBAttributeValue {
	if item == nil {
		return nil
	}
	out := make(map[string]events.DynamoDBAttributeValue, len(item))
	for k, v := range item {
		if v != nil {
			out[k] = toStreamValue(v)
		}
	}
	return out
}

func toStreamValue(v AttributeValue) events.DynamoDBAttributeValue {
	switch x := v.(type) {
	case *types.AttributeValueMemberS:
		return events.NewStringAttribute(x.Value)
	case *types.AttributeValueMemberN:
		return events.NewNumberAttribute(x.Value)
	case *types.AttributeValueMemberB:
		return events.NewBinaryAttribute(bytes.Clone(x.Value))
	case *types.AttributeValueMemberBOOL:
		return events.NewBooleanAttribute(x.Value)
	case *types.AttributeValueMemberSS:
		return events.NewStringSetAttribute(slices.Clone(x.Value))
	case *types.AttributeValueMemberNS:
		return events.NewNumberSetAttribute(slices.Clone(x.Value))
	case *types.AttributeValueMemberBS:
		out := make([][]byte, len(x.Value))
		for i, b := range x.Value {
			out[i] = bytes.Clone(b)
		}
		return events.NewBinarySetAttribute(out)
	case *types.AttributeValueMemberL:
		out := make([]events.DynamoDBAttributeValue, 0, len(x.Value))
		for _, e := range x.Value {
			if e != nil {
				out = append(out, toStreamValue(e))
			}
		}
		return events.NewListAttribute(out)
	case *types.AttributeValueMemberM:
		return events.NewMapAttribute(ToStreamImage(x.Value))
	}
	return events.NewNullAttribute() // NULL, and unknown members
}

// FromStreamImage converts a stream-record image back to an item, every
// type included (S, N, B, BOOL, NULL, M, L, SS, NS, BS), ready for
// UnmarshalItem. A nil image gives a nil item. A value that
// aws-lambda-go's accessors would panic on (a zero
// events.DynamoDBAttributeValue, a payload that does not match its type)
// gives a *ValidationError naming the attribute's path, never a panic.
func FromStreamImage(image map[string]events.DynamoDBAttributeValue) (Item, error) {
	if image == nil {
		return nil, nil
	}
	return fromStreamMap(image, "")
}

func fromStreamMap(m map[string]events.DynamoDBAttributeValue, path string) (Item, error) {
	out := make(Item, len(m))
	for k, v := range m {
		p := k
		if path != "" {
			p = path + "." + k
		}
		av, err := fromStreamValue(v, p)
		if err != nil {
			return nil, err
		}
		out[k] = av
	}
	return out, nil
}

func streamValueError(path, format string, args ...any) error {
	return &ValidationError{Problems: []string{fmt.Sprintf("stream attribute %s: ", path) + fmt.Sprintf(format, args...)}}
}

// fromStreamValue converts one value; the recover turns the accessors'
// panics on mismatched payloads into errors.
func fromStreamValue(v events.DynamoDBAttributeValue, path string) (av AttributeValue, err error) {
	defer func() {
		if r := recover(); r != nil {
			av, err = nil, streamValueError(path, "unusable value: %v", r)
		}
	}()
	switch v.DataType() {
	case events.DataTypeString:
		return &types.AttributeValueMemberS{Value: v.String()}, nil
	case events.DataTypeNumber:
		return &types.AttributeValueMemberN{Value: v.Number()}, nil
	case events.DataTypeBinary:
		if v.IsNull() || v.Binary() == nil {
			return nil, streamValueError(path, "binary (B) value missing")
		}
		return &types.AttributeValueMemberB{Value: bytes.Clone(v.Binary())}, nil
	case events.DataTypeBoolean:
		return &types.AttributeValueMemberBOOL{Value: v.Boolean()}, nil
	case events.DataTypeNull:
		return &types.AttributeValueMemberNULL{Value: true}, nil
	case events.DataTypeMap:
		m, err := fromStreamMap(v.Map(), path)
		if err != nil {
			return nil, err
		}
		return &types.AttributeValueMemberM{Value: m}, nil
	case events.DataTypeList:
		list := v.List()
		out := make([]AttributeValue, len(list))
		for i, e := range list {
			c, err := fromStreamValue(e, fmt.Sprintf("%s[%d]", path, i))
			if err != nil {
				return nil, err
			}
			out[i] = c
		}
		return &types.AttributeValueMemberL{Value: out}, nil
	case events.DataTypeStringSet:
		return &types.AttributeValueMemberSS{Value: slices.Clone(v.StringSet())}, nil
	case events.DataTypeNumberSet:
		return &types.AttributeValueMemberNS{Value: slices.Clone(v.NumberSet())}, nil
	case events.DataTypeBinarySet:
		bs := v.BinarySet()
		cp := make([][]byte, len(bs))
		for i, b := range bs {
			cp[i] = bytes.Clone(b)
		}
		return &types.AttributeValueMemberBS{Value: cp}, nil
	}
	return nil, streamValueError(path, "unknown data type %d", v.DataType())
}
