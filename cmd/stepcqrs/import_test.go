package main

import (
	"archive/zip"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestImportCommand runs stepcqrs import as main does: exit status, the
// summary, the progress bar and the failed rows file.
func TestImportCommand(t *testing.T) {
	csvFile := writeFile(t, "orders.csv", "code,name,total\no-1,one,1\no-2,two\no-3,three,3\n")
	var zipBody strings.Builder
	zw := zip.NewWriter(&zipBody)
	for _, e := range [][2]string{{"b.csv", "code,name\nb-1,x\n"}, {"a.csv", "code,name\na-1,x\na-2\n"}} {
		w, _ := zw.Create(e[0])
		_, _ = w.Write([]byte(e[1]))
	}
	_ = zw.Close()
	zipFile := writeFile(t, "orders.zip", zipBody.String())
	failed := filepath.Join(t.TempDir(), "failed.csv")
	tests := []struct {
		name   string
		args   []string
		code   int
		stdout []string
		stderr []string
		failed string
	}{
		{name: "help", args: []string{"import", "--help"}, code: 0, stdout: []string{"Usage:\n  stepcqrs import --file FILE --module MODULE"}},
		{name: "no file", args: []string{"import", "--module", "order"}, code: 2, stderr: []string{"stepcqrs: import: --file is required"}},
		{name: "bad mode", args: []string{"import", "--file", csvFile, "--module", "order", "--mode", "lambda"}, code: 2,
			stderr: []string{"--mode must be direct or step-function"}},
		{name: "missing file", args: []string{"import", "--file", "/nonexistent.csv", "--module", "order"}, code: 1,
			stderr: []string{"stepcqrs: open /nonexistent.csv"}},
		{name: "direct with a failed row", args: []string{"import", "--file", csvFile, "--module", "order", "--failed-rows", failed}, code: 1,
			stdout: []string{": COMPLETED_WITH_FAILURES\n", "rows 3: created 2, updated 0, unchanged 0, failed 1", "mode direct, module order, tenant default",
				"failed rows: 1 written to " + failed},
			stderr: []string{"importing orders.csv 100% |", "(3/3"},
			failed: "code,name,total,row,reason\no-2,two,,2,\"the row has 2 fields, the header has 3\"\n"},
		{name: "step-function", args: []string{"import", "--file", csvFile, "--module", "order", "--mode", "step-function", "--tenant", "acme", "--no-progress"}, code: 1,
			stdout: []string{"rows 3: created 2, updated 0, unchanged 0, failed 1", "mode step-function, module order, tenant acme"}},
		{name: "zip", args: []string{"import", "--file", zipFile, "--module", "order", "--no-progress", "--failed-rows", failed}, code: 1,
			stdout: []string{"rows 3: created 2, updated 0, unchanged 0, failed 1", "a.csv  COMPLETED_WITH_FAILURES  2", "b.csv  COMPLETED                1"},
			failed: "file,code,name,row,reason\na.csv,a-2,,2,\"the row has 1 fields, the header has 2\"\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errOut strings.Builder
			code := execute(context.Background(), tt.args, nil, &out, &errOut)
			if code != tt.code {
				t.Fatalf("exit %d, want %d\nstdout: %s\nstderr: %s", code, tt.code, out.String(), errOut.String())
			}
			for _, s := range tt.stdout {
				if !strings.Contains(out.String(), s) {
					t.Errorf("stdout lacks %q:\n%s", s, out.String())
				}
			}
			for _, s := range tt.stderr {
				if !strings.Contains(errOut.String(), s) {
					t.Errorf("stderr lacks %q:\n%s", s, errOut.String())
				}
			}
			if tt.failed != "" {
				b, err := os.ReadFile(failed)
				if err != nil || string(b) != tt.failed {
					t.Errorf("failed rows file %q (%v), want %q", b, err, tt.failed)
				}
			}
		})
	}
}

// TestImportCommandTenKRows imports 10,000 rows with the progress bar
// (1,000 under the race detector or -short).
func TestImportCommandTenKRows(t *testing.T) {
	n := 10000
	if raceEnabled || testing.Short() {
		n = 1000
	}
	var b strings.Builder
	b.WriteString("code,name,total\n")
	for i := 1; i <= n; i++ {
		fmt.Fprintf(&b, "o-%05d,order %d,%d\n", i, i, i)
	}
	f := writeFile(t, "10k.csv", b.String())
	var out, errOut strings.Builder
	if code := execute(context.Background(), []string{"import", "--file", f, "--module", "order"}, nil, &out, &errOut); code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, out.String(), errOut.String())
	}
	if !strings.Contains(out.String(), fmt.Sprintf("rows %d: created %d, updated 0, unchanged 0, failed 0", n, n)) ||
		!strings.Contains(errOut.String(), fmt.Sprintf("(%d/%d", n, n)) {
		t.Fatalf("stdout:\n%s\nstderr tail: %s", out.String(), errOut.String()[max(0, len(errOut.String())-300):])
	}
	t.Logf("%s", out.String())
}
