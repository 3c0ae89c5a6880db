package main

import (
	"bytes"
	"context"
	"math"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.uber.org/fx"

	"github.com/jackc/pgx/v5"
	"github.com/stepcqrs/stepcqrs/core"
	"github.com/stepcqrs/stepcqrs/core/awsadapter"
	"github.com/stepcqrs/stepcqrs/eventfactory"
)

func TestDemo(t *testing.T) {
	var out bytes.Buffer
	if err := runDemo(context.Background(), &out); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	for _, want := range []string{"0 failed, 0 missing", "4 got a version conflict", "unchanged (nothing written)",
		// The cost figures say where they come from.
		"× Apply → Route → Sync → SyncHandler → Finish (5 transitions, 3 invocations)",
		`the data-sync handler "sql" puts every command on the sync path`,
		"path Apply → Route → Done costs 3 transitions and 1 Lambda invocation per command",
		// The reprice fan-out: the deleted order's sub-task fails, the
		// others raise the totals by 10%.
		": FAILED — 3 sub-tasks: 2 succeeded, 1 failed",
		`COMPLETED: {"code":"o-1001","total":46.75,"version":4}`,
		`COMPLETED: {"code":"o-1002","total":132,"version":3}`,
		"FAILED: order o-1003 is deleted"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}

// TestDemoPathsExplainFigures: the paths the demo lists account for its
// per-command figures. (A command whose predecessor is still being applied
// takes the Wait loop, so the mix varies from run to run.)
func TestDemoPathsExplainFigures(t *testing.T) {
	var out bytes.Buffer
	if err := runDemo(context.Background(), &out); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	text := out.String()
	var executions int
	var perTransitions, perInvocations float64
	summary := regexp.MustCompile(`(\d+) executions, .*\n.*per command: ([\d.]+) state transitions, ([\d.]+) step Lambda invocations`).FindStringSubmatch(text)
	if summary == nil {
		t.Fatalf("no summary:\n%s", text)
	}
	executions, _ = strconv.Atoi(summary[1])
	perTransitions, _ = strconv.ParseFloat(summary[2], 64)
	perInvocations, _ = strconv.ParseFloat(summary[3], 64)
	var n, transitions, invocations int
	for _, m := range regexp.MustCompile(`(\d+)× (Apply → .+) \((\d+) transitions, (\d+) invocations\)`).FindAllStringSubmatch(text, -1) {
		count, _ := strconv.Atoi(m[1])
		tr, _ := strconv.Atoi(m[3])
		inv, _ := strconv.Atoi(m[4])
		if got := len(strings.Split(m[2], " → ")); got != tr {
			t.Errorf("%s: %d states, reported as %d transitions", m[2], got, tr)
		}
		n += count
		transitions += count * tr
		invocations += count * inv
	}
	if n != executions || n == 0 {
		t.Fatalf("paths cover %d executions of %d:\n%s", n, executions, text)
	}
	if math.Abs(float64(transitions)/float64(n)-perTransitions) > 0.05 || math.Abs(float64(invocations)/float64(n)-perInvocations) > 0.05 {
		t.Errorf("paths give %d transitions and %d invocations for %d executions; the summary says %.1f and %.1f per command:\n%s",
			transitions, invocations, n, perTransitions, perInvocations, text)
	}
}

// localPostgres is the server these development and CI machines run.
const localPostgres = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"

// postgresURL returns the database of the PostgreSQL tests: DATABASE_URL,
// else the local server. It skips the test, saying why, when the database
// does not answer.
func postgresURL(t *testing.T) string {
	t.Helper()
	url := os.Getenv("DATABASE_URL")
	if url == "" {
		url = localPostgres
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Skipf("PostgreSQL not reachable (%v): set DATABASE_URL to test the SQL read model", err)
	}
	_ = conn.Close(ctx)
	return url
}

// TestPostgresReadModel runs the SQL read model against PostgreSQL: a late,
// older version changes nothing, and a remove deletes the row.
func TestPostgresReadModel(t *testing.T) {
	url := postgresURL(t)
	ctx := context.Background()
	rm, err := newPGReadModel(ctx, url, "orders_read_test")
	if err != nil {
		t.Fatal(err)
	}
	defer rm.Close()
	if err := rm.Reset(ctx); err != nil {
		t.Fatal(err)
	}
	row := OrderRow{ID: "ORDER#t#ORDER#1", Code: "1", Name: "n", Version: 2, Status: "new", Attributes: map[string]any{"a": 1.0}}
	for _, v := range []int64{2, 1} { // a late, older version changes nothing
		r := row
		r.Version = v
		r.Status = map[int64]string{1: "old", 2: "new"}[v]
		if err := rm.Upsert(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	rows, err := rm.All(ctx)
	if err != nil || len(rows) != 1 || rows[0].Version != 2 || rows[0].Status != "new" {
		t.Fatalf("rows %+v %v", rows, err)
	}
	if err := rm.Remove(ctx, row.ID, 2); err != nil {
		t.Fatal(err)
	}
	if rows, _ := rm.All(ctx); len(rows) != 0 {
		t.Fatalf("rows after remove %+v", rows)
	}
}

// TestDemoOnPostgres runs the whole demo with its read model in PostgreSQL.
func TestDemoOnPostgres(t *testing.T) {
	t.Setenv("DATABASE_URL", postgresURL(t))
	var out bytes.Buffer
	if err := runDemo(context.Background(), &out); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	for _, want := range []string{"read model: postgres", "0 failed, 0 missing", "ORDER#acme#ORDER#o-1002  2        false    Grace"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}

// TestLambdaGraph checks that the fx graph runLambda starts is complete.
func TestLambdaGraph(t *testing.T) {
	var handler eventfactory.HandlerFunc
	if err := fx.ValidateApp(core.Module, awsadapter.Module, eventfactory.Module, serviceModule, fx.Populate(&handler)); err != nil {
		t.Fatal(err)
	}
}
