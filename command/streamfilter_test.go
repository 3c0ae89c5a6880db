package command_test

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/stepcqrs/stepcqrs/command"
)

// TestStreamFilter: the mapping's filter lets through the INSERT records of
// asynchronously published commands only, and Streamed (what the embedded
// runtime filters with) says the same.
func TestStreamFilter(t *testing.T) {
	async := map[string]events.DynamoDBAttributeValue{"pk": events.NewStringAttribute("ORDER#acme"), "status": events.NewStringAttribute("started")}
	sync := map[string]events.DynamoDBAttributeValue{"pk": events.NewStringAttribute("ORDER#acme"), "syncMode": events.NewStringAttribute("SYNC")}
	for _, c := range []struct {
		event string
		image map[string]events.DynamoDBAttributeValue
		want  bool
	}{
		{"INSERT", async, true},
		{"INSERT", sync, false},
		{"MODIFY", async, false},
		{"REMOVE", nil, false},
	} {
		r := events.DynamoDBEventRecord{EventName: c.event, Change: events.DynamoDBStreamRecord{NewImage: c.image}}
		if got := command.Streamed(r); got != c.want {
			t.Errorf("%s %v: Streamed = %v, want %v", c.event, c.image, got, c.want)
		}
	}
	var pattern any
	if err := json.Unmarshal([]byte(command.StreamFilterCriteria), &pattern); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"eventName": []any{"INSERT"},
		"dynamodb": map[string]any{"NewImage": map[string]any{"syncMode": []any{map[string]any{"exists": false}}}}}
	if !reflect.DeepEqual(pattern, want) {
		t.Fatalf("pattern %v", pattern)
	}
}
