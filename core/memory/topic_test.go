package memory_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/stepcqrs/stepcqrs/core/memory"
)

// TestKeepPublished: with KeepPublished(n) Published returns the last n
// messages of a topic, in order, however many were published; without it,
// every message.
func TestKeepPublished(t *testing.T) {
	ctx := context.Background()
	for _, c := range []struct {
		keep, publish int
		first         int // index of the first message Published returns
	}{
		{3, 2, 0}, {3, 3, 0}, {3, 4, 1}, {3, 7, 4}, {3, 20, 17}, {0, 20, 0},
	} {
		ts := memory.NewTopics(memory.KeepPublished(c.keep))
		if err := ts.CreateTopic("t"); err != nil {
			t.Fatal(err)
		}
		delivered := 0
		if _, err := ts.Subscribe("t", func(context.Context, memory.Published) { delivered++ }); err != nil {
			t.Fatal(err)
		}
		for i := range c.publish {
			if _, err := ts.Publish(ctx, "t", fmt.Sprint(i), nil); err != nil {
				t.Fatal(err)
			}
		}
		got := ts.Published("t")
		if len(got) != c.publish-c.first || delivered != c.publish {
			t.Fatalf("%+v: %d recorded, %d delivered", c, len(got), delivered)
		}
		for i, m := range got {
			if m.Message != fmt.Sprint(c.first+i) {
				t.Fatalf("%+v: message %d is %q, want %d", c, i, m.Message, c.first+i)
			}
		}
	}
}
