package core_test

import (
	"encoding/json"
	"fmt"

	"github.com/aws/aws-lambda-go/events"

	"github.com/stepcqrs/stepcqrs/core"
)

// A stream record's image, as a Lambda receives it, back to a stored item.
func ExampleFromStreamImage() {
	var rec events.DynamoDBEventRecord
	_ = json.Unmarshal([]byte(`{"dynamodb": {"NewImage": {"tags": {"SS": ["a", "b"]}, "n": {"N": "12345678901234567890"}}}}`), &rec)
	item, err := core.FromStreamImage(rec.Change.NewImage)
	fmt.Printf("%T %T %v\n", item["tags"], item["n"], err)
	// Output:
	// *types.AttributeValueMemberSS *types.AttributeValueMemberN <nil>
}
