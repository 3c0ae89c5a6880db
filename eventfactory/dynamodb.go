package eventfactory

import (
	"encoding/json"
	"fmt"

	"github.com/aws/aws-lambda-go/events"
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
