package memory_test

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/stepcqrs/stepcqrs/core"
	"github.com/stepcqrs/stepcqrs/core/memory"
)

// recorder collects stream records.
type recorder struct {
	mu   sync.Mutex
	recs []events.DynamoDBEventRecord
}

func (r *recorder) add(rec events.DynamoDBEventRecord) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.recs = append(r.recs, rec)
}

func (r *recorder) all() []events.DynamoDBEventRecord {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]events.DynamoDBEventRecord(nil), r.recs...)
}

func sv(v string) core.AttributeValue { return &types.AttributeValueMemberS{Value: v} }

func it(pk, sk string, kv ...string) core.Item {
	out := core.Item{"pk": sv(pk), "sk": sv(sk)}
	for i := 0; i+1 < len(kv); i += 2 {
		out[kv[i]] = sv(kv[i+1])
	}
	return out
}

func newStreamStore(t *testing.T, table string, view memory.StreamView) (*memory.Store, *recorder) {
	t.Helper()
	st := memory.NewStore()
	if err := st.CreateTable(table, memory.WithStream(view)); err != nil {
		t.Fatal(err)
	}
	r := &recorder{}
	st.Subscribe(table, r.add)
	return st, r
}

func TestStreamRecords(t *testing.T) {
	ctx := context.Background()
	type step struct {
		name string
		do   func(st *memory.Store) error
	}
	put := func(i core.Item) func(*memory.Store) error {
		return func(st *memory.Store) error { return st.Put(ctx, "t", i, core.Condition{}) }
	}
	cases := []struct {
		name  string
		view  memory.StreamView
		steps []step
		// want: event name, new image "v" ("-": no image), old image "v"
		want [][3]string
	}{
		{"insert modify remove with both images", memory.StreamNewAndOldImages, []step{
			{"put", put(it("p", "s", "v", "1"))},
			{"put again", put(it("p", "s", "v", "2"))},
			{"identical put", put(it("p", "s", "v", "2"))},
			{"delete", func(st *memory.Store) error { return st.Delete(ctx, "t", core.Key{PK: "p", SK: "s"}, core.Condition{}) }},
			{"delete missing", func(st *memory.Store) error { return st.Delete(ctx, "t", core.Key{PK: "p", SK: "s"}, core.Condition{}) }},
		}, [][3]string{{"INSERT", "1", "-"}, {"MODIFY", "2", "1"}, {"REMOVE", "-", "2"}}},
		{"new image only", memory.StreamNewImage, []step{
			{"update creates", func(st *memory.Store) error {
				_, err := st.Update(ctx, "t", core.Key{PK: "p", SK: "s"}, core.Update{Set: map[string]core.AttributeValue{"v": sv("1")}}, core.Condition{})
				return err
			}},
			{"update", func(st *memory.Store) error {
				_, err := st.Update(ctx, "t", core.Key{PK: "p", SK: "s"}, core.Update{Set: map[string]core.AttributeValue{"v": sv("2")}}, core.Condition{})
				return err
			}},
			{"failed condition", func(st *memory.Store) error {
				err := st.Put(ctx, "t", it("p", "s", "v", "3"), core.IfAbsent())
				if errors.Is(err, core.ErrConditionFailed) {
					return nil
				}
				return err
			}},
			{"delete", func(st *memory.Store) error { return st.Delete(ctx, "t", core.Key{PK: "p", SK: "s"}, core.Condition{}) }},
		}, [][3]string{{"INSERT", "1", "-"}, {"MODIFY", "2", "-"}, {"REMOVE", "-", "-"}}},
		{"keys only", memory.StreamKeysOnly, []step{
			{"put", put(it("p", "s", "v", "1"))},
		}, [][3]string{{"INSERT", "-", "-"}}},
		{"transaction emits one record per changed item", memory.StreamNewAndOldImages, []step{
			{"seed", put(it("p", "a", "v", "0"))},
			{"transact", func(st *memory.Store) error {
				return st.Transact(ctx, []core.TxOp{
					{Table: "t", Put: it("p", "b", "v", "1")},
					{Table: "t", Key: core.Key{PK: "p", SK: "x"}, Check: true, Cond: core.IfAbsent()},
					{Table: "t", Key: core.Key{PK: "p", SK: "a"}, Delete: true},
					{Table: "other", Put: it("p", "c", "v", "9")},
				})
			}},
		}, [][3]string{{"INSERT", "0", "-"}, {"INSERT", "1", "-"}, {"REMOVE", "-", "0"}}},
		{"batch write", memory.StreamNewImage, []step{
			{"batch", func(st *memory.Store) error {
				return st.BatchWrite(ctx, "t", []core.Item{it("p", "1", "v", "1"), it("p", "2", "v", "2")}, []core.Key{{PK: "p", SK: "1"}})
			}},
		}, [][3]string{{"INSERT", "1", "-"}, {"INSERT", "2", "-"}, {"REMOVE", "-", "-"}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			st, r := newStreamStore(t, "t", c.view)
			for _, s := range c.steps {
				if err := s.do(st); err != nil {
					t.Fatalf("%s: %v", s.name, err)
				}
			}
			recs := r.all()
			if len(recs) != len(c.want) {
				t.Fatalf("got %d records, want %d", len(recs), len(c.want))
			}
			prev := ""
			for i, rec := range recs {
				w := c.want[i]
				if rec.EventName != w[0] {
					t.Errorf("record %d: event %s, want %s", i, rec.EventName, w[0])
				}
				if got := imageV(rec.Change.NewImage); got != w[1] {
					t.Errorf("record %d: new image v %s, want %s", i, got, w[1])
				}
				if got := imageV(rec.Change.OldImage); got != w[2] {
					t.Errorf("record %d: old image v %s, want %s", i, got, w[2])
				}
				if rec.EventSourceArn != "arn:aws:dynamodb:us-east-1:000000000000:table/t/stream/2024-01-01T00:00:00.000" {
					t.Errorf("record %d: source ARN %s", i, rec.EventSourceArn)
				}
				if rec.EventSource != "aws:dynamodb" || rec.AWSRegion != "us-east-1" || rec.EventID == "" {
					t.Errorf("record %d: source %q region %q id %q", i, rec.EventSource, rec.AWSRegion, rec.EventID)
				}
				if rec.Change.StreamViewType != string(c.view) {
					t.Errorf("record %d: view %s, want %s", i, rec.Change.StreamViewType, c.view)
				}
				if rec.Change.Keys["pk"].String() != "p" || rec.Change.Keys["sk"].String() == "" || len(rec.Change.Keys) != 2 {
					t.Errorf("record %d: keys %v", i, rec.Change.Keys)
				}
				seq := rec.Change.SequenceNumber
				if len(seq) != len(prev) && prev != "" || seq <= prev {
					t.Errorf("record %d: sequence number %s does not follow %s", i, seq, prev)
				}
				if _, err := strconv.ParseUint(seq, 10, 64); err != nil {
					t.Errorf("record %d: sequence number %q is not a number", i, seq)
				}
				prev = seq
			}
		})
	}
}

func imageV(img map[string]events.DynamoDBAttributeValue) string {
	if img == nil {
		return "-"
	}
	return img["v"].String()
}

func TestStreamOffAndUnsubscribe(t *testing.T) {
	ctx := context.Background()
	st := memory.NewStore()
	r := &recorder{}
	unsubscribe := st.Subscribe("t", r.add)
	if err := st.Put(ctx, "t", it("p", "1"), core.Condition{}); err != nil {
		t.Fatal(err)
	}
	if n := len(r.all()); n != 0 {
		t.Fatalf("stream off: %d records", n)
	}
	if err := st.EnableStream("t", memory.StreamNewImage); err != nil {
		t.Fatal(err)
	}
	if err := st.Put(ctx, "t", it("p", "2"), core.Condition{}); err != nil {
		t.Fatal(err)
	}
	unsubscribe()
	if err := st.Put(ctx, "t", it("p", "3"), core.Condition{}); err != nil {
		t.Fatal(err)
	}
	if recs := r.all(); len(recs) != 1 || recs[0].Change.Keys["sk"].String() != "2" {
		t.Fatalf("got %d records, want the one of sk 2", len(recs))
	}
}

// A subscriber that writes to the store gets the records of its own writes
// after it returns, in order, without deadlock.
func TestStreamReentrantSubscriber(t *testing.T) {
	ctx := context.Background()
	st, r := newStreamStore(t, "t", memory.StreamNewImage)
	st.Subscribe("t", func(rec events.DynamoDBEventRecord) {
		sk := rec.Change.Keys["sk"].String()
		if len(sk) < 4 {
			if err := st.Put(ctx, "t", it("p", sk+"+"), core.Condition{}); err != nil {
				t.Error(err)
			}
		}
	})
	if err := st.Put(ctx, "t", it("p", "a"), core.Condition{}); err != nil {
		t.Fatal(err)
	}
	var sks []string
	for _, rec := range r.all() {
		sks = append(sks, rec.Change.Keys["sk"].String())
	}
	if got := strings.Join(sks, " "); got != "a a+ a++ a+++" {
		t.Fatalf("records of %s, want a a+ a++ a+++", got)
	}
}

// Concurrent writers: every table's records come in sequence order, one
// per write.
func TestStreamConcurrentOrder(t *testing.T) {
	ctx := context.Background()
	st, r := newStreamStore(t, "t", memory.StreamNewImage)
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 50 {
				_, err := st.Update(ctx, "t", core.Key{PK: "p", SK: strconv.Itoa(w)}, core.Update{Add: map[string]int64{"n": 1}}, core.Condition{})
				if err != nil {
					t.Error(err, i)
				}
			}
		}()
	}
	wg.Wait()
	recs := r.all()
	if len(recs) != 400 {
		t.Fatalf("%d records, want 400", len(recs))
	}
	last := map[string]int64{}
	for i := 1; i < len(recs); i++ {
		if recs[i].Change.SequenceNumber <= recs[i-1].Change.SequenceNumber {
			t.Fatalf("record %d out of order", i)
		}
	}
	for _, rec := range recs {
		sk := rec.Change.Keys["sk"].String()
		n, _ := rec.Change.NewImage["n"].Int64()
		if n != last[sk]+1 {
			t.Fatalf("item %s: counter %d after %d", sk, n, last[sk])
		}
		last[sk] = n
	}
}

// DynamoDB writes no record for a write that changes nothing; the
// WithUnchangedWriteRecords option writes a MODIFY, as moto does.
func TestStreamUnchangedWrites(t *testing.T) {
	ctx := context.Background()
	writes := func(st *memory.Store) {
		t.Helper()
		steps := []func() error{
			func() error { return st.Put(ctx, "t", it("p", "s", "v", "1"), core.Condition{}) },
			func() error { return st.Put(ctx, "t", it("p", "s", "v", "1"), core.Condition{}) },
			func() error {
				_, err := st.Update(ctx, "t", core.Key{PK: "p", SK: "s"}, core.Update{Set: map[string]core.AttributeValue{"v": sv("1")}}, core.Condition{})
				return err
			},
			func() error {
				_, err := st.Update(ctx, "t", core.Key{PK: "p", SK: "s"}, core.Update{Remove: []string{"absent"}}, core.Condition{})
				return err
			},
		}
		for i, step := range steps {
			if err := step(); err != nil {
				t.Fatalf("step %d: %v", i, err)
			}
		}
	}
	for _, c := range []struct {
		name string
		opts []memory.TableOption
		want []string
	}{
		{"like DynamoDB", nil, []string{"INSERT"}},
		{"like moto", []memory.TableOption{memory.WithUnchangedWriteRecords()}, []string{"INSERT", "MODIFY", "MODIFY", "MODIFY"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			st := memory.NewStore()
			if err := st.CreateTable("t", append(c.opts, memory.WithStream(memory.StreamNewAndOldImages))...); err != nil {
				t.Fatal(err)
			}
			r := &recorder{}
			st.Subscribe("t", r.add)
			writes(st)
			var got []string
			for _, rec := range r.all() {
				got = append(got, rec.EventName)
			}
			if strings.Join(got, " ") != strings.Join(c.want, " ") {
				t.Fatalf("records %v, want %v", got, c.want)
			}
		})
	}
}

func TestExpireItems(t *testing.T) {
	ctx := context.Background()
	st, r := newStreamStore(t, "t", memory.StreamOldImage)
	now := time.Unix(1_700_000_000, 0)
	for sk, ttl := range map[string]string{"old": "1699999999", "edge": "1700000000", "new": "1700000001", "text": ""} {
		item := it("p", sk)
		if ttl != "" {
			item["ttl"] = &types.AttributeValueMemberN{Value: ttl}
		} else {
			item["ttl"] = sv("1")
		}
		if err := st.Put(ctx, "t", item, core.Condition{}); err != nil {
			t.Fatal(err)
		}
	}
	n, err := st.ExpireItems(ctx, "t", "ttl", now)
	if err != nil || n != 1 {
		t.Fatalf("expired %d, %v; want 1", n, err)
	}
	if _, err := st.Get(ctx, "t", core.Key{PK: "p", SK: "old"}, true); !errors.Is(err, core.ErrNotFound) {
		t.Fatalf("expired item still there: %v", err)
	}
	recs := r.all()
	last := recs[len(recs)-1]
	if last.EventName != "REMOVE" || last.UserIdentity == nil || last.UserIdentity.PrincipalID != "dynamodb.amazonaws.com" || last.Change.OldImage["ttl"].Number() != "1699999999" {
		t.Fatalf("TTL record %+v", last)
	}
	if n, err := st.ExpireItems(ctx, "missing", "ttl", now); err != nil || n != 0 {
		t.Fatalf("missing table: %d, %v", n, err)
	}
}
